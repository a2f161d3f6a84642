// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ChainlinkRound} from "./ChainlinkRound.sol";

/// @title ISequencerErrors
/// @notice The errors of the L2 sequencer check ({SequencerUptime}); {IClearingHouse} inherits them.
interface ISequencerErrors {
    /// @notice The sequencer feed reports the sequencer down, or the feed call failed.
    error SequencerDown();
    /// @notice The sequencer feed has no initialised round yet (`startedAt` is 0).
    error SequencerRoundNotInitialized();
    /// @notice The sequencer is up again, but only since `startedAt`; actions resume after `gracePeriodEnd`.
    error GracePeriodNotOver(uint256 startedAt, uint256 gracePeriodEnd);
    /// @notice The grace period is outside [minGracePeriod, maxGracePeriod].
    error GracePeriodOutOfBounds(uint256 gracePeriod, uint256 minGracePeriod, uint256 maxGracePeriod);
}

/// @title SequencerUptime
/// @notice The L2 sequencer check, written once for the ClearingHouse (which gates its actions
/// with it), its modules and the viewer: a Chainlink uptime feed answers 0 while the sequencer is
/// up and 1 while it is down, with `startedAt` the time of the last change. An action it gates
/// passes only when the sequencer is up and has been for longer than the grace period.
/// @dev The ClearingHouse reads the uptime feed directly: a hop through another contract would
/// cost every gated action a cold account and a cold slot more.
library SequencerUptime {
    /// @notice The grace period a ClearingHouse starts with (Chainlink's recommendation), in seconds.
    uint256 internal constant DEFAULT_GRACE_PERIOD = 1 hours;
    /// @notice The shortest grace period the owner may set, in seconds.
    uint256 internal constant MIN_GRACE_PERIOD = 10 minutes;
    /// @notice The longest grace period the owner may set, in seconds.
    uint256 internal constant MAX_GRACE_PERIOD = 1 days;

    /// @dev The outcome of the check, one code per error.
    enum Status {
        UP,
        DOWN,
        NOT_INITIALIZED,
        GRACE_PERIOD
    }

    /// @notice The sequencer's status under `feed` (address(0): no sequencer, always up) at time
    /// `timestamp`, with the figures {check}'s errors report. Never reverts: a feed that cannot
    /// answer counts as down, so the protocol fails closed for the actions it gates.
    function status(
        AggregatorV3Interface feed,
        uint256 gracePeriod,
        uint256 timestamp
    ) internal view returns (Status, uint256 startedAt, uint256 gracePeriodEnd) {
        if (address(feed) == address(0)) return (Status.UP, 0, 0);
        (bool ok, , int256 answer, uint256 startedAt_, ) = ChainlinkRound.latest(feed);
        if (!ok) return (Status.DOWN, 0, 0);
        startedAt = startedAt_;
        // Some L2s' uptime feeds answer with startedAt 0 before their first round: no status yet.
        if (startedAt == 0) return (Status.NOT_INITIALIZED, 0, 0);
        // 0 is up, 1 is down; anything else is not a status we can trust.
        if (answer != 0) return (Status.DOWN, startedAt, 0);
        // Saturating: a malformed startedAt near 2^256 must read as "in grace", not overflow.
        gracePeriodEnd = Math.saturatingAdd(startedAt, gracePeriod);
        // Inclusive: the grace period lasts through gracePeriodEnd (Chainlink's `timeSinceUp <= grace`).
        if (timestamp <= gracePeriodEnd) return (Status.GRACE_PERIOD, startedAt, gracePeriodEnd);
        return (Status.UP, startedAt, gracePeriodEnd);
    }

    /// @notice Reverts unless the sequencer is up and its grace period is over at `timestamp`
    /// ({status}): SequencerDown, SequencerRoundNotInitialized or GracePeriodNotOver.
    function check(AggregatorV3Interface feed, uint256 gracePeriod, uint256 timestamp) internal view {
        (Status s, uint256 startedAt, uint256 gracePeriodEnd) = status(feed, gracePeriod, timestamp);
        if (s == Status.UP) return;
        if (s == Status.DOWN) revert ISequencerErrors.SequencerDown();
        if (s == Status.NOT_INITIALIZED) revert ISequencerErrors.SequencerRoundNotInitialized();
        revert ISequencerErrors.GracePeriodNotOver(startedAt, gracePeriodEnd);
    }

    /// @notice Reverts with GracePeriodOutOfBounds unless `gracePeriod` is within
    /// [MIN_GRACE_PERIOD, MAX_GRACE_PERIOD].
    function validateGracePeriod(uint256 gracePeriod) internal pure {
        if (gracePeriod < MIN_GRACE_PERIOD || gracePeriod > MAX_GRACE_PERIOD) {
            revert ISequencerErrors.GracePeriodOutOfBounds(gracePeriod, MIN_GRACE_PERIOD, MAX_GRACE_PERIOD);
        }
    }
}
