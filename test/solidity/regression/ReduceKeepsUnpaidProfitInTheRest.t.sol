// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed finding (invariant/SPEC.md, "a reduce's claim can leave its own position
/// underwater"). A partial reduce no longer queues the profit its pool cannot pay out of the rest's
/// margin: the closed part's basis takes it, so the rest keeps it unrealised and its own close goes
/// through. One trader alone, no fee, quote reserve 1,000,000 and base reserve 10,000 (price 100):
///  - opens a 10x long of notional 1,000,000 (margin 100,000): reserves 2,000,000 / 5,000, size 5,000;
///  - reduces it by 500,000 of quote: the pool's base goes to ceil(2e6 x 5e3 / 1.5e6) = 6,666.67 (in
///    wei 6666666666666666666667), so 1666666666666666666667 base are sold, closing
///    1e24 x 1666666666666666666667 / 5e21 = 333333333333333333333400 of basis: PnL
///    166666666666666666666600. The pool holds only the margin (profitAvailable 0), so all of it is
///    carried: the rest's basis 666666666666666666666600 gives it up (500,000 exactly), its margin
///    stays 100,000, the event's PnL is 0 and nothing is queued;
///  - the close sells the 3333333333333333333333 base left for 499999999999999999999950 (the curve
///    keeps 50 wei): PnL -50 against the basis 500,000, payout 100,000 - 50 wei.
contract ReduceKeepsUnpaidProfitInTheRestTest is Deployer {
    address internal constant TRADER = address(0xB0B);

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(TRADER, 300_000e6);
    }

    function test_fixed_reduceKeepsUnpaidProfitInTheRest() public {
        vm.startPrank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, 100_000e18, 10e18, 0, type(uint256).max);
        clearingHouse.openPosition(address(amm), Side.SHORT, 50_000e18, 10e18, 0, type(uint256).max);
        vm.stopPrank();

        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), TRADER);
        assertEq(p.size, int256(3333333333333333333333), "rest size");
        assertEq(p.openNotional, 500_000e18, "the rest's basis gave up the unpaid profit");
        assertEq(p.margin, 100_000e18, "margin unchanged");
        assertEq(vault.claimOf(address(amm), TRADER), 0, "nothing queued");
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.pool, 100_000e18, "pool = the margin");
        assertEq(m.lockedMargin, 100_000e18, "locked = the margin");

        // The close goes through without a top-up: the rest was worth what it was.
        vm.prank(TRADER);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        m = vault.marketBalances(address(amm));
        assertEq(m.claims + m.lockedMargin, 0, "claims or margin left");
        assertEq(m.pool, 50, "the pool keeps the curve's 50 wei");
        assertEq(vault.freeCollateral(TRADER), 300_000e18 - 50, "round trip costs 50 wei");
    }
}
