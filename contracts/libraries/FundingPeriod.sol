// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, IAmmErrors} from "../interfaces/IAmm.sol";
import {FixedPoint} from "./FixedPoint.sol";
import {Funding} from "./Funding.sol";

/// @title FundingPeriod
/// @notice A market's funding state machine, acting on its own storage ({State}): the funding
/// periods, each with the premium set by the update that opened it and the time its accrual stops,
/// the indices at the period's start, the parameters, and the mark and index cumulatives the next
/// update averages from. The arithmetic of one stretch of a period is {Funding}'s.
/// @dev A period runs from one funding update to the next:
/// - `closePeriod` settles the period to now at its own premium and keeps the indices reached as
///   the next period's start; `openPeriod` then sets the next premium from the window's TWAPs and
///   fixes the next accrual end (`maxAccrualPeriod` from now). `stop` settles and ends funding.
/// - between updates, `accrue` settles the stretch since the last accrual on the open interest as
///   it stood (every swap calls it first). The indices at any time of a period are the period's
///   start indices plus {Funding.growth} since the period began, so time passing writes nothing;
///   only a stretch whose subsidy budget could not pay in full lowers the receiving side's start
///   index.
/// - the insurance fund pays the receiving side's excess over the paying side's payments out of a
///   budget: `maxSubsidyRatio` of what it holds per day of funding, pro rata over each stretch
///   ({Funding.subsidyBudget}); the ratio is fixed for the period when it opens. On a market whose
///   dynamic curve is on (`curveFlags` not 0) the market's AMM budget pays that excess first and
///   takes the paying side's surplus up to its target ({Funding.split}). The caller passes, in
///   {Backers}, `budgetLimit`, a function that reads its budget: `budgetLimit(true)`, what the
///   budget may pay (above its floor), `budgetLimit(false)`, what it may take (below its target).
///   It is called only on such a market and only for a stretch whose imbalance it pays or takes,
///   so a static market and a balanced stretch read nothing more. The budget's share comes back
///   as the snapshot's `budgetFlow`, for the caller to book.
/// The open interest and the time funding was last accrued to belong to the caller (a market
/// writes them together with every swap, in one slot): they come in as an {OpenInterest}.
library FundingPeriod {
    using FixedPoint for uint256;

    /// @notice Highest `maxPremiumRatio`: 100% of the index per day.
    uint256 internal constant MAX_PREMIUM_RATIO_LIMIT = 1e18;
    /// @notice Shortest `minUpdateInterval`, the shortest funding window (seconds).
    uint256 internal constant MIN_WINDOW = 60;
    /// @notice Longest `minUpdateInterval` (seconds).
    uint256 internal constant MAX_WINDOW = 1 days;
    /// @notice Highest `maxSubsidyRatio`: 10% of the insurance fund per day of funding.
    uint256 internal constant MAX_SUBSIDY_RATIO = 0.1e18;

    /// @notice The funding indices at the start of the current period, less what the receiving
    /// side was denied beyond the insurance fund's subsidy budget (see {indicesAt}).
    struct Indices {
        int128 long;
        int128 short;
    }

    /// @notice The current period, in one slot that every swap reads: the premium set at
    /// `updatedAt`, when accrual stops (`maxAccrualPeriod` after it) and the insurance fund's
    /// subsidy budget per day, both fixed for the period so a parameter change never rewrites it.
    struct Period {
        int96 premium;
        uint40 updatedAt;
        uint40 accrualEnd;
        uint64 maxSubsidyRatio;
    }

    /// @notice The parameters in one slot: {IAmm.FundingParams} and the subsidy budget
    /// (`maxSubsidyRatio`: fraction of the insurance fund per day of funding, set apart).
    struct Params {
        uint64 maxPremiumRatio;
        uint32 minUpdateInterval;
        uint24 maxAccrualPeriod;
        uint64 maxSubsidyRatio;
    }

    /// @notice The mark and index cumulatives at the last funding update, so the next update
    /// averages its whole window in O(1). `hasIndex`: the index history had started by then.
    struct Checkpoint {
        uint120 markCumulative;
        uint120 indexCumulative;
        bool hasIndex;
    }

    /// @notice A market's funding storage, four slots.
    struct State {
        Indices startIndices;
        Period period;
        Params params;
        Checkpoint checkpoint;
    }

    /// @notice The open interest funding accrues on (base, each side counted apart) and the time
    /// funding was last accrued to. Stored by the caller.
    struct OpenInterest {
        uint104 longSize;
        uint104 shortSize;
        uint40 accruedAt;
        /// @dev Not funding's: the Amm's dynamic-curve switches, in this slot every trade reads
        /// anyway, so a static market pays no extra storage read for them.
        uint8 curveFlags;
    }

    /// @notice Who backs a stretch's imbalance besides the two sides: what the insurance fund holds
    /// (18 decimals), and on a market whose curve is on its AMM budget, read through `budgetLimit`
    /// (see above). One argument, so the state machine's functions keep the stack the optimizer
    /// needs to read each of its slots once.
    struct Backers {
        uint256 insuranceAvailable;
        function(bool) internal view returns (uint256) budgetLimit;
    }

    /// @dev Per-unit growth since the period's start, at the start of a stretch and at its end,
    /// and the period's subsidy ratio x the stretch's seconds of funding (the fund's budget per
    /// unit of its balance, scaled by 1e18 x 1 day; see {Funding.subsidyBudget}).
    struct Stretch {
        uint256 paidBefore;
        uint256 receivedBefore;
        uint256 paidNow;
        uint256 receivedNow;
        uint256 ratioSeconds;
    }

    // ---------------------------------------------------------------- the state machine

    /// @notice Starts funding at `timestamp`: a first period with no premium.
    function initialize(State storage self, uint256 timestamp) internal {
        self.period = Period(0, uint40(timestamp), uint40(timestamp), 0);
    }

    /// @notice Checks and stores the subsidy budget: at most MAX_SUBSIDY_RATIO (0: no subsidy).
    /// It applies from the next period.
    function setSubsidyRatio(State storage self, uint256 maxSubsidyRatio) internal {
        if (maxSubsidyRatio > MAX_SUBSIDY_RATIO) revert IAmmErrors.FundingSubsidyRatioOutOfRange(maxSubsidyRatio);
        self.params.maxSubsidyRatio = uint64(maxSubsidyRatio);
    }

    /// @notice Checks and stores the parameters. They apply from the next period: the current one
    /// keeps the accrual end it started with.
    function setParams(State storage self, IAmm.FundingParams memory params) internal {
        if (params.maxPremiumRatio > MAX_PREMIUM_RATIO_LIMIT) revert IAmmErrors.RatioTooHigh(params.maxPremiumRatio);
        if (params.minUpdateInterval < MIN_WINDOW || params.minUpdateInterval > MAX_WINDOW) {
            revert IAmmErrors.InvalidFundingWindow(params.minUpdateInterval);
        }
        // Funding must be able to run from one update to the next.
        if (params.maxAccrualPeriod < params.minUpdateInterval) {
            revert IAmmErrors.InvalidAccrualPeriod(params.maxAccrualPeriod, params.minUpdateInterval);
        }
        Params storage stored = self.params;
        (stored.maxPremiumRatio, stored.minUpdateInterval, stored.maxAccrualPeriod) = (
            params.maxPremiumRatio,
            params.minUpdateInterval,
            params.maxAccrualPeriod
        );
    }

    /// @notice The parameters as {IAmm.FundingParams}, without the subsidy budget.
    function fundingParams(State storage self) internal view returns (IAmm.FundingParams memory) {
        Params memory p = self.params;
        return IAmm.FundingParams(p.maxPremiumRatio, p.minUpdateInterval, p.maxAccrualPeriod);
    }

    /// @notice Ends the current period at `timestamp`, at least `minUpdateInterval` after it
    /// began: settles it on `oi` and keeps the indices reached as the next period's start. Sets
    /// `oi.accruedAt`; the caller stores `oi`, records the window's cumulatives and calls
    /// {openPeriod}.
    /// @return funding The indices as of `timestamp` and the insurance fund's share of the accrual.
    /// @return window The period's length (seconds), the window the next premium averages.
    /// @return params The parameters, for {openPeriod}.
    function closePeriod(
        State storage self,
        OpenInterest memory oi,
        Backers memory backers,
        uint256 timestamp
    ) internal returns (IAmm.FundingSnapshot memory funding, uint256 window, Params memory params) {
        Period memory period = self.period;
        params = self.params;
        window = timestamp - period.updatedAt;
        if (window < params.minUpdateInterval) {
            revert IAmmErrors.FundingUpdateTooEarly(uint256(period.updatedAt) + params.minUpdateInterval);
        }
        funding = _settle(self, oi, period, backers, timestamp);
    }

    /// @notice Opens a period at `timestamp`: checkpoints the cumulatives `next` for the window
    /// after it, and sets the premium from the TWAPs over the window that ends now, from the last
    /// checkpoint to `next` (0, with TWAPs of 0, unless `premiumAllowed` and the index history
    /// covered the whole window). Accrual stops `maxAccrualPeriod` from now.
    /// @param next The mark and index cumulatives now; `hasIndex`: the index history has started.
    /// @param premiumAllowed Whether a premium may be set (the market is not frozen and the index
    /// is valid now).
    /// @param window The window's length, from {closePeriod}.
    /// @param params The parameters, from {closePeriod}.
    function openPeriod(
        State storage self,
        Checkpoint memory next,
        bool premiumAllowed,
        uint256 window,
        Params memory params,
        uint256 timestamp
    ) internal returns (int256 premium_, uint256 markTwap, uint256 indexTwap) {
        Checkpoint memory last = self.checkpoint;
        self.checkpoint = next;
        if (premiumAllowed && last.hasIndex) {
            unchecked {
                // Cumulatives wrap; their differences over a window are exact (see {PriceHistory}).
                markTwap = uint256(next.markCumulative - last.markCumulative) / window;
                indexTwap = uint256(next.indexCumulative - last.indexCumulative) / window;
            }
            premium_ = premium(markTwap, indexTwap, params.maxPremiumRatio);
        }
        self.period = Period(
            SafeCast.toInt96(premium_),
            uint40(timestamp),
            SafeCast.toUint40(timestamp + params.maxAccrualPeriod),
            params.maxSubsidyRatio
        );
    }

    /// @notice Ends funding for good at `timestamp`: settles the current period on `oi` and opens
    /// one with a zero premium, so the indices never move again. Sets `oi.accruedAt`; the caller
    /// stores `oi`.
    function stop(
        State storage self,
        OpenInterest memory oi,
        Backers memory backers,
        uint256 timestamp
    ) internal returns (IAmm.FundingSnapshot memory funding) {
        funding = _settle(self, oi, self.period, backers, timestamp);
        self.period = Period(0, uint40(timestamp), uint40(timestamp), 0);
    }

    /// @notice Accrues funding from `oi.accruedAt` to `timestamp` on the open interest `oi`, and
    /// returns the indices with the insurance fund's share. Writes the start indices only when the
    /// fund could not pay in full. The caller stores its open interest with the new time.
    function accrue(
        State storage self,
        OpenInterest memory oi,
        Backers memory backers,
        uint256 timestamp
    ) internal returns (IAmm.FundingSnapshot memory funding) {
        Indices memory start;
        bool rebased;
        (funding, start, rebased) = indicesAt(self, oi, self.period, backers, timestamp);
        if (rebased) self.startIndices = start;
    }

    /// @dev Settles `period` up to `timestamp` and stores the indices reached as the next period's
    /// start.
    function _settle(
        State storage self,
        OpenInterest memory oi,
        Period memory period,
        Backers memory backers,
        uint256 timestamp
    ) private returns (IAmm.FundingSnapshot memory funding) {
        (funding, , ) = indicesAt(self, oi, period, backers, timestamp);
        self.startIndices = Indices(SafeCast.toInt128(funding.longIndex), SafeCast.toInt128(funding.shortIndex));
        oi.accruedAt = uint40(timestamp);
    }

    // ---------------------------------------------------------------- views

    /// @notice The indices at `timestamp` after the stretch since `oi.accruedAt` is split with the
    /// market's AMM budget when its dynamic curve is on (read through `backers.budgetLimit`; see
    /// above) and the insurance fund, which pays at most its budget for the stretch
    /// ({Funding.subsidyBudget} of `backers.insuranceAvailable` at the period's ratio); `rebased`
    /// when they could not pay in full,
    /// with the period's new start indices. Funding stops at the period's accrual end.
    function indicesAt(
        State storage self,
        OpenInterest memory oi,
        Period memory period,
        Backers memory backers,
        uint256 timestamp
    ) internal view returns (IAmm.FundingSnapshot memory funding, Indices memory start, bool rebased) {
        start = self.startIndices;
        funding = IAmm.FundingSnapshot(start.long, start.short, 0, 0);
        if (period.premium == 0) return (funding, start, false);
        Stretch memory st = _stretch(period, oi.accruedAt, timestamp);
        int256 longDelta;
        int256 shortDelta;
        // An empty stretch (already accrued to now: a reversal's opening leg, a swap after the
        // valuation that accrued for it) splits nothing: no flows, no growth.
        if (oi.accruedAt < timestamp) {
            (longDelta, shortDelta) = _split(period.premium, oi, st, backers, funding);
        }
        uint256 received = st.receivedNow - st.receivedBefore;
        // The indices at the stretch's start, moved by the stretch's split.
        if (period.premium > 0) {
            funding.longIndex += int256(st.paidBefore) + longDelta;
            funding.shortIndex += int256(st.receivedBefore) + shortDelta;
            rebased = uint256(shortDelta) != received;
            if (rebased) start.short = SafeCast.toInt128(funding.shortIndex - int256(st.receivedNow));
        } else {
            funding.longIndex += longDelta - int256(st.receivedBefore);
            funding.shortIndex += shortDelta - int256(st.paidBefore);
            rebased = uint256(-longDelta) != received;
            if (rebased) start.long = SafeCast.toInt128(funding.longIndex + int256(st.receivedNow));
        }
    }

    /// @dev {Funding.split} of the stretch `st` on `oi`, reading the budget through
    /// `backers.budgetLimit` only on a market whose curve is on and only for the side of the
    /// imbalance it pays or takes; writes the fund's and the budget's shares into `funding` and
    /// returns the indices' growth.
    function _split(
        int256 premium_,
        OpenInterest memory oi,
        Stretch memory st,
        Backers memory backers,
        IAmm.FundingSnapshot memory funding
    ) private view returns (int256 longDelta, int256 shortDelta) {
        uint256 paid = st.paidNow - st.paidBefore;
        uint256 received = st.receivedNow - st.receivedBefore;
        Funding.Sources memory sources = Funding.Sources(
            backers.insuranceAvailable,
            st.ratioSeconds,
            oi.curveFlags != 0,
            0,
            0
        );
        if (sources.budgetOn) {
            int256 imbalance = Funding.imbalance(premium_, oi.longSize, oi.shortSize, paid, received);
            if (imbalance < 0) sources.budgetAvailable = backers.budgetLimit(true);
            else if (imbalance > 0) sources.budgetRoom = backers.budgetLimit(false);
        }
        (longDelta, shortDelta, funding.insuranceFlow, funding.budgetFlow) = Funding.split(
            premium_,
            oi.longSize,
            oi.shortSize,
            paid,
            received,
            sources
        );
    }

    /// @notice markTwap - indexTwap, clamped to +/- maxPremiumRatio x indexTwap.
    function premium(uint256 markTwap, uint256 indexTwap, uint256 maxPremiumRatio) internal pure returns (int256) {
        uint256 bound = indexTwap.wMulDown(maxPremiumRatio);
        if (markTwap >= indexTwap) return int256(Math.min(markTwap - indexTwap, bound));
        return -int256(Math.min(indexTwap - markTwap, bound));
    }

    /// @dev The stretch from `accruedAt` to `timestamp` of `period`, each end capped at its
    /// accrual end.
    function _stretch(
        Period memory period,
        uint256 accruedAt,
        uint256 timestamp
    ) private pure returns (Stretch memory st) {
        uint256 end = period.accrualEnd;
        uint256 elapsedBefore = Math.min(accruedAt, end) - period.updatedAt;
        uint256 elapsedNow = Math.min(timestamp, end) - period.updatedAt;
        (st.paidBefore, st.receivedBefore) = Funding.growth(period.premium, elapsedBefore);
        (st.paidNow, st.receivedNow) = Funding.growth(period.premium, elapsedNow);
        // A 64-bit ratio times a 40-bit time: no overflow.
        st.ratioSeconds = uint256(period.maxSubsidyRatio) * (elapsedNow - elapsedBefore);
    }
}
