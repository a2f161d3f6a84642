// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @notice A Chainlink aggregator whose every field is set by the test, and which can be made to
/// revert. Also serves as an L2 sequencer uptime feed: answer 0 = up, 1 = down, `startedAt` = when
/// that status began.
/// @dev Its storage reads are shaped as Chainlink's OCR2 aggregator's, so that a gas benchmark
/// reading it behind a proxy pays what a live feed costs: `latestRoundData` reads three slots, the
/// caller's access-list entry (OCR2's `checkAccess`), the hot variables (latest round id) and the
/// latest transmission (answer and timestamps packed). A round whose figures do not fit that
/// packing (only the oracle's edge-case tests set one) is kept in full in further slots, read only
/// then.
contract MockAggregator is AggregatorV3Interface {
    /// @notice `latestRoundData` and `getRoundData` were called while set to revert.
    error MockAggregatorReverted();
    /// @notice A round-data call from a reader not on the access list while the check is on.
    error MockAggregatorNoAccess(address reader);

    /// @dev OCR2's `s_hotVars` in kind: the latest round's ids and the mock's switches.
    struct HotVars {
        uint80 roundId;
        uint80 answeredInRound;
        uint8 decimals;
        bool reverting;
        /// @dev The latest round is in `_wideRound`, not `_transmission`.
        bool wide;
        /// @dev OCR2's `s_checkEnabled`: off, so reads are open to anyone.
        bool checkEnabled;
    }

    /// @dev OCR2's `Transmission`: one slot.
    struct Transmission {
        int192 answer;
        uint32 startedAt;
        uint32 updatedAt;
    }

    /// @dev A round set with figures wider than {Transmission}'s.
    struct WideRound {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
    }

    /// @dev OCR2's access list: read on every round-data call.
    mapping(address reader => bool) private _accessList;
    HotVars private _hot;
    Transmission private _transmission;
    WideRound private _wideRound;

    constructor(uint8 decimals_) {
        _hot.decimals = decimals_;
    }

    /// @notice The decimals the feed reports.
    function decimals() external view returns (uint8) {
        return _hot.decimals;
    }

    /// @notice Whether the round-data functions revert.
    function reverting() external view returns (bool) {
        return _hot.reverting;
    }

    /// @notice Sets the decimals the feed reports.
    function setDecimals(uint8 decimals_) external {
        _hot.decimals = decimals_;
    }

    /// @notice Sets every field of the latest round as given.
    function setRoundData(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) external {
        _setRound(roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    /// @notice Publishes a new, well-formed round: the next round id, started and updated at `updatedAt`.
    function setAnswer(int256 answer, uint256 updatedAt) external {
        uint80 roundId = _hot.roundId + 1;
        _setRound(roundId, answer, updatedAt, updatedAt, roundId);
    }

    /// @notice As a sequencer uptime feed: `down` is answer 1, up is 0, since `startedAt`.
    function setSequencerStatus(bool down, uint256 startedAt) external {
        uint80 roundId = _hot.roundId + 1;
        _setRound(roundId, down ? int256(1) : int256(0), startedAt, startedAt, roundId);
    }

    /// @notice Makes the round-data functions revert (true) or answer again (false).
    function setReverting(bool reverting_) external {
        _hot.reverting = reverting_;
    }

    /// @notice Turns the access check on or off (off at deployment: anyone reads).
    function setAccessCheck(bool enabled) external {
        _hot.checkEnabled = enabled;
    }

    /// @notice Puts `reader` on the access list or takes it off.
    function setReadAccess(address reader, bool listed) external {
        _accessList[reader] = listed;
    }

    function description() external pure returns (string memory) {
        return "MockAggregator";
    }

    function version() external pure returns (uint256) {
        return 4;
    }

    /// @dev Only the latest round is kept: any id returns it.
    function getRoundData(uint80) external view returns (uint80, int256, uint256, uint256, uint80) {
        return _latest();
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return _latest();
    }

    function _setRound(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) private {
        bool packs =
            answer >= type(int192).min &&
                answer <= type(int192).max &&
                startedAt <= type(uint32).max &&
                updatedAt <= type(uint32).max;
        HotVars memory hot = _hot;
        _hot = HotVars(roundId, answeredInRound, hot.decimals, hot.reverting, !packs, hot.checkEnabled);
        if (packs) _transmission = Transmission(int192(answer), uint32(startedAt), uint32(updatedAt));
        else _wideRound = WideRound(answer, startedAt, updatedAt);
    }

    function _latest() private view returns (uint80, int256, uint256, uint256, uint80) {
        HotVars memory hot = _hot;
        // OCR2's `checkAccess`: the caller's entry first, then whether the check is on.
        if (!_accessList[msg.sender] && hot.checkEnabled) revert MockAggregatorNoAccess(msg.sender);
        if (hot.reverting) revert MockAggregatorReverted();
        if (hot.wide) {
            WideRound memory w = _wideRound;
            return (hot.roundId, w.answer, w.startedAt, w.updatedAt, hot.answeredInRound);
        }
        Transmission memory t = _transmission;
        return (hot.roundId, t.answer, t.startedAt, t.updatedAt, hot.answeredInRound);
    }
}

/// @notice An aggregator that answers `latestRoundData` (and any other unknown call) with raw bytes
/// set by the test: short data, or words that do not fit their declared types.
contract MalformedAggregator {
    uint8 public decimals = 8;
    bytes private _returnData;

    /// @notice Sets the raw bytes returned for any unknown call, `latestRoundData` included.
    function setReturnData(bytes calldata returnData) external {
        _returnData = returnData;
    }

    /// @notice When set, every unknown call reverts with the raw bytes instead of returning them.
    bool public reverts;

    /// @notice Makes unknown calls revert with the raw bytes (true) or return them (false).
    function setReverts(bool reverts_) external {
        reverts = reverts_;
    }

    // solhint-disable-next-line no-complex-fallback
    fallback(bytes calldata) external returns (bytes memory) {
        bytes memory data = _returnData;
        if (reverts) {
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                revert(add(data, 0x20), mload(data))
            }
        }
        return data;
    }
}
