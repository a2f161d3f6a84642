// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, IAmmErrors} from "../interfaces/IAmm.sol";
import {IAmmCurve, IAmmCurveErrors} from "../interfaces/IAmmCurve.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {CurveAdjustment} from "../libraries/CurveAdjustment.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {FundingPeriod} from "../libraries/FundingPeriod.sol";
import {PriceBand} from "../libraries/PriceBand.sol";
import {PriceHistory} from "../libraries/PriceHistory.sol";

/// @title AmmStorage
/// @notice The state of one market, shared by the {Amm} and its {AmmCurveModule}: the module runs
/// by DELEGATECALL on the Amm's storage, so both inherit this one layout (as the ClearingHouse and
/// its modules share {ClearingHouseBase}). Also the few reads both need: the fresh index, the
/// spread formula, the net position.
abstract contract AmmStorage is Ownable2Step {
    using FixedPoint for uint256;
    using FundingPeriod for FundingPeriod.State;
    using PriceHistory for PriceHistory.History;

    /// @dev Oldest recorded index price the market acts on (seconds): {IAmm-getValuationPrices},
    /// the repeg and the spread's index gap.
    uint256 internal constant FRESH_INDEX_AGE = 1 hours;
    /// @dev Narrowest non-zero index band (0.5% of the index) and widest (50%).
    uint256 internal constant INDEX_BAND_MIN = 0.005e18;
    uint256 internal constant INDEX_BAND_MAX = 0.5e18;
    /// @dev The step of the ratios kept in 24 bits (the index band in {RiskLimits}, the repeg
    /// threshold and the spread's bounds in {Budget}): a millionth.
    uint256 internal constant RATIO_STEP = 1e12;
    /// @dev The index band's step: it is stored in millionths of the index ({RiskLimits}).
    uint256 internal constant INDEX_BAND_STEP = RATIO_STEP;
    /// @dev Highest open interest cap: the most one side's total can hold (a uint104, as
    /// {FundingPeriod-OpenInterest} stores it), so a higher cap could never bind.
    uint256 internal constant MAX_OPEN_INTEREST_CAP = type(uint104).max;

    /// @dev Bits of `FundingPeriod.OpenInterest.curveFlags`: which dynamic features are on.
    uint8 internal constant FLAG_REPEG = 1;
    uint8 internal constant FLAG_SPREAD = 2;
    uint8 internal constant FLAG_LEVERAGE = 4;
    uint8 internal constant FLAG_DEPTH = 8;

    struct Reserves {
        uint128 quote;
        uint128 base;
    }

    /// @dev What every trade on a dynamic curve reads, in one slot: the budget and its target (the
    /// spread's drawdown reads both), the repeg threshold and the spread's bounds, the ratios in
    /// whole RATIO_STEPs (their bounds, at most MAX_REPEG_THRESHOLD = 200,000 steps, fit 24 bits).
    /// The target is at most 2^88 - 1 ({IAmmCurve-setCurveParams}); the budget, which every credit
    /// checks against 96 bits, is about 7.9e10 quote at most.
    struct Budget {
        uint96 amount;
        uint88 target;
        uint24 repegThresholdSteps;
        uint24 baseSpreadSteps;
        uint24 maxSpreadSteps;
    }

    /// @dev What the vAMM leverage bound reads, only for a trade that grows the net position: the
    /// bound (0: off; at most MAX_VAMM_LEVERAGE) and the insurance fund's share counted as the
    /// market's funds (at most 100%).
    struct VammLeverage {
        uint128 maxLeverage;
        uint128 fundShareRatio;
    }

    /// @dev What a repeg reads and writes besides the reserves and the budget, in one slot: the
    /// budget's floor (a move never spends below it) and the peg (1e18 at launch: the product of
    /// every repeg's factor).
    struct RepegBook {
        uint128 floor;
        uint128 peg;
    }

    /// @dev What a funding update's depth step reads and writes, in one slot: the formulaic k's
    /// parameters and the depth (1e18 at launch: the product of every depth change's factor; a
    /// change never takes it above maxDepthRatio <= 10x, so it fits 64 bits).
    struct DepthConfig {
        uint64 maxDepthChangeRatio;
        uint64 minDepthRatio;
        uint64 maxDepthRatio;
        uint64 depth;
    }

    /// @dev The risk limits ({IAmm-Limits}) and the index band, in the one slot every trade reads
    /// (the band is read by every trade that grows exposure). Bounded so that nothing is cut: the
    /// ratios are at most 100% (60 bits), the open interest cap at most MAX_OPEN_INTEREST_CAP, and
    /// the band (at most INDEX_BAND_MAX) a whole number of INDEX_BAND_STEP, kept in steps (at most
    /// 500,000: 19 bits).
    struct RiskLimits {
        uint64 maxTradeRatio;
        uint64 fluctuationLimitRatio;
        uint104 maxOpenInterest;
        uint24 indexBandSteps;
    }

    Reserves internal _reserves;
    RiskLimits internal _limits;
    /// @dev Written by every swap, so it also carries the time funding was last accrued to, and the
    /// dynamic curve's switches (`curveFlags`).
    FundingPeriod.OpenInterest internal _openInterest;
    /// @dev Mark price history. Its head, written at the first swap of each block, also holds the
    /// spot price at the block's start, which the fluctuation limit measures against (a repeg
    /// moves it to the repegged price).
    PriceHistory.History internal _markHistory;
    FundingPeriod.State internal _funding;
    /// @dev Index price history, written by funding updates and pokes; unstarted until the first
    /// valid oracle price.
    PriceHistory.History internal _indexHistory;
    IPriceFeed internal _priceFeed;
    bytes32 internal _asset;

    Budget internal _budget;
    RepegBook internal _repegBook;
    DepthConfig internal _depthConfig;
    VammLeverage internal _vammLeverage;
    /// @dev The budget as the last funding update left it (the "budget fell" test of the
    /// formulaic k), and what the curve's moves gained (negative costs: the net position lost) that
    /// the budget has not yet collected from the market's realised surplus
    /// ({IAmmCurve-collectGains}). One slot, written at funding updates and gaining moves.
    struct BudgetBook {
        uint128 atLastUpdate;
        uint128 gainsToCollect;
    }

    BudgetBook internal _budgetBook;

    /// @dev The one place the market reads the time. A block is identified by its timestamp,
    /// which strictly increases on Ethereum and the OP Stack (unlike block.number, whose meaning
    /// differs between L2s); where blocks share a timestamp, the per-block rules apply per second,
    /// which is stricter.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    /// @dev Sets the risk limits (constructor and {AmmCurveModule-setLimits}); keeps the index band.
    function _setLimits(IAmm.Limits memory limits) internal {
        if (limits.maxTradeRatio > FixedPoint.WAD) revert IAmmErrors.RatioTooHigh(limits.maxTradeRatio);
        if (limits.fluctuationLimitRatio > FixedPoint.WAD) {
            revert IAmmErrors.RatioTooHigh(limits.fluctuationLimitRatio);
        }
        if (limits.maxOpenInterest > MAX_OPEN_INTEREST_CAP) {
            revert IAmmErrors.OpenInterestCapTooHigh(limits.maxOpenInterest, MAX_OPEN_INTEREST_CAP);
        }
        RiskLimits storage stored = _limits;
        (stored.maxTradeRatio, stored.fluctuationLimitRatio, stored.maxOpenInterest) = (
            limits.maxTradeRatio,
            limits.fluctuationLimitRatio,
            uint104(limits.maxOpenInterest)
        );
        emit IAmm.LimitsUpdated(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
    }

    /// @dev Sets the funding parameters (constructor and {AmmCurveModule-setFundingParams}).
    function _setFundingParams(IAmm.FundingParams memory params) internal {
        _funding.setParams(params);
        emit IAmm.FundingParamsUpdated(params.maxPremiumRatio, params.minUpdateInterval, params.maxAccrualPeriod);
    }

    /// @dev Sets the funding subsidy ratio (constructor and {AmmCurveModule-setFundingSubsidyRatio}).
    function _setFundingSubsidyRatio(uint256 maxFundingSubsidyRatio) internal {
        _funding.setSubsidyRatio(maxFundingSubsidyRatio);
        emit IAmm.FundingSubsidyRatioUpdated(maxFundingSubsidyRatio);
    }

    /// @dev Whether a trade now repegs reserves `r` first: a fresh index (not 0) from which the
    /// spot is more than `threshold` away. The Amm's swaps and the module's preview both ask this.
    function _repegDue(Reserves memory r, uint256 index, uint256 threshold) internal pure returns (bool) {
        return index != 0 && PriceBand.beyond(_spotPrice(r), index, threshold);
    }

    /// @dev The last recorded index price when at most FRESH_INDEX_AGE old, else 0.
    function _freshIndex() internal view returns (uint256) {
        PriceHistory.Head memory indexHead = _indexHistory.head;
        if (indexHead.timestamp != 0 && _blockTimestamp() - indexHead.timestamp <= FRESH_INDEX_AGE) {
            return indexHead.price;
        }
        return 0;
    }

    /// @dev The spot price of reserves `r`, rounded down: {FixedPoint-wDivDown} of the two without
    /// its 512-bit product, which a 128-bit reserve times WAD (< 2^188) never needs: the same value,
    /// and the same division-by-zero panic, for less gas.
    /// @dev The prices a position is valued at: the spot, the mark TWAP over `twapInterval` and the
    /// recorded index (not a fresh oracle read: one slot instead of two cold contracts).
    function _valuationPrices(
        Reserves memory r,
        uint256 twapInterval
    ) internal view returns (uint256 spotPrice, uint256 markTwap, uint256 indexPrice) {
        spotPrice = _spotPrice(r);
        markTwap = _markHistory.twap(_blockTimestamp(), spotPrice, twapInterval);
        indexPrice = _freshIndex();
    }

    function _spotPrice(Reserves memory r) internal pure returns (uint256) {
        unchecked {
            // A uint128 times 1e18: no overflow. Division by zero still panics.
            return (uint256(r.quote) * FixedPoint.WAD) / r.base;
        }
    }

    /// @dev A ratio kept in `steps` RATIO_STEPs, as a WAD ratio.
    function _ratio(uint24 steps) internal pure returns (uint256) {
        unchecked {
            // At most 2^24 x 1e12: no overflow.
            return uint256(steps) * RATIO_STEP;
        }
    }

    /// @dev Longs' total size less shorts'.
    function _netPosition(FundingPeriod.OpenInterest memory oi) internal pure returns (int256) {
        return int256(uint256(oi.longSize)) - int256(uint256(oi.shortSize));
    }

    /// @dev The half-spread ratio of a trade taking the net position from `netBefore` to
    /// `netAfter` on a curve at `spot` with base reserve `baseReserve` ({IAmmCurve}): the skew it
    /// adds to, the index gap it widens (`index` 0: none known), the budget's drawdown; capped.
    /// Each term rounds up (the protocol's side).
    function _spreadRatio(
        Budget memory budget,
        int256 netBefore,
        int256 netAfter,
        uint256 spot,
        uint256 baseReserve,
        uint256 index
    ) internal pure returns (uint256) {
        CurveAdjustment.SpreadInputs memory inputs;
        inputs.baseSpread = _ratio(budget.baseSpreadSteps);
        inputs.maxSpread = _ratio(budget.maxSpreadSteps);
        uint256 sizeAfter = SignedMath.abs(netAfter);
        if (sizeAfter > SignedMath.abs(netBefore)) inputs.skew = sizeAfter.wDivUp(baseReserve);
        // A trade that raises the net position buys base: it moves the price up.
        bool priceUp = netAfter > netBefore;
        if (index != 0 && (priceUp ? spot > index : spot < index)) {
            inputs.gap = (priceUp ? spot - index : index - spot).wDivUp(index);
        }
        if (budget.amount < budget.target)
            inputs.drawdown = uint256(budget.target - budget.amount).wDivUp(budget.target);
        return CurveAdjustment.spreadRatio(inputs);
    }

    /// @dev The spread fee of a trade of `notional` changing the net position by `baseDelta` on
    /// reserves `r`, with the open interest `oi` before it: notional x ratio, rounded up.
    function _spreadFee(
        Reserves memory r,
        FundingPeriod.OpenInterest memory oi,
        int256 baseDelta,
        uint256 notional
    ) internal view returns (uint256 fee, uint256 ratio) {
        int256 netBefore = _netPosition(oi);
        ratio = _spreadRatio(_budgetAtSwap(), netBefore, netBefore + baseDelta, _spotPrice(r), r.base, _freshIndex());
        fee = notional.wMulUp(ratio);
    }

    /// @dev Reverts VammLeverageExceeded when a trade growing |net| from `netBefore` to `netAfter`
    /// leaves |net| x `price` above maxVammLeverage x (`budget` + fundShareRatio x
    /// `insuranceAvailable`); `price`: the fresh index, else the spot price.
    function _checkVammLeverage(
        int256 netBefore,
        int256 netAfter,
        uint256 price,
        uint256 budget,
        uint256 insuranceAvailable
    ) internal view {
        uint256 sizeAfter = SignedMath.abs(netAfter);
        if (sizeAfter <= SignedMath.abs(netBefore)) return;
        VammLeverage memory leverage = _vammLeverage;
        uint256 maxLeverage = leverage.maxLeverage;
        uint256 funds = budget + insuranceAvailable.wMulDown(leverage.fundShareRatio);
        if (!CurveAdjustment.withinLeverage(netBefore, netAfter, price, funds, maxLeverage)) {
            revert IAmmCurveErrors.VammLeverageExceeded(sizeAfter.wMulUp(price), funds.wMulDown(maxLeverage));
        }
    }

    /// @dev What the budget may put into a funding accrual's imbalance (`shortfall`: what it may pay,
    /// the budget above its floor) or take from it (else: the room below its target). Lent to
    /// {FundingPeriod} in {_backers}; it calls it only on a market whose dynamic curve is on and
    /// only for a stretch with an imbalance, so no other swap reads the budget's slots for funding.
    function _fundingBudgetLimit(bool shortfall) internal view returns (uint256) {
        uint256 budget = _budget.amount;
        if (shortfall) {
            uint256 floor = _repegBook.floor;
            return budget > floor ? budget - floor : 0;
        }
        uint256 target = _budget.target;
        return target > budget ? target - budget : 0;
    }

    /// @dev The backers of a funding accrual: the insurance fund's `insuranceAvailable` and the
    /// budget, read through {_fundingBudgetLimit} when the accrual needs it.
    function _backers(uint256 insuranceAvailable) internal pure returns (FundingPeriod.Backers memory) {
        return FundingPeriod.Backers(insuranceAvailable, _fundingBudgetLimit);
    }

    /// @dev The budget a swap now would charge its spread against: the stored one with the budget's
    /// share of the funding the swap accrues first (a trade's previews and bid / ask see what the
    /// trade will). The share depends on the budget alone, not on the fund ({Funding-split}), so the
    /// accrual is valued with an empty fund.
    function _budgetAtSwap() internal view returns (Budget memory budget) {
        budget = _budget;
        FundingPeriod.OpenInterest memory oi = _openInterest;
        (IAmm.FundingSnapshot memory funding, , ) = _funding.indicesAt(
            oi,
            _funding.period,
            _backers(0),
            _blockTimestamp()
        );
        int256 flow = funding.budgetFlow;
        // A credit is at most the room below the target (88 bits): the cast cuts nothing.
        budget.amount = uint96(flow >= 0 ? budget.amount + uint256(flow) : budget.amount - uint256(-flow));
    }

    /// @dev Books a funding accrual's `budgetFlow` ({IAmm-FundingSnapshot}) in the budget and emits
    /// BudgetFundingFlow. The money does not move: the budget and the positions' margins net of
    /// funding are both the market pool's locked margin, so the ClearingHouse books only the
    /// insurance fund's share. The flow stays within what {_fundingBudgetLimit} allowed: a payment
    /// leaves at least the floor, a credit at most the target (88 bits).
    function _bookFundingFlow(int256 budgetFlow) internal {
        uint256 budget = _budget.amount;
        budget = budgetFlow > 0 ? budget + uint256(budgetFlow) : budget - uint256(-budgetFlow);
        _budget.amount = uint96(budget);
        emit IAmmCurve.BudgetFundingFlow(budgetFlow, budget);
    }

    /// @dev Records a curve move from `oldSpot` to `newSpot` in the mark history: the stretch
    /// before counts at the old price, and the block's reference price for the fluctuation limit
    /// becomes the new one (also when an earlier swap of the block recorded it).
    function _recordCurveMove(uint256 oldSpot, uint256 newSpot) internal {
        (, bool firstInBlock) = PriceHistory.record(_markHistory, _blockTimestamp(), oldSpot, newSpot);
        if (!firstInBlock) _markHistory.head.price = uint88(Math.min(newSpot, type(uint88).max));
    }

    // ---------------------------------------------------------------- shared by the Amm and its modules

    /// @dev Where a repeg of reserves `r` toward `index` takes the quote reserve, as far as
    /// `available` of the budget pays ({CurveAdjustment-repegWithin}), and its signed cost; `r.quote`
    /// (no move) when the net short is as large as the base reserve (it cannot be valued on the
    /// curve) or the target does not fit.
    function _repegMove(
        Reserves memory r,
        uint256 index,
        uint256 available
    ) internal view returns (uint256 q1, int256 signedCost) {
        int256 net = _netPosition(_openInterest);
        if (net < 0 && uint256(-net) >= r.base) return (r.quote, 0);
        uint256 targetQuote = CurveAdjustment.quoteAtPrice(r.base, index);
        if (targetQuote == 0 || targetQuote > type(uint128).max) return (r.quote, 0);
        (q1, signedCost) = CurveAdjustment.repegWithin(r.quote, r.base, targetQuote, net, available);
        if (q1 == 0) return (r.quote, 0);
    }

    /// @dev `budget` - `floor`, or 0 below it.
    function _above(uint256 budget, uint256 floor) internal pure returns (uint256) {
        return budget > floor ? budget - floor : 0;
    }

    /// @dev The most base a close of the long (`closingLong`) or short side can take back in this
    /// block within the fluctuation limit (see {IAmm-maxCloseBase}).
    function _maxCloseBase(bool closingLong) internal view returns (uint256) {
        uint256 limitRatio = _limits.fluctuationLimitRatio;
        if (limitRatio == 0) return type(uint256).max;
        Reserves memory r = _reserves;
        uint256 spotPrice = _spotPrice(r);
        PriceHistory.Head memory head = _markHistory.head;
        uint256 blockStartPrice = head.timestamp == _blockTimestamp() ? head.price : spotPrice;
        return _maxCloseBaseAt(limitRatio, r, spotPrice, blockStartPrice, closingLong);
    }

    /// @dev {_maxCloseBase} on reserves `r` (at `spotPrice`) in a block that started at
    /// `blockStartPrice`, with the fluctuation limit `limitRatio` (not 0).
    function _maxCloseBaseAt(
        uint256 limitRatio,
        Reserves memory r,
        uint256 spotPrice,
        uint256 blockStartPrice,
        bool closingLong
    ) internal pure returns (uint256) {
        // 99% of the allowance, so the pool's rounding never tips the trade over the limit.
        uint256 allowance = limitRatio.wMulDown(0.99e18);
        // On the curve, price = k / base^2: the base reserve at a bound price p is sqrt(k / p).
        if (closingLong) {
            uint256 floorPrice = blockStartPrice.wMulUp(FixedPoint.WAD - Math.min(allowance, FixedPoint.WAD));
            if (floorPrice >= spotPrice) return 0;
            uint256 baseAtFloor = Math.sqrt(Math.mulDiv(r.quote, uint256(r.base) * FixedPoint.WAD, floorPrice));
            return baseAtFloor - r.base;
        }
        uint256 capPrice = blockStartPrice.wMulDown(FixedPoint.WAD + allowance);
        if (capPrice <= spotPrice) return 0;
        uint256 baseAtCap = Math.sqrt(
            Math.mulDiv(r.quote, uint256(r.base) * FixedPoint.WAD, capPrice),
            Math.Rounding.Ceil
        );
        return r.base - baseAtCap;
    }

    /// @dev What a liquidation is sized and judged on ({IAmm-getLiquidationInputs}).
    function _liquidationInputs(
        uint256 twapInterval,
        bool closingLong,
        uint256 insuranceAvailable
    ) internal view returns (IAmm.LiquidationInputs memory inputs) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        (inputs.funding, , ) = _funding.indicesAt(oi, _funding.period, _backers(insuranceAvailable), _blockTimestamp());
        Reserves memory r = _reserves;
        (inputs.spotPrice, inputs.markTwap, inputs.indexPrice) = _valuationPrices(r, twapInterval);
        inputs.maxCloseBase = _maxCloseBase(closingLong);
        (inputs.quoteReserve, inputs.baseReserve) = (r.quote, r.base);
    }
}
