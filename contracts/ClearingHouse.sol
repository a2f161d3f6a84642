// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {IVault} from "./interfaces/IVault.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {Funding} from "./libraries/Funding.sol";

/// @title ClearingHouse
/// @notice Positions, margin and fees for every market. See {IClearingHouse}.
/// @dev Calls go one way: ClearingHouse -> Amm (pricing) and -> Vault (value). A position is two
/// storage slots; every trade makes one call to the Amm and one to the Vault.
contract ClearingHouse is IClearingHouse, Ownable2Step, ReentrancyGuardTransient {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Highest trading fee a market may charge: 5% of notional.
    uint256 public constant MAX_FEE_RATIO = 0.05e18;

    /// @inheritdoc IClearingHouse
    IPriceFeed public immutable sequencerOracle;

    // ---------------------------------------------------------------- storage

    /// @dev The Vault and the pause flag share one slot: every trade reads both with one cold load.
    /// (The Vault holds this contract's address as an immutable, so it is deployed after it.)
    struct Config {
        IVault vault;
        bool paused;
    }

    Config private _config;

    struct Market {
        bool listed;
        uint64 initialMarginRatio;
        uint64 maintenanceMarginRatio;
        uint64 feeRatio;
    }

    /// @dev Packed form of {IClearingHouse.Position}: slot 1 size and margin, slot 2 open notional
    /// and the funding index the position last settled at (its side's index).
    struct StoredPosition {
        int128 size;
        uint128 margin;
        uint128 openNotional;
        int128 fundingCheckpoint;
    }

    mapping(address amm => Market) private _markets;
    mapping(address amm => mapping(address trader => StoredPosition)) private _positions;

    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who links the Vault, lists markets, sets parameters and pauses.
    /// @param sequencerOracle_ The price feed whose `checkSequencer` gates risk-increasing actions on
    /// an L2 (see {IClearingHouse-sequencerOracle}); address(0) on a chain without a sequencer. An
    /// immutable, so chains without one pay nothing for the check.
    constructor(address owner_, IPriceFeed sequencerOracle_) Ownable(owner_) {
        sequencerOracle = sequencerOracle_;
    }

    /// @dev Reverts while the L2 sequencer is down or in its grace period after coming back.
    function _checkSequencer() private view {
        if (address(sequencerOracle) != address(0)) sequencerOracle.checkSequencer();
    }

    modifier whenNotPaused() {
        if (_config.paused) revert EnforcedPause();
        _;
    }

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
        Market memory market = _listedMarket(amm);
        if (margin == 0) revert ZeroAmount();
        uint256 maxLeverage = FixedPoint.WAD.wDivDown(market.initialMarginRatio);
        if (leverage > maxLeverage) revert LeverageTooHigh(leverage, maxLeverage);
        uint256 notional = margin.wMulDown(leverage);
        if (notional == 0) revert ZeroNotional();

        StoredPosition memory p = _loadPosition(amm, msg.sender);
        if (p.size == 0 || (p.size > 0) == (side == Side.LONG)) {
            _checkSequencer();
            _increase(amm, market, p, side, margin, notional, baseLimit);
        } else {
            uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
            if (notional < exitValue) {
                // Reducing risk stays open while the sequencer is down.
                _reduce(amm, market, p, side, notional, baseLimit);
            } else {
                _checkSequencer();
                _reverse(amm, market, p, side, notional, leverage, baseLimit);
            }
        }
    }

    /// @inheritdoc IClearingHouse
    function updateFunding(address amm) external nonReentrant {
        _listedMarket(amm);
        (IAmm.FundingSnapshot memory funding, ) = IAmm(amm).updateFunding(_insuranceAvailable(), _config.paused);
        if (funding.insuranceFlow != 0) _config.vault.settle(address(0), 0, funding.insuranceFlow);
    }

    /// @inheritdoc IClearingHouse
    function closePosition(address amm, uint256 quoteLimit, uint256 deadline) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _listedMarket(amm);
        StoredPosition memory p = _positions[amm][msg.sender];
        if (p.size == 0) revert NoPosition(msg.sender, amm);

        Trade memory t = _closeWhole(amm, market, p);
        if (quoteLimit != 0 && (p.size > 0 ? t.quoteAmount < quoteLimit : t.quoteAmount > quoteLimit)) {
            revert QuoteLimitMissed(t.quoteAmount, quoteLimit);
        }
        delete _positions[amm][msg.sender];
        StoredPosition memory closed;
        _settleAndEmit(amm, t, closed);
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
        _settleAndEmit(amm, t, p);
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
        // The cost basis of the reduced part rounds against the trader; the remainder is what is
        // left, so over the position's life the bases add up to the open notional exactly.
        uint256 closedBasis;
        if (p.size > 0) {
            closedBasis = uint256(p.openNotional).mulDivUp(base, uint256(int256(p.size)));
            t.realizedPnl = notional.toInt256() - closedBasis.toInt256();
            t.baseDelta = -base.toInt256();
        } else {
            closedBasis = uint256(p.openNotional).mulDivDown(base, uint256(-int256(p.size)));
            t.realizedPnl = closedBasis.toInt256() - notional.toInt256();
            t.baseDelta = base.toInt256();
        }
        int256 remainingMargin = marginAfterFunding + t.realizedPnl - t.fee.toInt256();
        if (remainingMargin < 0) revert PositionUnderwater(remainingMargin);

        p.size = (p.size + t.baseDelta).toInt128();
        if (p.size == 0) {
            // Rounding took the whole position: it is a close, and the margin goes home.
            delete _positions[amm][msg.sender];
            t.freeCollateralDelta = remainingMargin;
            p.margin = 0;
            p.openNotional = 0;
            p.fundingCheckpoint = 0;
        } else {
            p.margin = uint256(remainingMargin).toUint128();
            p.openNotional = (p.openNotional - closedBasis).toUint128();
            _requireMarkMarginRatio(amm, p, market.maintenanceMarginRatio);
            _positions[amm][msg.sender] = p;
        }
        _settleAndEmit(amm, t, p);
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
        _settleAndEmit(amm, t, opened);
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

    // ---------------------------------------------------------------- funding

    /// @dev Settles the position's funding up to `funding` into `t` and returns its margin after it
    /// (negative if funding ate more than the margin); moves the checkpoint to `side`'s index.
    function _settleFunding(
        StoredPosition memory p,
        Side side,
        IAmm.FundingSnapshot memory funding,
        Trade memory t
    ) private pure returns (int256 marginAfterFunding) {
        if (p.size != 0) {
            t.fundingPayment = Funding.owed(p.size, _positionIndex(p.size, funding) - p.fundingCheckpoint);
        }
        t.insuranceFlow = funding.insuranceFlow;
        p.fundingCheckpoint = _sideIndex(side, funding).toInt128();
        return int256(uint256(p.margin)) - t.fundingPayment;
    }

    /// @dev The index a position of `size` settles on: longs on the long index, shorts on the short.
    function _positionIndex(int256 size, IAmm.FundingSnapshot memory funding) private pure returns (int256) {
        return size > 0 ? funding.longIndex : funding.shortIndex;
    }

    function _sideIndex(Side side, IAmm.FundingSnapshot memory funding) private pure returns (int256) {
        return side == Side.LONG ? funding.longIndex : funding.shortIndex;
    }

    /// @dev Funding a position owes now (negative: is owed), from the market's indices as they
    /// would accrue now.
    function _pendingFunding(address amm, StoredPosition memory p) private view returns (int256) {
        if (p.size == 0) return 0;
        IAmm.FundingSnapshot memory funding = IAmm(amm).getFundingIndices(_insuranceAvailable());
        return Funding.owed(p.size, _positionIndex(p.size, funding) - p.fundingCheckpoint);
    }

    /// @dev What the insurance account can pay toward funding. Read before the Vault is called to
    /// settle, so the later call finds the Vault's account and slot warm.
    function _insuranceAvailable() private view returns (uint256 fund) {
        (, fund) = _config.vault.getPoolBalances();
    }

    // ---------------------------------------------------------------- margin

    /// @inheritdoc IClearingHouse
    function addMargin(address amm, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        StoredPosition storage p = _positions[amm][msg.sender];
        // A position exists only in a listed market, so this also checks the market.
        if (p.size == 0) revert NoPosition(msg.sender, amm);
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
        p.margin -= uint128(amount);
        _requireExitMarginRatioWithoutProfit(amm, p, _pendingFunding(amm, p), _markets[amm].initialMarginRatio);
        _positions[amm][msg.sender].margin = p.margin;
        _config.vault.settle(msg.sender, amount.toInt256(), 0);
        emit MarginChanged(msg.sender, amm, -amount.toInt256(), p.margin);
    }

    /// @dev What one trade did, gathered so the event can be emitted from one place.
    struct Trade {
        int256 baseDelta;
        uint256 quoteAmount;
        int256 realizedPnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeCollateralDelta;
        int256 insuranceFlow;
    }

    /// @dev Moves the trader's free collateral, the fee and the insurance fund's funding share in
    /// the Vault, then emits the new state.
    function _settleAndEmit(address amm, Trade memory t, StoredPosition memory p) private {
        _config.vault.settle(msg.sender, t.freeCollateralDelta, t.fee.toInt256() + t.insuranceFlow);
        emit PositionChanged(
            msg.sender,
            amm,
            t.baseDelta,
            t.quoteAmount,
            t.realizedPnl,
            t.fee,
            t.fundingPayment,
            t.freeCollateralDelta,
            p.size,
            p.margin,
            p.openNotional
        );
    }

    // ---------------------------------------------------------------- checks

    /// @dev Reverts unless (margin + PnL) >= ratio x notional, both valued at the spot price
    /// (rounded against the trader): the margin ratio that reducing must keep. The margin has had
    /// its funding settled.
    function _requireMarkMarginRatio(address amm, StoredPosition memory p, uint256 ratio) private view {
        uint256 notional = _markNotional(amm, p.size);
        _requireEquity(int256(uint256(p.margin)) + _pnl(p.size, p.openNotional, notional), notional, ratio);
    }

    /// @dev Reverts unless (margin - pending funding + min(PnL, 0)) >= ratio x exit value. Valuing
    /// at the exit value (what a close would realise) and leaving profit out is stricter than the
    /// spot-price ratio, so unrealised profit never backs a withdrawal.
    function _requireExitMarginRatioWithoutProfit(
        address amm,
        StoredPosition memory p,
        int256 pendingFunding,
        uint256 ratio
    ) private view {
        uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
        int256 pnl = _pnl(p.size, p.openNotional, exitValue);
        if (pnl > 0) pnl = 0;
        _requireEquity(int256(uint256(p.margin)) - pendingFunding + pnl, exitValue, ratio);
    }

    function _requireEquity(int256 equity, uint256 notional, uint256 ratio) private pure {
        uint256 required = notional.wMulUp(ratio);
        if (equity < required.toInt256()) revert MarginRatioTooLow(_ratio(equity, notional), ratio);
    }

    /// @dev |size| x spot price, from the reserves directly: rounded down for a long (its value),
    /// up for a short (its cost to buy back).
    function _markNotional(address amm, int256 size) private view returns (uint256) {
        (uint256 quoteReserve, uint256 baseReserve) = IAmm(amm).getReserves();
        return
            size > 0
                ? uint256(size).mulDivDown(quoteReserve, baseReserve)
                : uint256(-size).mulDivUp(quoteReserve, baseReserve);
    }

    function _checkBaseLimit(Side side, uint256 base, uint256 baseLimit) private pure {
        if (baseLimit != 0 && (side == Side.LONG ? base < baseLimit : base > baseLimit)) {
            revert BaseLimitMissed(base, baseLimit);
        }
    }

    function _checkDeadline(uint256 deadline) private view {
        uint256 timestamp = _blockTimestamp();
        if (timestamp > deadline) revert DeadlineExpired(deadline, timestamp);
    }

    /// @dev A position's two slots, reading the second only if the position exists (a trader's
    /// first trade in a market saves a cold read).
    function _loadPosition(address amm, address trader) private view returns (StoredPosition memory p) {
        StoredPosition storage stored = _positions[amm][trader];
        if (stored.size != 0) p = stored;
    }

    function _listedMarket(address amm) private view returns (Market memory market) {
        market = _markets[amm];
        if (!market.listed) revert MarketNotListed(amm);
    }

    /// @dev The one place the contract reads the time.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    /// @dev PnL of a position valued at `quote`: what closing it yields over (long) or under (short) its cost.
    function _pnl(int256 size, uint256 openNotional, uint256 quote) private pure returns (int256) {
        return size > 0 ? quote.toInt256() - openNotional.toInt256() : openNotional.toInt256() - quote.toInt256();
    }

    /// @dev equity / notional in 18 decimals, rounded down (toward minus infinity, so an underwater
    /// position never looks healthier than it is); a position worth nothing has an unbounded ratio,
    /// of the sign of its equity.
    function _ratio(int256 equity, uint256 notional) private pure returns (int256 ratio) {
        if (notional == 0) return equity < 0 ? type(int256).min : type(int256).max;
        int256 scaled = equity * 1e18;
        int256 divisor = notional.toInt256();
        ratio = scaled / divisor;
        // Solidity's signed division truncates toward zero: step down when it cut a negative value.
        if (scaled < 0 && ratio * divisor != scaled) ratio -= 1;
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
        _markets[amm] = Market(true, params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio);
        emit MarketAdded(amm, params);
    }

    /// @inheritdoc IClearingHouse
    function setMarketParams(address amm, MarketParams calldata params) external onlyOwner {
        _listedMarket(amm);
        _validate(params);
        _markets[amm] = Market(true, params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio);
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
