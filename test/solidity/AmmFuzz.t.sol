// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../../contracts/interfaces/IAmm.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {Amm} from "../../contracts/Amm.sol";
import {IAmm, Side} from "../../contracts/interfaces/IAmm.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Artifacts} from "./utils/Artifacts.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Properties of the x*y=k pricing on its own. The Amm is deployed with this test contract
/// as its ClearingHouse, so the test calls the swaps directly and keeps the traders' sizes itself.
contract AmmFuzzTest is TestBase {
    Amm internal amm;

    uint256 internal constant N_TRADERS = 3;
    /// @dev Sizes of the virtual traders the test swaps for (+ long, - short).
    int256[N_TRADERS] internal sizes;
    uint256 internal base0;

    // ------------------------------------------------------------------ helpers

    /// @dev Quote reserve 1e3..1e9 quote units, price 0.01..100000 quote per base (log-uniform).
    function _deploy(uint256 quoteSeed, uint256 priceSeed) internal returns (uint256 q, uint256 b) {
        q = boundLog(quoteSeed, 1e21, 1e27);
        uint256 price = boundLog(priceSeed, 1e16, 1e23);
        b = Math.mulDiv(q, 1e18, price);
        _deployExact(q, b);
    }

    function _deployExact(uint256 q, uint256 b) internal returns (uint256, uint256) {
        amm = new Amm(address(this), q, b, IAmm.Limits(0, 0, 0), address(this), address(Artifacts.curveModule()));
        base0 = b;
        return (q, b);
    }

    function _reserves() internal view returns (uint256 q, uint256 b) {
        return amm.getReserves();
    }

    /// @dev Checks the exact bookkeeping that must hold after any swap: the pool's base moved exactly
    /// by what the traders hold, and the open interest is the sum of the traders' sides.
    function _checkBook() internal view {
        (, uint256 b) = _reserves();
        int256 sum;
        uint256 longs;
        uint256 shorts;
        for (uint256 i; i < N_TRADERS; ++i) {
            sum += sizes[i];
            if (sizes[i] > 0) longs += uint256(sizes[i]);
            else shorts += uint256(-sizes[i]);
        }
        assertEq(sum, int256(base0) - int256(b), "sum of sizes != base taken from the pool");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong, longs, "open interest long");
        assertEq(oiShort, shorts, "open interest short");
    }

    // ------------------------------------------------------------------ k, preview, exact deltas

    /// @notice Any sequence of swapQuote/swapBase: k = quote*base never decreases, and grows by less
    /// than the reserve that was not rounded (each swap rounds the computed reserve up by < 1 wei);
    /// the preview equals the swap; the reserves move exactly by the amounts the swap reports.
    function testFuzz_swapsNeverDecreaseK(uint256 quoteSeed, uint256 priceSeed, uint256[12] calldata ops) public {
        (uint256 q0, ) = _deploy(quoteSeed, priceSeed);
        for (uint256 k; k < ops.length; ++k) {
            uint256 x = ops[k];
            uint256 j = x % N_TRADERS;
            int256 size = sizes[j];
            (uint256 q, uint256 b) = _reserves();
            uint256 kBefore = q * b; // both < 2^128: no overflow
            uint256 qAfter;
            uint256 bAfter;
            if (size == 0 || (x >> 8) % 3 != 0) {
                // Trade by quote. LONG adds to the pool's quote, SHORT takes out (keep it below 50% of
                // the start reserve so the reserve stays well away from zero).
                Side side = (x >> 16) & 1 == 0 ? Side.LONG : Side.SHORT;
                uint256 amount = boundLog(x >> 24, 1, side == Side.LONG ? q0 / 5 : q / 5);
                if (side == Side.SHORT && amount >= q) continue;
                uint256 preview = amm.previewSwapQuote(side, amount);
                if (side == Side.LONG && preview == 0) {
                    // A quote amount too small to buy one wei of base must be refused.
                    vm.expectRevert(abi.encodeWithSelector(IAmmErrors.ZeroSwapAmount.selector));
                    amm.swapQuote(side, amount, size, 0);
                    continue;
                }
                (uint256 got, , , , ) = amm.swapQuote(side, amount, size, 0);
                assertEq(got, preview, "previewSwapQuote != swapQuote");
                (qAfter, bAfter) = _reserves();
                if (side == Side.LONG) {
                    assertEq(qAfter, q + amount, "long: quote reserve += amount");
                    assertEq(bAfter, b - got, "long: base reserve -= base out");
                    sizes[j] = size + int256(got);
                } else {
                    assertEq(qAfter, q - amount, "short: quote reserve -= amount");
                    assertEq(bAfter, b + got, "short: base reserve += base in");
                    sizes[j] = size - int256(got);
                }
                assertGe(qAfter * bAfter, kBefore, "quote swap: k decreased");
                assertLt(qAfter * bAfter - kBefore, qAfter, "quote swap: k grew by >= the quote reserve");
            } else {
                // Close part (or all) of the trader's position by base.
                uint256 abs = size > 0 ? uint256(size) : uint256(-size);
                uint256 amount = bound(x >> 24, 1, abs);
                uint256 preview = amm.previewSwapBase(size, amount);
                (uint256 got, , , ) = amm.swapBase(size, amount, 0);
                assertEq(got, preview, "previewSwapBase != swapBase");
                (qAfter, bAfter) = _reserves();
                if (size > 0) {
                    assertEq(bAfter, b + amount, "close long: base reserve += amount");
                    assertEq(qAfter, q - got, "close long: quote reserve -= quote out");
                    sizes[j] = size - int256(amount);
                } else {
                    assertEq(bAfter, b - amount, "close short: base reserve -= amount");
                    assertEq(qAfter, q + got, "close short: quote reserve += quote in");
                    sizes[j] = size + int256(amount);
                }
                assertGe(qAfter * bAfter, kBefore, "base swap: k decreased");
                assertLt(qAfter * bAfter - kBefore, bAfter, "base swap: k grew by >= the base reserve");
            }
            _checkBook();
        }
    }

    // ------------------------------------------------------------------ round trips

    /// @dev Moves the pool to a random state first (a trade by trader 2), so round trips do not
    /// always start from the constructor's reserves.
    function _preMove(uint256 preSeed) internal {
        if (preSeed & 1 == 0) return;
        (uint256 q, ) = _reserves();
        Side side = (preSeed >> 1) & 1 == 0 ? Side.LONG : Side.SHORT;
        uint256 amount = bound(preSeed >> 8, 1e18, q / 3);
        (uint256 got, , , , ) = amm.swapQuote(side, amount, 0, 0);
        sizes[2] = side == Side.LONG ? int256(got) : -int256(got);
    }

    /// @notice A long bought with `amount` quote, then closed (in one or two parts), gets back at
    /// most `amount`.
    function testFuzz_longRoundTripReturnsAtMostPaid(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 preSeed,
        uint256 amountSeed,
        uint256 splitSeed
    ) public {
        _deploy(quoteSeed, priceSeed);
        _preMove(preSeed);
        (uint256 q, ) = _reserves();
        uint256 amount = boundLog(amountSeed, 1e12, q / 2);
        if (amm.previewSwapQuote(Side.LONG, amount) == 0) amount = q / 2;
        (uint256 base, , , , ) = amm.swapQuote(Side.LONG, amount, 0, 0);
        sizes[0] = int256(base);
        uint256 part = bound(splitSeed, 1, base);
        (uint256 back, , , ) = amm.swapBase(int256(base), part, 0);
        if (part < base) {
            (uint256 rest, , , ) = amm.swapBase(int256(base - part), base - part, 0);
            back += rest;
        }
        sizes[0] = 0;
        assertLe(back, amount, "long round trip returned more quote than was paid");
        _checkBook();
    }

    /// @notice A short that received `amount` quote, then closed (in one or two parts), pays at
    /// least `amount` to buy the base back.
    function testFuzz_shortRoundTripCostsAtLeastReceived(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 preSeed,
        uint256 amountSeed,
        uint256 splitSeed
    ) public {
        _deploy(quoteSeed, priceSeed);
        _preMove(preSeed);
        (uint256 q, ) = _reserves();
        uint256 amount = boundLog(amountSeed, 1, q / 2);
        (uint256 base, , , , ) = amm.swapQuote(Side.SHORT, amount, 0, 0);
        sizes[0] = -int256(base);
        uint256 part = bound(splitSeed, 1, base);
        (uint256 cost, , , ) = amm.swapBase(-int256(base), part, 0);
        if (part < base) {
            (uint256 rest, , , ) = amm.swapBase(-int256(base - part), base - part, 0);
            cost += rest;
        }
        sizes[0] = 0;
        assertGe(cost, amount, "short round trip cost less than was received");
        _checkBook();
    }

    // ------------------------------------------------------------------ unit checks

    function test_onlyClearingHouseMaySwap() public {
        _deployExact(1e24, 1e20);
        address stranger = address(0xBEEF);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.OnlyClearingHouse.selector, stranger));
        amm.swapQuote(Side.LONG, 1e18, 0, 0);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ICommonErrors.OnlyClearingHouse.selector, stranger));
        amm.swapBase(1, 1, 0);
    }

    function test_closeCannotExceedPosition() public {
        _deployExact(1e24, 1e20);
        (uint256 base, , , , ) = amm.swapQuote(Side.LONG, 1e21, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.CloseExceedsPosition.selector, base + 1, base));
        amm.swapBase(int256(base), base + 1, 0);
    }

    function test_shortCannotTakeWholeQuoteReserve() public {
        (uint256 q, ) = _deployExact(1e24, 1e20);
        vm.expectRevert(abi.encodeWithSelector(IAmmErrors.InsufficientReserve.selector, q, q));
        amm.swapQuote(Side.SHORT, q, 0, 0);
    }
}
