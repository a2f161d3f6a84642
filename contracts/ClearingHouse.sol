// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
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
        MarketStatus status;
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
    LiquidationParams private _liquidationParams;
    /// @dev Bad debt the insurance fund could not cover, per market.
    mapping(address amm => uint256) private _shortfalls;
    mapping(address amm => Settlement) private _settlements;

    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who links the Vault, lists markets, sets parameters and pauses.
    /// @param sequencerOracle_ The price feed whose `checkSequencer` gates risk-increasing actions on
    /// an L2 (see {IClearingHouse-sequencerOracle}); address(0) on a chain without a sequencer. An
    /// immutable, so chains without one pay nothing for the check.
    constructor(address owner_, IPriceFeed sequencerOracle_) Ownable(owner_) {
        sequencerOracle = sequencerOracle_;
        _setLiquidationParams(LiquidationParams(0.0125e18, 0.025e18, 0.1e18, 15 minutes, 10e18));
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

    // ---------------------------------------------------------------- liquidation

    /// @inheritdoc IClearingHouse
    function liquidate(address amm, address trader) external nonReentrant whenNotPaused {
        _liquidate(amm, trader, 0);
    }

    /// @inheritdoc IClearingHouse
    function liquidateWithLimit(
        address amm,
        address trader,
        uint256 quoteLimit,
        uint256 deadline
    ) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        _liquidate(amm, trader, quoteLimit);
    }

    /// @dev What one liquidation moves, gathered to keep the stack small.
    struct Liquidation {
        uint256 closeBase;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 covered;
        uint256 shortfall;
        uint256 traderPayout;
        bool full;
    }

    function _liquidate(address amm, address trader, uint256 quoteLimit) private {
        if (trader == msg.sender) revert SelfLiquidation();
        _checkSequencer();
        Market memory market = _tradableMarket(amm);
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert NoPosition(trader, amm);
        LiquidationParams memory params = _liquidationParams;
        uint256 fundBefore = _insuranceAvailable();

        Liquidation memory liq;
        liq.closeBase = _liquidationCloseBase(amm, p, market.maintenanceMarginRatio, params, fundBefore);
        liq.full = liq.closeBase == SignedMath.abs(p.size);

        Trade memory t;
        int256 equity = _closePart(amm, p, liq.closeBase, fundBefore, t);
        if (quoteLimit != 0 && (t.baseDelta < 0 ? t.quoteAmount < quoteLimit : t.quoteAmount > quoteLimit)) {
            revert QuoteLimitMissed(t.quoteAmount, quoteLimit);
        }
        // The partial size ignores price impact: in a thin pool the close can realise so much loss
        // that the rest would be left near or under water, and then the rest is closed too.
        if (!liq.full && !_restHealthy(amm, p, equity, t.quoteAmount.wMulUp(params.feeRatio), params.feeRatio)) {
            equity += _closeRest(amm, p, liq, t, fundBefore);
        }
        _splitLiquidation(liq, equity, t.quoteAmount.wMulUp(params.feeRatio), fundBefore, t.insuranceFlow);
        _applyLiquidation(amm, trader, p, liq, t);
    }

    /// @dev Reverts unless the position is liquidatable; otherwise how much of it to close: the
    /// partial size, or all of it (see {_liquidationSize} and {_remainderHealthy}), at most what the
    /// pool takes within its fluctuation limit in this block.
    function _liquidationCloseBase(
        address amm,
        StoredPosition memory p,
        uint256 maintenanceMarginRatio,
        LiquidationParams memory params,
        uint256 fundBefore
    ) private view returns (uint256 closeBase) {
        (int256 ratio, uint256 spot) = _liquidationValuation(amm, p, params, fundBefore);
        if (ratio >= int256(maintenanceMarginRatio)) revert NotLiquidatable(ratio, maintenanceMarginRatio);
        uint256 absSize = SignedMath.abs(p.size);
        closeBase = _liquidationSize(absSize, ratio, spot, maintenanceMarginRatio, params);
        closeBase = Math.min(closeBase, IAmm(amm).maxCloseBase(p.size > 0));
        if (closeBase == 0) revert LiquidationLimitReached(amm);
    }

    /// @dev The position's liquidation margin ratio (its pending funding settled) and the spot price.
    function _liquidationValuation(
        address amm,
        StoredPosition memory p,
        LiquidationParams memory params,
        uint256 fundBefore
    ) private view returns (int256 ratio, uint256 spot) {
        IAmm.FundingSnapshot memory pending = IAmm(amm).getFundingIndices(fundBefore);
        int256 marginAfterFunding =
            int256(uint256(p.margin)) - Funding.owed(p.size, _positionIndex(p.size, pending) - p.fundingCheckpoint);
        uint256 markTwap;
        uint256 index;
        (spot, markTwap, index) = IAmm(amm).getValuationPrices(params.markTwapInterval);
        ratio = _liquidationRatio(p, marginAfterFunding, spot, markTwap, index, params.maxSpreadRatio);
    }

    /// @dev Stores what is left of the position (or deletes it), records any shortfall, moves the
    /// money (the fund's flows and the liquidator's reward, then the trader's payout) and emits.
    function _applyLiquidation(
        address amm,
        address trader,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t
    ) private {
        if (liq.full) {
            delete _positions[amm][trader];
            p.margin = 0;
            p.openNotional = 0;
            p.fundingCheckpoint = 0;
            t.freeCollateralDelta = liq.traderPayout.toInt256();
        } else {
            p.margin = liq.traderPayout.toUint128();
            _positions[amm][trader] = p;
        }
        if (liq.shortfall != 0) _recordShortfall(amm, liq.shortfall);

        IVault vault_ = _config.vault;
        // With bad debt the fund pays the liquidator's reward too.
        uint256 fundPays = liq.covered + (liq.badDebt != 0 ? liq.reward : 0);
        int256 fundDelta = t.insuranceFlow + liq.insurancePenalty.toInt256() - fundPays.toInt256();
        vault_.settle(msg.sender, liq.reward.toInt256(), fundDelta);
        if (t.freeCollateralDelta != 0) vault_.settle(trader, t.freeCollateralDelta, 0);
        _emitPositionChanged(trader, amm, t, p);
        emit PositionLiquidated(
            trader,
            amm,
            msg.sender,
            liq.closeBase,
            t.quoteAmount,
            liq.reward,
            liq.insurancePenalty,
            liq.badDebt,
            liq.shortfall,
            liq.full
        );
    }

    /// @dev Swaps `closeBase` of the position back into the pool, settles its funding and realises
    /// the closed part's PnL into `t` (see {_realize}); leaves the rest of the position in `p` and returns its margin after all that (the
    /// trader's equity in what was closed plus the margin of what remains; negative: bad debt).
    function _closePart(
        address amm,
        StoredPosition memory p,
        uint256 closeBase,
        uint256 fundBefore,
        Trade memory t
    ) private returns (int256 equity) {
        IAmm.FundingSnapshot memory funding;
        (t.quoteAmount, funding) = IAmm(amm).swapBase(p.size, closeBase, fundBefore);
        int256 marginAfterFunding = _settleFunding(p, p.size > 0 ? Side.LONG : Side.SHORT, funding, t);
        _realize(p, closeBase, t);
        equity = marginAfterFunding + t.realizedPnl;
    }

    /// @dev Takes `base` off the position for `t.quoteAmount` and realises its PnL into `t`
    /// (average-entry accounting). The closed part's cost basis rounds against the trader; the rest
    /// keeps what is left, so over the position's life the bases add up to the open notional exactly.
    function _realize(StoredPosition memory p, uint256 base, Trade memory t) private pure {
        uint256 closedBasis;
        if (p.size > 0) {
            closedBasis = uint256(p.openNotional).mulDivUp(base, uint256(int256(p.size)));
            t.realizedPnl = t.quoteAmount.toInt256() - closedBasis.toInt256();
            t.baseDelta = -base.toInt256();
        } else {
            closedBasis = uint256(p.openNotional).mulDivDown(base, uint256(-int256(p.size)));
            t.realizedPnl = closedBasis.toInt256() - t.quoteAmount.toInt256();
            t.baseDelta = base.toInt256();
        }
        p.size = (p.size + t.baseDelta).toInt128();
        p.openNotional = (p.openNotional - closedBasis).toUint128();
    }

    /// @dev Splits what the position has left after the close (`equity`) between the penalty, the
    /// trader and, when it is negative, the insurance fund. The penalty is bounded by the equity, so
    /// a liquidation never makes bad debt; with bad debt the fund covers the loss first, then the
    /// liquidator's half, as far as it can.
    function _splitLiquidation(
        Liquidation memory liq,
        int256 equity,
        uint256 penalty,
        uint256 fundBefore,
        int256 fundingFlow
    ) private pure {
        uint256 liquidatorHalf = penalty / 2;
        if (equity >= 0) {
            uint256 left = uint256(equity);
            if (left >= penalty) {
                liq.reward = liquidatorHalf;
                liq.insurancePenalty = penalty - liquidatorHalf;
                liq.traderPayout = left - penalty;
            } else {
                liq.reward = Math.min(liquidatorHalf, left);
                liq.insurancePenalty = left - liq.reward;
            }
        } else {
            liq.badDebt = uint256(-equity);
            // The fund as it stands after this trade's funding flow.
            uint256 fund = uint256(int256(fundBefore) + fundingFlow);
            liq.covered = Math.min(liq.badDebt, fund);
            liq.shortfall = liq.badDebt - liq.covered;
            liq.reward = Math.min(liquidatorHalf, fund - liq.covered);
        }
    }

    /// @dev The margin ratio a liquidation is judged by: the best for the trader of the spot price
    /// and the mark TWAP, and of the index when the spot is more than `maxSpreadRatio` from it.
    function _liquidationRatio(
        StoredPosition memory p,
        int256 marginAfterFunding,
        uint256 spot,
        uint256 markTwap,
        uint256 index,
        uint256 maxSpreadRatio
    ) private pure returns (int256 ratio) {
        ratio = _ratioAt(p, marginAfterFunding, spot);
        int256 atTwap = _ratioAt(p, marginAfterFunding, markTwap);
        if (atTwap > ratio) ratio = atTwap;
        if (index != 0) {
            uint256 spread = spot > index ? spot - index : index - spot;
            if (spread > index.wMulDown(maxSpreadRatio)) {
                int256 atIndex = _ratioAt(p, marginAfterFunding, index);
                if (atIndex > ratio) ratio = atIndex;
            }
        }
    }

    /// @dev (margin after funding + PnL) / notional with the position valued at `price`.
    function _ratioAt(StoredPosition memory p, int256 marginAfterFunding, uint256 price) private pure returns (int256) {
        uint256 notional = _notionalAt(p.size, price);
        return _ratio(marginAfterFunding + _pnl(p.size, p.openNotional, notional), notional);
    }

    /// @dev How much base a liquidation closes. Closing a fraction f at penalty ratio c takes the
    /// ratio r to (r - f c) / (1 - f), ignoring price impact; solving for the target ratio
    /// t = maintenance + buffer gives f = (t - r) / (t - c), rounded up. The whole position when r
    /// is below c, or when what would remain is worth less than `minPositionNotional` at spot.
    function _liquidationSize(
        uint256 absSize,
        int256 ratio,
        uint256 spot,
        uint256 maintenanceMarginRatio,
        LiquidationParams memory params
    ) private pure returns (uint256 closeBase) {
        if (ratio < int256(uint256(params.feeRatio))) return absSize;
        // Here feeRatio <= ratio < maintenance < target, so the fraction is in (0, 1).
        uint256 target = maintenanceMarginRatio + params.partialBuffer;
        closeBase = absSize.mulDivUp(target - uint256(ratio), target - params.feeRatio);
        if (closeBase >= absSize || (absSize - closeBase).wMulDown(spot) < params.minPositionNotional) {
            return absSize;
        }
    }

    /// @dev Whether the rest of a partly closed position (`p`), holding `equity` less the penalty
    /// and valued at the spot price the close left behind, keeps at least the penalty ratio.
    function _restHealthy(
        address amm,
        StoredPosition memory p,
        int256 equity,
        uint256 penalty,
        uint256 feeRatio
    ) private view returns (bool) {
        uint256 notional = _markNotional(amm, p.size);
        int256 restEquity = equity - penalty.toInt256() + _pnl(p.size, p.openNotional, notional);
        return restEquity >= notional.wMulUp(feeRatio).toInt256();
    }

    /// @dev Closes the rest of a partly liquidated position as far as the pool's limit allows in
    /// this block, adding the trade to `t` and `liq`; returns the PnL it realised.
    function _closeRest(
        address amm,
        StoredPosition memory p,
        Liquidation memory liq,
        Trade memory t,
        uint256 fundBefore
    ) private returns (int256 realizedPnl) {
        uint256 more = Math.min(SignedMath.abs(p.size), IAmm(amm).maxCloseBase(p.size > 0));
        if (more == 0) return 0;
        Trade memory rest;
        // The first close accrued funding to now: this one settles none.
        _closePart(amm, p, more, fundBefore, rest);
        t.quoteAmount += rest.quoteAmount;
        t.baseDelta += rest.baseDelta;
        t.realizedPnl += rest.realizedPnl;
        liq.closeBase += more;
        liq.full = p.size == 0;
        return rest.realizedPnl;
    }

    /// @dev Adds an uncovered bad debt to the market's shortfall and makes the market reduce-only.
    function _recordShortfall(address amm, uint256 shortfall) private {
        uint256 total = _shortfalls[amm] + shortfall;
        _shortfalls[amm] = total;
        if (_markets[amm].status == MarketStatus.ACTIVE) _markets[amm].status = MarketStatus.REDUCE_ONLY;
        emit ShortfallRecorded(amm, shortfall, total);
    }

    // ---------------------------------------------------------------- global settlement

    /// @inheritdoc IClearingHouse
    function settleMarket(address amm) external onlyOwner {
        Market memory market = _tradableMarket(amm);
        uint256 price = IAmm(amm).getIndexTwap(_liquidationParams.markTwapInterval);
        if (price == 0) revert NoSettlementPrice(amm);
        IAmm.FundingSnapshot memory funding = IAmm(amm).shutdown(_insuranceAvailable());
        if (funding.insuranceFlow != 0) _config.vault.settle(address(0), 0, funding.insuranceFlow);
        (uint256 openLong, uint256 openShort) = IAmm(amm).getOpenInterest();
        market.status = MarketStatus.SETTLED;
        _markets[amm] = market;
        Settlement storage s = _settlements[amm];
        s.price = price;
        s.longIndex = funding.longIndex;
        s.shortIndex = funding.shortIndex;
        s.openLong = openLong;
        s.openShort = openShort;
        // The uncovered bad debt already left the market's pool: it is paid by its winners.
        s.poolValue = -_shortfalls[amm].toInt256();
        emit MarketSettled(amm, price, openLong, openShort);
        if (openLong == 0 && openShort == 0) _completeSettlement(amm, s);
    }

    /// @inheritdoc IClearingHouse
    function settlePosition(address amm, address trader) external nonReentrant {
        if (_markets[amm].status != MarketStatus.SETTLED) revert MarketNotSettled(amm);
        Settlement storage s = _settlements[amm];
        StoredPosition memory p = _positions[amm][trader];
        bool complete = _isComplete(s);
        if (p.size != 0) {
            complete = _recordClaim(amm, trader, p, s);
        } else if (p.margin == 0) {
            revert NoPosition(trader, amm);
        } else if (!complete) {
            revert SettlementIncomplete(s.recordedLong, s.openLong, s.recordedShort, s.openShort);
        }
        if (!complete) return;
        p = _positions[amm][trader];
        if (p.margin == 0) return;
        // Pro rata when the claims exceed what the positions held.
        uint256 payout = p.margin;
        if (s.poolValue <= 0) payout = 0;
        else if (s.claims > uint256(s.poolValue)) payout = payout.mulDivDown(uint256(s.poolValue), s.claims);
        delete _positions[amm][trader];
        if (payout != 0) _config.vault.settle(trader, payout.toInt256(), 0);
        emit SettlementPaid(trader, amm, payout);
    }

    /// @dev Values a position at the settlement price, records its claim in place of the position
    /// (size 0, margin = claim) and adds it to the market's totals; returns whether every position
    /// has now been recorded.
    function _recordClaim(
        address amm,
        address trader,
        StoredPosition memory p,
        Settlement storage s
    ) private returns (bool complete) {
        int256 index = p.size > 0 ? s.longIndex : s.shortIndex;
        int256 held = int256(uint256(p.margin)) - Funding.owed(p.size, index - p.fundingCheckpoint);
        int256 value = held + _pnl(p.size, p.openNotional, _notionalAt(p.size, s.price));
        uint256 claim = value > 0 ? uint256(value) : 0;
        s.poolValue += held;
        s.claims += claim;
        s.netOpenNotional += p.size > 0 ? int256(uint256(p.openNotional)) : -int256(uint256(p.openNotional));
        if (p.size > 0) s.recordedLong += uint256(int256(p.size));
        else s.recordedShort += uint256(-int256(p.size));
        _positions[amm][trader] = StoredPosition(0, claim.toUint128(), 0, 0);
        emit SettlementRecorded(trader, amm, claim);
        complete = _isComplete(s);
        if (complete) _completeSettlement(amm, s);
    }

    function _isComplete(Settlement storage s) private view returns (bool) {
        return s.recordedLong == s.openLong && s.recordedShort == s.openShort;
    }

    /// @dev Once every position is recorded, the market's pool is complete: besides the margins, it
    /// holds what closed positions realised into it, which backs the open positions' PnL on the
    /// curve. By path independence that is the PnL of closing all of them together, that is of
    /// closing their net size in one swap (the pool's rounding leaves it a few wei more, as dust).
    /// What the pool holds beyond the claims goes to the insurance fund.
    function _completeSettlement(address amm, Settlement storage s) private {
        int256 netSize = s.openLong.toInt256() - s.openShort.toInt256();
        int256 netQuote; // what closing the net size pays the positions (+) or costs them (-)
        if (netSize > 0) netQuote = IAmm(amm).previewSwapBase(netSize, uint256(netSize)).toInt256();
        else if (netSize < 0) netQuote = -IAmm(amm).previewSwapBase(netSize, uint256(-netSize)).toInt256();
        int256 poolValue = s.poolValue + netQuote - s.netOpenNotional;
        s.poolValue = poolValue;
        int256 surplus = poolValue - s.claims.toInt256();
        if (surplus > 0) _config.vault.settle(address(0), 0, surplus);
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
    function _settleAndEmit(address trader, address amm, Trade memory t, StoredPosition memory p) private {
        _config.vault.settle(trader, t.freeCollateralDelta, t.fee.toInt256() + t.insuranceFlow);
        _emitPositionChanged(trader, amm, t, p);
    }

    function _emitPositionChanged(address trader, address amm, Trade memory t, StoredPosition memory p) private {
        emit PositionChanged(
            trader,
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

    /// @dev |size| x price: rounded down for a long (its value), up for a short (its cost to buy back).
    function _notionalAt(int256 size, uint256 price) private pure returns (uint256) {
        return size > 0 ? uint256(size).wMulDown(price) : uint256(-size).wMulUp(price);
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

    /// @dev A listed market that has not been settled.
    function _tradableMarket(address amm) private view returns (Market memory market) {
        market = _listedMarket(amm);
        if (market.status == MarketStatus.SETTLED) revert MarketIsSettled(amm);
    }

    /// @dev Growing a position needs an active market.
    function _requireActive(address amm, Market memory market) private pure {
        if (market.status != MarketStatus.ACTIVE) revert MarketReduceOnly(amm);
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
    function setLiquidationParams(LiquidationParams calldata params) external onlyOwner {
        _setLiquidationParams(params);
    }

    function _setLiquidationParams(LiquidationParams memory params) private {
        if (
            params.feeRatio > 0.1e18 ||
            params.partialBuffer > 0.2e18 ||
            params.maxSpreadRatio < 0.01e18 ||
            params.maxSpreadRatio > 0.5e18 ||
            params.markTwapInterval < 1 minutes ||
            params.markTwapInterval > 1 hours
        ) revert InvalidLiquidationParams();
        _liquidationParams = params;
        emit LiquidationParamsUpdated(params);
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
    function getLiquidationMarginRatio(address amm, address trader) external view returns (int256 ratio) {
        StoredPosition memory p = _positions[amm][trader];
        if (p.size == 0) revert NoPosition(trader, amm);
        (ratio, ) = _liquidationValuation(amm, p, _liquidationParams, _insuranceAvailable());
    }

    /// @inheritdoc IClearingHouse
    function getLiquidationParams() external view returns (LiquidationParams memory) {
        return _liquidationParams;
    }

    /// @inheritdoc IClearingHouse
    function getMarketStatus(address amm) external view returns (MarketStatus status, uint256 shortfall) {
        return (_markets[amm].status, _shortfalls[amm]);
    }

    /// @inheritdoc IClearingHouse
    function getSettlement(address amm) external view returns (Settlement memory) {
        return _settlements[amm];
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
