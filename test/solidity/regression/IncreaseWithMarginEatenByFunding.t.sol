// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {ProtocolInvariantTest} from "../invariant/Protocol.invariant.t.sol";

/// @notice Finding of session 10's extra ci-profile runs of Protocol.invariant.t.sol (one in four;
/// the campaign is not deterministic), replayed from its shrunk 28-call sequence: P11 (no
/// unexpected revert) failed on an increase that reverted PositionUnderwater. The position, opened
/// at the most leverage, had owed funding for long enough that its margin less that funding was
/// negative, while its PnL still kept its equity above the initial margin ratio; the increase added
/// less margin than the deficit. The ClearingHouse refuses that by design (a stored margin cannot be
/// negative; only a liquidation or a close touches a margin funding ate), so this is the handlers'
/// gap, not the protocol's: they now predict the revert exactly (margin - pending funding + the new
/// margin < 0, read before the call; an increase that goes through despite it counts as a mismatch)
/// rather than accept PositionUnderwater from every increase. (The contract inherits the campaign's
/// fixture, so its invariant functions run here too, at the default profile.)
contract IncreaseWithMarginEatenByFundingTest is ProtocolInvariantTest {
    function _call(address target, bytes memory data) internal {
        (bool ok, ) = target.call(data);
        assertTrue(ok, "a replayed handler call reverted");
    }

    function test_anIncreaseOnAMarginFundingAteIsRefusedAsPredicted() public {
        _call(address(keeper), hex"6ea9f1390000000000000000000000000000000000000000000000000000000000000034");
        _call(
            address(admin),
            hex"189ae5f2a8291ec80000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000916a17c60000000000000000000000000000000000000000000000000000000000001db4"
        );
        _call(
            address(admin),
            hex"cb3a9be6000000000000020620213107a254c2e806729bb55ffc9bd83d8a731e91e7450f00000000000000000000000000000000000000000000000000004780652b7fd90000000000000000000000000000000000000000000000000009f6edfcb72c50"
        );
        _call(
            address(traders),
            hex"0b4721cc000000000000000000000000000000000000003bcb5c97fe4b4738927ea85a37000000000000000000000000000000000000000000000000000000000000122600000000000000000000000002adc93ea59bc2ee381ac3e97f2bedfd127019ccffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        );
        _call(
            address(traders),
            hex"0b4721cc0000000000000000000000000000024ac6ebd65e96ee90848217254f1b55fa2a00000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000276ebbadf6d37ea788729c396a61a79"
        );
        _call(address(oracle), hex"87cb15f70000000000000000000000000000000000000000000000000000578dfc1ee2d3");
        _call(
            address(traders),
            hex"b8d1e89000000000000000000231f70c32aaedfa569d6cec1e4a773e42add4728e029e7e00000030d903438a96fb171ab3171591a116a7897e756ba142f0b7ab388fc1ff000000000000013afc59e26f30a880f58b860408ef07554ff9140faef68878a7"
        );
        _call(
            address(traders),
            hex"6a170acf000000000000000000000000000000000000000000006382a9e9c340021cd2980000000000000000000000000000000a70d0e03624a703a27520899fdc83b373000000000000000000000000000000000000000000000000000000007812be18"
        );
        _call(
            address(traders),
            hex"0b4721cc00000000000000000000000000000000000000000000000000000000000017db0000000000000000000000000000000000000000000000000000000000003ca10000000000000000000000000000000000000000000000000000000000003a4a24775e05ffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        );
        _call(
            address(traders),
            hex"24bb31780000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffb7535848be57a761640de535ca8f9cdc11815e99f182690cbc35696d96b02dbf00000000000000000000000000000000000000000000000000000000000022f9"
        );
        _call(address(time), hex"e5d6bf020000000000000000000000000000000000000000000000000000000000000355");
        _call(
            address(traders),
            hex"2d6ce61d00000000000000000000000000000000000000000000000000000000ea509b3e00000000000000000000000000000000000000000000000000000000000050d3"
        );
        _call(
            address(traders),
            hex"0b4721cc0000000000000000036b3d115bc102de33341a9528b9be35aa81d913e1d8a472fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0000000000000000000000000000000000000000000000000248d6b6baf90d0b00000000000000000000000000000000000000000000000000a69945e741e1a3"
        );
        _call(address(oracle), hex"9b5b80040000000000000000000000000000000000000000000000000000000000003ae3");
        _call(
            address(liquidator),
            hex"d296d1f1000006b875c059e7e60a79bbc985e041d3594d0bf495434c23148d50816f601103105514acc875407a781e5499e2337c33d9c443654fb7aa0cc691fcf60e1743"
        );
        _call(
            address(traders),
            hex"0b4721cc0000000000000000000000000000000000000000000000000000000000005d33000000000000000000000000000001fb0008a612744be088f6e1b00aa29491c80000099768671fcacec187ee9c2188b9c7bfdd83a7dc337ae514cea0dd0cede600000000000000000000000000db4c0d78a01f579197c13267c5fb0220b5c1d8"
        );
        _call(address(time), hex"e5d6bf020000000000000000000000000007021de262ff0539e741c26e49fa6f9bf6fb30");
        _call(address(oracle), hex"87cb15f700000000000000000000000000000000000000000000000000000000000009ba");
        _call(
            address(admin),
            hex"cb3a9be60000000000000000000000000000000142044b178e941e6a789d0a2875a1c311000000000000002d557fb10536430417d7397c5d7bc6e70cb570af25fe9ba7830000000000000000000090753bc9c4ce159b4aeb6f90158642132928388ae496"
        );
        _call(address(keeper), hex"6ea9f139000000000000000000000000000000000000000000000000000000000000065f");
        _call(
            address(traders),
            hex"2d6ce61d000000000007674125151a7c43df6c7c0316a70598eef098a6f025985d17085e0000000000000000000000000000000720c110e0db9b8c036c66d214a2ae74ba"
        );
        _call(
            address(traders),
            hex"693e291800000000000000000000006e19c92577414c032ec3406ab6fe01a923b91c75563acd467e42fc83c2c7dda557f99d01c09fa86814f744b1ee522fc1192c9e6416"
        );
        _call(address(time), hex"e5d6bf0200000000000000000000000000000000002fbd6da47fabfe9737267d208c91e8");
        _call(
            address(traders),
            hex"0b4721cc00000000000000000000000000000000000000000000000000000000fe9efb5000000000000000000000000000000000000000000000000000004780652b7fd900000000000000000000000000000000000000000000000000000000c63d75b7000000000000000000000000000000000000000000000000000000000000508f"
        );
        _call(
            address(traders),
            hex"24bb3178000000000000000000000000000000000000000000000000000000006a64137a000000000000000000000000000000000000000000000000000000000000267e0300000000000079acffdbd54a1e703f0000000000000079acffdbd54a1e703e"
        );
        _call(
            address(traders),
            hex"b8d1e8900000000000000000000000000000000000000000000000000000000005c5169d000000000000000000000000bad1b3971a58a93cab0e86245695327ee6a39d480000000000000000000000005703911fe65018e73cd797112d17478de132960a"
        );
        _call(
            address(admin),
            hex"cb3a9be6000000000000000000000000000000000000000000000000000000000000448f0000000000000000000000000000000000000000000000000000000000005d2800000000000000000000000000000000000000000000000000000000000001cc"
        );
        uint256 underwaterBefore = traders.revertsBySelector(IClearingHouse.PositionUnderwater.selector);
        // The price mover (openPosition against another trader) increases its own position.
        _call(
            address(traders),
            hex"693e2918000000000000588421c87b80e432fc03d74cd4a55bd78427c504dbd4d32af5bc0000000000000000000000000000000000000000000000000000000000000002"
        );
        assertEq(
            traders.revertsBySelector(IClearingHouse.PositionUnderwater.selector),
            underwaterBefore + 1,
            "the increase was refused with PositionUnderwater"
        );
        assertEq(traders.unexpectedReverts(), 0, "and the handlers predicted it");
        invariant_P11_noUnexpectedRevert();
        invariant_P8_eventsMatchState();
    }
}
