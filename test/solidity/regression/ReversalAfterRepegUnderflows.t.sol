// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {IAmmCurve} from "../../../contracts/interfaces/IAmmCurve.sol";
import {Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IPriceFeed} from "../../../contracts/interfaces/IPriceFeed.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed finding (found by the dynamic-curve invariant campaign,
/// ProtocolInvariantDynamicCurveTest, P11: a reversal reverted with Panic(0x11)). openPosition
/// classifies a trade against a position as a reversal when its notional is at least the exit value
/// previewed on the current curve (previewSwapBase), then closes the position with swapBase, which
/// repegs toward the index first when the spot is beyond the repeg threshold. When the repeg raises
/// a short's buy-back cost (index above the spot) past the order's notional,
/// ClearingHouse._reverse computes `o.notional - exitValue` and underflows: an arithmetic panic
/// instead of a close (or a named error). Same for a long when the index is below the spot.
/// Fixed: such a reversal is a close (no rest to open). The mirror case, a reduce whose notional
/// buys back more than the position once the swap repegged (index below the spot for a short),
/// panicked in the realisation; it now reverts ReduceExceedsPosition, named.
///
/// No fee, quote reserve 1,000,000, base reserve 10,000 (price 100), only the repeg on (0.5%), the
/// index at 100 then 102 (+2%, beyond the threshold). The trader shorts 1,000 of notional; with the
/// index at 102 it sends a long of 1.005 x the previewed exit value (a reversal by the preview): the
/// swap repegs the quote reserve up ~2% first, so the close costs more than the notional.
contract ReversalAfterRepegUnderflowsTest is Deployer {
    address internal constant TRADER = address(0x7EAD);
    MockAggregator internal aggregator;

    function setUp() public {
        aggregator = deploySystemWithIndex(1_000_000e18, 10_000e18, 0, noLimits(), 100e8);
        amm.setCurveParams(IAmmCurve.CurveParams(0.005e18, 0, 0, 0, 0, 0, 0, 0, 1e18, 1e18));
        fund(TRADER, 10_000e6);
    }

    function test_reversalWhoseCloseIsRepeggedDoesNotPanic() public {
        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.SHORT, 100e18, 10e18, 0, type(uint256).max);
        int256 size = clearingHouse.getPosition(address(amm), TRADER).size;
        assertLt(size, 0, "short opened");

        vm.warp(block.timestamp + 60);
        aggregator.setRoundData(2, 102e8, block.timestamp, block.timestamp, 2);
        amm.pokeIndex();
        uint256 exit = amm.previewSwapBase(size, uint256(-size));
        // A reversal by the preview: 0.5% more than the exit value on the curve as it stands.
        uint256 margin = (exit * 1005) / 10_000;
        assertGt(margin * 10, exit, "notional above the previewed exit");

        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, margin, 10e18, 0, type(uint256).max);
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), TRADER);
        assertTrue(p.size != size, "the trade went through");
        assertEq(p.size, int256(0), "the repegged close took the whole notional: a close, no rest");
    }

    /// @notice The index falls 2% below the spot: a reduce of the short by 99.5% of its previewed
    /// exit value buys, after the swap's repeg lowers the quote reserve ~2%, more base than the
    /// short holds: refused by name, and the position is as it was (the budget pays the repeg:
    /// the net short gains from it).
    function test_reduceWhoseSwapIsRepeggedBeyondThePositionIsRefusedByName() public {
        // The net short gains from a lower peg: the repeg costs the budget, so fund it (floor 0).
        address funder = address(0xF00D);
        fund(funder, 1_000e6);
        vm.prank(funder);
        clearingHouse.contributeToBudget(address(amm), 1_000e18);
        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.SHORT, 100e18, 10e18, 0, type(uint256).max);
        int256 size = clearingHouse.getPosition(address(amm), TRADER).size;

        vm.warp(block.timestamp + 60);
        aggregator.setRoundData(2, 98e8, block.timestamp, block.timestamp, 2);
        amm.pokeIndex();
        uint256 exit = amm.previewSwapBase(size, uint256(-size));
        uint256 margin = (exit * 995) / 10_000;
        assertLt(margin * 10, exit, "a reduce by the preview");

        vm.prank(TRADER);
        try clearingHouse.openPosition(address(amm), Side.LONG, margin, 10e18, 0, type(uint256).max) {
            revert AssertionFailedBool("a reduce beyond the position went through");
        } catch (bytes memory err) {
            assertTrue(bytes4(err) == IClearingHouse.ReduceExceedsPosition.selector, "ReduceExceedsPosition");
            (uint256 bought, uint256 held) = abi.decode(_args(err), (uint256, uint256));
            assertEq(held, uint256(-size), "the position's size");
            assertGt(bought, held, "bought more than it holds");
        }
        assertEq(clearingHouse.getPosition(address(amm), TRADER).size, size, "position unchanged");
        // closePosition is never refused for it.
        vm.prank(TRADER);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        assertEq(clearingHouse.getPosition(address(amm), TRADER).size, int256(0), "closed");
    }

    /// @dev A revert's arguments: its data without the selector.
    function _args(bytes memory err) private pure returns (bytes memory args) {
        args = new bytes(err.length - 4);
        for (uint256 i; i < args.length; ++i) args[i] = err[i + 4];
    }
}
