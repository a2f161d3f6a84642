// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @notice A proxy in front of an aggregator, shaped as Chainlink's published feed addresses are
/// (EACAggregatorProxy): consumers read the proxy, which checks its read-access controller (none:
/// a public feed), reads its current phase (id and aggregator, one slot) and forwards to that
/// aggregator. Round ids carry the phase: (phaseId << 64) | the aggregator's own round id. For gas
/// benchmarks, so an index read costs what a read of a real feed's proxy costs in calls and slots.
contract MockAggregatorProxy is AggregatorV3Interface {
    /// @notice The access controller refused the caller (never, while it is unset).
    error MockAggregatorProxyNoAccess(address caller);
    /// @notice The round id names a phase that has no aggregator.
    error MockAggregatorProxyUnknownPhase(uint16 phaseId);
    /// @notice A zero aggregator address.
    error MockAggregatorProxyZeroAggregator();

    /// @notice A new phase began: reads go to `aggregator` from now on.
    event PhaseStarted(uint16 indexed phaseId, address indexed aggregator);

    /// @dev Where the phase id starts in a proxy round id.
    uint256 private constant PHASE_OFFSET = 64;

    struct Phase {
        uint16 id;
        AggregatorV3Interface aggregator;
    }

    /// @notice Who may read; address(0) for everyone, as on Chainlink's public feeds.
    address public accessController;
    Phase private _phase;
    mapping(uint16 phaseId => AggregatorV3Interface) public phaseAggregators;

    /// @param aggregator_ The first phase's aggregator.
    constructor(AggregatorV3Interface aggregator_) {
        _startPhase(aggregator_);
    }

    /// @notice Lets only `controller` read (address(0): everyone). Chainlink's controller is a
    /// contract asked on every read; here the controller is the one reader allowed.
    function setAccessController(address controller) external {
        accessController = controller;
    }

    /// @notice Starts a new phase reading `aggregator_` (Chainlink's proxy owner does this on an upgrade).
    function setAggregator(AggregatorV3Interface aggregator_) external {
        _startPhase(aggregator_);
    }

    function _startPhase(AggregatorV3Interface aggregator_) private {
        if (address(aggregator_) == address(0)) revert MockAggregatorProxyZeroAggregator();
        uint16 id = _phase.id + 1;
        _phase = Phase(id, aggregator_);
        phaseAggregators[id] = aggregator_;
        emit PhaseStarted(id, address(aggregator_));
    }

    /// @notice The current phase's aggregator.
    function aggregator() external view returns (address) {
        return address(_phase.aggregator);
    }

    /// @notice The current phase's id.
    function phaseId() external view returns (uint16) {
        return _phase.id;
    }

    function decimals() external view returns (uint8) {
        return _phase.aggregator.decimals();
    }

    function description() external view returns (string memory) {
        return _phase.aggregator.description();
    }

    function version() external view returns (uint256) {
        return _phase.aggregator.version();
    }

    /// @notice The current aggregator's latest round, its round ids carrying the phase.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _checkAccess();
        Phase memory phase = _phase;
        (roundId, answer, startedAt, updatedAt, answeredInRound) = phase.aggregator.latestRoundData();
        return (_withPhase(phase.id, roundId), answer, startedAt, updatedAt, _withPhase(phase.id, answeredInRound));
    }

    /// @notice A round of the phase the id names, read from that phase's aggregator.
    function getRoundData(
        uint80 proxyRoundId
    )
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        _checkAccess();
        uint16 id = uint16(proxyRoundId >> PHASE_OFFSET);
        AggregatorV3Interface phaseAggregator = phaseAggregators[id];
        if (address(phaseAggregator) == address(0)) revert MockAggregatorProxyUnknownPhase(id);
        (roundId, answer, startedAt, updatedAt, answeredInRound) = phaseAggregator.getRoundData(uint64(proxyRoundId));
        return (_withPhase(id, roundId), answer, startedAt, updatedAt, _withPhase(id, answeredInRound));
    }

    /// @dev The access check Chainlink's proxy makes on every read: none while no controller is set.
    function _checkAccess() private view {
        if (accessController != address(0) && accessController != msg.sender) {
            revert MockAggregatorProxyNoAccess(msg.sender);
        }
    }

    function _withPhase(uint16 id, uint80 aggregatorRoundId) private pure returns (uint80) {
        return uint80((uint256(id) << PHASE_OFFSET) | uint64(aggregatorRoundId));
    }
}
