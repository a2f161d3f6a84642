// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../../contracts/interfaces/IAmm.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAmm, Side} from "../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../contracts/interfaces/IVault.sol";
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
    /// fuzzed permutation; each close realises exactly the PnL at the exit value (previewSwapBase). A
    /// trader whose margin cannot cover the loss at close tops it up first (a top-up moves no reserve
    /// and no PnL). A winner that closes while losers' losses are unrealised is paid what the market's
    /// pool holds beyond its locked margin and queued claims, and the rest of its payout is queued as
    /// its claim, exactly as the spec says; once everyone has closed, `payClaims` pays every claim.
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
            rescueIfUnderwater(t);
            // getUnrealizedPnl is valued at the spot price; a close realises the exit value, which its
            // own price impact makes worse: PnL at exit <= PnL at mark.
            int256 upnl = clearingHouse.getUnrealizedPnl(address(amm), t);
            int256 closePnl = exitPnl(t);
            assertEq(upnl, markPnl(t), "getUnrealizedPnl != PnL at the spot price");
            assertLe(closePnl, upnl, "PnL at the exit value above PnL at the spot price");
            IClearingHouse.Position memory p = position(t);
            uint256 payout = uint256(int256(p.margin) + closePnl);
            uint256 deferred = deferredGain(closePnl, payout);
            close(t);
            (, uint256 b) = reserves();
            r.roundingSum += b;
            r.swaps++;
            Vm.Log[] memory logs = drainEvents();
            (, , int256 pnl, uint256 fee, int256 freeDelta) = lastPositionChanged(logs);
            assertEq(pnl, closePnl, "close realised a PnL other than exit value vs open notional");
            assertEq(fee, 0, "fee with feeRatio 0");
            assertEq(claimQueuedIn(logs, t), deferred, "close: claim != gain beyond what the pool can pay");
            assertEq(freeDelta, int256(payout - deferred), "close: payout != margin + PnL - claim");
            checkInvariants();
        }
        // Every loser has paid its loss into the pool: every claim is paid in full.
        payAllClaims();
        checkInvariants();
        (, , uint256 claims) = _balances();
        assertEq(claims, 0, "claims left unpaid after everyone closed");
    }

    function _balances() internal view returns (uint256 pool, uint256 locked, uint256 claims) {
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        return (m.pool, m.lockedMargin, m.claims);
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

    /// @notice Property 2 (zero-sum PnL, fees 0). After everyone has closed, in any order (winners
    /// before losers too: their gains wait as claims), and payClaims has paid every claim:
    ///  - the traders' total realised PnL (free collateral now - deposited) is <= 0, and equals
    ///    -(q_end - q0) exactly (what the pool kept is what the traders lost), so it is at most dust;
    ///  - it equals the sum of realizedPnl in the PositionChanged events;
    ///  - the market's pool holds exactly that dust (>= 0), no claim is left, the insurance fund nothing;
    ///  - each trader holds exactly deposited + its realised PnL (checkInvariants' per-trader ledger);
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

    /// @dev Per run: steps that found nothing to do, closes whose position was topped up first, and
    /// closes attempted while the margin could not cover them (which must be refused).
    uint256 internal skippedSteps;
    uint256 internal closeTopUps;
    uint256 internal underwaterCloses;

    /// @dev A revert other than the one the spec predicts.
    error RevertMismatch(string what, bytes expected, bytes actual);

    /// @dev Errors a well-formed random action may legitimately hit when the test made no exact
    /// prediction; any other revert fails the test. A close or reversal can only find the position
    /// underwater; removing margin can only break the initial margin ratio; a fresh open has no
    /// margin check and must go through (increases and reduces are predicted exactly).
    function _expectedFailure(Op op, bytes memory err) internal pure returns (bool) {
        bytes4 sel = selectorOf(err);
        if (op == Op.Close || op == Op.Reverse) return sel == IClearingHouse.PositionUnderwater.selector;
        if (op == Op.None) return sel == IClearingHouse.MarginRatioTooLow.selector;
        return false;
    }

    /// @dev What the spec says an increase of an existing position or a reduce leads to, worked out
    /// from the state before it, with positions valued at the spot price (markNotional =
    /// floor(|size| x q / b) long, ceil short) and the check margin + PnL >= ceil(markNotional x ratio):
    ///  - increase: the existing position, at the reserves BEFORE the trade, against the IMR;
    ///  - reduce: the rest of the position, at the reserves AFTER the trade, against the MMR.
    struct Prediction {
        bool made; // a prediction was worked out
        bool underwater; // reduce: margin + PnL - fee < 0, PositionUnderwater(remaining)
        int256 remaining;
        bool closes; // reduce: rounding takes the whole position, no ratio check
        bool tooLow; // MarginRatioTooLow(ratio, requiredRatio)
        int256 ratio; // floor((margin + PnL) x 1e18 / markNotional) of the checked position
        uint256 requiredRatio;
        bool ratioIsAfter; // the checked position is the one after the trade (reduce)
    }

    /// @dev Outcome of one random action.
    struct Action {
        address trader;
        bool skipped; // nothing was attempted
        bool ok; // the call succeeded
        bool tradeMade; // a PositionChanged is expected
        bytes err;
        uint256 freeBefore;
        // A reduce of a short is a LONG trade: the Amm refuses one whose quote cannot buy one wei of
        // base (ZeroSwapAmount); true when the test computed that this reduce is that small.
        bool dustLong;
        // A reversal whose rest (notional - exit value) is dust once the position is closed (see
        // _restIsDust): the rest is not traded and the call is a plain close.
        bool restNotTraded;
        // What was asked, to check the trade's result against the spec.
        Op op;
        IClearingHouse.Position before;
        uint256 margin;
        uint256 leverage;
        uint256 notional; // margin x leverage, rounded down
        uint256 exit; // exit value of `before` just before the trade
        uint256 available; // vault.profitAvailable just before the trade
        uint256 feeRatio; // the market's fee ratio
        Prediction pred;
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
        if (a.skipped) {
            skippedSteps++;
            return;
        }
        if (a.ok) {
            assertTrue(!a.dustLong, "a reduce whose long leg buys 0 base went through");
            if (a.pred.made) _checkPredictedSuccess(a);
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
            _checkFailure(a);
        }
        checkInvariants();
    }

    /// @dev A trade the spec allows went through: the margin ratio now read is the predicted one.
    function _checkPredictedSuccess(Action memory a) internal view {
        Prediction memory pred = a.pred;
        assertTrue(!pred.underwater, "reduce went through although margin + PnL - fee < 0");
        assertTrue(!pred.tooLow, "trade went through although the margin ratio after it is too low");
        if (pred.closes) {
            assertEq(position(a.trader).size, 0, "reduce predicted to take the whole position");
            return;
        }
        int256 ratio = clearingHouse.getMarginRatio(address(amm), a.trader);
        // A reduce was checked on the position it leaves: that is the one read now. An increase was
        // checked before it; the position it leaves meets the IMR too (the new leg meets it by its
        // leverage, and the trade moved the spot price in the position's favour).
        if (pred.ratioIsAfter) assertEq(ratio, pred.ratio, "margin ratio after the reduce != predicted");
        assertGe(ratio, int256(pred.requiredRatio), "margin ratio after the trade below the required ratio");
    }

    /// @dev A refused action: the predicted error with the predicted arguments, else a legitimate one.
    function _checkFailure(Action memory a) internal pure {
        bytes4 sel = selectorOf(a.err);
        if (a.dustLong) {
            if (sel != IAmmErrors.ZeroSwapAmount.selector) bubble(a.err);
            return;
        }
        Prediction memory pred = a.pred;
        if (!pred.made) {
            if (!_expectedFailure(a.op, a.err)) bubble(a.err);
            return;
        }
        bytes memory expected;
        if (pred.underwater) {
            expected = abi.encodeWithSelector(IClearingHouse.PositionUnderwater.selector, pred.remaining);
        } else if (pred.tooLow) {
            expected = abi.encodeWithSelector(
                IClearingHouse.MarginRatioTooLow.selector,
                pred.ratio,
                pred.requiredRatio
            );
        } else {
            bubble(a.err); // the spec allows this trade
        }
        if (keccak256(a.err) != keccak256(expected)) revert RevertMismatch("predicted revert", expected, a.err);
    }

    function _act(uint256 x) internal returns (Action memory a) {
        a.trader = traders[x % traders.length];
        x >>= 8;
        uint256 kind = x % 8;
        x >>= 8;
        uint256 lev = bound(uint64(x), 1e18, 10e18);
        x >>= 64;
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
            if (size != 0) _predictIncrease(a);
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
            if (!a.dustLong) _predictReduce(a);
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
            a.restNotTraded = rest > 0 && _restIsDust(size, rest);
            _record(a, Op.Reverse, margin);
            (a.ok, a.err) = tryOpen(a.trader, opposite(size), margin, lev);
        } else if (kind == 5) {
            // Close the position as it stands: it never waits for the other traders (a gain the
            // pool cannot pay yet is queued as a claim). Half the time a position whose margin
            // cannot cover the close is topped up first; otherwise the close must be refused with
            // exactly PositionUnderwater(margin + PnL at exit - fee).
            if (x & 1 == 1 && _closeRemaining(a.trader) < 0) {
                rescueIfUnderwater(a.trader);
                closeTopUps++;
            }
            a.freeBefore = vault.freeCollateral(a.trader);
            a.before = position(a.trader);
            _record(a, Op.Close, 0);
            int256 remaining = _closeRemaining(a.trader);
            if (remaining < 0) {
                a.pred.made = true;
                a.pred.underwater = true;
                a.pred.remaining = remaining;
                underwaterCloses++;
            } else {
                // The margin covers it: the close must go through and take the whole position.
                a.pred.made = true;
                a.pred.closes = true;
            }
            vm.prank(a.trader);
            try clearingHouse.closePosition(address(amm), 0, DEADLINE) {} catch (bytes memory e) {
                a.ok = false;
                a.err = e;
            }
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
            withdrawTracked(a.trader, bound(x, 1, bal / 10 + 1));
        }
    }

    /// @dev Increase of an existing position: before the trade, the existing position at the current
    /// spot price must meet the IMR (MarginRatioTooLow with its ratio otherwise, before any swap).
    function _predictIncrease(Action memory a) internal view {
        IClearingHouse.Position memory p = a.before;
        _predictRatio(
            a.pred,
            p.size,
            p.margin,
            p.openNotional,
            markNotional(p.size),
            clearingHouse.getMarketParams(address(amm)).initialMarginRatio
        );
    }

    /// @dev Reduce: realised PnL against the rounded basis and the fee go into margin (underwater if
    /// negative); the rest of the position must meet the MMR at the reserves after the trade.
    function _predictReduce(Action memory a) internal view {
        IClearingHouse.Position memory p = a.before;
        uint256 base = amm.previewSwapQuote(opposite(p.size), a.notional);
        uint256 abs = _abs(p.size);
        assertLe(base, abs, "a reduce below the exit value took more base than the position");
        (uint256 q, uint256 b) = reserves();
        uint256 basis;
        int256 pnl;
        int256 newSize;
        uint256 mark;
        if (p.size > 0) {
            basis = Math.mulDiv(p.openNotional, base, abs, Math.Rounding.Ceil);
            pnl = int256(a.notional) - int256(basis);
            (newSize, mark) = _sizeAndMark(p.size - int256(base), q - a.notional, b + base);
        } else {
            basis = Math.mulDiv(p.openNotional, base, abs);
            pnl = int256(basis) - int256(a.notional);
            (newSize, mark) = _sizeAndMark(p.size + int256(base), q + a.notional, b - base);
        }
        a.pred.made = true;
        int256 remaining = int256(p.margin) + pnl - int256(_feeOf(a.notional));
        if (remaining < 0) {
            a.pred.underwater = true;
            a.pred.remaining = remaining;
        } else if (newSize == 0) {
            a.pred.closes = true; // rounding took the whole position
        } else {
            // A gain the pool cannot pay stays unrealised in the rest (its basis and margin carry it;
            // a leftover is queued out of the margin) before the MMR check.
            Deferral memory d = deferReduce(
                p.size > 0,
                pnl,
                uint256(remaining),
                p.openNotional - basis,
                vault.profitAvailable(address(amm))
            );
            _predictRatio(
                a.pred,
                newSize,
                d.margin,
                d.openNotional,
                mark,
                clearingHouse.getMarketParams(address(amm)).maintenanceMarginRatio
            );
            a.pred.ratioIsAfter = true;
        }
    }

    /// @dev `size` and its mark notional at reserves (q, b): floor(|size| x q / b) long, ceil short.
    function _sizeAndMark(int256 size, uint256 q, uint256 b) internal pure returns (int256, uint256) {
        uint256 mark =
            size > 0 ? Math.mulDiv(uint256(size), q, b) : Math.mulDiv(uint256(-size), q, b, Math.Rounding.Ceil);
        return (size, mark);
    }

    /// @dev The position (size, margin, openNotional) valued at `mark` must have
    /// margin + PnL >= ceil(mark x requiredRatio); the ratio the contract reports is floored.
    function _predictRatio(
        Prediction memory pred,
        int256 size,
        uint256 margin,
        uint256 openNotional,
        uint256 mark,
        uint256 requiredRatio
    ) internal pure {
        int256 equity = int256(margin) + pnlAt(size, openNotional, mark);
        pred.made = true;
        pred.requiredRatio = requiredRatio;
        pred.ratio = ratioDown(equity, mark);
        pred.tooLow = equity < int256(Math.mulDiv(mark, requiredRatio, WAD, Math.Rounding.Ceil));
    }

    function _record(Action memory a, Op op, uint256 margin) internal view {
        a.op = op;
        a.margin = margin;
        a.notional = Math.mulDiv(margin, a.leverage, WAD);
        if (a.before.size != 0) a.exit = exitValue(a.before.size);
        a.available = vault.profitAvailable(address(amm));
        a.feeRatio = feeRatio;
    }

    /// @dev The spec's claim of a reduce or close ({PositionMath-deferGain}; no funding here): the
    /// part of the gain `pnl` beyond `available` (the pool's profitAvailable before the trade), out
    /// of `payable_` (the payout, or the rest's margin), never below zero.
    function _deferred(int256 pnl, int256 payable_, uint256 available) internal pure returns (uint256) {
        if (pnl <= int256(available) || payable_ <= 0) return 0;
        return Math.min(uint256(pnl) - available, uint256(payable_));
    }

    /// @dev What closing `t` now would leave of its margin: margin + PnL at the exit value - fee.
    function _closeRemaining(address t) internal view returns (int256) {
        IClearingHouse.Position memory p = position(t);
        uint256 exit = exitValue(p.size);
        return int256(p.margin) + pnlAt(p.size, p.openNotional, exit) - int256(_feeOf(exit));
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
    ///    side with margin ceil(rest / leverage) and fee on rest, both taken from free collateral;
    ///    but a reversal to LONG whose rest buys 0 base is only that close (the rest is not traded).
    function _checkTrade(Action memory a, Vm.Log[] memory logs) internal view {
        (, uint256 quoteAmount, int256 pnl, uint256 fee, int256 freeDelta) = lastPositionChanged(logs);
        IClearingHouse.Position memory np = position(a.trader);
        IClearingHouse.Position memory p = a.before;
        uint256 claim = claimQueuedIn(logs, a.trader);
        if (a.op == Op.Increase) {
            assertEq(quoteAmount, a.notional, "increase: quoteAmount");
            assertEq(pnl, 0, "increase: PnL");
            assertEq(fee, _feeOf(a.notional), "increase: fee");
            assertEq(freeDelta, -int256(a.margin + fee), "increase: free collateral delta");
            assertEq(claim, 0, "increase: claim");
            assertEq(np.margin, p.margin + a.margin, "increase: margin");
            assertEq(np.openNotional, p.openNotional + a.notional, "increase: openNotional");
            assertTrue(p.size == 0 || (np.size > 0) == (p.size > 0), "increase: side changed");
            assertGe(_abs(np.size), _abs(p.size) + 1, "increase: size did not grow");
            return;
        }
        if (a.op == Op.Reduce) {
            assertEq(quoteAmount, a.notional, "reduce: quoteAmount");
            assertEq(fee, _feeOf(a.notional), "reduce: fee");
            int256 left = int256(p.margin) + pnl - int256(fee);
            if (np.size != 0) {
                assertTrue((np.size > 0) == (p.size > 0), "reduce: side changed");
                assertLt(_abs(np.size), _abs(p.size), "reduce: size did not shrink");
                assertEq(freeDelta, 0, "reduce: free collateral moved");
                _checkPartialDeferral(a, np, pnl, fee, claim);
                assertEq(int256(np.margin + claim), left, "reduce: margin + claim != margin + PnL - fee");
            } else {
                assertEq(claim, _deferred(pnl, left, a.available), "reduce: claim != gain beyond profitAvailable");
                assertEq(freeDelta + int256(claim), left, "reduce to zero: payout + claim");
            }
            return;
        }
        // Close, or reverse: the old position is closed at its exit value first.
        int256 payout = _checkClosingLeg(a, pnl, claim);
        if (a.op == Op.Close || a.notional == a.exit || a.restNotTraded) {
            // A reversal exactly at the exit value, or with a rest too small to buy a wei of base, is
            // a plain close: no second leg, no margin or fee for the rest, the exit value traded.
            assertEq(quoteAmount, a.exit, "close: quoteAmount != exit value");
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

    /// @dev A partial reduce against the spec's deferral: the raw PnL of the base closed (rounded
    /// basis), carried in the rest as {deferReduce} says; the event's PnL is what was realised.
    function _checkPartialDeferral(
        Action memory a,
        IClearingHouse.Position memory np,
        int256 pnl,
        uint256 fee,
        uint256 claim
    ) internal pure {
        IClearingHouse.Position memory p = a.before;
        uint256 base = _abs(p.size) - _abs(np.size);
        uint256 basis;
        int256 raw;
        if (p.size > 0) {
            basis = Math.mulDiv(p.openNotional, base, _abs(p.size), Math.Rounding.Ceil);
            raw = int256(a.notional) - int256(basis);
        } else {
            basis = Math.mulDiv(p.openNotional, base, _abs(p.size));
            raw = int256(basis) - int256(a.notional);
        }
        int256 remaining = int256(p.margin) + raw - int256(fee);
        assertGe(remaining, 0, "reduce: went through underwater");
        Deferral memory d = deferReduce(p.size > 0, raw, uint256(remaining), p.openNotional - basis, a.available);
        assertEq(pnl, d.pnl, "reduce: realised PnL != raw PnL - carried");
        assertEq(claim, d.claim, "reduce: claim != the gain neither available nor carried");
        assertEq(np.margin, d.margin, "reduce: margin");
        assertEq(np.openNotional, d.openNotional, "reduce: openNotional != rest basis -/+ carried");
    }

    /// @dev The closing leg of a close or reversal: PnL = exit value vs open notional; the gain beyond
    /// what the pool can pay is queued as a claim, out of the close's payout. Returns that payout
    /// (margin + PnL - fee on the exit value) less the claim.
    function _checkClosingLeg(Action memory a, int256 pnl, uint256 claim) internal pure returns (int256) {
        IClearingHouse.Position memory p = a.before;
        int256 closePnl =
            p.size > 0 ? int256(a.exit) - int256(p.openNotional) : int256(p.openNotional) - int256(a.exit);
        int256 payout = int256(p.margin) + closePnl - int256(Math.mulDiv(a.exit, a.feeRatio, WAD, Math.Rounding.Ceil));
        assertEq(pnl, closePnl, "close: realised PnL != exit value vs open notional");
        assertEq(claim, _deferred(closePnl, payout, a.available), "close: claim != gain beyond profitAvailable");
        return payout - int256(claim);
    }

    /// @dev Base a LONG of `quote` would buy once the short `size` is closed (the reversal's second
    /// leg), from the Amm's formulas: close -> base' = b - |size|, quote' = ceil(k / base'); then the
    /// long gets base' - ceil(quote' x base' / (quote' + quote)).
    /// @dev Whether a reversal's rest is dust (the spec: it is traded only if the pool, after the
    /// close, gives at least one wei of base for it and it buys at least one whole wei of base at
    /// the pool's price, rest x base >= quote), so the reversal is a plain close.
    function _restIsDust(int256 size, uint256 rest) internal view returns (bool) {
        (uint256 q, uint256 b) = reserves();
        // Reserves after closing the position: its base goes back (long) or comes out (short).
        uint256 nb = size > 0 ? b + _abs(size) : b - _abs(size);
        uint256 nq = Math.mulDiv(q, b, nb, Math.Rounding.Ceil);
        uint256 baseOut;
        if (size < 0) {
            baseOut = nb - Math.mulDiv(nq, nb, nq + rest, Math.Rounding.Ceil);
        } else if (rest < nq) {
            baseOut = Math.mulDiv(nq, nb, nq - rest, Math.Rounding.Ceil) - nb;
        }
        return baseOut == 0 || rest * nb < nq;
    }

    function _randomTrading(uint256 nSeed, uint256[16] calldata steps) internal {
        addTraders(bound(nSeed, 2, 5));
        uint256 units = 1e9 * 10 ** uint256(usdc.decimals()); // 1e9 USDC each: never short of collateral
        for (uint256 i; i < traders.length; ++i) fundTracked(traders[i], units);
        drainEvents();
        checkInvariants();
        for (uint256 k; k < steps.length; ++k) _step(steps[k]);
        // Most steps must do something: a step is skipped only when the action found nothing to act on
        // (margin moves without a position, a reduce or reversal that rounds to nothing).
        assertLe(skippedSteps, steps.length / 2, "more than half of the steps were skipped");
        // Finally everyone closes, winners before losers or after: base is fully back, and the
        // ledger still balances.
        for (uint256 i; i < traders.length; ++i) {
            if (position(traders[i]).size == 0) continue;
            rescueIfUnderwater(traders[i]);
            close(traders[i]);
            drainEvents();
            checkInvariants();
        }
        (, uint256 b) = reserves();
        assertEq(b, b0, "base reserve not back after everyone closed");
        (uint256 q, ) = reserves();
        assertGe(q, q0, "quote reserve below q0 after everyone closed");
        // Every loss is realised: payClaims pays every claim in full, so each trader holds exactly
        // deposited - withdrawn + PnL - fees in free collateral (checkInvariants' ledger, with no
        // margin and no claim left), and the pool only the pool's rounding dust q - q0.
        payAllClaims();
        checkInvariants();
        (uint256 pool, , uint256 claims) = _balances();
        assertEq(claims, 0, "claims left unpaid after everyone closed");
        assertEq(pool, q - q0, "pool != rounding dust after everyone closed and the claims were paid");
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
    ///  - vault token balance x 1e12 == sum of free collateral + the market's pool + insurance fund, exactly;
    ///  - insurance fund == sum of the fees emitted in PositionChanged, exactly;
    ///  - the market's pool == sum of open positions' margins + unpaid claims - sum of realised PnL
    ///    emitted, exactly (each realised PnL is paid by the pool into margin or payout, or waits in
    ///    it as a claim), and it never holds less than the locked margin (the open margins);
    ///  - claims == sum of claimOf == the queue's entries == queued - paid; each trader's free
    ///    collateral + margin + claim == deposited - withdrawn + its PnL - its fees;
    ///  - sum of realised PnL == long open notional - short open notional - (q - q0), exactly;
    ///  - each PositionChanged carries the stored position, and its freeCollateralDelta is the
    ///    change of the trader's free collateral (a gain the pool cannot pay is queued, exactly as
    ///    deferGain says, and checked); once everyone has closed, payClaims pays every claim and the
    ///    pool keeps only q - q0.
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
    /// close -> payClaims -> withdraw everything withdrawable. A partial reduce realises a gain on
    /// the first units it sells back (the spot is past the average entry price), which the pool,
    /// holding only this trader's margin, cannot pay: it is queued as the trader's claim out of the
    /// rest's margin, and that margin may then no longer cover the rest's loss at its exit value
    /// (SPEC.md, "Finding: a reduce's claim can leave its own position underwater"). The trader then
    /// tops the margin up (a fresh deposit if needed) before closing, and payClaims pays the claim back.
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
        fundTracked(t, bound(depositSeed, 2 * unit, 1e6 * unit)); // 2 .. 1e6 tokens, any dust

        _roundTripOpen(t, tradeSeed);
        if (reduceSeed & 1 == 1) _roundTripReduce(t, reduceSeed);
        drainEvents();
        if (position(t).size != 0) {
            rescueIfUnderwater(t);
            close(t);
        }
        drainEvents();
        payAllClaims();
        checkInvariants();
        (, , uint256 claims) = _balances();
        assertEq(claims, 0, "the trader's claim was not paid back after its close");

        // Exact: with one trader, free collateral = deposits - fees - (quote the pool kept).
        uint256 deposit = depositedUnits;
        (uint256 q, ) = reserves();
        uint256 free = vault.freeCollateral(t);
        assertEq(free, deposit * tokenScale() - sumFees - (q - q0), "free collateral != deposit - fees - pool dust");

        uint256 withdrawable = vault.balanceOf(t);
        assertEq(withdrawable, free / tokenScale(), "balanceOf != free collateral rounded down");
        if (withdrawable > 0) withdrawTracked(t, withdrawable);
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
        fundTracked(a, 1e15);
        fundTracked(traders[1], 1e15);

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

    /// @notice The maintenance check of a reduce, at the spot price after the trade. Open at 5..10x,
    /// let another trader move the price against the position by 0..20% of the quote reserve, then
    /// reduce by a random fraction of the exit value. The outcome is worked out from the state before
    /// (see _predictReduce): PositionUnderwater(margin + PnL - fee) if that is negative; else
    /// MarginRatioTooLow(ratio, MMR) if the rest of the position, valued at floor/ceil(|size| x q' / b')
    /// at the reserves after the trade, has margin + PnL < ceil(mark notional x MMR); else the reduce
    /// goes through and getMarginRatio is exactly the predicted ratio (>= MMR).
    function testFuzz_reduceKeepsMaintenanceAtSpotPrice(
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
        address t = traders[0];
        fundTracked(t, 1e15);
        fundTracked(traders[1], 1e15);
        Side side = openSeed & 1 == 0 ? Side.LONG : Side.SHORT;
        uint256 lev = bound(uint64(openSeed >> 8), 5e18, 10e18);
        open(t, side, bound(openSeed >> 72, 1e18, Math.min(1e24, Math.mulDiv(q0 / 20, WAD, lev))), lev);
        uint256 move = bound(moveSeed, 0, q0 / 5);
        if (move >= 1e18) open(traders[1], side == Side.LONG ? Side.SHORT : Side.LONG, move, 1e18);
        drainEvents();

        Action memory a;
        a.trader = t;
        a.before = position(t);
        a.leverage = bound(uint64(reduceSeed >> 16), 1e18, 10e18);
        uint256 target = Math.mulDiv(exitValue(a.before.size), bound(reduceSeed % 1e4, 1, 9999), 1e4);
        uint256 margin = Math.mulDiv(target, WAD, a.leverage);
        if (margin == 0) return;
        _record(a, Op.Reduce, margin);
        a.dustLong = a.before.size < 0 && amm.previewSwapQuote(Side.LONG, a.notional) == 0;
        if (!a.dustLong) _predictReduce(a);
        (a.ok, a.err) = tryOpen(t, opposite(a.before.size), margin, a.leverage);
        if (a.ok) {
            assertTrue(!a.dustLong, "a reduce whose long leg buys 0 base went through");
            _checkPredictedSuccess(a);
            drainEvents();
        } else {
            vm.getRecordedLogs();
            _checkFailure(a);
        }
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
        uint256 deferred; // a close: the part of the gain the pool cannot pay, queued as a claim
        uint256 available; // profitAvailable before the trade
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
        e.available = vault.profitAvailable(address(amm));
        e.deferred = _deferred(e.pnl, e.remaining, e.available);
        e.freeBefore = vault.freeCollateral(a);
        (e.poolBefore, e.insuranceBefore) = vault.getPoolBalances();
    }

    function _checkReduce(address a, ReduceExpectation memory e) internal {
        Vm.Log[] memory logs = drainEvents();
        (int256 baseDelta, uint256 quoteAmount, int256 evPnl, uint256 evFee, int256 evFree) = lastPositionChanged(logs);
        assertEq(quoteAmount, e.notional, "event quoteAmount != notional");
        assertEq(baseDelta, e.newSize - e.before.size, "event baseDelta");
        assertEq(evFee, e.fee, "fee != ceil(notional x feeRatio)");

        IClearingHouse.Position memory np = position(a);
        (uint256 poolAfter, uint256 insAfter) = vault.getPoolBalances();
        assertEq(insAfter, e.insuranceBefore + e.fee, "insurance fund += fee");
        if (e.baseClosed == _abs(e.before.size)) {
            // Rounding took the whole position: a close, the remaining margin goes home; the gain
            // the pool cannot pay is queued out of it.
            assertEq(claimQueuedIn(logs, a), e.deferred, "claim != the gain beyond what the pool can pay");
            assertEq(evPnl, e.pnl, "realised PnL != notional vs rounded cost basis");
            assertEq(np.size, 0, "size");
            assertEq(np.margin, 0, "margin");
            assertEq(np.openNotional, 0, "openNotional");
            assertEq(evFree, e.remaining - int256(e.deferred), "payout");
            assertEq(
                vault.freeCollateral(a),
                uint256(int256(e.freeBefore) + e.remaining - int256(e.deferred)),
                "free collateral"
            );
        } else {
            // The gain the pool cannot pay stays in the rest: the closed basis takes it.
            Deferral memory d = deferReduce(
                e.before.size > 0,
                e.pnl,
                uint256(e.remaining),
                e.before.openNotional - e.basis,
                e.available
            );
            assertEq(evPnl, d.pnl, "realised PnL != notional vs rounded cost basis - carried");
            assertEq(claimQueuedIn(logs, a), d.claim, "claim != the gain neither available nor carried");
            assertEq(np.size, e.newSize, "new size");
            assertEq(np.openNotional, d.openNotional, "new openNotional != old - closed basis -/+ carried");
            assertEq(np.margin, d.margin, "new margin != old margin + PnL - fee - carried - claim");
            assertEq(evFree, 0, "a reduce moved free collateral");
            assertEq(vault.freeCollateral(a), e.freeBefore, "free collateral changed on a reduce");
            assertEq(poolAfter, e.poolBefore - e.fee, "margin pool -= fee");
        }
    }

    // ================================================================== spec detail

    /// @notice IClearingHouse.getMarginRatio: "(margin + unrealised PnL) / (|size| x spot price), 18
    /// decimals, rounded down", the spot value being floor(|size| x q / b) for a long and ceil for a
    /// short; getUnrealizedPnl is the PnL at that value. Checked for underwater positions (negative
    /// equity), where "down" is toward minus infinity.
    function testFuzz_marginRatioRoundsDownWhenUnderwater(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 openSeed,
        uint256 moveSeed
    ) public {
        setUpMarket(quoteSeed, priceSeed, 0);
        addTraders(2);
        fundTracked(traders[0], 1e15);
        fundTracked(traders[1], 1e15);
        bool isLong = openSeed & 1 == 0;
        uint256 margin = bound(openSeed >> 8, 1e18, Math.min(1e24, q0 / 100));
        open(traders[0], isLong ? Side.LONG : Side.SHORT, margin, 10e18);
        // Another trader trades back the 10x position's notional N plus 10-25% of the quote reserve
        // against it. For a long the spot price ends <= 0.81 x its average entry price (entry
        // q0 (q0 + N) / k, spot then <= (0.9 q0)^2 / k), for a short >= 1.21 x: a loss above the 10%
        // margin, so the position is underwater even at the spot price.
        uint256 notional = margin * 10;
        open(traders[1], isLong ? Side.SHORT : Side.LONG, notional + bound(moveSeed, q0 / 10, q0 / 4), 1e18);

        IClearingHouse.Position memory p = position(traders[0]);
        uint256 mark = markNotional(p.size);
        int256 pnl = pnlAt(p.size, p.openNotional, mark);
        assertEq(clearingHouse.getUnrealizedPnl(address(amm), traders[0]), pnl, "PnL not at the spot price");
        int256 equity = int256(p.margin) + pnl;
        assertLt(equity, 0, "test set-up: the position should be underwater");
        int256 num = equity * 1e18;
        int256 expected = num / int256(mark);
        if (num % int256(mark) != 0) expected -= 1; // floor (num < 0)
        assertEq(clearingHouse.getMarginRatio(address(amm), traders[0]), expected, "margin ratio not rounded down");
        // The ratio really is valued at the spot price: at the exit value it would be lower still.
        uint256 exit = exitValue(p.size);
        assertLe(ratioDown(int256(p.margin) + pnlAt(p.size, p.openNotional, exit), exit), expected, "exit-valued");
    }

    // ================================================================== increase after an increase

    /// @notice A position opened at any leverage <= max (= floor(1 / IMR), any IMR 1%..100%) can be
    /// increased at any leverage <= max when no one else traded in between. The increase checks the
    /// existing position at the spot price: with one trader the reserves are q0 +- N (N its notional)
    /// and the spot price is past its average entry price on its side, so its mark PnL is about
    /// N^2 / q0 >= 0 (far above rounding) and margin >= N x IMR covers ceil(mark notional x IMR).
    /// The same holds for the whole position after the increase: getMarginRatio >= IMR.
    function testFuzz_increaseAtAnyLeverageWithoutOtherTrades(
        uint256 quoteSeed,
        uint256 priceSeed,
        uint256 paramSeed,
        uint256 firstSeed,
        uint256 secondSeed
    ) public {
        uint64 fee = paramSeed & 1 == 0 ? 0 : uint64(bound(paramSeed >> 1, 1, 0.01e18));
        setUpMarket(quoteSeed, priceSeed, fee);
        uint64 imr = uint64(bound(paramSeed >> 64, 0.01e18, 1e18));
        clearingHouse.setMarketParams(address(amm), IClearingHouse.MarketParams(imr, imr / 2, fee));
        uint256 maxLeverage = uint256(1e36) / imr;
        addTraders(1);
        address t = traders[0];
        fund(t, 1e15); // 1e9 USDC

        Side side = firstSeed & 1 == 0 ? Side.LONG : Side.SHORT;
        // Leverage 0.1x .. max (exactly max a quarter of the time); each notional <= 5% of q0.
        uint256 lev1 = (firstSeed >> 1) & 3 == 0 ? maxLeverage : boundLog(firstSeed >> 8, 1e17, maxLeverage);
        uint256 lev2 = secondSeed & 3 == 0 ? maxLeverage : boundLog(secondSeed >> 8, 1e17, maxLeverage);
        uint256 m1 = boundLog(firstSeed >> 128, 1e18, Math.min(1e24, Math.mulDiv(q0 / 20, WAD, lev1)));
        uint256 m2 = boundLog(secondSeed >> 128, 1e18, Math.min(1e24, Math.mulDiv(q0 / 20, WAD, lev2)));

        open(t, side, m1, lev1);
        IClearingHouse.Position memory p1 = position(t);
        assertGe(markPnl(t), 0, "mark PnL < 0 right after the open");
        assertGe(clearingHouse.getMarginRatio(address(amm), t), int256(uint256(imr)), "opened below the IMR");
        open(t, side, m2, lev2); // must not revert (MarginRatioTooLow)
        IClearingHouse.Position memory p = position(t);
        assertEq(p.margin, p1.margin + m2, "margin");
        assertEq(p.openNotional, p1.openNotional + Math.mulDiv(m2, lev2, WAD), "openNotional");
        assertGe(_abs(p.size), _abs(p1.size) + 1, "size grew");
        assertGe(markPnl(t), 0, "mark PnL < 0 with no other trade");
        int256 ratio = clearingHouse.getMarginRatio(address(amm), t);
        assertEq(ratio, ratioDown(int256(p.margin) + markPnl(t), markNotional(p.size)), "getMarginRatio");
        assertGe(ratio, int256(uint256(imr)), "margin ratio after the increase below the IMR");
    }
}
