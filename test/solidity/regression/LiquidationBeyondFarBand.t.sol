// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../../../contracts/interfaces/IAmm.sol";
import {IAmm, Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Regression (found by the invariant suite, 18-decimal low-price market; SPEC.md,
/// Observations): when earlier trades of a block left the price beyond the fluctuation band and the
/// admin then tightened the limit within the block, a liquidation whose close moved the price back
/// toward the block's first price, but not into the band, reverted PriceFluctuationLimitExceeded
/// until the next block. The Amm now refuses only a trade that leaves the price outside the band and
/// further from the block's start than it found it.
///
/// The scenario, all at one timestamp (one block for the Amm), on the invariant suite's second market
/// (18-decimal collateral, quote reserve 250,000, price ~0.0437, fee 0, IMR 10%, MMR 6.25%, trade
/// size limit 10% of the quote reserve, no fluctuation limit):
/// 1. the victim opens a 10x long of 2,500 quote (quote reserve 252,500);
/// 2. another trader opens a 10x long of 6,500 quote: quote reserve 259,000, so the spot price is
///    (259,000 / 250,000)^2 = 1.073296 times the block's first price (+7.3%);
/// 3. the owner raises the margin ratios to IMR 100%, MMR 99% (the victim, at ~13%, is now below
///    maintenance) and sets a 1% fluctuation limit: the price is 6.3 points beyond the band;
/// 4. a keeper liquidates the victim in the same block. Selling its base back takes the quote reserve
///    to ~256,370 at most, the price to ~1.0516 times the block's first: closer to it than before,
///    still outside the band. It must go through.
contract LiquidationBeyondFarBandTest is Deployer {
    address internal constant VICTIM = address(0xA11CE);
    address internal constant PUSHER = address(0xB0B);
    address internal constant CAROL = address(0xCA201);
    address internal constant KEEPER = address(0x11C1D470);
    uint256 internal constant NO_DEADLINE = type(uint256).max;

    function setUp() public {
        deploySystemWithDecimals(18, 250_000e18, 5_720_823_798627002288329519, 0, IAmm.Limits(0.1e18, 0, 0));
        fund(VICTIM, 10_000e18);
        fund(PUSHER, 10_000e18);
        fund(CAROL, 10_000e18);
    }

    function test_regression_liquidationBeyondFarBandGoesThrough() public {
        uint256 startPrice = amm.getSpotPrice();
        vm.prank(VICTIM);
        clearingHouse.openPosition(address(amm), Side.LONG, 250e18, 10e18, 0, NO_DEADLINE);
        vm.prank(PUSHER);
        clearingHouse.openPosition(address(amm), Side.LONG, 650e18, 10e18, 0, NO_DEADLINE);
        (uint256 q, ) = amm.getReserves();
        assertEq(q, 259_000e18, "quote reserve after both longs");
        uint256 pushedPrice = amm.getSpotPrice();
        assertGe(pushedPrice, (startPrice * 1_073) / 1_000, "the price is over 7.3% above the block's start");

        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(1e18, 0.99e18, 0));
        amm.setLimits(IAmm.Limits(0.1e18, 0.01e18, 0));
        assertTrue(
            clearingHouse.getLiquidationMarginRatio(address(amm), VICTIM) < 0.99e18,
            "the victim is below maintenance"
        );
        int256 sizeBefore = clearingHouse.getPosition(address(amm), VICTIM).size;

        vm.prank(KEEPER);
        clearingHouse.liquidate(address(amm), VICTIM);

        int256 sizeAfter = clearingHouse.getPosition(address(amm), VICTIM).size;
        assertTrue(sizeAfter < sizeBefore, "the liquidation closed base");
        uint256 endPrice = amm.getSpotPrice();
        assertLt(endPrice, pushedPrice, "the close moved the price back toward the block's start");
        assertGe(endPrice, (startPrice * 1_051) / 1_000, "... without reaching the 1% band");

        // The limit still holds against a trade that moves the price further away in the block (a
        // fresh 1x long of 100: the IMR is 100% now).
        vm.prank(CAROL);
        try clearingHouse.openPosition(address(amm), Side.LONG, 100e18, 1e18, 0, NO_DEADLINE) {
            revert AssertionFailedBool("a long moving the price further from the block's start went through");
        } catch (bytes memory err) {
            assertTrue(selectorOf(err) == IAmmErrors.PriceFluctuationLimitExceeded.selector, "refused by the limit");
        }
    }
}
