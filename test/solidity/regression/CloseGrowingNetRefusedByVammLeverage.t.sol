// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IAmmCurve} from "../../../contracts/interfaces/IAmmCurve.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed finding (found by the dynamic-curve invariant campaign,
/// ProtocolInvariantDynamicCurveTest, P11/P12: closes and liquidations reverted
/// VammLeverageExceeded). The vAMM leverage bound (Amm._chargeCurve -> _checkVammLeverage) judges
/// every swap that grows |net position|, and a close of the minority side grows it: closing a long
/// while the shorts dominate takes net from -(S - L) to -S. So a trader who only reduces risk is
/// refused for the market's lack of funds. Team rule: a close, reduce or liquidation never reverts
/// for lack of money; the bound must only refuse trades that grow the trader's own exposure.
/// Fixed: the Amm judges only a swap that grows the trader's own |size| by the bound.
///
/// Static numbers, no fee, no oracle (the bound prices at the spot): quote reserve 1,000,000, base
/// reserve 10,000 (price 100); only the bound on (5x), budget 1,000 (contributed), fund share 0, so
/// the most |net| x price a growing trade may leave is 5,000.
///  - ALICE opens a 10x long of 1,000: base 10,000 - 1e10 / 1,001,000 = 9.99 bought, net +9.99,
///    exposure 9.99 x 100 = 999 <= 5,000;
///  - BOB opens a 10x short of 5,900: quote 995,100, base 1e10 / 995,100 = 10,049.24, size 59.23,
///    net -49.24, exposure 49.24 x 100.2 (spot before) = 4,934 <= 5,000: accepted;
///  - ALICE closes her long: net -49.24 -> -59.23 at spot 99.02: 5,865 > 5,000. It reverted
///    VammLeverageExceeded; it goes through (her position is gone, her margin back less her loss).
contract CloseGrowingNetRefusedByVammLeverageTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant FUNDER = address(0xF00D);

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        amm.setCurveParams(IAmmCurve.CurveParams(0, 0, 0, 5e18, 0, 0, 0, 0, 1e18, 1e18));
        fund(FUNDER, 1_000e6);
        vm.prank(FUNDER);
        clearingHouse.contributeToBudget(address(amm), 1_000e18);
        fund(ALICE, 1_000e6);
        fund(BOB, 1_000e6);
    }

    function test_closeOfTheMinoritySideIsNotRefusedByTheVammLeverageBound() public {
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 100e18, 10e18, 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.SHORT, 590e18, 10e18, 0, type(uint256).max);
        assertEq(amm.getCurveState().budget, 1_000e18, "budget as contributed");
        int256 net = amm.getCurveState().netPosition;
        assertLt(net, -49e18, "shorts dominate");
        assertLt(-50e18, net, "within the bound after BOB's open");

        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), ALICE);
        assertEq(p.size, 0, "ALICE's long is closed");
        assertLt(amm.getCurveState().netPosition, -59e18, "net grew by her size: only shorts left");
    }
}
