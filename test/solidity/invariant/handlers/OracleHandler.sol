// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Amm} from "../../../../contracts/Amm.sol";
import {ChainlinkPriceFeed} from "../../../../contracts/ChainlinkPriceFeed.sol";
import {MockAggregator} from "../../../../contracts/test/MockAggregator.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {UnexpectedReverts} from "./HandlerBase.sol";
import {TraderHandler} from "./TraderHandler.sol";

/// @notice The index price and the L2 sequencer: a bounded random walk of the aggregator's answer,
/// stale, zero, negative, future-dated and out-of-bounds rounds, an aggregator that reverts, sequencer
/// outages (down, then back up into the grace period), and pokes of the Amm's index. Never asserts:
/// anything wrong is counted (`pokeMismatches`, `unexpectedReverts`).
contract OracleHandler is TestBase, UnexpectedReverts {
    uint256 internal constant FEED_DECIMALS = 8;
    /// @dev The walk stays within [initial / 2, initial x 2]; the feed's bounds are [initial / 10, x 10].
    int256 public immutable initialAnswer;

    Amm public immutable amm;
    ChainlinkPriceFeed public immutable priceFeed;
    MockAggregator public immutable aggregator;
    MockAggregator public immutable sequencerFeed;
    bytes32 public immutable asset;
    TraderHandler public immutable traders;

    uint80 public round;
    int256 public lastGood;
    bool public sequencerDown;

    uint256 public moves;
    uint256 public staleRounds;
    uint256 public badAnswers;
    uint256 public revertToggles;
    uint256 public outages;
    uint256 public recoveries;
    uint256 public pokes;
    uint256 public validPokes;
    /// @dev pokeIndex disagreeing with the feed's own tryGetPrice, or recording an invalid price.
    uint256 public pokeMismatches;

    constructor(
        Amm amm_,
        ChainlinkPriceFeed priceFeed_,
        MockAggregator aggregator_,
        MockAggregator sequencerFeed_,
        bytes32 asset_,
        TraderHandler traders_,
        int256 initialAnswer_
    ) {
        amm = amm_;
        priceFeed = priceFeed_;
        aggregator = aggregator_;
        sequencerFeed = sequencerFeed_;
        asset = asset_;
        traders = traders_;
        initialAnswer = initialAnswer_;
        lastGood = initialAnswer_;
    }

    /// @notice Publishes a fresh, valid answer: the last good one moved by -5% .. +5% (a tenth of the
    /// time by up to 30%), clamped to [initial / 2, initial x 2]; also makes the aggregator answer again.
    function move(uint256 seed) external {
        uint256 maxStep = seed % 10 == 0 ? 3_000 : 500; // basis points
        uint256 step = bound(seed >> 8, 0, maxStep);
        int256 answer =
            (seed >> 4) & 1 == 0
                ? (lastGood * int256(10_000 + step)) / 10_000
                : (lastGood * int256(10_000 - step)) / 10_000;
        if (answer > initialAnswer * 2) answer = initialAnswer * 2;
        if (answer < initialAnswer / 2) answer = initialAnswer / 2;
        aggregator.setReverting(false);
        _publish(answer, block.timestamp);
        lastGood = answer;
        moves++;
        _poke();
    }

    /// @notice A round the feed must reject: stale (older than the heartbeat), zero, negative,
    /// dated in the future, or outside the asset's bounds.
    function publishBad(uint256 seed) external {
        uint256 mode = seed % 5;
        uint256 heartbeat = priceFeed.getAssetConfig(asset).heartbeat;
        if (mode == 0) {
            if (block.timestamp <= heartbeat + 1 days) return;
            _publish(lastGood, block.timestamp - heartbeat - bound(seed >> 3, 1, 1 days));
            staleRounds++;
        } else if (mode == 1) {
            _publish(0, block.timestamp);
            badAnswers++;
        } else if (mode == 2) {
            _publish(-int256(bound(seed >> 3, 1, uint256(initialAnswer))), block.timestamp);
            badAnswers++;
        } else if (mode == 3) {
            _publish(lastGood, block.timestamp + bound(seed >> 3, 1, 1 hours));
            badAnswers++;
        } else {
            _publish((seed >> 3) & 1 == 0 ? initialAnswer * 11 : initialAnswer / 11, block.timestamp);
            badAnswers++;
        }
        _poke();
    }

    /// @notice The aggregator starts or stops reverting (half the time each).
    function toggleRevert(uint256 seed) external {
        aggregator.setReverting(seed % 2 == 0);
        revertToggles++;
        _poke();
    }

    /// @notice The sequencer goes down (one call in three while it is up) or comes back up, which starts
    /// its grace period (risk-increasing actions stay refused with GracePeriodNotOver meanwhile).
    function sequencer(uint256 seed) external {
        if (sequencerDown) {
            sequencerFeed.setSequencerStatus(false, block.timestamp);
            sequencerDown = false;
            recoveries++;
        } else if (seed % 3 == 0) {
            sequencerFeed.setSequencerStatus(true, block.timestamp);
            sequencerDown = true;
            outages++;
        }
        traders.syncK();
    }

    /// @notice Anyone pokes the index.
    function poke() external {
        _poke();
    }

    /// @notice Before the final settlement: a fresh valid answer, the aggregator answering, and the
    /// sequencer up past its grace period.
    function restore() external {
        aggregator.setReverting(false);
        _publish(lastGood, block.timestamp);
        sequencerFeed.setSequencerStatus(false, block.timestamp - traders.clearingHouse().sequencerGracePeriod() - 1);
        sequencerDown = false;
    }

    function _publish(int256 answer, uint256 updatedAt) internal {
        round++;
        aggregator.setRoundData(round, answer, updatedAt, updatedAt, round);
    }

    /// @dev pokeIndex records the feed's price iff the feed calls it valid (and never reverts).
    function _poke() internal {
        pokes++;
        (bool feedValid, uint256 feedPrice) = priceFeed.tryGetPrice(asset);
        try amm.pokeIndex() returns (bool valid, uint256 price) {
            if (valid != feedValid || price != (valid ? feedPrice : 0)) pokeMismatches++;
            if (valid) validPokes++;
        } catch (bytes memory err) {
            _unexpectedRevert(selectorOf(err));
        }
        traders.syncK();
    }
}
