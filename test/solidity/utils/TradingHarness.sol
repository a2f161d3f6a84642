// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAmm, Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {Deployer} from "./Deployer.sol";
import {Vm} from "./Vm.sol";

/// @notice Shared machinery for fuzzing trades through the ClearingHouse: market set-up in realistic
/// ranges, traders, trade helpers, an event ledger (PositionChanged / MarginChanged) and the exact
/// invariants of base, open interest and value.
abstract contract TradingHarness is Deployer {
    uint256 internal constant DEADLINE = type(uint256).max;
    uint256 internal constant WAD = 1e18;

    /// @dev Initial reserves of the market under test.
    uint256 internal q0;
    uint256 internal b0;
    uint64 internal feeRatio;
    address[] internal traders;

    /// @dev Ledger rebuilt from the events: every PositionChanged's realised PnL and fee.
    int256 internal sumRealizedPnl;
    uint256 internal sumFees;
    uint256 internal positionEvents;
    /// @dev Token units deposited through `fundTracked`.
    uint256 internal depositedUnits;
    /// @dev How often `ensurePoolCanPay` had to top up the other traders.
    uint256 internal poolTopUps;

    // ------------------------------------------------------------------ set-up

    /// @dev Quote reserve 1e3..1e9 quote units, price 0.01..100000 (both log-uniform, 18 decimals).
    function setUpMarket(uint256 quoteSeed, uint256 priceSeed, uint64 fee) internal {
        setUpMarketWithDecimals(6, quoteSeed, priceSeed, fee);
    }

    function setUpMarketWithDecimals(uint8 decimals, uint256 quoteSeed, uint256 priceSeed, uint64 fee) internal {
        uint256 q = boundLog(quoteSeed, 1e21, 1e27);
        uint256 price = boundLog(priceSeed, 1e16, 1e23);
        uint256 b = Math.mulDiv(q, WAD, price);
        deploySystemWithDecimals(decimals, q, b, fee, noLimits());
        q0 = q;
        b0 = b;
        feeRatio = fee;
        vm.recordLogs();
    }

    function addTraders(uint256 n) internal {
        for (uint256 i; i < n; ++i) {
            address t = address(uint160(0xA11CE000 + i));
            vm.label(t, "trader");
            traders.push(t);
        }
    }

    // ------------------------------------------------------------------ reading state

    function position(address t) internal view returns (IClearingHouse.Position memory) {
        return clearingHouse.getPosition(address(amm), t);
    }

    function reserves() internal view returns (uint256 q, uint256 b) {
        return amm.getReserves();
    }

    function exitValue(int256 size) internal view returns (uint256) {
        return amm.previewSwapBase(size, _abs(size));
    }

    /// @dev |size| x spot price from the reserves, as the ClearingHouse values positions for the margin
    /// ratio: floor(|size| x q / b) for a long (its value), ceil for a short (its cost to buy back).
    function markNotional(int256 size) internal view returns (uint256) {
        (uint256 q, uint256 b) = reserves();
        return size > 0 ? Math.mulDiv(uint256(size), q, b) : Math.mulDiv(_abs(size), q, b, Math.Rounding.Ceil);
    }

    /// @dev PnL of a position valued at `quote`: quote - open notional (long), the reverse (short).
    function pnlAt(int256 size, uint256 openNotional, uint256 quote) internal pure returns (int256) {
        return size > 0 ? int256(quote) - int256(openNotional) : int256(openNotional) - int256(quote);
    }

    /// @dev PnL at the spot price (the spec of getUnrealizedPnl).
    function markPnl(address t) internal view returns (int256) {
        IClearingHouse.Position memory p = position(t);
        return p.size == 0 ? int256(0) : pnlAt(p.size, p.openNotional, markNotional(p.size));
    }

    /// @dev PnL a close would realise now (exit value, fees aside): never above the mark PnL.
    function exitPnl(address t) internal view returns (int256) {
        IClearingHouse.Position memory p = position(t);
        return p.size == 0 ? int256(0) : pnlAt(p.size, p.openNotional, exitValue(p.size));
    }

    /// @dev floor(equity x 1e18 / notional), toward minus infinity; when notional is 0 (a long worth 0
    /// wei at the spot price), unbounded with the sign of the equity.
    function ratioDown(int256 equity, uint256 notional) internal pure returns (int256 r) {
        if (notional == 0) return equity < 0 ? type(int256).min : type(int256).max;
        int256 num = equity * 1e18;
        r = num / int256(notional);
        if (num < 0 && num % int256(notional) != 0) r -= 1;
    }

    function opposite(int256 size) internal pure returns (Side) {
        return size > 0 ? Side.SHORT : Side.LONG;
    }

    function sideOf(int256 size) internal pure returns (Side) {
        return size > 0 ? Side.LONG : Side.SHORT;
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    // ------------------------------------------------------------------ acting

    function open(address t, Side side, uint256 margin, uint256 leverage) internal {
        vm.prank(t);
        clearingHouse.openPosition(address(amm), side, margin, leverage, 0, DEADLINE);
    }

    function tryOpen(
        address t,
        Side side,
        uint256 margin,
        uint256 leverage
    ) internal returns (bool ok, bytes memory err) {
        vm.prank(t);
        try clearingHouse.openPosition(address(amm), side, margin, leverage, 0, DEADLINE) {
            ok = true;
        } catch (bytes memory e) {
            err = e;
        }
    }

    function close(address t) internal {
        vm.prank(t);
        clearingHouse.closePosition(address(amm), 0, DEADLINE);
    }

    function addMargin(address t, uint256 amount) internal {
        vm.prank(t);
        clearingHouse.addMargin(address(amm), amount);
    }

    /// @dev Margin needed so the whole position can be closed now: margin + PnL - close fee >= 0, PnL
    /// at the exit value (what the close realises; getUnrealizedPnl is at the spot price and more).
    /// Tops the margin up from free collateral when it is short (fee 0: PnL alone).
    function rescueIfUnderwater(address t) internal {
        IClearingHouse.Position memory p = position(t);
        if (p.size == 0) return;
        uint256 exit = exitValue(p.size);
        int256 pnl = pnlAt(p.size, p.openNotional, exit);
        int256 remaining = int256(p.margin) + pnl - int256(Math.mulDiv(exit, feeRatio, WAD, Math.Rounding.Ceil));
        if (remaining < 0) {
            addMargin(t, uint256(-remaining));
            drainEvents();
        }
    }

    function fundTracked(address t, uint256 units) internal {
        fund(t, units);
        depositedUnits += units;
    }

    /// @dev The margin pool is shared: a winner's payout comes out of the losers' margins. With no
    /// liquidation, a loser whose loss exceeds its margin leaves the pool short and a winner's close
    /// reverts InsufficientMarginPool (see test_badDebtBlocksProfitableClose). Property tests that
    /// need every close to go through call this first: if the pool cannot pay what closing `t` now
    /// would take from it (margin + PnL at the exit value), every open position is topped up (from fresh deposits) to
    /// stay solvent whatever the order of the remaining closes, which makes the pool able to pay.
    function ensurePoolCanPay(address t) internal {
        IClearingHouse.Position memory p = position(t);
        if (p.size == 0) return;
        (uint256 pool, ) = vault.getPoolBalances();
        int256 take = int256(p.margin) + exitPnl(t);
        if (take <= int256(pool)) return;
        secureAll();
        poolTopUps++;
    }

    /// @dev Tops every position up to a margin covering its worst loss plus fee over any order of the
    /// remaining closes (no new trades): a long loses at most its open notional (exit value >= 0); a
    /// short pays the most when every other short has bought back first, leaving base reserve
    /// b - (other shorts), so its exit value is at most k / (that - |s|) - k / that.
    function secureAll() internal {
        (uint256 q, uint256 b) = reserves();
        uint256 k = q * b;
        uint256 shorts;
        for (uint256 i; i < traders.length; ++i) {
            int256 size = position(traders[i]).size;
            if (size < 0) shorts += uint256(-size);
        }
        for (uint256 i; i < traders.length; ++i) {
            address t = traders[i];
            IClearingHouse.Position memory p = position(t);
            if (p.size == 0) continue;
            uint256 need;
            if (p.size > 0) {
                need = p.openNotional + 1;
            } else {
                uint256 s = uint256(-p.size);
                uint256 bWorst = b - (shorts - s);
                uint256 exitWorst = Math.mulDiv(k, 1, bWorst - s, Math.Rounding.Ceil) - k / bWorst;
                exitWorst += exitWorst / 1e6 + 1e9; // k grows by rounding dust on the way
                exitWorst += Math.mulDiv(exitWorst, feeRatio, WAD, Math.Rounding.Ceil);
                need = exitWorst > p.openNotional ? exitWorst - p.openNotional : 0;
            }
            if (need <= p.margin) continue;
            uint256 amount = need - p.margin;
            uint256 free = vault.freeCollateral(t);
            if (free < amount) fundTracked(t, (amount - free) / tokenScale() + 1);
            addMargin(t, amount);
        }
        drainEvents();
    }

    // ------------------------------------------------------------------ event ledger

    /// @dev Reads the logs recorded since the last call and adds every PositionChanged to the ledger.
    /// The last PositionChanged / MarginChanged of each trader in the batch must carry the trader's
    /// stored state (earlier ones were overwritten by later actions).
    function drainEvents() internal returns (Vm.Log[] memory logs) {
        logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (!_isPositionEvent(logs[i])) continue;
            bool isLast = true;
            for (uint256 j = i + 1; j < logs.length; ++j) {
                if (_isPositionEvent(logs[j]) && logs[j].topics[1] == logs[i].topics[1]) isLast = false;
            }
            Vm.Log memory l = logs[i];
            IClearingHouse.Position memory p = position(address(uint160(uint256(l.topics[1]))));
            if (l.topics[0] == IClearingHouse.PositionChanged.selector) {
                (, , int256 pnl, uint256 fee, int256 fundingPayment, , int256 size, uint256 margin, uint256 on) = abi
                    .decode(l.data, (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256));
                // These markets have no oracle, so no premium and no funding: the ledger below
                // (insurance fund = fees, margin pool = margins - realised PnL) relies on it.
                assertEq(fundingPayment, int256(0), "funding settled without an oracle");
                sumRealizedPnl += pnl;
                sumFees += fee;
                positionEvents++;
                if (isLast) {
                    assertEq(size, p.size, "event size != stored size");
                    assertEq(margin, p.margin, "event margin != stored margin");
                    assertEq(on, p.openNotional, "event openNotional != stored openNotional");
                }
            } else if (isLast) {
                (, uint256 margin) = abi.decode(l.data, (int256, uint256));
                assertEq(margin, p.margin, "MarginChanged margin != stored margin");
            }
        }
    }

    function _isPositionEvent(Vm.Log memory l) private view returns (bool) {
        return
            l.emitter == address(clearingHouse) &&
            (l.topics[0] == IClearingHouse.PositionChanged.selector ||
                l.topics[0] == IClearingHouse.MarginChanged.selector);
    }

    /// @dev The last PositionChanged among `logs` (reverts if none).
    function lastPositionChanged(
        Vm.Log[] memory logs
    )
        internal
        view
        returns (int256 baseDelta, uint256 quoteAmount, int256 realizedPnl, uint256 fee, int256 freeCollateralDelta)
    {
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(clearingHouse) &&
                logs[i].topics[0] == IClearingHouse.PositionChanged.selector
            ) {
                (baseDelta, quoteAmount, realizedPnl, fee, , freeCollateralDelta, , , ) = abi.decode(
                    logs[i].data,
                    (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256)
                );
                found = true;
            }
        }
        assertTrue(found, "no PositionChanged event");
    }

    // ------------------------------------------------------------------ invariants

    /// @dev Every exact invariant that holds after any sequence of trades:
    ///  - base conservation: sum of sizes == b0 - base reserve;
    ///  - open interest == sum of long sizes / sum of |short sizes|;
    ///  - custody: vault token balance x scale == sum free collateral + margin pool + insurance fund;
    ///  - insurance fund == sum of fees in PositionChanged events;
    ///  - margin pool == sum of open margins - sum of realised PnL (every realised PnL is paid by or
    ///    to the pool, every margin sits in it);
    ///  - quote conservation: sum realised PnL == long open notional - short open notional - (q - q0).
    function checkInvariants() internal view {
        int256 sumSize;
        uint256 longs;
        uint256 shorts;
        uint256 sumMargin;
        uint256 sumFree;
        int256 longOn;
        int256 shortOn;
        for (uint256 i; i < traders.length; ++i) {
            IClearingHouse.Position memory p = position(traders[i]);
            sumSize += p.size;
            if (p.size > 0) {
                longs += uint256(p.size);
                longOn += int256(p.openNotional);
            } else if (p.size < 0) {
                shorts += uint256(-p.size);
                shortOn += int256(p.openNotional);
            } else {
                assertEq(p.margin, 0, "closed position kept margin");
                assertEq(p.openNotional, 0, "closed position kept open notional");
            }
            sumMargin += p.margin;
            sumFree += vault.freeCollateral(traders[i]);
        }
        (uint256 q, uint256 b) = reserves();
        assertEq(sumSize, int256(b0) - int256(b), "sum of sizes != b0 - base reserve");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong, longs, "open interest long != sum of long sizes");
        assertEq(oiShort, shorts, "open interest short != sum of short sizes");

        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        assertEq(usdc.balanceOf(address(vault)) * tokenScale(), sumFree + pool + insurance, "custody identity");
        assertEq(insurance, sumFees, "insurance fund != sum of fees emitted");
        assertEq(int256(pool), int256(sumMargin) - sumRealizedPnl, "margin pool != margins - realised PnL");
        assertEq(sumRealizedPnl, longOn - shortOn - (int256(q) - int256(q0)), "quote conservation");
    }
}
