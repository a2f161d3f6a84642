// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, IAmmErrors} from "../interfaces/IAmm.sol";
import {IAmmCurve, IAmmCurveErrors} from "../interfaces/IAmmCurve.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {ICommonErrors} from "../interfaces/ICommonErrors.sol";
import {CurveAdjustment} from "../libraries/CurveAdjustment.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {FundingPeriod} from "../libraries/FundingPeriod.sol";
import {AmmModule} from "./AmmModule.sol";
import {AmmViewModule} from "./AmmViewModule.sol";

/// @title AmmCurveModule
/// @notice The dynamic curve's moves and configuration ({IAmmCurve}), deployed once and given to
/// every {Amm}'s constructor (it holds no state: each Amm runs it through DELEGATECALL on its own
/// storage), so the Amm's code stays under the 24,576-byte limit and its creation code under
/// EIP-3860's 49,152: the repeg (before a trade that finds the spot too far from the index, and at
/// funding updates), the formulaic depth change at funding updates, the parameters, the budget's
/// credits and release, and the curve's views; also the market's cold administration (limits, index band,
/// oracle, funding parameters and their views, and the funding stop at settlement, {IAmm-shutdown}).
/// @dev Called directly it would act on its own, empty storage: every entry point refuses that
/// with {ICommonErrors-NotDelegated}. Access (owner, ClearingHouse) is checked by the Amm's entry
/// points except for the owner's, which reads the Amm's owner from the shared storage.
contract AmmCurveModule is AmmModule {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using FundingPeriod for FundingPeriod.State;

    /// @notice Lowest non-zero repeg threshold: 0.1% of the index.
    uint256 public constant MIN_REPEG_THRESHOLD = 0.001e18;
    /// @notice Highest repeg threshold: 20% of the index.
    uint256 public constant MAX_REPEG_THRESHOLD = 0.2e18;
    /// @notice Highest base half-spread: 1% of notional.
    uint256 public constant MAX_BASE_SPREAD = 0.01e18;
    /// @notice Highest half-spread cap: 5% of notional.
    uint256 public constant MAX_SPREAD = 0.05e18;
    /// @notice Lowest non-zero vAMM leverage: 0.5x.
    uint256 public constant MIN_VAMM_LEVERAGE = 0.5e18;
    /// @notice Highest vAMM leverage: 50x.
    uint256 public constant MAX_VAMM_LEVERAGE = 50e18;
    /// @notice Largest depth change per funding update: 10%.
    uint256 public constant MAX_DEPTH_CHANGE = 0.1e18;
    /// @notice Lowest `minDepthRatio`: 0.1x the launch depth.
    uint256 public constant MIN_DEPTH_LIMIT = 0.1e18;
    /// @notice Highest `maxDepthRatio`: 10x the launch depth.
    uint256 public constant MAX_DEPTH_LIMIT = 10e18;

    /// @notice What this contract is, checked by each Amm's constructor: one AmmCurveModule,
    /// stateless code run by DELEGATECALL, serves every market.
    bytes32 public constant CURVE_MODULE_KIND = keccak256("vamm.Amm.CurveModule");

    /// @notice The module that serves the market's views ({AmmViewModule}), created with this one:
    /// the Amm runs its views there by DELEGATECALL, so neither the Amm nor this module carries them.
    address public immutable viewModule = address(new AmmViewModule());

    // ---------------------------------------------------------------- curve moves

    /// @notice A trade's repeg toward `index` (the Amm found the spot beyond the threshold).
    /// @return cost What the budget paid (0 for a free or gaining move, or none).
    /// @return openedBlock Whether the repeg was the block's first record in the mark history (so
    /// a closing trade after it keeps the first swap's right to cross the fluctuation limit).
    function repeg(uint256 index) external onlyDelegated returns (uint256 cost, bool openedBlock) {
        openedBlock = _markHistory.head.timestamp != _blockTimestamp();
        bool moved;
        (cost, moved) = _repeg(index);
        openedBlock = openedBlock && moved;
    }

    /// @notice A funding update's adjustments: a repeg toward the fresh index when the closed
    /// window's TWAPs part by more than the threshold, then the formulaic depth change.
    /// @return cost What the budget paid for both.
    /// @return gainsToCollect What the curve's moves have gained and the budget not yet collected.
    function adjustAtFunding(
        uint256 markTwap,
        uint256 indexTwap
    ) external onlyDelegated returns (uint256 cost, uint256 gainsToCollect) {
        uint256 threshold = _ratio(_budget.repegThresholdSteps);
        if (threshold != 0 && indexTwap != 0) {
            uint256 gap = markTwap > indexTwap ? markTwap - indexTwap : indexTwap - markTwap;
            uint256 index = _freshIndex();
            if (gap > indexTwap.wMulDown(threshold) && index != 0) (cost, ) = _repeg(index);
        }
        if (_depthConfig.maxDepthChangeRatio != 0) cost += _adjustDepth();
        _budgetBook.atLastUpdate = _budget.amount;
        gainsToCollect = _budgetBook.gainsToCollect;
    }

    /// @dev Moves the quote reserve toward `index` x base, as far as the budget above its floor
    /// pays ({_repegMove}); records the move and emits Repegged.
    function _repeg(uint256 index) private returns (uint256 cost, bool moved) {
        Reserves memory r = _reserves;
        uint256 budget = _budget.amount;
        RepegBook memory book = _repegBook;
        (uint256 q1, int256 signedCost) = _repegMove(r, index, _above(budget, book.floor));
        if (q1 == r.quote) return (0, false);
        (cost, budget) = _pay(budget, signedCost);
        uint256 oldPeg = book.peg;
        uint256 newPeg = Math.mulDiv(oldPeg, q1, r.quote);
        _repegBook.peg = newPeg.toUint128();
        _reserves = Reserves(uint128(q1), r.base);
        _recordCurveMove(_spotPrice(r), q1.wDivDown(r.base));
        emit IAmmCurve.Repegged(oldPeg, newPeg, q1, r.base, signedCost, budget);
        return (cost, true);
    }

    /// @dev The formulaic k: grows the depth by maxDepthChangeRatio (at most to maxDepthRatio)
    /// while the budget is at or above its target and the cost fits in budget - target (else by
    /// the ratio whose cost is that room, if it fits after rounding, else not); shrinks it by
    /// maxDepthChangeRatio (at least to minDepthRatio) when the budget fell since the last update.
    function _adjustDepth() private returns (uint256) {
        (uint256 depth, uint256 ratio, uint256 available) = _depthStep();
        if (ratio == 0) return 0;
        Reserves memory r = _reserves;
        int256 net = _netPosition(_openInterest);
        (bool ok, uint256 q1, uint256 b1, int256 signedCost) = _scaled(r, ratio, net);
        if (ok && signedCost > 0 && uint256(signedCost) > available && ratio > FixedPoint.WAD) {
            // The full step costs more than the room: grow by the exact ratio whose cost is the
            // room ({CurveAdjustment-depthRatioForCost}), one wei less when the reserves' rounding
            // down and the cost's rounding up take it above the room.
            ratio = Math.min(CurveAdjustment.depthRatioForCost(r.quote, r.base, net, available), ratio);
            (ok, q1, b1, signedCost) = _scaled(r, ratio, net);
            if (ok && signedCost > 0 && uint256(signedCost) > available && ratio > FixedPoint.WAD) {
                (ok, q1, b1, signedCost) = _scaled(r, --ratio, net);
            }
        }
        if (!ok || (signedCost > 0 && uint256(signedCost) > available) || ratio == FixedPoint.WAD) return 0;
        uint256 newDepth = depth.wMulDown(ratio);
        _depthConfig.depth = newDepth.toUint64();
        _reserves = Reserves(uint128(q1), uint128(b1));
        _recordCurveMove(_spotPrice(r), q1.wDivDown(b1));
        (uint256 cost, uint256 budget) = _pay(_budget.amount, signedCost);
        emit IAmmCurve.DepthChanged(depth, newDepth, q1, b1, signedCost, budget);
        return cost;
    }

    /// @dev This update's depth step: the depth now, the ratio to scale the reserves by (0: none)
    /// and what the step may cost.
    function _depthStep() private view returns (uint256 depth, uint256 ratio, uint256 available) {
        DepthConfig memory d = _depthConfig;
        (uint256 budget, uint256 target) = (_budget.amount, _budget.target);
        depth = d.depth;
        uint256 newDepth;
        if (budget >= target) {
            newDepth = Math.min(depth.wMulDown(FixedPoint.WAD + d.maxDepthChangeRatio), d.maxDepthRatio);
            if (newDepth <= depth) return (depth, 0, 0);
            available = budget - target;
        } else if (budget < _budgetBook.atLastUpdate) {
            newDepth = Math.max(depth.wMulUp(FixedPoint.WAD - d.maxDepthChangeRatio), d.minDepthRatio);
            if (newDepth >= depth) return (depth, 0, 0);
            available = _available(budget);
        } else {
            return (depth, 0, 0);
        }
        ratio = newDepth.wDivDown(depth);
    }

    /// @dev Reserves `r` scaled by `ratio` and the cost of the change; not ok when the result
    /// leaves 128 bits, empties a reserve or cannot value the net position.
    function _scaled(
        Reserves memory r,
        uint256 ratio,
        int256 net
    ) private pure returns (bool ok, uint256 q1, uint256 b1, int256 cost) {
        (q1, b1) = CurveAdjustment.scaleDepth(r.quote, r.base, ratio);
        if (q1 == 0 || b1 == 0 || q1 > type(uint128).max || b1 > type(uint128).max) return (false, q1, b1, 0);
        if (net < 0 && (uint256(-net) >= b1 || uint256(-net) >= r.base)) return (false, q1, b1, 0);
        return (true, q1, b1, CurveAdjustment.adjustmentCost(r.quote, r.base, q1, b1, net));
    }

    /// @dev What a curve move may cost: the budget above its floor.
    function _available(uint256 budget) private view returns (uint256) {
        return _above(budget, _repegBook.floor);
    }

    /// @dev Takes a positive cost out of `budget` (the caller checked it fits) and stores what
    /// is left; a negative one credits nothing. Returns what was paid and the budget after.
    function _pay(uint256 budget, int256 signedCost) private returns (uint256 paid, uint256 budgetAfter) {
        if (signedCost <= 0) {
            // The net position lost: the budget may collect as much once the market's traders
            // have realised it ({collectGains}).
            if (signedCost < 0) _budgetBook.gainsToCollect += uint256(-signedCost).toUint128();
            return (0, budget);
        }
        paid = uint256(signedCost);
        budgetAfter = budget - paid;
        _budget.amount = uint96(budgetAfter);
    }

    // ---------------------------------------------------------------- budget

    /// @notice See {IAmmCurve-creditBudget}; the Amm checks the caller is the ClearingHouse.
    function creditBudget(uint256 amount) external onlyDelegated {
        if (amount == 0) revert ICommonErrors.ZeroAmount();
        uint256 budget = _budget.amount + amount;
        _budget.amount = budget.toUint96();
        emit IAmmCurve.BudgetCredited(amount, budget);
    }

    /// @notice See {IAmmCurve-collectGains}; the Amm checks the caller is the ClearingHouse.
    function collectGains(uint256 available) external onlyDelegated returns (uint256 collected) {
        uint256 pending = _budgetBook.gainsToCollect;
        collected = Math.min(available, pending);
        if (collected == 0) return 0;
        unchecked {
            // collected <= pending.
            _budgetBook.gainsToCollect = uint128(pending - collected);
        }
        uint256 budget = _budget.amount + collected;
        _budget.amount = budget.toUint96();
        // Collected at a funding update, after its adjustments: the update's budget includes it.
        _budgetBook.atLastUpdate = uint128(budget);
        emit IAmmCurve.GainsCollected(collected, pending - collected, budget);
    }

    /// @notice See {IAmmCurve-releaseBudget}; the Amm checks the caller is the ClearingHouse.
    function releaseBudget() external onlyDelegated returns (uint256 budget) {
        _budgetBook.gainsToCollect = 0;
        budget = _budget.amount;
        if (budget == 0) return 0;
        _budget.amount = 0;
        _budgetBook.atLastUpdate = 0;
        emit IAmmCurve.BudgetReleased(budget);
    }

    /// @notice See {IAmmCurve-coverBadDebt}; the Amm checks the caller is the ClearingHouse.
    function coverBadDebt(uint256 badDebt) external onlyDelegated returns (uint256 spent) {
        if (badDebt == 0) revert ICommonErrors.ZeroAmount();
        uint256 budget = _budget.amount;
        spent = Math.min(badDebt, _available(budget));
        if (spent == 0) return 0;
        budget -= spent;
        _budget.amount = uint96(budget);
        emit IAmmCurve.BudgetSpentOnBadDebt(spent, budget);
    }

    // ---------------------------------------------------------------- parameters

    /// @notice See {IAmmCurve-setCurveParams}.
    function setCurveParams(IAmmCurve.CurveParams calldata p) external onlyDelegated onlyOwner {
        _validate(p);
        // _validate bounds each figure to its field, the ratios in whole steps: no cast cuts.
        _budget = Budget(
            _budget.amount,
            uint88(p.budgetTarget),
            uint24(p.repegThresholdRatio / RATIO_STEP),
            uint24(p.baseSpreadRatio / RATIO_STEP),
            uint24(p.maxSpreadRatio / RATIO_STEP)
        );
        _repegBook.floor = uint128(p.budgetFloor);
        _vammLeverage = VammLeverage(uint128(p.maxVammLeverage), uint128(p.fundShareRatio));
        _depthConfig = DepthConfig(
            uint64(p.maxDepthChangeRatio),
            uint64(p.minDepthRatio),
            uint64(p.maxDepthRatio),
            _depthConfig.depth
        );
        uint8 flags;
        if (p.repegThresholdRatio != 0) flags |= FLAG_REPEG;
        if (p.maxSpreadRatio != 0) flags |= FLAG_SPREAD;
        if (p.maxVammLeverage != 0) flags |= FLAG_LEVERAGE;
        if (p.maxDepthChangeRatio != 0) flags |= FLAG_DEPTH;
        _openInterest.curveFlags = flags;
        emit IAmmCurve.CurveParamsUpdated(p);
    }

    function _validate(IAmmCurve.CurveParams calldata p) private pure {
        uint256 threshold = p.repegThresholdRatio;
        if (threshold != 0 && (threshold < MIN_REPEG_THRESHOLD || threshold > MAX_REPEG_THRESHOLD)) {
            revert IAmmCurveErrors.RepegThresholdOutOfRange(threshold);
        }
        if (
            p.baseSpreadRatio > MAX_BASE_SPREAD || p.maxSpreadRatio < p.baseSpreadRatio || p.maxSpreadRatio > MAX_SPREAD
        ) {
            revert IAmmCurveErrors.SpreadOutOfRange(p.baseSpreadRatio, p.maxSpreadRatio);
        }
        if (threshold % RATIO_STEP != 0 || p.baseSpreadRatio % RATIO_STEP != 0 || p.maxSpreadRatio % RATIO_STEP != 0) {
            revert IAmmCurveErrors.CurveRatioNotWholeStep(
                p.repegThresholdRatio,
                p.baseSpreadRatio,
                p.maxSpreadRatio,
                RATIO_STEP
            );
        }
        uint256 leverage = p.maxVammLeverage;
        if (leverage != 0 && (leverage < MIN_VAMM_LEVERAGE || leverage > MAX_VAMM_LEVERAGE)) {
            revert IAmmCurveErrors.VammLeverageOutOfRange(leverage);
        }
        if (p.fundShareRatio > FixedPoint.WAD) revert IAmmCurveErrors.FundShareOutOfRange(p.fundShareRatio);
        if (p.budgetFloor > p.budgetTarget || p.budgetTarget > type(uint88).max) {
            revert IAmmCurveErrors.BudgetBoundsInvalid(p.budgetFloor, p.budgetTarget);
        }
        if (
            p.maxDepthChangeRatio > MAX_DEPTH_CHANGE ||
            p.minDepthRatio < MIN_DEPTH_LIMIT ||
            p.minDepthRatio > FixedPoint.WAD ||
            p.maxDepthRatio < FixedPoint.WAD ||
            p.maxDepthRatio > MAX_DEPTH_LIMIT
        ) revert IAmmCurveErrors.DepthBoundsOutOfRange(p.maxDepthChangeRatio, p.minDepthRatio, p.maxDepthRatio);
    }

    // ---------------------------------------------------------------- market administration

    /// @notice See {IAmm-setLimits}.
    function setLimits(IAmm.Limits calldata limits) external onlyDelegated onlyOwner {
        _setLimits(limits);
    }

    /// @notice See {IAmm-setIndexBand}.
    function setIndexBand(uint256 indexBandRatio) external onlyDelegated onlyOwner {
        if (indexBandRatio != 0 && (indexBandRatio < INDEX_BAND_MIN || indexBandRatio > INDEX_BAND_MAX)) {
            revert IAmmErrors.IndexBandOutOfRange(indexBandRatio);
        }
        if (indexBandRatio % INDEX_BAND_STEP != 0) {
            revert IAmmErrors.IndexBandNotWholeStep(indexBandRatio, INDEX_BAND_STEP);
        }
        // At most INDEX_BAND_MAX / INDEX_BAND_STEP = 500,000 steps: fits 24 bits.
        _limits.indexBandSteps = uint24(indexBandRatio / INDEX_BAND_STEP);
        emit IAmm.IndexBandUpdated(indexBandRatio);
    }

    /// @notice See {IAmm-setOracle}.
    function setOracle(IPriceFeed priceFeed, bytes32 asset) external onlyDelegated onlyOwner {
        if (address(priceFeed) == address(0)) revert IAmmErrors.ZeroPriceFeed();
        _priceFeed = priceFeed;
        _asset = asset;
        emit IAmm.OracleSet(address(priceFeed), asset);
    }

    /// @notice See {IAmm-shutdown}; the Amm checks the caller is the ClearingHouse.
    function shutdown(uint256 insuranceAvailable) external onlyDelegated returns (IAmm.FundingSnapshot memory funding) {
        FundingPeriod.OpenInterest memory oi = _openInterest;
        funding = _funding.stop(oi, _backers(insuranceAvailable), _blockTimestamp());
        _openInterest = oi;
        if (funding.budgetFlow != 0) _bookFundingFlow(funding.budgetFlow);
        emit IAmm.FundingUpdated(0, 0, 0, funding.longIndex, funding.shortIndex, funding.insuranceFlow);
    }

    /// @notice See {IAmm-setFundingParams}.
    function setFundingParams(IAmm.FundingParams calldata params) external onlyDelegated onlyOwner {
        _setFundingParams(params);
    }

    /// @notice See {IAmm-setFundingSubsidyRatio}.
    function setFundingSubsidyRatio(uint256 maxFundingSubsidyRatio) external onlyDelegated onlyOwner {
        _setFundingSubsidyRatio(maxFundingSubsidyRatio);
    }
}
