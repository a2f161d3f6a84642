// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {PriceHistory} from "../../contracts/libraries/PriceHistory.sol";
import {PriceHistoryHarness} from "../../contracts/test/PriceHistoryHarness.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice The PriceHistory library through a harness that takes the time explicitly. Every expected
/// value comes from a reference model kept by the test: the price path as a list of constant-price
/// segments (sum of price x seconds computed segment by segment, in plain uint256, never from the
/// library's cumulatives) and the list of observation times (a record whose 30-second bucket differs
/// from the previous record's; the ring keeps the newest 64), each with the price since the record
/// before it.
contract PriceHistoryTest is TestBase {
    uint256 internal constant CARDINALITY = 64;
    uint256 internal constant SPACING = 30;
    uint256 internal constant MAX_PRICE = type(uint88).max;
    uint256 internal constant MAX_PRICE_BEFORE = type(uint96).max;
    uint256 internal constant WRAP = 1 << 120;

    PriceHistoryHarness internal h;

    // ------------------------------------------------------------------ reference model

    /// @dev `price` held over [start, end).
    struct Segment {
        uint256 start;
        uint256 end;
        uint256 price;
    }

    Segment[] internal segments;
    /// @dev Every observation ever written, oldest first, with the model's sum at that time.
    uint256[] internal obsTimes;
    uint256[] internal obsSums;
    /// @dev The price since the previous record, at each observation (0 for the first one).
    uint256[] internal obsPrices;
    uint256 internal lastTime;
    uint256 internal lastPrice;
    /// @dev Sum of price x seconds since initialization (not wrapped).
    uint256 internal totalSum;

    function setUp() public {
        h = new PriceHistoryHarness();
    }

    function _init(uint256 t, uint256 price) internal {
        delete segments;
        delete obsTimes;
        delete obsSums;
        delete obsPrices;
        h = new PriceHistoryHarness();
        h.initialize(t, price);
        lastTime = t;
        lastPrice = price;
        totalSum = 0;
        obsTimes.push(t);
        obsSums.push(0);
        obsPrices.push(0);
    }

    /// @dev Records through the harness and in the model, and checks the head against the model.
    function _record(uint256 t, uint256 priceSinceHead, uint256 price) internal returns (bool firstInBlock) {
        (PriceHistory.Head memory head, bool first) = h.record(t, priceSinceHead, price);
        if (t == lastTime) {
            assertEq(first, false, "second record in a block is not first");
        } else {
            assertEq(first, true, "first record in a block");
            segments.push(Segment(lastTime, t, priceSinceHead));
            totalSum += priceSinceHead * (t - lastTime);
            if (t / SPACING != lastTime / SPACING) {
                obsTimes.push(t);
                obsSums.push(totalSum);
                obsPrices.push(priceSinceHead);
            }
            lastTime = t;
            lastPrice = price;
        }
        _checkHead(head);
        _checkHead(h.head());
        return first;
    }

    function _checkHead(PriceHistory.Head memory head) internal view {
        assertEq(head.timestamp, lastTime, "head timestamp");
        assertEq(head.price, lastPrice, "head price");
        assertEq(head.cumulative, totalSum % WRAP, "head cumulative = sum of priceSinceHead x dt");
        assertEq(head.index, (obsTimes.length - 1) % CARDINALITY, "head index = slot of the newest observation");
    }

    /// @dev Every ring slot holds what the model says: the newest 64 observations, empty slots untouched.
    function _checkRing() internal view {
        uint256 n = obsTimes.length;
        for (uint256 slot; slot < CARDINALITY; ++slot) {
            PriceHistory.Observation memory o = h.observation(slot);
            if (slot >= n) {
                assertEq(o.timestamp, 0, "empty slot timestamp");
                assertEq(o.cumulative, 1, "empty slot pre-written with cumulative 1");
                assertEq(o.priceBefore, 0, "empty slot price");
                continue;
            }
            // The newest observation j with j % 64 == slot.
            uint256 j = slot + ((n - 1 - slot) / CARDINALITY) * CARDINALITY;
            assertEq(o.timestamp, obsTimes[j], "ring slot timestamp");
            assertEq(o.cumulative, obsSums[j] % WRAP, "ring slot cumulative");
            uint256 priceBefore = obsPrices[j] < MAX_PRICE_BEFORE ? obsPrices[j] : MAX_PRICE_BEFORE;
            assertEq(o.priceBefore, priceBefore, "ring slot price before, saturated at 96 bits");
        }
    }

    /// @dev Sum of price x seconds over [s, e), with `priceNow` after the last record.
    function _sum(uint256 s, uint256 e, uint256 priceNow) internal view returns (uint256 total) {
        for (uint256 i; i < segments.length; ++i) {
            total += segments[i].price * _overlap(segments[i].start, segments[i].end, s, e);
        }
        total += priceNow * _overlap(lastTime, type(uint256).max, s, e);
    }

    function _overlap(uint256 a, uint256 b, uint256 s, uint256 e) internal pure returns (uint256) {
        uint256 lo = a > s ? a : s;
        uint256 hi = b < e ? b : e;
        return hi > lo ? hi - lo : 0;
    }

    /// @dev The window start the documented rule gives: `target` itself, except when the newest
    /// kept observation at or before it is in its 30-second bucket, is the newest of all, or is
    /// followed by one whose price before saturated 96 bits (then that observation); the oldest
    /// kept one if all are newer.
    function _ruleStart(uint256 target) internal view returns (uint256) {
        uint256 n = obsTimes.length;
        uint256 firstKept = n > CARDINALITY ? n - CARDINALITY : 0;
        for (uint256 j = n; j > firstKept; --j) {
            uint256 o = obsTimes[j - 1];
            if (o > target) continue;
            if (o / SPACING == target / SPACING || j == n || obsPrices[j] >= MAX_PRICE_BEFORE) return o;
            return target;
        }
        return obsTimes[firstKept];
    }

    /// @dev The exact average over [start, now): sum / seconds, rounded down.
    function _average(uint256 start, uint256 now_, uint256 priceNow) internal view returns (uint256) {
        return _sum(start, now_, priceNow) / (now_ - start);
    }

    /// @dev The model's twap for a query after the last record (now_ > lastTime).
    function _expectedTwap(uint256 now_, uint256 priceNow, uint256 interval) internal view returns (uint256) {
        if (interval == 0) return priceNow;
        uint256 target = interval >= now_ ? 0 : now_ - interval;
        if (target >= lastTime) return priceNow;
        return _average(_ruleStart(target), now_, priceNow);
    }

    // ------------------------------------------------------------------ initialize

    function test_initialize_writesHeadAndEveryRingSlot() public {
        (uint256 cardinality, uint256 spacing) = h.constants();
        assertEq(cardinality, 64, "CARDINALITY");
        assertEq(spacing, 30, "SPACING");
        _init(1_000_007, 42e18);
        PriceHistory.Head memory head = h.head();
        assertEq(head.timestamp, 1_000_007, "timestamp");
        assertEq(head.price, 42e18, "price");
        assertEq(head.cumulative, 0, "cumulative");
        assertEq(head.index, 0, "index");
        PriceHistory.Observation memory o = h.observation(0);
        assertEq(o.timestamp, 1_000_007, "slot 0 is the first observation");
        assertEq(o.cumulative, 0, "slot 0 cumulative");
        for (uint256 i = 1; i < CARDINALITY; ++i) {
            o = h.observation(i);
            assertEq(o.timestamp, 0, "later slots hold no observation");
            assertEq(o.cumulative, 1, "later slots pre-written non-zero");
        }
        _checkRing();
        // With no record yet, any window averages the price since the head.
        assertEq(h.twap(1_000_100, 42e18, 50), 42e18, "window inside the head stretch");
        assertEq(h.twap(1_000_100, 42e18, 93), 42e18, "window from the first observation");
        assertEq(h.twap(1_000_100, 42e18, 10_000), 42e18, "window longer than the history");
    }

    /// @notice A read in the very second the history starts (the deployment block, after a swap)
    /// has no elapsed history to average: it answers the price recorded with the head.
    function test_twap_inTheFirstSecondAnswersTheHeadPrice() public {
        _init(1_000, 7e18);
        assertEq(h.twap(1_000, 9e18, 50), 7e18, "head price, not the price since the head");
        assertEq(h.twap(1_000, 9e18, 0), 9e18, "interval 0 is the current price");
    }

    function test_initialize_rejectsTimestampTooWideAndSaturatesPrice() public {
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 40, 1 << 40));
        h.initialize(1 << 40, 1e18);
        // A price above 88 bits is kept at the largest value: recording never reverts on a price.
        h.initialize(1, MAX_PRICE + 1);
        assertEq(h.head().price, MAX_PRICE, "saturated price");
        // The widest values fit.
        h.initialize((1 << 40) - 1, MAX_PRICE);
        assertEq(h.head().price, MAX_PRICE, "max price");
    }

    // ------------------------------------------------------------------ record

    /// @notice A hand-worked path: the head, the ring and the return values after every record.
    function test_record_handWorkedPath() public {
        _init(3000, 10e18); // bucket 100
        // 30 s at 10 -> 300; bucket 101: appended to slot 1.
        assertEq(_record(3030, 10e18, 20e18), true, "first at 3030");
        assertEq(h.head().cumulative, 300e18, "cumulative at 3030");
        assertEq(h.observation(1).timestamp, 3030, "slot 1 timestamp");
        assertEq(h.observation(1).cumulative, 300e18, "slot 1 cumulative");
        // A second record at the same timestamp: no-op, returns the stored head (price 20, not 99).
        (PriceHistory.Head memory same, bool first) = h.record(3030, 77e18, 99e18);
        assertEq(first, false, "second record at 3030");
        assertEq(same.price, 20e18, "stored head returned");
        assertEq(same.cumulative, 300e18, "stored cumulative returned");
        assertEq(_record(3030, 5e18, 6e18), false, "third record at 3030");
        // 10 s at 20 -> +200 = 500; still bucket 101: no append.
        assertEq(_record(3040, 20e18, 40e18), true, "first at 3040");
        assertEq(h.head().cumulative, 500e18, "cumulative at 3040");
        assertEq(h.head().index, 1, "no append inside a bucket");
        // 50 s at 40 -> +2000 = 2500; bucket 103 (102 skipped): appended to slot 2.
        _record(3090, 40e18, 5e18);
        assertEq(h.head().cumulative, 2500e18, "cumulative at 3090");
        assertEq(h.observation(2).timestamp, 3090, "slot 2 timestamp");
        assertEq(h.observation(2).cumulative, 2500e18, "slot 2 cumulative");
        // priceSinceHead is what accumulates, whatever the head's price was: 10 s at 7 -> +70.
        _record(3100, 7e18, 30e18);
        assertEq(h.head().cumulative, 2570e18, "cumulative uses priceSinceHead");
        assertEq(h.head().index, 2, "still slot 2");
        assertEq(h.observation(3).timestamp, 0, "slot 3 still empty");
        _checkRing();
    }

    /// @notice The ring takes the first record of each new 30-second bucket and only that one.
    function test_record_appendsOnlyWhenTheBucketChanges() public {
        _init(30, 1e18); // bucket 1
        uint256[12] memory times = [uint256(31), 59, 60, 61, 89, 90, 150, 179, 180, 209, 239, 240];
        bool[12] memory appends = [false, false, true, false, false, true, true, false, true, false, true, true];
        for (uint256 i; i < times.length; ++i) {
            uint256 before = obsTimes.length;
            _record(times[i], 1e18 + i, 1e18 + i + 1);
            assertEq(obsTimes.length - before, appends[i] ? 1 : 0, "model appends as scripted");
            _checkRing();
        }
        assertEq(h.head().index, 6, "six appends after the first observation");
    }

    function test_record_rejectsTimestampTooWideAndSaturatesPrice() public {
        _init(100, 1e18);
        h.record(200, 1e18, MAX_PRICE + 1);
        assertEq(h.head().price, MAX_PRICE, "saturated price");
        assertEq(h.head().cumulative, 100e18, "the cumulative uses the price since the head in full");
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 40, 1 << 40));
        h.record(1 << 40, 1e18, 1e18);
    }

    /// @notice Cumulatives are 120-bit and wrap; differences across the wrap stay exact.
    function test_record_cumulativeWrapsAndDifferencesStayExact() public {
        _init(30, MAX_PRICE);
        // 2^32 s at the largest price: (2^88 - 1) x 2^32 = 2^120 - 2^32, just below the wrap.
        uint256 t = 30 + (1 << 32);
        _record(t, MAX_PRICE, MAX_PRICE);
        assertEq(h.head().cumulative, WRAP - (1 << 32), "just below 2^120");
        // 90 s more at the largest price crosses 2^120.
        _record(t + 90, MAX_PRICE, 3e18);
        assertLt(h.head().cumulative, 1 << 100, "wrapped");
        _record(t + 150, 3e18, 5e18);
        _checkRing();
        uint256 now_ = t + 200;
        // Windows that start at observations on either side of the wrap: exact averages.
        assertEq(h.twap(now_, 5e18, 200), _average(t, now_, 5e18), "window from before the wrap");
        assertEq(h.twap(now_, 5e18, 110), _average(t + 90, now_, 5e18), "window from after the wrap");
        assertEq(h.twap(now_, 5e18, 110), uint256(3e18 * 60 + 5e18 * 50) / 110, "hand value after the wrap");
    }

    // ------------------------------------------------------------------ twap

    /// @dev The path of test_record_handWorkedPath with a consistent price (priceSinceHead = the
    /// previous price): 10 over [3000, 3030), 20 over [3030, 3040), 40 over [3040, 3090), 5 over
    /// [3090, 3100), then 30. Observations at 3000 (sum 0), 3030 (300) and 3090 (2500); the head at
    /// 3100 (2550). At 3130 the sum is 2550 + 30 x 30 = 3450.
    function _handPath() internal {
        _init(3000, 10e18);
        _record(3030, 10e18, 20e18);
        _record(3040, 20e18, 40e18);
        _record(3090, 40e18, 5e18);
        _record(3100, 5e18, 30e18);
    }

    function test_twap_handWorkedWindows() public {
        _handPath();
        uint256 now_ = 3130;
        uint256 p = 30e18;
        // Interval 0: the current price.
        assertEq(h.twap(now_, p, 0), p, "interval 0");
        // Windows inside the head stretch (start at or after 3100): the current price.
        assertEq(h.twap(now_, p, 30), p, "window starting at the head");
        assertEq(h.twap(now_, p, 1), p, "1 s window");
        assertEq(h.twap(now_, p, 29), p, "window inside the head stretch");
        // Windows starting exactly at an observation: the exact average.
        assertEq(h.twap(now_, p, 40), 23.75e18, "from 3090: (5 x 10 + 30 x 30) / 40");
        assertEq(h.twap(now_, p, 100), 31.5e18, "from 3030: (3450 - 300) / 100");
        assertEq(h.twap(now_, p, 130), uint256(3450e18) / 130, "from 3000: 3450 / 130");
        // Between observations, in the bucket of the one before: from that observation.
        assertEq(h.twap(now_, p, 35), 23.75e18, "target 3095 starts at 3090 (5 s early)");
        assertEq(h.twap(now_, p, 39), 23.75e18, "target 3091 starts at 3090 (1 s early)");
        assertEq(h.twap(now_, p, 80), 31.5e18, "target 3050 starts at 3030 (20 s early)");
        // In a later bucket (102, idle): exact, the cumulative carried back from 3090 at the 40
        // that held before it: (40 x 1 + 5 x 10 + 30 x 30) / 41.
        assertEq(h.twap(now_, p, 41), uint256(990e18) / 41, "target 3089: exact");
        assertEq(h.twap(now_, p, 60), uint256(1750e18) / 60, "target 3070: (40 x 20 + 50 + 900) / 60");
        assertEq(h.twap(now_, p, 129), uint256(3450e18) / 130, "target 3001 starts at 3000");
        // Longer than the history, and interval >= timestamp: everything there is.
        assertEq(h.twap(now_, p, 131), uint256(3450e18) / 130, "one second more than the history");
        assertEq(h.twap(now_, p, 3129), uint256(3450e18) / 130, "target 1");
        assertEq(h.twap(now_, p, 3130), uint256(3450e18) / 130, "interval == timestamp");
        assertEq(h.twap(now_, p, type(uint256).max), uint256(3450e18) / 130, "interval max");
        // Every interval against the model's rule.
        for (uint256 interval; interval <= 200; ++interval) {
            assertEq(h.twap(now_, p, interval), _expectedTwap(now_, p, interval), "rule, intervals 0..200");
        }
    }

    /// @notice Observations at 3000 (bucket 100), 3059 (101), 3060 (102) and a record at 3089 (102,
    /// no observation). A target in an idle stretch of bucket 101 is exact (it used to start at
    /// 3000, 58 s early); a target in bucket 102 after 3060 starts at 3060, at most 29 s early,
    /// because the record at 3089 is not kept.
    function test_twap_windowStartsAtMost29SecondsEarly() public {
        _init(3000, 10e18);
        _record(3059, 10e18, 20e18);
        _record(3060, 20e18, 40e18);
        _record(3089, 40e18, 50e18);
        uint256 now_ = 3095;
        // Exact over [3058, 3095): 10 x 1 + 20 x 1 + 40 x 29 + 50 x 6 = 1490.
        assertEq(h.twap(now_, 50e18, 37), uint256(1490e18) / 37, "target 3058: exact");
        // Target 3088 (bucket 102) starts at 3060: (40 x 29 + 50 x 6) / 35, 28 s early; the exact
        // average over [3088, 3095) would be (40 + 300) / 7.
        assertEq(h.twap(now_, 50e18, 7), uint256(1460e18) / 35, "target 3088 starts at 3060");
        assertLt(h.twap(now_, 50e18, 7), uint256(340e18) / 7, "differs from the exact average");
        for (uint256 interval; interval <= 100; ++interval) {
            assertEq(h.twap(now_, 50e18, interval), _expectedTwap(now_, 50e18, interval), "model");
        }
    }

    /// @notice A price before an observation above 96 bits is stored saturated and not used: a
    /// window starting in the idle stretch before it starts at the observation before instead.
    function test_twap_saturatedPriceBeforeFallsBackToTheObservation() public {
        _init(3000, MAX_PRICE_BEFORE + 1);
        _record(3100, MAX_PRICE_BEFORE + 1, 1e18);
        assertEq(h.observation(1).priceBefore, MAX_PRICE_BEFORE, "saturated");
        _checkRing();
        uint256 now_ = 3110;
        // Target 3050 (bucket 101, idle) starts at 3000: the cumulative there is known.
        uint256 sum = (MAX_PRICE_BEFORE + 1) * 100 + 1e18 * 10;
        assertEq(h.twap(now_, 1e18, 60), sum / 110, "from 3000");
        assertEq(h.twap(now_, 1e18, 60), _expectedTwap(now_, 1e18, 60), "model");
        // Just below the saturation the same window is exact.
        _init(3000, MAX_PRICE_BEFORE - 1);
        _record(3100, MAX_PRICE_BEFORE - 1, 1e18);
        assertEq(h.twap(now_, 1e18, 60), ((MAX_PRICE_BEFORE - 1) * 50 + 1e18 * 10) / 60, "exact from 3050");
    }

    /// @notice More than 64 appends: the ring keeps the newest 64 and the binary search finds, for
    /// every kept observation, the right start just before, at and just after it.
    function test_twap_wrapAroundKeepsTheNewest64() public {
        _init(900_015, 1e18);
        uint256 t = 900_015;
        uint256 price = 1e18;
        for (uint256 i; i < 150; ++i) {
            // Steps of 1..95 s: some stay in the bucket, some skip buckets.
            uint256 dt = 1 + (uint256(keccak256(abi.encode("dt", i))) % 95);
            uint256 next = 1e18 + (uint256(keccak256(abi.encode("price", i))) % 1000e18);
            t += dt;
            _record(t, price, next);
            price = next;
        }
        assertGe(obsTimes.length, 2 * CARDINALITY + 1, "wrapped at least twice");
        _checkRing();
        assertEq(h.head().index, (obsTimes.length - 1) % CARDINALITY, "newest slot");

        uint256 now_ = t + 17;
        uint256 n = obsTimes.length;
        uint256 oldest = obsTimes[n - CARDINALITY];
        for (uint256 j = n - CARDINALITY; j < n; ++j) {
            uint256 o = obsTimes[j];
            if (o >= lastTime) continue; // the newest observation may be the head itself
            assertEq(h.twap(now_, price, now_ - o), _average(o, now_, price), "window from an observation");
            assertEq(h.twap(now_, price, now_ - o), _expectedTwap(now_, price, now_ - o), "model at");
            assertEq(h.twap(now_, price, now_ - o - 1), _expectedTwap(now_, price, now_ - o - 1), "model after");
            assertEq(h.twap(now_, price, now_ - o + 1), _expectedTwap(now_, price, now_ - o + 1), "model before");
        }
        // Before the oldest kept observation: from the oldest one (overwritten ones are gone).
        uint256 fromOldest = _average(oldest, now_, price);
        assertEq(h.twap(now_, price, now_ - oldest + 1), fromOldest, "just before the oldest");
        assertEq(h.twap(now_, price, now_ - 900_015), fromOldest, "from the initialization");
        assertEq(h.twap(now_, price, now_), fromOldest, "interval == timestamp");
        assertLt(900_015, oldest, "the first observations were overwritten");
    }

    /// @notice The history the ring keeps can be 29 s shorter than (CARDINALITY - 1) x SPACING = 1890 s
    /// (the library's NatSpec says "at least"): the oldest observation at the end of its bucket, the
    /// newest at the start of the 63rd bucket after it.
    function test_ring_worstCaseSpanIs1861Seconds() public {
        _init(59, 1e18); // bucket 1, last second
        for (uint256 k; k < 63; ++k) _record(60 + 30 * k, 1e18, 1e18 + k); // buckets 2..64, first seconds
        _checkRing();
        assertEq(h.head().index, 63, "ring full, not wrapped");
        assertEq(h.observation(0).timestamp, 59, "oldest");
        assertEq(h.observation(63).timestamp, 1920, "newest");
        // One more bucket overwrites the oldest: the span stays 63 buckets minus 29 s at worst.
        _record(1950, 1e18 + 62, 2e18);
        assertEq(h.observation(0).timestamp, 1950, "slot 0 overwritten");
        assertEq(h.observation(1).timestamp, 60, "oldest kept");
        // A window reaching further back is cut at the oldest kept observation.
        assertEq(h.twap(1951, 2e18, 5000), _average(60, 1951, 2e18), "covers what there is");
    }

    /// @notice A query at the head's own timestamp (another read in the block that wrote the head)
    /// averages the history before that block: the price since the head has held for 0 s.
    function test_twap_atTheHeadTimestampAveragesThePast() public {
        _handPath();
        // At 3100 (the head), the window of 70 s starts at the observation at 3030:
        // (2550 - 300) / 70, whatever the price since the head (30) is.
        assertEq(h.twap(3100, 30e18, 70), uint256(2250e18) / 70, "history before the head");
    }

    // ------------------------------------------------------------------ fuzz

    /// @notice For a random path of (dt, price) steps, a window starting exactly at a recorded
    /// observation gives the exact average of the path; any other window gives what the rule says
    /// (exact unless its start shares a bucket with the observation before it); the head's
    /// cumulative is the exact sum.
    function testFuzz_twapFromAnObservationIsTheExactAverage(
        uint256 seed,
        uint256 steps,
        uint256 pick,
        uint256 tail,
        uint256 anyInterval
    ) public {
        steps = bound(steps, 1, 140);
        uint256 t = bound(seed, 1, 1e11);
        uint256 price = boundLog(uint256(keccak256(abi.encode(seed, "p0"))), 1, MAX_PRICE);
        _init(t, price);
        for (uint256 i; i < steps; ++i) {
            uint256 x = uint256(keccak256(abi.encode(seed, i)));
            // A third of the steps inside 30 s, a third 30..120 s, a third up to a day.
            uint256 kind = x % 3;
            uint256 dt =
                kind == 0
                    ? bound(x >> 8, 0, 29)
                    : kind == 1
                        ? bound(x >> 8, 30, 120)
                        : boundLog(x >> 8, 1, 86_400);
            uint256 next = boundLog(x >> 128, 1, MAX_PRICE);
            t += dt;
            _record(t, price, next); // dt = 0: a same-block no-op
            if (dt != 0) price = next;
        }
        _checkRing();

        uint256 now_ = lastTime + bound(tail, 1, 86_400);
        uint256 n = obsTimes.length;
        uint256 firstKept = n > CARDINALITY ? n - CARDINALITY : 0;
        uint256 j = bound(pick, firstKept, n - 1);
        uint256 o = obsTimes[j];
        uint256 got = h.twap(now_, price, now_ - o);
        // The exact average from the segments (when the observation is the head, the head stretch
        // at the current price is that average too).
        assertEq(got, _sum(o, now_, price) / (now_ - o), "exact average from an observation");
        // The same average from the model's running sums at the observation.
        assertEq(got, (totalSum + price * (now_ - lastTime) - obsSums[j]) / (now_ - o), "from the sums");

        uint256 interval = bound(anyInterval, 0, now_ - obsTimes[firstKept] + 100);
        assertEq(h.twap(now_, price, interval), _expectedTwap(now_, price, interval), "any window: rule");
    }
    /// @notice The search for a window's start finds the same observation on every shape of ring:
    /// evenly spread (a market trading in every 30-second bucket, where its first probe lands),
    /// nearly even, and even but for one long idle gap placed anywhere (where the first probe
    /// lands far from the answer and the search must gallop back), wrapped or not; against the
    /// model's linear rule for any window.
    function testFuzz_twapFindsTheWindowStartOnEvenAndUnevenRings(
        uint256 seed,
        uint256 steps,
        uint256 shape,
        uint256 gapAt,
        uint256 gap,
        uint256 tail,
        uint256 anyInterval
    ) public {
        steps = bound(steps, 2, 150);
        shape = bound(shape, 0, 2);
        gapAt = bound(gapAt, 0, steps - 1);
        gap = bound(gap, 31, 30 days);
        uint256 t = bound(seed, 1, 1e11);
        uint256 price = boundLog(uint256(keccak256(abi.encode(seed, "p0"))), 1, MAX_PRICE);
        _init(t, price);
        for (uint256 i; i < steps; ++i) {
            uint256 x = uint256(keccak256(abi.encode(seed, i)));
            uint256 dt = shape == 1 ? bound(x >> 8, 30, 40) : 30;
            if (shape == 2 && i == gapAt) dt = gap;
            uint256 next = boundLog(x >> 128, 1, MAX_PRICE);
            t += dt;
            _record(t, price, next);
            price = next;
        }
        _checkRing();
        uint256 now_ = lastTime + bound(tail, 1, 600);
        uint256 n = obsTimes.length;
        uint256 firstKept = n > CARDINALITY ? n - CARDINALITY : 0;
        uint256 interval = bound(anyInterval, 1, now_ - obsTimes[firstKept] + 100);
        assertEq(h.twap(now_, price, interval), _expectedTwap(now_, price, interval), "any window: rule");
    }
}
