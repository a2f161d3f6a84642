// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {IVault} from "./interfaces/IVault.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {ClearingHouseBase} from "./clearinghouse/ClearingHouseBase.sol";
import {GlobalSettlement} from "./clearinghouse/GlobalSettlement.sol";
import {Liquidations} from "./clearinghouse/Liquidations.sol";

/// @title ClearingHouse
/// @notice Positions, margin and fees for every market. See {IClearingHouse}.
/// @dev Calls go one way: ClearingHouse -> Amm (pricing) and -> Vault (value). A position is two
/// storage slots; every trade makes one call to the Amm and one to the Vault. Trading, margin,
/// administration and views live here; storage and shared accounting in {ClearingHouseBase},
/// liquidation in {Liquidations}, global settlement in {GlobalSettlement}.
contract ClearingHouse is Liquidations, GlobalSettlement {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Highest trading fee a market may charge: 5% of notional.
    uint256 public constant MAX_FEE_RATIO = 0.05e18;

    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who links the Vault, lists markets, sets parameters and pauses.
    /// @param sequencerOracle_ The price feed whose `checkSequencer` gates risk-increasing actions on
    /// an L2 (see {IClearingHouse-sequencerOracle}); address(0) on a chain without a sequencer. An
    /// immutable, so chains without one pay nothing for the check.
    constructor(address owner_, IPriceFeed sequencerOracle_) Ownable(owner_) ClearingHouseBase(sequencerOracle_) {}

    // ---------------------------------------------------------------- trading

    /// @inheritdoc IClearingHouse
    function openPosition(
        address amm,
        Side side,
        uint256 margin,
        uint256 leverage,
        uint256 baseLimit,
        uint256 deadline
    ) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _tradableMarket(amm);
        if (margin == 0) revert ZeroAmount();
        uint256 maxLeverage = FixedPoint.WAD.wDivDown(market.initialMarginRatio);
        if (leverage > maxLeverage) revert LeverageTooHigh(leverage, maxLeverage);
        uint256 notional = margin.wMulDown(leverage);
        if (notional == 0) revert ZeroNotional();

        StoredPosition memory p = _loadPosition(amm, msg.sender);
        if (p.size == 0 || (p.size > 0) == (side == Side.LONG)) {
            _checkSequencer();
            _requireActive(amm, market);
            _increase(amm, market, p, side, margin, notional, baseLimit);
        } else {
            uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
            if (notional < exitValue) {
                // Reducing risk stays open while the sequencer is down and in a reduce-only market.
                _reduce(amm, market, p, side, notional, baseLimit);
            } else {
                _checkSequencer();
                _requireActive(amm, market);
                _reverse(amm, market, p, side, notional, leverage, baseLimit);
            }
        }
    }

    /// @inheritdoc IClearingHouse
    function updateFunding(address amm) external nonReentrant {
        _tradableMarket(amm);
        (IAmm.FundingSnapshot memory funding, ) = IAmm(amm).updateFunding(_insuranceAvailable(), _config.paused);
        if (funding.insuranceFlow != 0) _config.vault.settle(address(0), 0, funding.insuranceFlow);
    }

    /// @inheritdoc IClearingHouse
    function closePosition(address amm, uint256 quoteLimit, uint256 deadline) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _tradableMarket(amm);
        StoredPosition memory p = _positions[amm][msg.sender];
        if (p.size == 0) revert NoPosition(msg.sender, amm);

        Trade memory t = _closeWhole(amm, market, p);
        if (quoteLimit != 0 && (p.size > 0 ? t.quoteAmount < quoteLimit : t.quoteAmount > quoteLimit)) {
            revert QuoteLimitMissed(t.quoteAmount, quoteLimit);
        }
        delete _positions[amm][msg.sender];
        StoredPosition memory closed;
        _settleAndEmit(msg.sender, amm, t, closed);
    }

    /// @dev Adds exposure on the position's side: margin and fee come from free collateral.
    function _increase(
        address amm,
        Market memory market,
        StoredPosition memory p,
        Side side,
        uint256 margin,
        uint256 notional,
        uint256 baseLimit
    ) private {
        // The existing position must meet the initial margin before it may grow: valued at the
        // price before the trade, so the trade's own price impact cannot make an underwater position
        // look healthy. The new leg meets it by its leverage, and the sum of two positions that
        // meet a ratio does.
        uint256 notionalBefore = p.size == 0 ? 0 : _markNotional(amm, p.size);

        Trade memory t;
        (uint256 base, IAmm.FundingSnapshot memory funding) = IAmm(amm).swapQuote(
            side,
            notional,
            p.size,
            _insuranceAvailable()
        );
        _checkBaseLimit(side, base, baseLimit);
        int256 marginAfterFunding = _settleFunding(p, side, funding, t);
        if (p.size != 0) {
            _requireEquity(
                marginAfterFunding + _pnl(p.size, p.openNotional, notionalBefore),
                notionalBefore,
                market.initialMarginRatio
            );
        }

        t.baseDelta = side == Side.LONG ? base.toInt256() : -base.toInt256();
        t.quoteAmount = notional;
        t.fee = notional.wMulUp(market.feeRatio);
        t.freeCollateralDelta = -(margin + t.fee).toInt256();
        int256 newMargin = marginAfterFunding + margin.toInt256();
        // A margin eaten by funding and not restored by this deposit: only liquidation may touch it.
        if (newMargin < 0) revert PositionUnderwater(marginAfterFunding);
        p.size = (p.size + t.baseDelta).toInt128();
        p.margin = uint256(newMargin).toUint128();
        p.openNotional = (p.openNotional + notional).toUint128();
        _positions[amm][msg.sender] = p;
        _settleAndEmit(msg.sender, amm, t, p);
    }

    /// @dev Trades against the position for less than its exit value: realises the reduced part's
    /// PnL (average-entry accounting), the funding and the fee into margin; the rest must meet maintenance.
    function _reduce(
        address amm,
        Market memory market,
        StoredPosition memory p,
        Side side,
        uint256 notional,
        uint256 baseLimit
    ) private {
        Trade memory t;
        (uint256 base, IAmm.FundingSnapshot memory funding) = IAmm(amm).swapQuote(
            side,
            notional,
            p.size,
            _insuranceAvailable()
        );
        _checkBaseLimit(side, base, baseLimit);
        int256 marginAfterFunding = _settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);

        t.quoteAmount = notional;
        t.fee = notional.wMulUp(market.feeRatio);
        _realize(p, base, t);
        int256 remainingMargin = marginAfterFunding + t.realizedPnl - t.fee.toInt256();
        if (remainingMargin < 0) revert PositionUnderwater(remainingMargin);

        if (p.size == 0) {
            // Rounding took the whole position: it is a close, and the margin goes home.
            delete _positions[amm][msg.sender];
            t.freeCollateralDelta = remainingMargin;
            p.margin = 0;
            p.fundingCheckpoint = 0;
        } else {
            p.margin = uint256(remainingMargin).toUint128();
            _requireMarkMarginRatio(amm, p, market.maintenanceMarginRatio);
            _positions[amm][msg.sender] = p;
        }
        _settleAndEmit(msg.sender, amm, t, p);
    }

    /// @dev Trades against the position for at least its exit value: closes it, then opens the rest
    /// of the notional on the other side with margin rest / leverage from free collateral.
    function _reverse(
        address amm,
        Market memory market,
        StoredPosition memory p,
        Side side,
        uint256 notional,
        uint256 leverage,
        uint256 baseLimit
    ) private {
        Trade memory t = _closeWhole(amm, market, p);
        uint256 exitValue = t.quoteAmount;
        t.quoteAmount = notional;

        StoredPosition memory opened;
        uint256 rest = notional - exitValue;
        // A rest too small to buy one wei of base is not traded: the reversal is a plain close.
        if (rest != 0 && (side == Side.SHORT || IAmm(amm).previewSwapQuote(side, rest) != 0)) {
            uint256 openFee;
            (opened, openFee) = _openRest(amm, market.feeRatio, side, rest, leverage);
            t.fee += openFee;
            t.freeCollateralDelta -= (opened.margin + openFee).toInt256();
            _positions[amm][msg.sender] = opened;
        } else {
            delete _positions[amm][msg.sender];
            t.quoteAmount = exitValue;
        }
        _checkBaseLimit(side, SignedMath.abs(p.size) + SignedMath.abs(opened.size), baseLimit);
        t.baseDelta = opened.size - p.size;
        _settleAndEmit(msg.sender, amm, t, opened);
    }

    /// @dev The opening leg of a reversal: a fresh position of notional `rest` at `leverage`. Its
    /// swap accrues nothing (the close before it accrued to now), so the fund's share is zero.
    function _openRest(
        address amm,
        uint256 feeRatio,
        Side side,
        uint256 rest,
        uint256 leverage
    ) private returns (StoredPosition memory opened, uint256 fee) {
        (uint256 base, IAmm.FundingSnapshot memory funding) = IAmm(amm).swapQuote(side, rest, 0, 0);
        opened.size = (side == Side.LONG ? base.toInt256() : -base.toInt256()).toInt128();
        // Margin rounds up: the new leg is never more leveraged than asked.
        opened.margin = rest.wDivUp(leverage).toUint128();
        opened.openNotional = rest.toUint128();
        opened.fundingCheckpoint = _sideIndex(side, funding).toInt128();
        fee = rest.wMulUp(feeRatio);
    }

    /// @dev Swaps the whole position back into the pool, settles its funding and works out what
    /// the trader is owed; `freeCollateralDelta` is the payout.
    function _closeWhole(address amm, Market memory market, StoredPosition memory p) private returns (Trade memory t) {
        IAmm.FundingSnapshot memory funding;
        (t.quoteAmount, funding) = IAmm(amm).swapBase(p.size, SignedMath.abs(p.size), _insuranceAvailable());
        int256 marginAfterFunding = _settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);
        t.baseDelta = -p.size;
        t.realizedPnl = _pnl(p.size, p.openNotional, t.quoteAmount);
        t.fee = t.quoteAmount.wMulUp(market.feeRatio);
        int256 remaining = marginAfterFunding + t.realizedPnl - t.fee.toInt256();
        if (remaining < 0) revert PositionUnderwater(remaining);
        t.freeCollateralDelta = remaining;
    }

    // ---------------------------------------------------------------- margin

    /// @inheritdoc IClearingHouse
    function addMargin(address amm, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        StoredPosition storage p = _positions[amm][msg.sender];
        // A position exists only in a listed market, so this also checks the market.
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        if (_markets[amm].status == MarketStatus.SETTLED) revert MarketIsSettled(amm);
        // Funding is not settled here: adding margin cannot hurt anyone, and the next trade settles it.
        uint256 margin = p.margin + amount;
        p.margin = margin.toUint128();
        _config.vault.settle(msg.sender, -amount.toInt256(), 0);
        emit MarginChanged(msg.sender, amm, amount.toInt256(), margin);
    }

    /// @inheritdoc IClearingHouse
    function removeMargin(address amm, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        _checkSequencer();
        StoredPosition memory p = _positions[amm][msg.sender];
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        if (amount > p.margin) revert InsufficientMargin(p.margin, amount);
        Market memory market = _markets[amm];
        if (market.status == MarketStatus.SETTLED) revert MarketIsSettled(amm);
        p.margin -= uint128(amount);
        _requireExitMarginRatioWithoutProfit(amm, p, _pendingFunding(amm, p), market.initialMarginRatio);
        _positions[amm][msg.sender].margin = p.margin;
        _config.vault.settle(msg.sender, amount.toInt256(), 0);
        emit MarginChanged(msg.sender, amm, -amount.toInt256(), p.margin);
    }

    // ---------------------------------------------------------------- admin

    /// @inheritdoc IClearingHouse
    function setInsuranceFund(address fund) external onlyOwner {
        IVault vault_ = _config.vault;
        if (address(vault_) == address(0)) revert VaultNotSet();
        vault_.setInsuranceFund(fund);
    }

    /// @inheritdoc IClearingHouse
    function setVault(IVault vault_) external onlyOwner {
        if (address(vault_) == address(0)) revert ZeroAddress();
        if (address(_config.vault) != address(0)) revert VaultAlreadySet(address(_config.vault));
        address boundTo = vault_.clearingHouse();
        if (boundTo != address(this)) revert VaultNotBoundToThisClearingHouse(address(vault_), boundTo);
        _config.vault = vault_;
        emit VaultSet(address(vault_));
    }

    /// @inheritdoc IClearingHouse
    function addMarket(address amm, MarketParams calldata params) external onlyOwner {
        // Without a Vault no trade could settle: list markets only once it is linked.
        if (address(_config.vault) == address(0)) revert VaultNotSet();
        if (_markets[amm].listed) revert MarketAlreadyListed(amm);
        address boundTo = IAmm(amm).clearingHouse();
        if (boundTo != address(this)) revert AmmNotBoundToThisClearingHouse(amm, boundTo);
        _validate(params);
        _markets[amm] = Market(
            true,
            MarketStatus.ACTIVE,
            params.initialMarginRatio,
            params.maintenanceMarginRatio,
            params.feeRatio
        );
        emit MarketAdded(amm, params);
    }

    /// @inheritdoc IClearingHouse
    function setMarketParams(address amm, MarketParams calldata params) external onlyOwner {
        Market storage market = _markets[amm];
        if (!market.listed) revert MarketNotListed(amm);
        _validate(params);
        market.initialMarginRatio = params.initialMarginRatio;
        market.maintenanceMarginRatio = params.maintenanceMarginRatio;
        market.feeRatio = params.feeRatio;
        emit MarketParamsUpdated(amm, params);
    }

    /// @inheritdoc IClearingHouse
    function pause() external onlyOwner {
        if (_config.paused) revert EnforcedPause();
        _config.paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IClearingHouse
    function unpause() external onlyOwner {
        if (!_config.paused) revert ExpectedPause();
        _config.paused = false;
        emit Unpaused(msg.sender);
    }

    function _validate(MarketParams calldata params) private pure {
        if (
            params.maintenanceMarginRatio == 0 ||
            params.maintenanceMarginRatio >= params.initialMarginRatio ||
            params.initialMarginRatio > FixedPoint.WAD
        ) revert InvalidMarginRatios(params.initialMarginRatio, params.maintenanceMarginRatio);
        if (params.feeRatio > MAX_FEE_RATIO) revert FeeRatioTooHigh(params.feeRatio, MAX_FEE_RATIO);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IClearingHouse
    function getPosition(address amm, address trader) external view returns (Position memory) {
        StoredPosition memory p = _positions[amm][trader];
        return Position(p.size, p.margin, p.openNotional, p.fundingCheckpoint);
    }

    /// @inheritdoc IClearingHouse
    function getPendingFunding(address amm, address trader) external view returns (int256) {
        return _pendingFunding(amm, _positions[amm][trader]);
    }

    /// @inheritdoc IClearingHouse
    function getUnrealizedPnl(address amm, address trader) external view returns (int256) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) return 0;
        return _pnl(p.size, p.openNotional, _markNotional(amm, p.size));
    }

    /// @inheritdoc IClearingHouse
    function getMarginRatio(address amm, address trader) external view returns (int256) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert NoPosition(trader, amm);
        uint256 notional = _markNotional(amm, p.size);
        int256 equity = int256(uint256(p.margin)) - _pendingFunding(amm, p) + _pnl(p.size, p.openNotional, notional);
        return _ratio(equity, notional);
    }

    /// @inheritdoc IClearingHouse
    function getMarketParams(address amm) external view returns (MarketParams memory) {
        Market memory m = _markets[amm];
        return MarketParams(m.initialMarginRatio, m.maintenanceMarginRatio, m.feeRatio);
    }

    /// @inheritdoc IClearingHouse
    function isMarketListed(address amm) external view returns (bool) {
        return _markets[amm].listed;
    }

    /// @inheritdoc IClearingHouse
    function vault() external view returns (IVault) {
        return _config.vault;
    }

    /// @inheritdoc IClearingHouse
    function paused() external view returns (bool) {
        return _config.paused;
    }
}
