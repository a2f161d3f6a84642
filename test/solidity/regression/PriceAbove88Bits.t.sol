// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Regression: the mark history kept the block-start price in 88 bits with a reverting
/// cast, so a trade that pushed the spot above ~3.09e8 froze the market (no close, no trade) from
/// the next block on. The price is now saturated there and recording never reverts.
contract PriceAbove88BitsTest is Deployer {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    function setUp() public {
        // Price 3e8 quote per base: just under 2^88 / 1e18.
        deploySystem(300_000_000e18, 1e18, 0, noLimits());
        fund(ALICE, 1_000_000_000e6);
        fund(BOB, 1_000_000_000e6);
    }

    function test_marketStillTradesAfterThePriceCrosses88Bits() public {
        vm.prank(ALICE);
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000_000e18, 10e18, 0, type(uint256).max);
        assertGe(amm.getSpotPrice(), uint256(type(uint88).max) + 1, "spot above 88 bits");

        vm.warp(block.timestamp + 12);
        vm.roll(block.number + 1);
        vm.prank(BOB);
        clearingHouse.openPosition(address(amm), Side.SHORT, 1_000e18, 2e18, 0, type(uint256).max);
        vm.prank(ALICE);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        vm.prank(BOB);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        assertEq(uint256(clearingHouse.getPosition(address(amm), ALICE).size), 0, "alice closed");
        assertTrue(amm.getMarkTwap(12) > 0, "the TWAP still answers");
    }
}
