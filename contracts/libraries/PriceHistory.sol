// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title PriceHistory
/// @notice A time-weighted price accumulator (Uniswap-style) with a fixed ring of past observations.
/// @dev The head is written at most once per block (a block is identified by its timestamp), with
/// the price that held since the previous head, so trades inside one block never weigh in the
/// average: a block moves a TWAP by at most its own share of the window. The head goes into the
/// ring at most once per `SPACING` seconds, so `CARDINALITY` observations keep at least
/// about (CARDINALITY - 1) x SPACING seconds of history while the market trades, and more when it
/// is idle. Each observation also keeps the price that held just before it: the price is a step
/// function that changes only at records, so over the stretch from the last record before an
/// observation to that observation the cumulative is known at every second, and a TWAP whose start
/// falls there (any start outside the 30-second bucket of the observation before it) is exact.
/// Cumulatives are 120-bit and wrap: only differences are used, and they stay exact while
/// price x window < 2^120 (for a price of 1e6 in 18 decimals, windows of 40 years). The head keeps
/// the price in 88 bits, saturating above about 3e8 (18 decimals): it only serves as a reference
/// (the fluctuation limit's block-start price), and recording must never revert on a price.
library PriceHistory {
    using SafeCast for uint256;

    /// @notice Number of past observations kept.
    uint256 internal constant CARDINALITY = 64;
    /// @notice Least time between two observations in the ring (seconds).
    uint256 internal constant SPACING = 30;

    /// @param timestamp When the head was last written (the first touch of that block).
    /// @param price The price recorded with the head (for the mark: the spot price at the block's start).
    /// @param cumulative Sum of price x seconds up to `timestamp`, modulo 2^120.
    /// @param index Ring slot of the newest observation.
    struct Head {
        uint40 timestamp;
        uint88 price;
        uint120 cumulative;
        uint8 index;
    }

    /// @param timestamp When the observation was written (the first record of its bucket).
    /// @param cumulative Sum of price x seconds up to `timestamp`, modulo 2^120.
    /// @param priceBefore The price that held from the record before this one up to `timestamp`,
    /// saturated at 96 bits (a saturated value is not used); 0 for the history's first observation.
    struct Observation {
        uint40 timestamp;
        uint120 cumulative;
        uint96 priceBefore;
    }

    struct History {
        Head head;
        Observation[CARDINALITY] ring;
    }

    /// @dev Starts the history at `timestamp` and writes every ring slot once, so that later
    /// observations overwrite non-zero slots (5,000 gas) rather than fresh ones (22,100 gas).
    function initialize(History storage self, uint256 timestamp, uint256 price) internal {
        prewarm(self);
        start(self, timestamp, price);
    }

    /// @dev Writes every ring slot once with an empty observation (timestamp 0 marks a slot that
    /// holds none) and leaves the history unstarted (head timestamp 0) until `start`.
    function prewarm(History storage self) internal {
        for (uint256 i = 1; i < CARDINALITY; ++i) {
            self.ring[i] = Observation(0, 1, 0);
        }
    }

    /// @dev Starts the history at `timestamp` with `price`: the first observation, cumulative 0.
    function start(History storage self, uint256 timestamp, uint256 price) internal {
        self.head = Head(timestamp.toUint40(), _saturate(price), 0, 0);
        self.ring[0] = Observation(uint40(timestamp), 0, 0);
    }

    /// @dev Whether `start` has run.
    function isStarted(History storage self) internal view returns (bool) {
        return self.head.timestamp != 0;
    }

    /// @dev The cumulative at `timestamp` (not before the head), given the price since the head.
    function cumulativeAt(
        History storage self,
        uint256 timestamp,
        uint256 priceSinceHead
    ) internal view returns (uint120 cumulative) {
        return _extend(self.head, timestamp, priceSinceHead);
    }

    /// @dev Records the first touch of a block: the cumulative grows by `priceSinceHead` x the time
    /// since the head, and the head takes `price`. Returns the head as it now stands; does nothing
    /// (and returns the stored head) if the block was already recorded.
    function record(
        History storage self,
        uint256 timestamp,
        uint256 priceSinceHead,
        uint256 price
    ) internal returns (Head memory head, bool firstInBlock) {
        head = self.head;
        if (head.timestamp == timestamp) return (head, false);
        uint120 cumulative = _extend(head, timestamp, priceSinceHead);
        uint8 index = head.index;
        if (timestamp / SPACING != head.timestamp / SPACING) {
            index = uint8((uint256(index) + 1) % CARDINALITY);
            self.ring[index] = Observation(uint40(timestamp), cumulative, _saturate96(priceSinceHead));
        }
        head = Head(timestamp.toUint40(), _saturate(price), cumulative, index);
        self.head = head;
        return (head, true);
    }

    /// @dev Average price over the `interval` seconds before `timestamp`, given the price that has
    /// held since the head (0 s of it when `timestamp` is the head's own block, so a read in the
    /// block of a trade averages only the blocks before). The window is exactly the `interval`
    /// seconds asked, with one exception: when its start falls in a 30-second bucket (timestamp /
    /// SPACING) holding an observation at or before it, the window starts at that observation (the
    /// bucket's first record), at most SPACING - 1 seconds early, because records after it in that
    /// bucket are not kept. (It is exact too when the price before the next observation saturated
    /// 96 bits: then it also starts at the observation.) With less history than asked, it covers
    /// what there is, from the oldest kept observation.
    function twap(
        History storage self,
        uint256 timestamp,
        uint256 priceSinceHead,
        uint256 interval
    ) internal view returns (uint256) {
        Head memory head = self.head;
        if (interval == 0) return priceSinceHead;
        uint256 target = interval >= timestamp ? 0 : timestamp - interval;
        // The price has been constant since the head: a window inside that stretch is just it.
        if (target >= head.timestamp) return priceSinceHead;

        // The caller's time never precedes the head's (block time does not go backwards).
        uint120 cumulativeNow = _extend(head, timestamp, priceSinceHead);
        (uint256 startTime, uint120 startCumulative) = _cumulativeFrom(self, head, target);
        // All the history is this very second (a read in the block that started it): no average yet.
        if (startTime >= timestamp) return head.price;
        unchecked {
            return uint256(cumulativeNow - startCumulative) / (timestamp - startTime);
        }
    }

    /// @dev The head's cumulative carried to `timestamp` (not before the head) at `priceSinceHead`.
    /// Wrapping on purpose: only differences of cumulatives are ever used.
    function _extend(Head memory head, uint256 timestamp, uint256 priceSinceHead) private pure returns (uint120) {
        unchecked {
            return head.cumulative + uint120(priceSinceHead * (timestamp - head.timestamp));
        }
    }

    function _saturate(uint256 price) private pure returns (uint88) {
        return uint88(Math.min(price, type(uint88).max));
    }

    function _saturate96(uint256 price) private pure returns (uint96) {
        return uint96(Math.min(price, type(uint96).max));
    }

    /// @dev The start of a window asked to begin at `target` (before the head) and the cumulative
    /// there: `target` itself when the price over [target, next observation) is known, else the
    /// newest observation at or before `target` (the oldest kept one if all are newer).
    function _cumulativeFrom(
        History storage self,
        Head memory head,
        uint256 target
    ) private view returns (uint256 timestamp, uint120 cumulative) {
        // The oldest observation is the slot after the newest, unless the ring has not wrapped yet.
        uint256 oldest = (uint256(head.index) + 1) % CARDINALITY;
        if (self.ring[oldest].timestamp == 0) oldest = 0;
        uint256 count = ((head.index + CARDINALITY - oldest) % CARDINALITY) + 1;
        Observation memory found = self.ring[oldest];
        if (found.timestamp >= target) return (found.timestamp, found.cumulative);

        (uint256 lo, uint256 hi, uint256 foundTime) = _bracket(self, oldest, count, found.timestamp, head, target);
        // Records after the found observation in its bucket (which may have moved the price before
        // `target`) are not kept; and when it is the newest, the head is in its bucket and so is
        // `target`. Then the window starts at it. Otherwise no record lies between the end of its
        // bucket and the next observation (a record in a new bucket writes an observation), so the
        // price over [target, next.timestamp) is the one `next` stored as held before it.
        Observation memory next;
        if (foundTime / SPACING != target / SPACING && hi != count) next = self.ring[(oldest + hi) % CARDINALITY];
        if (next.timestamp == 0 || next.priceBefore == type(uint96).max) {
            found = self.ring[(oldest + lo) % CARDINALITY];
            return (found.timestamp, found.cumulative);
        }
        unchecked {
            // Wrapping on purpose, as in {_extend}: 96-bit price x 40-bit time fits in 256 bits.
            return (target, next.cumulative - uint120(uint256(next.priceBefore) * (next.timestamp - target)));
        }
    }

    /// @dev Positions (from the oldest, at position 0, which is before `target`) of the newest
    /// observation at or before `target` (`lo`, with its timestamp) and of the one after it (`hi`;
    /// `count` when `lo` is the newest). The first probe is where `target` would sit if the
    /// observations were spread evenly from the oldest to the head (the newest shares the head's
    /// 30-second bucket): in a market that trades in every bucket they are, and the probe and its
    /// neighbour settle it, two reads where a bisection of 64 makes six. From a probe before
    /// `target` the search gallops (steps 1, 2, 4, ...) toward it; then it bisects the bracket, so no
    /// history, however uneven, takes much more than a bisection's reads. Each observation is read
    /// once: the two the caller reads next are warm.
    function _bracket(
        History storage self,
        uint256 oldest,
        uint256 count,
        uint256 oldestTime,
        Head memory head,
        uint256 target
    ) private view returns (uint256 lo, uint256 hi, uint256 loTime) {
        (hi, loTime) = (count, oldestTime);
        // oldestTime < target < head.timestamp: the estimate is in [0, count - 2].
        uint256 guess = ((target - oldestTime) * (count - 1)) / (head.timestamp - oldestTime);
        if (guess != 0) {
            uint256 probe = _timestampAt(self, oldest, guess);
            if (probe <= target) (lo, loTime) = (guess, probe);
            else hi = guess;
        }
        // Past an estimate at or before `target`, toward the newest until an observation after it
        // closes the bracket (an estimate after `target` closed it already).
        for (uint256 step = 1; hi == count && lo + step < hi; step *= 2) {
            uint256 at = lo + step;
            uint256 probe = _timestampAt(self, oldest, at);
            if (probe > target) hi = at;
            else (lo, loTime) = (at, probe);
        }
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            uint256 probe = _timestampAt(self, oldest, mid);
            if (probe <= target) (lo, loTime) = (mid, probe);
            else hi = mid;
        }
    }

    /// @dev The timestamp of the observation `position` places after the oldest.
    function _timestampAt(History storage self, uint256 oldest, uint256 position) private view returns (uint256) {
        return self.ring[(oldest + position) % CARDINALITY].timestamp;
    }
}
