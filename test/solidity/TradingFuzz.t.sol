// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAmm, Side} from "../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {TradingHarness} from "./utils/TradingHarness.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Fuzzed properties of trading through the ClearingHouse: path independence, zero-sum PnL,
/// exact conservation of base and value, no value from rounding, and reduce accounting.
///
/// Ranges: quote reserve 1e3..1e9 quote units, price 0.01..100000 (log-uniform), margins 1 USDC ..
/// 1e6 USDC, leverage 1x..10x (IMR 10%), one trade at most 3-5% of the initial quote reserve so a
/// run of trades cannot drain the pool. Every amount is 18-decimal; the collateral has 6 decimals
/// unless stated.
contract TradingFuzzTest is TradingHarness {
    // ================================================================== 1 & 2: open all, close permuted

    /// @dev What an open-everyone-then-close-in-some-order run leaves behind.
    struct RunResult {
        uint256 swaps; // swaps made
        // Sum over every swap of the reserve that was NOT rounded after it (the new quote reserve after
        // a swap by quote, the new base reserve after a swap by base). Each swap computes the other
        // reserve as ceil(k / this one), so k grows by less than this reserve: k_end - k0 < roundingSum.
        uint256 roundingSum;
    }

    /// @dev 3..6 traders open a random side/margin/leverage (fees 0), then close in the order of a
    /// fuzzed permutation. A trader whose margin cannot cover the loss at close tops it up first, and
    /// if the shared margin pool could not pay the closing trader (another trader's bad debt, see
    /// ensurePoolCanPay) everyone is topped up first. Top-ups move no reserve and no PnL.
    function _openAllThenClose(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 nSeed,
        uint256[6] calldata trades,
        uint256 permSeed
    ) internal returns (RunResult memory r) {
        setUpMarket(quoteSeed, priceSeed, 0);
        uint256 n = bound(nSeed, 3, 6);
        addTraders(n);
        uint256 cap = q0 / 20; // 5% of the quote reserve per trade
        for (uint256 i; i < n; ++i) {
            uint256 x = trades[i];
            Side side = x & 1 == 0 ? Side.LONG : Side.SHORT;
            uint256 lev = bound(uint64(x >> 8), 1e18, 10e18);
            uint256 margin = bound(x >> 72, 1e18, Math.min(1e24, Math.mulDiv(cap, WAD, lev)));
            uint256 notional = Math.mulDiv(margin, lev, WAD);
            // Enough free collateral for the margin plus twice the notional (to rescue at close).
            uint256 units = (margin + 2 * notional) / tokenScale() + 1;
            fundTracked(traders[i], units);

            open(traders[i], side, margin, lev);
            (uint256 q, ) = reserves();
            r.roundingSum += q;
            r.swaps++;
            drainEvents();
            checkInvariants();
        }

        uint256[] memory order = _permutation(n, permSeed);
        for (uint256 k; k < n; ++k) {
            address t = traders[order[k]];
            ensurePoolCanPay(t);
            rescueIfUnderwater(t);
            int256 upnl = clearingHouse.getUnrealizedPnl(address(amm), t);
            close(t);
            (, uint256 b) = reserves();
            r.roundingSum += b;
            r.swaps++;
            Vm.Log[] memory logs = drainEvents();
            (, , int256 pnl, uint256 fee, ) = lastPositionChanged(logs);
            assertEq(pnl, upnl, "close realised a PnL other than getUnrealizedPnl");
            assertEq(fee, 0, "fee with feeRatio 0");
            checkInvariants();
        }
    }

    /// @dev Fisher-Yates over 0..n-1 driven by `seed`.
    function _permutation(uint256 n, uint256 seed) internal pure returns (uint256[] memory order) {
        order = new uint256[](n);
        for (uint256 i; i < n; ++i) order[i] = i;
        for (uint256 i = n - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// @notice Property 1 (path independence). After everyone has closed, in any order:
    ///  - the base reserve is back at b0 EXACTLY: every swap moves the base reserve by exactly the
    ///    base the trader receives/gives, so (sum of sizes) + base reserve is invariant, and all sizes
    ///    are 0 again;
    ///  - the quote reserve is back at q0 up to rounding dust, never below: k never decreases, so
    ///    q_end * b0 >= q0 * b0; and each swap rounds the reserve it computes up by < 1 wei, so k grows
    ///    by less than the other reserve per swap: (q_end - q0) * b0 = k_end - k0 < roundingSum.
    ///    Per swap that is < max(quote reserve, base reserve) / b0 wei of quote: about price + 2 wei
    ///    (~1.3e5 wei at price 1e5, 2 wei at price <= 1): "a few wei" once measured in base units.
    function testFuzz_pathIndependence(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 nSeed,
        uint256[6] calldata trades,
        uint256 permSeed
    ) public {
        RunResult memory r = _openAllThenClose(quoteSeed, priceSeed, nSeed, trades, permSeed);
        (uint256 q, uint256 b) = reserves();
        assertEq(b, b0, "base reserve not back to its initial value");
        assertGe(q, q0, "quote reserve below its initial value (k decreased)");
        assertLt((q - q0) * b0, r.roundingSum, "quote reserve drifted by more than the rounding bound");
        // The same bound in plain wei: each swap adds < max(quote reserve, base reserve) / b0, and here
        // the quote reserve stays <= 1.3 q0 and the base reserve < 1.5 b0 (at most 6 trades of 5%), so
        // q_end - q0 < swaps x (1.3 q0 / b0 + 2) wei: about (price + 2) wei per swap.
        assertLe(q - q0, r.swaps * ((q0 * 13) / 10 / b0 + 2), "quote reserve drift above swaps x (price + 2) wei");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong + oiShort, 0, "open interest left after everyone closed");
    }

    /// @notice Property 2 (zero-sum PnL, fees 0). After everyone has closed:
    ///  - the traders' total realised PnL (free collateral now - deposited) is <= 0, and equals
    ///    -(q_end - q0) exactly (what the pool kept is what the traders lost), so it is at most dust;
    ///  - it equals the sum of realizedPnl in the PositionChanged events;
    ///  - the margin pool holds exactly that dust (>= 0), the insurance fund nothing;
    ///  - the sum of free collateral never exceeds what was deposited.
    function testFuzz_zeroSumPnl(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 nSeed,
        uint256[6] calldata trades,
        uint256 permSeed
    ) public {
        RunResult memory r = _openAllThenClose(quoteSeed, priceSeed, nSeed, trades, permSeed);
        uint256 sumFree;
        for (uint256 i; i < traders.length; ++i) sumFree += vault.freeCollateral(traders[i]);
        uint256 deposited = depositedUnits * tokenScale();
        int256 totalPnl = int256(sumFree) - int256(deposited);
        (uint256 q, ) = reserves();

        assertLe(totalPnl, 0, "traders made money against the pool in total");
        assertLe(sumFree, deposited, "free collateral exceeds deposits");
        assertEq(totalPnl, -(int256(q) - int256(q0)), "total PnL != -(quote the pool kept)");
        assertEq(totalPnl, sumRealizedPnl, "total PnL != sum of realised PnL in events");
        assertLt(uint256(-totalPnl) * b0, r.roundingSum, "loss to rounding above the dust bound");

        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        assertEq(pool, uint256(-totalPnl), "margin pool != rounding dust");
        assertEq(insurance, 0, "insurance fund with fees 0");
    }

    // ================================================================== 3 & 5: random trading

    /// @dev Errors a well-formed random action may legitimately hit; any other revert fails the test.
    function _expectedFailure(bytes memory err) internal pure returns (bool) {
        bytes4 sel = selectorOf(err);
        return sel == IClearingHouse.MarginRatioTooLow.selector || sel == IClearingHouse.PositionUnderwater.selector;
    }

    /// @dev Outcome of one random action.
    struct Action {
        address trader;
        bool skipped; // nothing was attempted
        bool ok; // the call succeeded
        bool tradeMade; // a PositionChanged is expected
        bytes err;
        uint256 freeBefore;
        // The Amm refuses a LONG whose quote cannot buy one wei of base (ZeroSwapAmount); true when the
        // test computed that this action's long leg is that small.
        bool dustLong;
        // What was asked, to check the trade's result against the spec.
        Op op;
        IClearingHouse.Position before;
        uint256 margin;
        uint256 leverage;
        uint256 notional; // margin x leverage, rounded down
        uint256 exit; // exit value of `before` just before the trade
    }

    enum Op {
        None,
        Increase,
        Reduce,
        Reverse,
        Close
    }

    /// @dev One random action of one trader: open/increase, reduce (opposite side below the exit
    /// value), reverse (opposite side at or above the exit value, sometimes exactly at it), close,
    /// add/remove margin, withdraw. Then every exact invariant is checked.
    function _step(uint256 x) internal {
        Action memory a = _act(x);
        if (a.skipped) return;
        if (a.ok) {
            Vm.Log[] memory logs = drainEvents();
            if (a.tradeMade) {
                (, , , , int256 freeDelta) = lastPositionChanged(logs);
                assertEq(
                    int256(vault.freeCollateral(a.trader)) - int256(a.freeBefore),
                    freeDelta,
                    "free collateral moved other than the event's freeCollateralDelta"
                );
                _checkTrade(a, logs);
            }
        } else {
            vm.getRecordedLogs(); // discard
            bool dust = a.dustLong && selectorOf(a.err) == IAmm.ZeroSwapAmount.selector;
            if (!dust && !_expectedFailure(a.err)) bubble(a.err);
        }
        checkInvariants();
    }

    function _act(uint256 x) internal returns (Action memory a) {
        a.trader = traders[x % traders.length];
        x >>= 8;
        uint256 kind = x % 8;
        x >>= 8;
        uint256 lev = bound(uint64(x), 1e18, 10e18);
        x >>= 64;
        // Reduces, reversals and closes pay out of the shared margin pool: keep it able to.
        if (kind >= 3 && kind <= 5) ensurePoolCanPay(a.trader);
        a.before = position(a.trader);
        int256 size = a.before.size;
        a.freeBefore = vault.freeCollateral(a.trader);
        a.ok = true;
        a.tradeMade = true;
        a.leverage = lev;

        if (kind <= 2 || (size == 0 && kind <= 5)) {
            // Open or increase; one trade at most 3% of the initial quote reserve.
            Side side = size != 0 ? sideOf(size) : (x & 1 == 0 ? Side.LONG : Side.SHORT);
            uint256 margin = bound(x >> 1, 1e18, Math.min(1e24, Math.mulDiv((q0 * 3) / 100, WAD, lev)));
            _record(a, Op.Increase, margin);
            (a.ok, a.err) = tryOpen(a.trader, side, margin, lev);
        } else if (kind == 3) {
            // Reduce: notional a random fraction (0.01%..99.99%) of the exit value.
            uint256 target = Math.mulDiv(exitValue(size), bound(x % 1e4, 1, 9999), 1e4);
            uint256 margin = Math.mulDiv(target, WAD, lev);
            if (margin == 0) {
                a.skipped = true;
                return a;
            }
            a.dustLong = size < 0 && amm.previewSwapQuote(Side.LONG, Math.mulDiv(margin, lev, WAD)) == 0;
            _record(a, Op.Reduce, margin);
            (a.ok, a.err) = tryOpen(a.trader, opposite(size), margin, lev);
        } else if (kind == 4) {
            // Reverse: notional = exit value + extra (extra = 0 a quarter of the time: an exact close).
            // At 1x the notional is exactly exit value + extra; at other leverage margin is rounded up, so
            // the notional may pass it by up to `leverage` wei.
            uint256 extra = x & 3 == 0 ? 0 : bound(x >> 2, 0, (q0 * 3) / 100);
            if ((x >> 2) & 1 == 0) lev = 1e18;
            a.leverage = lev;
            uint256 exit = exitValue(size);
            uint256 margin = Math.mulDiv(exit + extra, WAD, lev, Math.Rounding.Ceil);
            if (margin == 0) {
                // A dust position worth 0 at exit, and extra 0: nothing to trade.
                a.skipped = true;
                return a;
            }
            uint256 rest = Math.mulDiv(margin, lev, WAD) - exit;
            a.dustLong = size < 0 && rest > 0 && _baseForLongAfterClose(size, rest) == 0;
            _record(a, Op.Reverse, margin);
            (a.ok, a.err) = tryOpen(a.trader, opposite(size), margin, lev);
        } else if (kind == 5) {
            ensurePoolCanPay(a.trader);
            rescueIfUnderwater(a.trader);
            a.freeBefore = vault.freeCollateral(a.trader);
            a.before = position(a.trader);
            _record(a, Op.Close, 0);
            close(a.trader);
        } else if (kind == 6) {
            a.tradeMade = false;
            if (size == 0) {
                a.skipped = true;
                return a;
            }
            if (x & 1 == 0) {
                addMargin(a.trader, bound(x >> 1, 1, 1e24));
            } else {
                uint256 amount = bound(x >> 1, 1, position(a.trader).margin);
                vm.prank(a.trader);
                try clearingHouse.removeMargin(address(amm), amount) {} catch (bytes memory e) {
                    a.ok = false;
                    a.err = e;
                }
            }
        } else {
            a.tradeMade = false;
            uint256 bal = vault.balanceOf(a.trader);
            if (bal == 0) {
                a.skipped = true;
                return a;
            }
            vm.prank(a.trader);
            vault.withdraw(bound(x, 1, bal / 10 + 1));
        }
    }

    function _record(Action memory a, Op op, uint256 margin) internal view {
        a.op = op;
        a.margin = margin;
        a.notional = Math.mulDiv(margin, a.leverage, WAD);
        if (a.before.size != 0) a.exit = exitValue(a.before.size);
    }

    function _feeOf(uint256 quote) internal view returns (uint256) {
        return Math.mulDiv(quote, feeRatio, WAD, Math.Rounding.Ceil);
    }

    /// @dev The spec's result of each kind of trade, from the state and arguments before it:
    ///  - increase: margin += margin, openNotional += notional, fee = ceil(notional x feeRatio) (every
    ///    fee below is rounded up), free collateral -= margin + fee, no PnL;
    ///  - reduce: same side, smaller size, free collateral untouched, margin += PnL - fee (the exact
    ///    basis is checked by testFuzz_reduceAccounting);
    ///  - close (closePosition or a reverse of notional == exit value): PnL = exit value vs open
    ///    notional, fee on the exit value, payout = margin + PnL - fee;
    ///  - reverse: that close, then a position of notional rest = notional - exit value on the other
    ///    side with margin ceil(rest / leverage) and fee on rest, both taken from free collateral.
    function _checkTrade(Action memory a, Vm.Log[] memory logs) internal view {
        (, uint256 quoteAmount, int256 pnl, uint256 fee, int256 freeDelta) = lastPositionChanged(logs);
        IClearingHouse.Position memory np = position(a.trader);
        IClearingHouse.Position memory p = a.before;
        if (a.op == Op.Increase) {
            assertEq(quoteAmount, a.notional, "increase: quoteAmount");
            assertEq(pnl, 0, "increase: PnL");
            assertEq(fee, _feeOf(a.notional), "increase: fee");
            assertEq(freeDelta, -int256(a.margin + fee), "increase: free collateral delta");
            assertEq(np.margin, p.margin + a.margin, "increase: margin");
            assertEq(np.openNotional, p.openNotional + a.notional, "increase: openNotional");
            assertTrue(p.size == 0 || (np.size > 0) == (p.size > 0), "increase: side changed");
            assertGe(_abs(np.size), _abs(p.size) + 1, "increase: size did not grow");
            return;
        }
        if (a.op == Op.Reduce) {
            assertEq(quoteAmount, a.notional, "reduce: quoteAmount");
            assertEq(fee, _feeOf(a.notional), "reduce: fee");
            if (np.size != 0) {
                assertTrue((np.size > 0) == (p.size > 0), "reduce: side changed");
                assertLt(_abs(np.size), _abs(p.size), "reduce: size did not shrink");
                assertEq(freeDelta, 0, "reduce: free collateral moved");
                assertEq(int256(np.margin), int256(p.margin) + pnl - int256(fee), "reduce: margin");
                assertLe(np.openNotional, p.openNotional, "reduce: openNotional grew");
            } else {
                assertEq(freeDelta, int256(p.margin) + pnl - int256(fee), "reduce to zero: payout");
            }
            return;
        }
        // Close, or reverse: the old position is closed at its exit value first.
        int256 closePnl =
            p.size > 0 ? int256(a.exit) - int256(p.openNotional) : int256(p.openNotional) - int256(a.exit);
        int256 payout = int256(p.margin) + closePnl - int256(_feeOf(a.exit));
        assertEq(pnl, closePnl, "close: realised PnL != exit value vs open notional");
        if (a.op == Op.Close || a.notional == a.exit) {
            if (a.op == Op.Close) assertEq(quoteAmount, a.exit, "close: quoteAmount != exit value");
            assertEq(fee, _feeOf(a.exit), "close: fee");
            assertEq(freeDelta, payout, "close: payout");
            assertEq(np.size, 0, "close: size");
            return;
        }
        uint256 rest = a.notional - a.exit;
        assertEq(quoteAmount, a.notional, "reverse: quoteAmount");
        assertTrue(np.size != 0 && (np.size > 0) != (p.size > 0), "reverse: side not flipped");
        assertEq(np.openNotional, rest, "reverse: openNotional != notional - exit value");
        assertEq(
            np.margin,
            Math.mulDiv(rest, WAD, a.leverage, Math.Rounding.Ceil),
            "reverse: margin != ceil(rest / leverage)"
        );
        assertEq(fee, _feeOf(a.exit) + _feeOf(rest), "reverse: fee");
        assertEq(freeDelta, payout - int256(np.margin + _feeOf(rest)), "reverse: free collateral delta");
    }

    /// @dev Base a LONG of `quote` would buy once the short `size` is closed (the reversal's second
    /// leg), from the Amm's formulas: close -> base' = b - |size|, quote' = ceil(k / base'); then the
    /// long gets base' - ceil(quote' x base' / (quote' + quote)).
    function _baseForLongAfterClose(int256 size, uint256 quote) internal view returns (uint256) {
        (uint256 q, uint256 b) = reserves();
        uint256 nb = b - _abs(size);
        uint256 nq = Math.mulDiv(q, b, nb, Math.Rounding.Ceil);
        return nb - Math.mulDiv(nq, nb, nq + quote, Math.Rounding.Ceil);
    }

    function _randomTrading(uint256 nSeed, uint256[16] calldata steps) internal {
        addTraders(bound(nSeed, 2, 5));
        uint256 units = 1e9 * 10 ** uint256(usdc.decimals()); // 1e9 USDC each: never short of collateral
        for (uint256 i; i < traders.length; ++i) fund(traders[i], units);
        drainEvents();
        checkInvariants();
        for (uint256 k; k < steps.length; ++k) _step(steps[k]);
        // Finally everyone closes: base is fully back, and the ledger still balances.
        for (uint256 i; i < traders.length; ++i) {
            if (position(traders[i]).size == 0) continue;
            ensurePoolCanPay(traders[i]);
            rescueIfUnderwater(traders[i]);
            close(traders[i]);
            drainEvents();
            checkInvariants();
        }
        (, uint256 b) = reserves();
        assertEq(b, b0, "base reserve not back after everyone closed");
        (uint256 q, ) = reserves();
        assertGe(q, q0, "quote reserve below q0 after everyone closed");
    }

    /// @notice Property 3 (base conservation), fees 0..5%: after every action of a random sequence
    /// (opens, increases, reduces, reversals, closes, margin moves, withdrawals), the sum of all sizes
    /// equals b0 - base reserve EXACTLY and getOpenInterest() equals the sums of long sizes and of
    /// |short sizes| EXACTLY (plus the value invariants of property 5, which cost nothing more).
    function testFuzz_baseConservation(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        uint256 nSeed,
        uint256[16] calldata steps
    ) public {
        uint64 fee = feeSeed & 3 == 0 ? 0 : uint64(bound(feeSeed >> 2, 0, 0.05e18));
        setUpMarket(quoteSeed, priceSeed, fee);
        _randomTrading(nSeed, steps);
    }

    /// @notice Property 5 (accounting identity), fees > 0 (1 wei .. 5%, log-uniform): after every
    /// action of a random sequence,
    ///  - vault token balance x 1e12 == sum of free collateral + margin pool + insurance fund, exactly;
    ///  - insurance fund == sum of the fees emitted in PositionChanged, exactly;
    ///  - margin pool == sum of open positions' margins - sum of realised PnL emitted, exactly (each
    ///    realised PnL is paid by the pool into margin or payout), and so is >= 0 by construction;
    ///  - sum of realised PnL == long open notional - short open notional - (q - q0), exactly;
    ///  - each PositionChanged carries the stored position, and its freeCollateralDelta is the
    ///    change of the trader's free collateral.
    function testFuzz_accountingIdentity(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        uint256 nSeed,
        uint256[16] calldata steps
    ) public {
        uint64 fee = uint64(boundLog(feeSeed, 1, 0.05e18));
        setUpMarket(quoteSeed, priceSeed, fee);
        _randomTrading(nSeed, steps);
        (, uint256 insurance) = vault.getPoolBalances();
        assertGe(insurance, positionEvents == 0 ? 0 : 1, "fees > 0 but the insurance fund got nothing");
    }

    // ================================================================== 4: no value from rounding

    /// @dev One trader: deposit -> open (any side, leverage 1..10x) -> maybe a partial reduce ->
    /// close -> withdraw everything withdrawable. Returns deposited and final token balances.
    function _roundTrip(
        uint8 decimals,
        uint64 fee,
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 tradeSeed,
        uint256 reduceSeed
    ) internal {
        setUpMarketWithDecimals(decimals, quoteSeed, priceSeed, fee);
        addTraders(1);
        address t = traders[0];
        uint256 unit = 10 ** uint256(decimals);
        uint256 deposit = bound(depositSeed, 2 * unit, 1e6 * unit); // 2 .. 1e6 tokens, any dust
        fund(t, deposit);

        _roundTripOpen(t, tradeSeed);
        if (reduceSeed & 1 == 1) _roundTripReduce(t, reduceSeed);
        if (position(t).size != 0) close(t);
        drainEvents();
        checkInvariants();

        // Exact: with one trader, free collateral = deposit - fees - (quote the pool kept).
        (uint256 q, ) = reserves();
        uint256 free = vault.freeCollateral(t);
        assertEq(free, deposit * tokenScale() - sumFees - (q - q0), "free collateral != deposit - fees - pool dust");

        uint256 withdrawable = vault.balanceOf(t);
        assertEq(withdrawable, free / tokenScale(), "balanceOf != free collateral rounded down");
        if (withdrawable > 0) {
            vm.prank(t);
            vault.withdraw(withdrawable);
        }
        uint256 finalBalance = usdc.balanceOf(t);
        assertLe(finalBalance, deposit, "round trip returned more tokens than deposited");
        // Fee-free, the loss is only the pool's rounding dust (q - q0, < price + 1 wei per swap) and the
        // sub-unit remainder left in free collateral.
        if (fee == 0) {
            assertLt((deposit - finalBalance) * tokenScale(), (q - q0) + tokenScale(), "fee-free loss above dust");
        }
        assertEq(usdc.balanceOf(address(vault)) * tokenScale(), vault.freeCollateral(t) + _pools(), "custody");
    }

    /// @dev Opens any side at 1..10x with margin + fee <= free collateral and notional <= 50% of q0.
    function _roundTripOpen(address t, uint256 tradeSeed) internal {
        uint256 free = vault.freeCollateral(t);
        Side side = tradeSeed & 1 == 0 ? Side.LONG : Side.SHORT;
        uint256 lev = bound(uint64(tradeSeed >> 8), 1e18, 10e18);
        uint256 maxByFree = Math.mulDiv(free, WAD, WAD + Math.mulDiv(lev, feeRatio, WAD) + 1);
        uint256 maxByPool = Math.mulDiv(q0 / 2, WAD, lev);
        uint256 margin = bound(tradeSeed >> 72, 1e18, Math.min(maxByFree, maxByPool));
        open(t, side, margin, lev);
    }

    /// @dev Reduces by a random fraction of the exit value at a random leverage.
    function _roundTripReduce(address t, uint256 reduceSeed) internal {
        IClearingHouse.Position memory p = position(t);
        uint256 target = Math.mulDiv(exitValue(p.size), bound((reduceSeed >> 1) % 1e4, 1, 9999), 1e4);
        uint256 lev2 = bound(uint64(reduceSeed >> 16), 1e18, 10e18);
        uint256 m2 = Math.mulDiv(target, WAD, lev2);
        if (m2 > 0) open(t, opposite(p.size), m2, lev2);
    }

    function _pools() internal view returns (uint256) {
        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        return pool + insurance;
    }

    /// @notice Property 4, 6-decimal token, fees 0: nothing is gained from rounding, and at most one
    /// token unit is lost (the sub-unit dust left in free collateral).
    function testFuzz_roundTripNoValue_noFee(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 depositSeed,
        uint256 tradeSeed,
        uint256 reduceSeed
    ) public {
        _roundTrip(6, 0, quoteSeed, priceSeed, depositSeed, tradeSeed, reduceSeed);
    }

    /// @notice Property 4, 6-decimal token, fees 1 wei .. 5%.
    function testFuzz_roundTripNoValue_withFee(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        uint256 depositSeed,
        uint256 tradeSeed,
        uint256 reduceSeed
    ) public {
        uint64 fee = uint64(boundLog(feeSeed, 1, 0.05e18));
        _roundTrip(6, fee, quoteSeed, priceSeed, depositSeed, tradeSeed, reduceSeed);
    }

    /// @notice Property 4 with any supported token decimals (6..18) and fee 0..5%.
    function testFuzz_roundTripNoValue_anyDecimals(
        uint8 decimalsSeed,
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        uint256 depositSeed,
        uint256 tradeSeed,
        uint256 reduceSeed
    ) public {
        uint8 decimals = uint8(bound(decimalsSeed, 6, 18));
        uint64 fee = feeSeed & 1 == 0 ? 0 : uint64(bound(feeSeed >> 1, 0, 0.05e18));
        _roundTrip(decimals, fee, quoteSeed, priceSeed, depositSeed, tradeSeed, reduceSeed);
    }

    // ================================================================== 7: reduce accounting

    /// @notice Property 7. Open, maybe let another trader move the price (<= 1% of the reserve), then
    /// reduce by a random fraction (opposite side, notional below the exit value). With d the base
    /// closed and s the size: closed basis = ceil(openNotional x d / |s|) for a long, floor for a short;
    /// realised PnL = notional - basis (long) or basis - notional (short); fee = ceil(notional x fee);
    /// new openNotional = old - basis; new margin = old margin + PnL - fee; free collateral untouched;
    /// the fee moves from the margin pool to the insurance fund.
    function testFuzz_reduceAccounting(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        uint256 openSeed,
        uint256 moveSeed,
        uint256 reduceSeed
    ) public {
        uint64 fee = feeSeed & 3 == 0 ? 0 : uint64(bound(feeSeed >> 2, 1, 0.01e18));
        setUpMarket(quoteSeed, priceSeed, fee);
        addTraders(2);
        address a = traders[0];
        fund(a, 1e15);
        fund(traders[1], 1e15);

        {
            uint256 lev = bound(uint64(openSeed >> 8), 1e18, 10e18);
            uint256 margin = bound(openSeed >> 72, 1e18, Math.min(1e24, Math.mulDiv(q0 / 20, WAD, lev)));
            open(a, openSeed & 1 == 0 ? Side.LONG : Side.SHORT, margin, lev);
        }
        if (moveSeed & 1 == 1) {
            Side moveSide = (moveSeed >> 1) & 1 == 0 ? Side.LONG : Side.SHORT;
            open(traders[1], moveSide, bound(moveSeed >> 8, 1e18, q0 / 100), 1e18);
        }
        drainEvents();

        ReduceExpectation memory e = _expectReduce(a, reduceSeed);
        open(a, opposite(e.before.size), e.margin, e.leverage);
        _checkReduce(a, e);
        checkInvariants();
    }

    struct ReduceExpectation {
        IClearingHouse.Position before;
        uint256 margin; // openPosition arguments
        uint256 leverage;
        uint256 notional;
        uint256 baseClosed; // d
        uint256 basis;
        int256 pnl;
        int256 newSize;
        uint256 fee;
        int256 remaining; // margin + PnL - fee
        uint256 freeBefore;
        uint256 poolBefore;
        uint256 insuranceBefore;
    }

    function _expectReduce(address a, uint256 reduceSeed) internal view returns (ReduceExpectation memory e) {
        e.before = position(a);
        int256 size = e.before.size;
        uint256 exit = exitValue(size);
        e.leverage = bound(uint64(reduceSeed >> 16), 1e18, 10e18);
        e.margin = Math.mulDiv(Math.mulDiv(exit, bound(reduceSeed % 1e4, 1, 9999), 1e4), WAD, e.leverage);
        e.notional = Math.mulDiv(e.margin, e.leverage, WAD);
        assertLt(e.notional, exit, "test set-up: reduce notional must be below the exit value");
        e.baseClosed = amm.previewSwapQuote(opposite(size), e.notional);
        uint256 abs = _abs(size);
        assertLe(e.baseClosed, abs, "a reduce below the exit value took more base than the position");
        if (size > 0) {
            e.basis = Math.mulDiv(e.before.openNotional, e.baseClosed, abs, Math.Rounding.Ceil);
            e.pnl = int256(e.notional) - int256(e.basis);
            e.newSize = size - int256(e.baseClosed);
        } else {
            e.basis = Math.mulDiv(e.before.openNotional, e.baseClosed, abs);
            e.pnl = int256(e.basis) - int256(e.notional);
            e.newSize = size + int256(e.baseClosed);
        }
        e.fee = Math.mulDiv(e.notional, feeRatio, WAD, Math.Rounding.Ceil);
        e.remaining = int256(e.before.margin) + e.pnl - int256(e.fee);
        e.freeBefore = vault.freeCollateral(a);
        (e.poolBefore, e.insuranceBefore) = vault.getPoolBalances();
    }

    function _checkReduce(address a, ReduceExpectation memory e) internal {
        (int256 baseDelta, uint256 quoteAmount, int256 evPnl, uint256 evFee, int256 evFree) = lastPositionChanged(
            drainEvents()
        );
        assertEq(quoteAmount, e.notional, "event quoteAmount != notional");
        assertEq(baseDelta, e.newSize - e.before.size, "event baseDelta");
        assertEq(evPnl, e.pnl, "realised PnL != notional vs rounded cost basis");
        assertEq(evFee, e.fee, "fee != ceil(notional x feeRatio)");

        IClearingHouse.Position memory np = position(a);
        (uint256 poolAfter, uint256 insAfter) = vault.getPoolBalances();
        assertEq(insAfter, e.insuranceBefore + e.fee, "insurance fund += fee");
        if (e.baseClosed == _abs(e.before.size)) {
            // Rounding took the whole position: a close, the remaining margin goes home.
            assertEq(np.size, 0, "size");
            assertEq(np.margin, 0, "margin");
            assertEq(np.openNotional, 0, "openNotional");
            assertEq(evFree, e.remaining, "payout");
            assertEq(vault.freeCollateral(a), uint256(int256(e.freeBefore) + e.remaining), "free collateral");
        } else {
            assertEq(np.size, e.newSize, "new size");
            assertEq(np.openNotional, e.before.openNotional - e.basis, "new openNotional != old - closed basis");
            assertEq(int256(np.margin), e.remaining, "new margin != old margin + PnL - fee");
            assertEq(evFree, 0, "a reduce moved free collateral");
            assertEq(vault.freeCollateral(a), e.freeBefore, "free collateral changed on a reduce");
            assertEq(poolAfter, e.poolBefore - e.fee, "margin pool -= fee");
        }
    }

    // ================================================================== spec detail

    /// @notice IClearingHouse.getMarginRatio: "(margin + unrealised PnL) / exit value, 18 decimals,
    /// rounded down". Checked for underwater positions (negative equity), where "down" is toward
    /// minus infinity.
    function testFuzz_marginRatioRoundsDownWhenUnderwater(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 openSeed,
        uint256 moveSeed
    ) public {
        setUpMarket(quoteSeed, priceSeed, 0);
        addTraders(2);
        fund(traders[0], 1e15);
        fund(traders[1], 1e15);
        bool isLong = openSeed & 1 == 0;
        uint256 margin = bound(openSeed >> 8, 1e18, Math.min(1e24, q0 / 100));
        open(traders[0], isLong ? Side.LONG : Side.SHORT, margin, 10e18);
        // Another trader moves the price 10-25% of the quote reserve against it: a 10x position is
        // then underwater.
        open(traders[1], isLong ? Side.SHORT : Side.LONG, bound(moveSeed, q0 / 10, q0 / 4), 1e18);

        IClearingHouse.Position memory p = position(traders[0]);
        uint256 exit = exitValue(p.size);
        int256 equity = int256(p.margin) + clearingHouse.getUnrealizedPnl(address(amm), traders[0]);
        int256 num = equity * 1e18;
        int256 expected = num / int256(exit);
        if (num % int256(exit) != 0 && num < 0) expected -= 1; // floor
        assertEq(clearingHouse.getMarginRatio(address(amm), traders[0]), expected, "margin ratio not rounded down");
    }
}
