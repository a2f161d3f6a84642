// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
interface VmX {
    struct Log { bytes32[] topics; bytes data; address emitter; }
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}
contract E { event X(uint256 a); function f() external { emit X(7); } }
contract ProbeTest {
    VmX constant vm = VmX(address(uint160(uint256(keccak256("hevm cheat code")))));
    function test_logs() public {
        E e = new E();
        vm.recordLogs();
        e.f();
        VmX.Log[] memory logs = vm.getRecordedLogs();
        require(logs.length == 1, "len");
        require(abi.decode(logs[0].data, (uint256)) == 7, "val");
    }
}
