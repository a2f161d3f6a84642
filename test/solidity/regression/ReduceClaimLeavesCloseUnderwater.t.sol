// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Finding (invariant/SPEC.md, "a reduce's claim can leave its own position underwater"),
/// pinned with its numbers: this test states today's behaviour and must be changed with the fix.
/// One trader alone, no fee, quote reserve 1,000,000 and base reserve 10,000 (price 100):
///  - opens a 10x long of notional 1,000,000 (margin 100,000): reserves 2,000,000 / 5,000, size 5,000;
///  - reduces it by 500,000 of quote: the pool's base goes to ceil(2e6 x 5e3 / 1.5e6) = 6,666.67 (in
///    wei 6666666666666666666667), so 1,666.67 base are sold, closing ceil(1e6 x 1666.67 / 5000) =
///    333,333.3333...334 of basis: PnL +166,666.6666...666; the pool holds only the trader's margin
///    (profitAvailable 0), so the whole gain is queued as its claim out of the rest's margin, which
///    stays 100,000; the rest (3,333.33 base, open notional 666,666.67) meets the MMR at the spot price
///    (ratio 24.4%);
///  - its close realises 499,999.99...950 - 666,666.66...600 = -166,666.66...650 at the exit value:
///    margin 100,000 cannot cover it, so the close reverts PositionUnderwater(-66,666.66...650),
///    although margin + claim - loss = 99,999.99...950 >= 0. The trader has to add margin first; then
///    payClaims gives the claim back, and the round trip costs it only the curve's 50 wei.
contract ReduceClaimLeavesCloseUnderwaterTest is Deployer {
    address internal constant TRADER = address(0xB0B);

    function setUp() public {
        deploySystem(1_000_000e18, 10_000e18, 0, noLimits());
        fund(TRADER, 300_000e6);
    }

    function test_finding_reduceClaimLeavesOwnCloseUnderwater() public {
        vm.startPrank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, 100_000e18, 10e18, 0, type(uint256).max);
        clearingHouse.openPosition(address(amm), Side.SHORT, 50_000e18, 10e18, 0, type(uint256).max);
        vm.stopPrank();

        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), TRADER);
        assertEq(p.size, int256(3333333333333333333333), "rest size");
        assertEq(p.openNotional, 666666666666666666666600, "rest open notional");
        assertEq(p.margin, 100_000e18, "the gain did not reach the margin");
        assertEq(vault.claimOf(address(amm), TRADER), 166666666666666666666600, "claim = the reduce's gain");
        assertEq(clearingHouse.getMarginRatio(address(amm), TRADER), 244444444444444444, "ratio at the spot price");

        // The close realises -166,666.66...650 at the exit value: the margin alone cannot cover it.
        vm.prank(TRADER);
        vm.expectRevert(
            abi.encodeWithSelector(IClearingHouse.PositionUnderwater.selector, -int256(66666666666666666666650))
        );
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);

        // Topping the margin up lets it close; payClaims then returns the claim in full.
        vm.startPrank(TRADER);
        clearingHouse.addMargin(address(amm), 66666666666666666666650);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        vm.stopPrank();
        assertEq(vault.payClaims(address(amm), 1), 166666666666666666666600, "paid");
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.claims + m.lockedMargin, 0, "claims or margin left");
        assertEq(m.pool, 50, "the pool keeps the curve's 50 wei");
        assertEq(vault.freeCollateral(TRADER), 300_000e18 - 50, "round trip costs 50 wei");
    }
}
