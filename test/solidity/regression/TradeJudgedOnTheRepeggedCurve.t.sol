// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAmmCurve} from "../../../contracts/interfaces/IAmmCurve.sol";
import {IAmm, Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {Deployer} from "../utils/Deployer.sol";

/// @notice Fixed findings of the dynamic-curve invariant campaign (ProtocolInvariantDynamicCurveTest),
/// one root: a trade judged on the curve as it stood, then swapped on a curve its own swap had just
/// repegged toward the index.
/// - P11, Panic(0x11): openPosition classified a trade against a position as a reversal by the exit
///   value on the pre-repeg curve; the close's swap repegged first, cost more than the notional, and
///   `notional - exitValue` underflowed. The mirror case (a reduce whose notional bought back more
///   than the position on the repegged curve) panicked in the realisation.
/// - P11 under `deep`, PriceFluctuationLimitExceeded: a liquidation sized its close within
///   maxCloseBase on the pre-repeg curve; the swap's repeg reset the block's reference price to the
///   repegged spot, and the close sized for the old room passed the limit.
/// Fixed at the root: a trade is valued, classified and sized on the curve its swap trades on. The
/// ClearingHouse's valuation before such a swap runs the market's repeg check first
/// (IAmm.repegAndGetReserves, IAmm.repegAndGetLiquidationInputs; IAmm.holdCurveForClose for a
/// liquidation's second close), and the swap that follows runs none of its own.
///
/// No fee, quote reserve 1,000,000, base reserve 10,000 (price 100), only the repeg on (0.5%).
contract TradeJudgedOnTheRepeggedCurveTest is Deployer {
    address internal constant TRADER = address(0x7EAD);
    address internal constant LIQUIDATOR = address(0x11D);
    address internal constant OTHER = address(0x0743);
    MockAggregator internal aggregator;

    function setUp() public {
        aggregator = deploySystemWithIndex(1_000_000e18, 10_000e18, 0, noLimits(), 100e8);
        amm.setCurveParams(IAmmCurve.CurveParams(0.005e18, 0, 0, 0, 0, 0, 0, 0, 1e18, 1e18));
        fund(TRADER, 10_000e6);
    }

    /// @dev The trader's short of 1,000 notional (margin 100 at 10x) on the launch curve: the pool's
    /// base reserve becomes ceil(10^10 / 999,000) (x 10^18 wei), the short |size| that less 10,000.
    function _openShort() private returns (int256 size, uint256 baseReserve) {
        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.SHORT, 100e18, 10e18, 0, type(uint256).max);
        size = clearingHouse.getPosition(address(amm), TRADER).size;
        baseReserve = Math.ceilDiv(1_000_000e18 * 10_000e18, 999_000e18);
        assertEq(size, -int256(baseReserve - 10_000e18), "short size: base reserve - 10,000");
    }

    /// @dev Records the index at `price8` (8 decimals) a minute later.
    function _moveIndex(int256 price8) private {
        vm.warp(block.timestamp + 60);
        aggregator.setRoundData(2, price8, block.timestamp, block.timestamp, 2);
        amm.pokeIndex();
    }

    /// @notice The index rises 2%: a long of 1.005 x the exit value previewed on the curve as it
    /// stands. The curve repegs first (a gain for the budget: the net short loses), to quote reserve
    /// floor(b x 102), where buying the short back costs ~2% more than the notional: so the trade is
    /// a reduce there, bought on that curve (x*y=k), not a reversal that underflows.
    function test_tradeAgainstAPositionIsClassifiedOnTheRepeggedCurve() public {
        (int256 size, uint256 b) = _openShort();
        _moveIndex(102e8);
        uint256 stalePreview = amm.previewSwapBase(size, uint256(-size));
        uint256 margin = (stalePreview * 1005) / 10_000;

        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, margin, 10e18, 0, type(uint256).max);

        uint256 notional = margin * 10;
        uint256 q1 = (b * 102e18) / 1e18; // the repegged quote reserve: b x index, rounded down
        // The short's exit value on the repegged curve: buy |size| back, k / (b - |size|) = q1 x b / 10,000.
        uint256 exitRepegged = Math.ceilDiv(q1 * b, 10_000e18) - q1;
        assertLt(notional, exitRepegged, "a reduce on the repegged curve");
        uint256 bought = b - Math.ceilDiv(q1 * b, q1 + notional);
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), TRADER);
        assertEq(p.size, size + int256(bought), "reduced by what the notional buys on the repegged curve");
        (uint256 quoteReserve, ) = amm.getReserves();
        assertEq(quoteReserve, q1 + notional, "the swap traded on the repegged reserves");
    }

    /// @notice The index falls 2%: a long of 0.995 x the stale preview. The curve repegs down first
    /// (a cost for the budget: the net short gains; funded with 1,000, floor 0, so the repeg is
    /// whole), where the short's buy-back costs ~2% less than before: the notional now exceeds it, so
    /// the trade is a reversal on that curve: the short closed at the repegged exit value and a long
    /// of the rest opened. (Before the fix: refused ReduceExceedsPosition.)
    function test_reduceByStalePreviewIsAReversalOnTheRepeggedCurve() public {
        address funder = address(0xF00D);
        fund(funder, 1_000e6);
        vm.prank(funder);
        clearingHouse.contributeToBudget(address(amm), 1_000e18);
        (int256 size, uint256 b) = _openShort();
        _moveIndex(98e8);
        uint256 stalePreview = amm.previewSwapBase(size, uint256(-size));
        uint256 margin = (stalePreview * 995) / 10_000;

        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, margin, 10e18, 0, type(uint256).max);

        uint256 notional = margin * 10;
        uint256 q1 = (b * 98e18) / 1e18;
        uint256 exitRepegged = Math.ceilDiv(q1 * b, 10_000e18) - q1;
        assertGt(notional, exitRepegged, "a reversal on the repegged curve");
        IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), TRADER);
        assertTrue(p.size > 0, "reversed into a long");
        assertEq(p.openNotional, notional - exitRepegged, "the rest opened: notional - repegged exit value");
    }

    /// @notice A liquidation sized on the curve its close trades on. Fluctuation limit 1% a block.
    /// A whale long is left liquidatable by a fall of the index to 93 (the curve repegs there); in a
    /// later block another trader's long first moves the spot 0.8% above the index (within the limit
    /// from the block's start, 93), so the liquidation's close finds the curve beyond the repeg
    /// threshold. The repeg (down, to the index) resets the block's reference to the repegged spot.
    /// Sized before it (room from the spot 93.74 down to 93 x 0.9901), the close moved the repegged
    /// price ~1.8% and reverted PriceFluctuationLimitExceeded. Sized after it, the close keeps within
    /// 1% of the repegged price.
    function test_liquidationIsSizedOnTheRepeggedCurve() public {
        fund(LIQUIDATOR, 1_000e6);
        fund(OTHER, 10_000e6);
        vm.prank(TRADER);
        clearingHouse.openPosition(address(amm), Side.LONG, 1_000e18, 10e18, 0, type(uint256).max);
        int256 size = clearingHouse.getPosition(address(amm), TRADER).size;

        // The index falls to 93; a small trade repegs the curve there, and the mark TWAP follows.
        _moveIndex(93e8);
        vm.prank(OTHER);
        clearingHouse.openPosition(address(amm), Side.SHORT, 10e18, 1e18, 0, type(uint256).max);
        vm.prank(OTHER);
        clearingHouse.closePosition(address(amm), 0, type(uint256).max);
        vm.warp(block.timestamp + 20 minutes);
        aggregator.setRoundData(3, 93e8, block.timestamp, block.timestamp, 3);
        amm.pokeIndex();
        amm.setLimits(IAmm.Limits(0, 0.01e18, 0));

        // A new block: another long moves the spot ~0.8% above the index, within the limit.
        vm.warp(block.timestamp + 30);
        (uint256 q, ) = amm.getReserves();
        vm.prank(OTHER);
        clearingHouse.openPosition(address(amm), Side.LONG, (q * 4) / 1000, 1e18, 0, type(uint256).max);
        uint256 blockStart = 93e18;
        uint256 spot = amm.getSpotPrice();
        assertGt(spot, (blockStart * 1007) / 1000, "spot beyond the 0.5% repeg threshold");
        assertGt(amm.maxCloseBase(true), 0, "room to close before the repeg");

        vm.prank(LIQUIDATOR);
        IClearingHouse.LiquidationResult memory r = clearingHouse.liquidate(address(amm), TRADER);
        assertGt(r.baseClosed, 0, "closed some");
        assertLt(r.baseClosed, uint256(size), "a partial close, capped by the block's limit");
        // The repegged reference is the index: the close kept within 1% of it.
        assertGe(amm.getSpotPrice(), (blockStart * 99) / 100, "within the limit of the repegged price");
    }
}
