// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {sequencerUp} from "../../utils/SequencerGate.sol";
import {IAmmErrors} from "../../../../contracts/interfaces/IAmm.sol";
import {IAmmCurve} from "../../../../contracts/interfaces/IAmmCurve.sol";
import {ISequencerErrors} from "../../../../contracts/libraries/SequencerUptime.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../../contracts/interfaces/IVault.sol";
import {Vm} from "../../utils/Vm.sol";
import {MarketActor} from "./MarketActor.sol";
import {TraderHandler} from "./TraderHandler.sol";
import {IAmm} from "../../../../contracts/interfaces/IAmm.sol";
import {ILiquidatorHook} from "./HandlerBase.sol";
import {LiquidationMath} from "../../../../contracts/libraries/LiquidationMath.sol";
import {StoredPosition} from "../../../../contracts/libraries/PositionMath.sol";

/// @notice A keeper with its own address: liquidates a fuzzed trader, preferring (three times out of four)
/// one whose liquidation margin ratio is below maintenance, and otherwise checks that a position at or
/// above maintenance is refused (NotLiquidatable). It also makes traders try to liquidate themselves
/// (SelfLiquidation). Every successful liquidation is checked against its PositionLiquidated event,
/// the Vault's balances and the rules, and its figures are summed into the ghosts the invariants read
/// (rewards, insurance penalties, bad debt, shortfall); the liquidated trader's realised PnL, penalty
/// and bad debt go to the TraderHandler's ledger. The keeper never withdraws during a run, so its free
/// collateral is exactly the sum of its rewards.
contract LiquidatorHandler is MarketActor, ILiquidatorHook {
    address public constant LIQUIDATOR = address(0x11C1D470);

    // ------------------------------------------------------------------ ghosts: activity

    uint256 public calls;
    uint256 public skips;
    uint256 public liquidations;
    uint256 public fullLiquidations;
    uint256 public partialLiquidations;
    uint256 public boundedPenalties;
    uint256 public badDebtLiquidations;
    uint256 public shortfallLiquidations;
    /// @dev Refusals of a position at or above maintenance (NotLiquidatable), as they should be.
    uint256 public notLiquidatableRefusals;
    /// @dev Other expected reverts (pause, fluctuation limit, reserve, pool).
    uint256 public expectedReverts;
    uint256 public selfLiquidationRefusals;
    /// @dev Refusals while the sequencer was down or in its grace period (SequencerDown, GracePeriodNotOver).
    uint256 public sequencerRefusals;
    /// @dev Times the keeper waited for the mark TWAP (15 to 30 minutes).
    uint256 public waits;

    // ------------------------------------------------------------------ ghosts: the events' figures (18 decimals)

    uint256 public sumRewards;
    uint256 public sumInsurancePenalties;
    uint256 public sumBadDebt;
    uint256 public sumShortfall;
    /// @dev The bad debt the insurance fund paid (bad debt - shortfall) and the rewards it paid (with bad debt).
    uint256 public sumCovered;
    /// @dev The bad debt the market's AMM budget paid (BudgetSpentOnBadDebt less its reward part).
    uint256 public sumBadDebtFromBudget;
    /// @dev Bad debt beyond the bad debt at the fair price, charged to the market (BadDebtChargedToMarket):
    /// not a shortfall, the market's pool is that much short and its winners' claims wait.
    uint256 public sumChargedToMarket;
    /// @dev P20's one allowance: how far liquidations that charged bad debt to the market took the
    /// market's pool below its locked margin (the increase of locked - pool, at most what they
    /// charged). A position whose funding debt exceeds its margin leaves that debt in the receivers'
    /// locked margin; the fund covers only the bad debt at the fair price, so what is charged beyond
    /// it is missing from the pool until the market's losses refill it (by design, SPEC.md).
    uint256 public sumDeficitCharged;
    uint256 public deficitChargedLiquidations;
    uint256 public sumRewardsFromFund;
    uint256 public sumQuoteClosed;
    /// @dev The realised PnL of liquidations that realised a profit (paid only as far as the market's
    /// profitAvailable: the rest was deferred, kept in the rest or queued; the fixed finding "a
    /// liquidation pays its profit out of other positions' margins"); and how many. Statistics.
    uint256 public sumLiquidationGains;
    uint256 public profitableLiquidations;
    /// @dev Token units the keeper withdrew (only at the end of a run).
    uint256 public withdrawnUnits;

    // ------------------------------------------------------------------ ghosts: violations

    /// @dev A position liquidated while its liquidation margin ratio was >= maintenance, or one below it
    /// refused with NotLiquidatable ("only below maintenance", both ways).
    uint256 public liquidatedAtOrAboveMaintenance;
    uint256 public refusedBelowMaintenance;
    /// @dev A trader liquidated its own position.
    uint256 public selfLiquidationAccepted;
    /// @dev Value created or destroyed by a liquidation (see _checkConservation).
    uint256 public conservationViolations;
    /// @dev Reward / insurance penalty / bad debt / shortfall different from the rules.
    uint256 public penaltyMismatches;
    /// @dev An event disagreeing with the state (positions, balances, market status).
    uint256 public eventMismatches;
    bytes4 public lastError;
    mapping(bytes4 selector => uint256) public revertsBySelector;

    constructor(TraderHandler traders_) MarketActor(traders_, LIQUIDATOR, "liquidator") {}

    // ================================================================== actions (fuzz targets)

    /// @notice Liquidates a trader: three times out of four the first (from the seed) below maintenance
    /// if any, else the seed's trader with a position (most often one that must be refused). Half the
    /// time through liquidateWithLimit (no bound, no deadline). When no position is liquidatable but one
    /// is below maintenance at the spot price (the mark TWAP still values it higher), the keeper waits:
    /// 15 to 30 minutes pass, so the TWAP catches up with the spot price.
    function liquidate(uint256 traderSeed, uint256 modeSeed) external {
        calls++;
        address t;
        bool found;
        if (modeSeed % 4 != 0) {
            (t, found) = _traderBelowMaintenance(traderSeed);
            if (!found && _anyBelowMaintenanceAtSpot()) {
                uint256 dt = bound(modeSeed >> 3, 15 minutes + 1, 30 minutes);
                vm.warp(block.timestamp + dt);
                vm.roll(block.number + dt / 12 + 1);
                waits++;
                (t, found) = _traderBelowMaintenance(traderSeed);
            }
        }
        if (!found) (t, found) = _traderWithPosition(traderSeed);
        if (!found) {
            skips++;
            return;
        }
        _attempt(t, (modeSeed >> 2) & 1 == 1);
        traders.syncK();
    }

    /// @notice A trader tries to liquidate its own position: must revert SelfLiquidation (EnforcedPause
    /// while paused), whatever its margin ratio.
    function selfLiquidate(uint256 traderSeed) external {
        calls++;
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            skips++;
            return;
        }
        vm.prank(t);
        try clearingHouse.liquidate(address(amm), t) {
            selfLiquidationAccepted++;
        } catch (bytes memory err) {
            bytes4 sel = _selector(err);
            if (sel == IClearingHouse.SelfLiquidation.selector || sel == IClearingHouse.EnforcedPause.selector) {
                selfLiquidationRefusals++;
            } else {
                _unexpected(sel);
            }
        }
        traders.syncK();
    }

    /// @inheritdoc ILiquidatorHook
    function liquidateForSettlement(address t) external returns (bool done, bool liquidatable) {
        if (_position(t).size == 0) return (false, false);
        liquidatable = _liquidationRatio(t) < int256(uint256(_params().maintenanceMarginRatio));
        if (!liquidatable) return (false, false);
        done = _attempt(t, false);
        traders.syncK();
    }

    // ================================================================== the check of one liquidation

    /// @dev Everything read before a liquidation.
    struct Before {
        IClearingHouse.Position p;
        int256 ratio;
        uint256 mmr;
        bool paused;
        uint256 traderFree;
        uint256 liquidatorFree;
        /// @dev What the trader and the keeper are owed in the market's claim queue.
        uint256 traderClaim;
        uint256 liquidatorClaim;
        uint256 pool;
        uint256 fund;
        uint256 allFree;
        uint256 shortfall;
        uint256 liquidationFeeRatio;
        /// @dev The funding the position owes now and the insurance flow the liquidation's accrual
        /// will book, both read from the same indices the liquidation settles on.
        int256 pending;
        int256 flow;
        bool sequencerUp;
        /// @dev The prices the liquidation's bad debt is judged at (getLiquidationInputs, same block):
        /// the spot, the mark TWAP and the recorded index (0: none).
        uint256 spot;
        uint256 markTwap;
        uint256 index;
        /// @dev The market's profitAvailable before the liquidation (what its profit may be paid from).
        uint256 available;
        /// @dev The ledger's fund receivable booked before the liquidation.
        uint256 receivableBooked;
        /// @dev How far the market's pool was below its locked margin before the liquidation.
        uint256 deficit;
        /// @dev The market's AMM budget above its floor: it pays the fair bad debt before the fund.
        uint256 budgetAbove;
        /// @dev The spot price is already beyond the fluctuation band on the far side (see SPEC.md,
        /// Observations): the Amm's maxCloseBase for the other side is 0.
    }

    /// @dev What the logs of a liquidation said.
    struct Seen {
        uint256 positionChanged;
        uint256 positionLiquidated;
        uint256 shortfallRecorded;
        int256 baseDelta;
        uint256 quoteAmount;
        int256 pnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeDelta;
        uint256 baseClosed;
        uint256 quoteClosed;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 shortfall;
        bool full;
        uint256 shortfallTotal;
        uint256 shortfallRecordedAmount;
        /// @dev BadDebtChargedToMarket: how many, and the amount.
        uint256 chargedEvents;
        uint256 charged;
        /// @dev The Amm's BudgetSpentOnBadDebt: what the market's budget paid (of the fair bad debt,
        /// then `rewardFromBudget` of the reward, as _checkPenalty works it out).
        uint256 fromBudget;
        uint256 rewardFromBudget;
        /// @dev The dynamic curve: the spread the close paid (SpreadCharged, in the PositionChanged's
        /// fee, out of the position's equity, into the budget) and what a repeg before the swap took
        /// from the budget (positive Repegged costs), and the budget's share of the swap's funding
        /// accrual (BudgetFundingFlow: + it took the paying side's surplus, - it paid the receiving
        /// side's excess). All 0 with the static curve.
        uint256 spread;
        uint256 curveCost;
        int256 budgetFunding;
    }

    /// @dev One liquidation of `t` by the keeper, checked; true if it went through.
    function _attempt(address t, bool withLimit) internal returns (bool ok) {
        Before memory b = _snapshot(t);
        vm.recordLogs();
        vm.prank(LIQUIDATOR);
        bool success;
        bytes memory err;
        if (withLimit) {
            try clearingHouse.liquidateWithLimit(address(amm), t, 0, DEADLINE) {
                success = true;
            } catch (bytes memory reason) {
                err = reason;
            }
        } else {
            try clearingHouse.liquidate(address(amm), t) {
                success = true;
            } catch (bytes memory reason) {
                err = reason;
            }
        }
        if (!success) {
            vm.getRecordedLogs();
            _onRevert(b, _selector(err));
            return false;
        }
        // "Only below maintenance": the ratio the view gave just before, in the same block.
        if (b.ratio >= int256(b.mmr)) liquidatedAtOrAboveMaintenance++;
        if (!b.sequencerUp) traders.recordGateViolation();
        Seen memory e = _readLogs(t);
        _checkEvents(t, b, e);
        _checkPenalty(b, e);
        _checkConservation(t, b, e);
        _record(t, b, e);
        traders.recordFunding(t, e.fundingPayment, b.flow);
        return true;
    }

    function _snapshot(address t) internal view returns (Before memory b) {
        b.p = _position(t);
        b.ratio = _liquidationRatio(t);
        b.mmr = _params().maintenanceMarginRatio;
        b.paused = clearingHouse.paused();
        b.traderFree = vault.freeCollateral(t);
        b.liquidatorFree = vault.freeCollateral(LIQUIDATOR);
        b.traderClaim = vault.claimOf(address(amm), t);
        b.liquidatorClaim = vault.claimOf(address(amm), LIQUIDATOR);
        (b.pool, b.fund) = vault.getPoolBalances();
        b.allFree = _allFree();
        (, b.shortfall) = clearingHouse.getMarketStatus(address(amm));
        b.liquidationFeeRatio = clearingHouse.getLiquidationParams().feeRatio;
        b.pending = clearingHouse.getPendingFunding(address(amm), t);
        b.flow = amm.getFundingIndices(b.fund).insuranceFlow;
        IAmm.LiquidationInputs memory inputs = amm.getLiquidationInputs(
            clearingHouse.getLiquidationParams().markTwapInterval,
            b.p.size > 0,
            b.fund
        );
        (b.spot, b.markTwap, b.index) = (inputs.spotPrice, inputs.markTwap, inputs.indexPrice);
        // The liquidation judges and prices on the curve after any repeg it runs first.
        // (The budget is read before it: _checkPenalty takes the repeg's cost from the logs.)
        (uint256 q1, uint256 b1, , ) = amm.previewRepeg();
        b.spot = Math.mulDiv(q1, WAD, b1);
        uint256 budget = amm.getCurveState().budget;
        b.available = vault.profitAvailable(address(amm));
        b.receivableBooked = traders.sumReceivableBooked();
        b.deficit = _deficit();
        uint256 floor = amm.getCurveParams().budgetFloor;
        b.budgetAbove = budget > floor ? budget - floor : 0;
        b.sequencerUp = sequencerUp(clearingHouse);
    }

    /// @dev Expected refusals: NotLiquidatable exactly when the ratio is >= maintenance; the pause; the
    /// fluctuation limit already used up in this block (LiquidationLimitReached); a short larger than
    /// the base reserve (InsufficientReserve). Never for lack of pool money: what the market's pool
    /// cannot pay of the reward or the trader's payout is queued as a claim.
    function _onRevert(Before memory b, bytes4 sel) internal {
        lastError = sel;
        revertsBySelector[sel]++;
        if (sel == IClearingHouse.EnforcedPause.selector && b.paused) {
            expectedReverts++;
        } else if (
            !b.sequencerUp &&
            (sel == ISequencerErrors.SequencerDown.selector || sel == ISequencerErrors.GracePeriodNotOver.selector)
        ) {
            // Liquidations are gated on the L2 sequencer, whatever the ratio.
            sequencerRefusals++;
        } else if (sel == IClearingHouse.NotLiquidatable.selector) {
            if (b.ratio < int256(b.mmr)) refusedBelowMaintenance++;
            else notLiquidatableRefusals++;
        } else if (b.ratio >= int256(b.mmr)) {
            // At or above maintenance the only answer (unpaused) is NotLiquidatable.
            _unexpected(sel);
        } else if (
            sel == IClearingHouse.LiquidationLimitReached.selector || sel == IAmmErrors.InsufficientReserve.selector
        ) {
            expectedReverts++;
        } else {
            _unexpected(sel);
        }
    }

    function _readLogs(address t) internal returns (Seen memory e) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter == address(vault)) {
                traders.recordVaultLog(l.topics, l.data);
            } else if (l.emitter == address(amm)) {
                traders.recordAmmLog(l.topics, l.data);
                if (l.topics[0] == IAmmCurve.BudgetSpentOnBadDebt.selector) {
                    (e.fromBudget, ) = abi.decode(l.data, (uint256, uint256));
                } else if (l.topics[0] == IAmmCurve.SpreadCharged.selector) {
                    (, uint256 spreadFee, ) = abi.decode(l.data, (uint256, uint256, uint256));
                    e.spread += spreadFee;
                } else if (l.topics[0] == IAmmCurve.BudgetFundingFlow.selector) {
                    (int256 amount, ) = abi.decode(l.data, (int256, uint256));
                    e.budgetFunding += amount;
                } else if (l.topics[0] == IAmmCurve.Repegged.selector) {
                    (, , , , int256 cost, ) = abi.decode(l.data, (uint256, uint256, uint256, uint256, int256, uint256));
                    if (cost > 0) e.curveCost += uint256(cost);
                }
            } else if (l.emitter != address(clearingHouse)) {
                continue;
            } else if (l.topics[0] == IClearingHouse.PositionChanged.selector) {
                e.positionChanged++;
                if (
                    address(uint160(uint256(l.topics[1]))) != t ||
                    address(uint160(uint256(l.topics[2]))) != address(amm)
                ) {
                    eventMismatches++;
                }
                _decodePositionChanged(t, l.data, e);
            } else if (l.topics[0] == IClearingHouse.PositionLiquidated.selector) {
                e.positionLiquidated++;
                if (
                    address(uint160(uint256(l.topics[1]))) != t ||
                    address(uint160(uint256(l.topics[2]))) != address(amm) ||
                    address(uint160(uint256(l.topics[3]))) != LIQUIDATOR
                ) eventMismatches++;
                _decodeLiquidated(l.data, e);
            } else if (l.topics[0] == IClearingHouse.ShortfallRecorded.selector) {
                e.shortfallRecorded++;
                uint256 amount;
                (amount, e.shortfallTotal) = abi.decode(l.data, (uint256, uint256));
                if (address(uint160(uint256(l.topics[1]))) != address(amm)) eventMismatches++;
                e.shortfallRecordedAmount = amount;
            } else if (l.topics[0] == IClearingHouse.BadDebtChargedToMarket.selector) {
                e.chargedEvents++;
                e.charged = abi.decode(l.data, (uint256));
                if (
                    address(uint160(uint256(l.topics[1]))) != address(amm) ||
                    address(uint160(uint256(l.topics[2]))) != t
                ) eventMismatches++;
            }
        }
    }

    /// @dev PositionLiquidated's data, a static tuple: decoded as a struct of the same layout.
    struct Liquidated {
        uint256 baseClosed;
        uint256 quoteClosed;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 shortfall;
        bool full;
    }

    function _decodeLiquidated(bytes memory data, Seen memory e) internal pure {
        Liquidated memory d = abi.decode(data, (Liquidated));
        e.baseClosed = d.baseClosed;
        e.quoteClosed = d.quoteClosed;
        e.reward = d.reward;
        e.insurancePenalty = d.insurancePenalty;
        e.badDebt = d.badDebt;
        e.shortfall = d.shortfall;
        e.full = d.full;
    }

    /// @dev PositionChanged's data, a static tuple: decoded as a struct of the same layout.
    struct Changed {
        int256 baseDelta;
        uint256 quoteAmount;
        int256 realizedPnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeCollateralDelta;
        int256 size;
        uint256 margin;
        uint256 openNotional;
    }

    function _decodePositionChanged(address t, bytes memory data, Seen memory e) internal {
        Changed memory d = abi.decode(data, (Changed));
        e.baseDelta = d.baseDelta;
        e.quoteAmount = d.quoteAmount;
        e.pnl = d.realizedPnl;
        e.fee = d.fee;
        e.fundingPayment = d.fundingPayment;
        e.freeDelta = d.freeCollateralDelta;
        IClearingHouse.Position memory p = _position(t);
        if (d.size != p.size || d.margin != p.margin || d.openNotional != p.openNotional) eventMismatches++;
    }

    /// @dev The events against the state: one PositionChanged (no fee; no funding in this market; the
    /// trader's free-collateral change), one PositionLiquidated (its base and quote are the trade's,
    /// `full` iff the position is gone, the reward is the keeper's credit), one ShortfallRecorded iff a
    /// shortfall, with the market's new total, and a market with a shortfall is reduce-only.
    function _checkEvents(address t, Before memory b, Seen memory e) internal {
        if (e.positionChanged != 1 || e.positionLiquidated != 1) eventMismatches++;
        // No fee but the curve's spread; the funding settled is exactly what getPendingFunding said
        // just before.
        if (e.fee != e.spread || e.fundingPayment != b.pending) eventMismatches++;
        // What the pool could not pay of the payout and the reward was queued as a claim; a full
        // liquidation's realised profit beyond profitAvailable was deferred out of the payout into
        // the trader's claim (so the event's payout is net of it), by the deferral rule.
        int256 gained = _gained(t, b.traderFree, b.traderClaim);
        uint256 expectedDeferred;
        if (e.full && e.pnl > int256(b.available) && gained > 0) {
            expectedDeferred = Math.min(uint256(e.pnl) - b.available, uint256(gained));
        }
        if (gained - e.freeDelta != int256(expectedDeferred)) eventMismatches++;
        if (_gained(LIQUIDATOR, b.liquidatorFree, b.liquidatorClaim) != int256(e.reward)) eventMismatches++;
        if (e.baseClosed != _abs(e.baseDelta) || e.quoteClosed != e.quoteAmount || e.baseClosed == 0) eventMismatches++;
        // A liquidation only closes: the trade is against the position, never past it.
        if ((b.p.size > 0) == (e.baseDelta > 0) || e.baseClosed > _abs(b.p.size)) eventMismatches++;
        int256 sizeAfter = _position(t).size;
        if (e.full != (sizeAfter == 0)) eventMismatches++;
        (IClearingHouse.MarketStatus status, uint256 shortfallAfter) = clearingHouse.getMarketStatus(address(amm));
        if (shortfallAfter != b.shortfall + e.shortfall) eventMismatches++;
        if (e.shortfallRecorded != (e.shortfall != 0 ? 1 : 0)) eventMismatches++;
        if (e.shortfall != 0 && (e.shortfallTotal != shortfallAfter || e.shortfallRecordedAmount != e.shortfall)) {
            eventMismatches++;
        }
        if (shortfallAfter != 0 && status != IClearingHouse.MarketStatus.REDUCE_ONLY) eventMismatches++;
        if (e.chargedEvents != (e.charged != 0 ? 1 : 0) || e.chargedEvents > 1) eventMismatches++;
    }

    /// @dev "Reward + penalty = ceil(quote x fee ratio) unless bounded": with the equity the position
    /// had left after the close (margin + realised PnL; no funding here) and the penalty
    /// ceil(quote closed x liquidation fee ratio):
    ///  - equity >= penalty: reward = floor(penalty / 2), insurance penalty = the rest, no bad debt;
    ///  - 0 <= equity < penalty (bounded): reward + insurance penalty = equity, reward = min(half, equity);
    ///  - equity < 0: bad debt = -equity, no insurance penalty; only the bad debt at the fair price
    ///    (_fairBadDebt) is covered, first by the market's AMM budget above its floor (min(fair, budget
    ///    - floor)), then by the fund: covered = min(what the budget left, fund), shortfall = what
    ///    the budget left - covered, the rest of the bad debt is charged to the market (BadDebtChargedToMarket), and the
    ///    reward is half, paid by what the budget has left above its floor and then by what the fund
    ///    has left (capped by both), only if the fair bad debt is not 0 (else 0).
    /// The equity is read from the event's PnL: a liquidation whose realised profit was deferred (kept
    /// in the rest or queued) had equity >= penalty before and after the deferral (its payout covers
    /// the penalty and the deferral), so the case is the same.
    function _checkPenalty(Before memory b, Seen memory e) internal {
        uint256 penalty = Math.mulDiv(e.quoteClosed, b.liquidationFeeRatio, WAD, Math.Rounding.Ceil);
        uint256 half = penalty / 2;
        int256 equity = int256(b.p.margin) - e.fundingPayment + e.pnl - int256(e.spread);
        // The budget above its floor when the bad debt is paid: the close's spread joined it, a
        // repeg before the swap took its cost and the swap's funding accrual its share (neither
        // below the floor).
        b.budgetAbove = uint256(int256(b.budgetAbove + e.spread - e.curveCost) + e.budgetFunding);
        // The fund as it stands after the liquidation's own funding flow.
        uint256 fund = uint256(int256(b.fund) + b.flow);
        bool bad;
        if (equity >= int256(penalty)) {
            bad = e.reward != half || e.insurancePenalty != penalty - half || e.badDebt != 0 || e.shortfall != 0;
        } else if (equity >= 0) {
            uint256 left = uint256(equity);
            bad = e.reward != Math.min(half, left) || e.reward + e.insurancePenalty != left || e.badDebt != 0;
            bad = bad || e.shortfall != 0;
            boundedPenalties++;
        } else {
            uint256 debt = uint256(-equity);
            uint256 fair = _fairBadDebt(b, e, equity);
            // The market's AMM budget above its floor pays first, the fund the rest; then the
            // reward: what the budget has left above its floor first, then what the fund has left.
            uint256 forDebt = Math.min(fair, b.budgetAbove);
            uint256 rest = fair - forDebt;
            uint256 forReward = fair != 0 ? Math.min(half, b.budgetAbove - forDebt) : 0;
            bad = e.fromBudget != forDebt + forReward;
            e.rewardFromBudget = forReward;
            uint256 covered = Math.min(rest, fund);
            bad = bad || e.badDebt != debt || e.insurancePenalty != 0 || e.shortfall != rest - covered;
            bad = bad || e.charged != debt - fair;
            bad = bad || e.reward != (fair != 0 ? forReward + Math.min(half - forReward, fund - covered) : 0);
        }
        if (equity >= 0 && e.charged != 0) bad = true;
        if (bad) penaltyMismatches++;
    }

    /// @dev The bad debt at the fair price, worked out here: fair = the index (else the mark TWAP),
    /// or the pre-liquidation spot if better for the position (higher for a long, lower for a short);
    /// the quote the closed base would have fetched there, |base| x fair rounded against the trader
    /// (down for a long, up for a short); the equity had it been closed at it; min(bad debt, its
    /// negative part).
    function _fairBadDebt(Before memory b, Seen memory e, int256 equity) internal pure returns (uint256) {
        bool long = b.p.size > 0;
        uint256 ref = b.index != 0 ? b.index : b.markTwap;
        uint256 fair = long ? Math.max(b.spot, ref) : Math.min(b.spot, ref);
        uint256 fairQuote = Math.mulDiv(e.baseClosed, fair, WAD, long ? Math.Rounding.Floor : Math.Rounding.Ceil);
        int256 difference = int256(fairQuote) - int256(e.quoteClosed);
        int256 fairEquity = long ? equity + difference : equity - difference;
        if (fairEquity >= 0) return 0;
        return Math.min(uint256(-fairEquity), uint256(-equity));
    }

    /// @dev "Liquidation conserves value": every claim on the Vault together is unchanged (custody), and
    /// what the trader (free + margin), the keeper and the insurance fund gained together is exactly the
    /// realised PnL (paid by the pool's quote) plus the shortfall (the only value that appears: the
    /// pool now owes it) and the bad debt charged to the market (its pool is that much short). Also the trader keeps exactly its equity less the penalty (margin of the rest,
    /// or payout), or nothing.
    function _checkConservation(address t, Before memory b, Seen memory e) internal {
        (uint256 pool, uint256 fund) = vault.getPoolBalances();
        if (_allFree() + pool + fund != b.allFree + b.pool + b.fund) conservationViolations++;
        int256 fundDelta = int256(fund) - int256(b.fund);
        int256 expectedFund =
            b.flow +
                int256(e.insurancePenalty) -
                (int256(e.badDebt - e.shortfall - e.charged) - int256(e.fromBudget - e.rewardFromBudget)) -
                (e.badDebt != 0 ? int256(e.reward - e.rewardFromBudget) : int256(0));
        // The fund takes only what the pool holds beyond its locked margin: the rest is its
        // receivable (the Vault's FundReceivableBooked, read into the ledger with the call's logs).
        int256 short = int256(traders.sumReceivableBooked() - b.receivableBooked);
        if (fundDelta + short != expectedFund) conservationViolations++;
        int256 traderDelta =
            _gained(t, b.traderFree, b.traderClaim) + int256(uint256(_position(t).margin)) - int256(b.p.margin);
        int256 liquidatorDelta = _gained(LIQUIDATOR, b.liquidatorFree, b.liquidatorClaim);
        // Funding: the trader pays e.fundingPayment out of its margin, the fund receives the flow, the
        // pool keeps the difference (the other side's claim and the rounding dust).
        if (
            traderDelta + liquidatorDelta + fundDelta + short !=
            e.pnl - int256(e.spread) + int256(e.shortfall + e.charged + e.fromBudget) - e.fundingPayment + b.flow
        ) conservationViolations++;
        // Each share on its own.
        int256 equity = int256(b.p.margin) - e.fundingPayment + e.pnl - int256(e.spread);
        int256 charged = int256(e.reward + e.insurancePenalty + e.spread);
        int256 expectedTrader = equity >= 0 ? e.pnl - e.fundingPayment - charged : -int256(b.p.margin);
        if (traderDelta != expectedTrader) conservationViolations++;
        if (fundDelta + short != expectedFund) conservationViolations++;
    }

    /// @dev How far the market's pool is below its locked margin (0 if not).
    function _deficit() internal view returns (uint256) {
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        return m.lockedMargin > m.pool ? m.lockedMargin - m.pool : 0;
    }

    function _record(address t, Before memory b, Seen memory e) internal {
        liquidations++;
        if (e.full) fullLiquidations++;
        else partialLiquidations++;
        if (e.badDebt != 0) badDebtLiquidations++;
        if (e.shortfall != 0) shortfallLiquidations++;
        sumRewards += e.reward;
        sumInsurancePenalties += e.insurancePenalty;
        sumBadDebt += e.badDebt;
        sumShortfall += e.shortfall;
        sumCovered += e.badDebt - e.shortfall - e.charged - (e.fromBudget - e.rewardFromBudget);
        sumBadDebtFromBudget += e.fromBudget - e.rewardFromBudget;
        sumChargedToMarket += e.charged;
        if (e.charged != 0) {
            uint256 deficitAfter = _deficit();
            if (deficitAfter > b.deficit) {
                sumDeficitCharged += Math.min(deficitAfter - b.deficit, e.charged);
                deficitChargedLiquidations++;
            }
        }
        if (e.badDebt != 0) sumRewardsFromFund += e.reward - e.rewardFromBudget;
        sumQuoteClosed += e.quoteClosed;
        if (e.pnl > 0) {
            sumLiquidationGains += uint256(e.pnl);
            profitableLiquidations++;
        }
        // The spread is the trader's cost like the penalty (with bad debt it is part of the debt).
        traders.recordLiquidation(t, e.pnl, (e.badDebt == 0 ? e.reward + e.insurancePenalty : 0) + e.spread, e.badDebt);
    }

    // ================================================================== helpers

    /// @dev What `account` gained in free collateral and in this market's claims since `free`, `claim`.
    function _gained(address account, uint256 free, uint256 claim) internal view returns (int256) {
        return int256(vault.freeCollateral(account) + vault.claimOf(address(amm), account)) - int256(free + claim);
    }

    /// @dev The liquidation margin ratio a liquidation now judges `t` at: getLiquidationMarginRatio
    /// (it only reads prices: never expected to revert for a position), on the curve after the repeg
    /// the liquidation would run first (IAmmCurve.previewRepeg: the spot moves, the mark TWAP and
    /// the index read in the block do not), as LiquidationMath rates it.
    function _liquidationRatio(address t) internal view returns (int256) {
        (uint256 q, uint256 b, , ) = amm.previewRepeg();
        (uint256 q0, ) = amm.getReserves();
        if (q == q0) return clearingHouse.getLiquidationMarginRatio(address(amm), t);
        IClearingHouse.Position memory p = _position(t);
        IClearingHouse.LiquidationParams memory params = clearingHouse.getLiquidationParams();
        IAmm.LiquidationInputs memory inputs = amm.getLiquidationInputs(params.markTwapInterval, p.size > 0, 0);
        StoredPosition memory stored = StoredPosition(int128(p.size), uint128(p.margin), uint128(p.openNotional), 0);
        int256 marginAfterFunding = int256(p.margin) - clearingHouse.getPendingFunding(address(amm), t);
        return
            LiquidationMath.ratio(
                stored,
                marginAfterFunding,
                Math.mulDiv(q, WAD, b),
                inputs.markTwap,
                inputs.indexPrice,
                params.maxSpreadRatio
            );
    }

    function _traderBelowMaintenance(uint256 seed) internal view returns (address t, bool found) {
        int256 mmr = int256(uint256(_params().maintenanceMarginRatio));
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            t = traders.traderAt((seed + i) % traders.N_TRADERS());
            if (_position(t).size != 0 && _liquidationRatio(t) < mmr) return (t, true);
        }
    }

    function _anyBelowMaintenanceAtSpot() internal view returns (bool) {
        int256 mmr = int256(uint256(_params().maintenanceMarginRatio));
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            if (_position(t).size != 0 && clearingHouse.getMarginRatio(address(amm), t) < mmr) return true;
        }
        return false;
    }

    function _traderWithPosition(uint256 seed) internal view returns (address t, bool found) {
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            t = traders.traderAt((seed + i) % traders.N_TRADERS());
            if (_position(t).size != 0) return (t, true);
        }
    }

    /// @dev Free collateral of every trader and the keeper.
    function _allFree() internal view returns (uint256 sum) {
        for (uint256 i; i < traders.N_TRADERS(); ++i) sum += vault.freeCollateral(traders.traderAt(i));
        sum += vault.freeCollateral(LIQUIDATOR);
    }

    function _unexpected(bytes4 sel) internal {
        _unexpectedRevert(sel);
        lastError = sel;
    }

    /// @notice The keeper withdraws all its free collateral (the final settlement); true if it went
    /// through (or there was nothing).
    function withdrawAllRewards() external returns (bool ok) {
        uint256 units = vault.balanceOf(LIQUIDATOR);
        if (units == 0) return true;
        uint256 before = usdc.balanceOf(LIQUIDATOR);
        vm.prank(LIQUIDATOR);
        try vault.withdraw(units) {
            withdrawnUnits += units;
            ok = usdc.balanceOf(LIQUIDATOR) == before + units;
        } catch {
            ok = false;
        }
    }
}
