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
    /// @dev Token units deposited through `fundTracked`, in total and per trader, and withdrawn
    /// through `withdrawTracked`.
    uint256 internal depositedUnits;
    mapping(address trader => uint256) internal depositedBy;
    mapping(address trader => uint256) internal withdrawnUnits;
    /// @dev Per trader, from the events: realised PnL and fees (PositionChanged), claims queued
    /// (ClaimQueued) and paid (ClaimPaid); and the totals of the claims.
    mapping(address trader => int256) internal pnlOf;
    mapping(address trader => uint256) internal feesOf;
    mapping(address trader => uint256) internal claimsQueuedOf;
    mapping(address trader => uint256) internal claimsPaidOf;
    uint256 internal sumClaimsQueued;
    uint256 internal sumClaimsPaid;

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
    /// Tops the margin up from free collateral when it is short, depositing what is missing.
    function rescueIfUnderwater(address t) internal {
        IClearingHouse.Position memory p = position(t);
        if (p.size == 0) return;
        uint256 exit = exitValue(p.size);
        int256 pnl = pnlAt(p.size, p.openNotional, exit);
        int256 remaining = int256(p.margin) + pnl - int256(Math.mulDiv(exit, feeRatio, WAD, Math.Rounding.Ceil));
        if (remaining < 0) {
            uint256 amount = uint256(-remaining);
            uint256 free = vault.freeCollateral(t);
            if (free < amount) fundTracked(t, (amount - free) / tokenScale() + 1);
            addMargin(t, amount);
            drainEvents();
        }
    }

    function fundTracked(address t, uint256 units) internal {
        fund(t, units);
        depositedUnits += units;
        depositedBy[t] += units;
    }

    /// @dev Withdraws `units` tokens of `t`'s free collateral, kept in the per-trader ledger.
    function withdrawTracked(address t, uint256 units) internal {
        vm.prank(t);
        vault.withdraw(units);
        withdrawnUnits[t] += units;
    }

    /// @dev Pays every claim queued against the market that its pool can pay now (permissionless
    /// `payClaims`, called by an outsider); the ClaimPaid events go to the ledger with the next drain.
    function payAllClaims() internal returns (uint256 paid) {
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        if (tail == head) return 0;
        vm.prank(address(0xC1A1));
        paid = vault.payClaims(address(amm), tail - head);
        drainEvents();
    }

    /// @dev The claim queued by the last call (sum of its ClaimQueued amounts for `t`) among `logs`.
    function claimQueuedIn(Vm.Log[] memory logs, address t) internal view returns (uint256 amount) {
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(vault) &&
                logs[i].topics[0] == IVault.ClaimQueued.selector &&
                address(uint160(uint256(logs[i].topics[2]))) == t
            ) {
                (, uint256 queued, ) = abi.decode(logs[i].data, (uint256, uint256, uint256));
                amount += queued;
            }
        }
    }

    /// @dev The part of a reduce's or close's gain `pnl` (no funding in these markets) that the pool
    /// cannot pay now, by the spec ({PositionMath-deferGain}): what exceeds `profitAvailable` (pool
    /// beyond locked margin and queued claims, read before the trade), out of `payable` (the close's
    /// payout, or the rest's margin after a reduce), never below zero.
    function deferredGain(int256 pnl, uint256 payable_) internal view returns (uint256) {
        if (pnl <= 0) return 0;
        uint256 available = vault.profitAvailable(address(amm));
        if (uint256(pnl) <= available) return 0;
        return Math.min(uint256(pnl) - available, payable_);
    }

    /// @dev What {PositionMath-deferGain} leaves of a PARTIAL reduce, by the spec: a gain `pnl` beyond
    /// `available` (profitAvailable before the trade) is carried in the rest as far as its margin
    /// `remaining` (margin + PnL - fee) carries it, and for a long its basis `restOpenNotional` (the
    /// closed part's basis takes it: a long's rest basis -= carried, a short's += carried; margin and
    /// the realised PnL -= carried); only a leftover is queued as a claim out of the margin.
    struct Deferral {
        int256 pnl;
        uint256 margin;
        uint256 openNotional;
        uint256 carried;
        uint256 claim;
    }

    function deferReduce(
        bool long,
        int256 pnl,
        uint256 remaining,
        uint256 restOpenNotional,
        uint256 available
    ) internal pure returns (Deferral memory d) {
        d.pnl = pnl;
        d.margin = remaining;
        d.openNotional = restOpenNotional;
        if (pnl <= int256(available)) return d;
        uint256 excess = uint256(pnl) - available;
        d.carried = Math.min(excess, remaining);
        if (long) {
            d.carried = Math.min(d.carried, restOpenNotional);
            d.openNotional -= d.carried;
        } else {
            d.openNotional += d.carried;
        }
        d.margin -= d.carried;
        d.pnl -= int256(d.carried);
        d.claim = Math.min(excess - d.carried, d.margin);
        d.margin -= d.claim;
    }

    // ------------------------------------------------------------------ event ledger

    /// @dev Reads the logs recorded since the last call and adds every PositionChanged to the ledger.
    /// The last PositionChanged / MarginChanged of each trader in the batch must carry the trader's
    /// stored state (earlier ones were overwritten by later actions).
    function drainEvents() internal returns (Vm.Log[] memory logs) {
        logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            _recordClaimEvent(logs[i]);
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
                address trader = address(uint160(uint256(l.topics[1])));
                pnlOf[trader] += pnl;
                feesOf[trader] += fee;
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

    /// @dev A Vault ClaimQueued / ClaimPaid of this market, into the claim ledger.
    function _recordClaimEvent(Vm.Log memory l) private {
        if (l.emitter != address(vault) || address(uint160(uint256(l.topics[1]))) != address(amm)) return;
        address trader = address(uint160(uint256(l.topics[2])));
        if (l.topics[0] == IVault.ClaimQueued.selector) {
            (, uint256 amount, uint256 total) = abi.decode(l.data, (uint256, uint256, uint256));
            claimsQueuedOf[trader] += amount;
            sumClaimsQueued += amount;
            assertEq(total, claimsQueuedOf[trader] - claimsPaidOf[trader], "ClaimQueued total != ledger");
        } else if (l.topics[0] == IVault.ClaimPaid.selector) {
            (uint256 amount, uint256 remaining) = abi.decode(l.data, (uint256, uint256));
            claimsPaidOf[trader] += amount;
            sumClaimsPaid += amount;
            assertEq(remaining, claimsQueuedOf[trader] - claimsPaidOf[trader], "ClaimPaid remaining != ledger");
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
    ///  - custody: vault token balance x scale == sum free collateral + the market's pool + insurance
    ///    fund (one market: its pool is the sum of the pools);
    ///  - insurance fund == sum of fees in PositionChanged events;
    ///  - the market's locked margin == sum of the open positions' stored margins;
    ///  - its claims == sum of claimOf over the traders == sum of the queue's unpaid entries ==
    ///    claims queued - claims paid (ClaimQueued / ClaimPaid events), and each trader's claimOf is
    ///    its own queued - paid;
    ///  - pool == sum of open margins + unpaid claims - sum of realised PnL (every margin sits in the
    ///    pool, every realised PnL is paid by or to it, a deferred gain stays in it until its claim
    ///    is paid), and pool >= locked margin: no profit is paid out of margin that backs an open
    ///    position (no funding in these markets, so not even transiently);
    ///  - per trader: free collateral + margin + claim == deposited - withdrawn + realised PnL - fees
    ///    (a claim is the trader's money, owed by the pool);
    ///  - quote conservation: sum realised PnL == long open notional - short open notional - (q - q0).
    function checkInvariants() internal view {
        int256 sumSize;
        uint256 longs;
        uint256 shorts;
        uint256 sumMargin;
        uint256 sumFree;
        uint256 sumClaims;
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
            uint256 claim = vault.claimOf(address(amm), traders[i]);
            assertEq(claim, claimsQueuedOf[traders[i]] - claimsPaidOf[traders[i]], "claimOf != queued - paid");
            sumClaims += claim;
            _checkTraderLedger(traders[i], p.margin, claim);
        }
        (uint256 q, uint256 b) = reserves();
        assertEq(sumSize, int256(b0) - int256(b), "sum of sizes != b0 - base reserve");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong, longs, "open interest long != sum of long sizes");
        assertEq(oiShort, shorts, "open interest short != sum of short sizes");

        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        assertEq(m.pool, pool, "the one market's pool != the sum of the pools");
        assertEq(usdc.balanceOf(address(vault)) * tokenScale(), sumFree + pool + insurance, "custody identity");
        assertEq(insurance, sumFees, "insurance fund != sum of fees emitted");
        assertEq(m.lockedMargin, sumMargin, "locked margin != sum of open margins");
        assertEq(m.claims, sumClaims, "claims != sum of claimOf");
        assertEq(m.claims, sumClaimsQueued - sumClaimsPaid, "claims != queued - paid");
        assertEq(m.claims, _queueSum(), "claims != sum of the queue's entries");
        assertEq(
            int256(pool),
            int256(sumMargin + m.claims) - sumRealizedPnl,
            "pool != margins + claims - realised PnL"
        );
        assertGe(pool, m.lockedMargin, "pool below the locked margin");
        assertEq(sumRealizedPnl, longOn - shortOn - (int256(q) - int256(q0)), "quote conservation");
    }

    /// @dev free + margin + claim == (deposited - withdrawn) x scale + realised PnL - fees, for a
    /// trader whose deposits all went through `fundTracked`.
    function _checkTraderLedger(address t, uint256 margin, uint256 claim) private view {
        int256 held = int256(vault.freeCollateral(t) + margin + claim);
        int256 expected = int256((depositedBy[t] - withdrawnUnits[t]) * tokenScale()) + pnlOf[t] - int256(feesOf[t]);
        assertEq(held, expected, "free + margin + claim != deposited - withdrawn + PnL - fees");
    }

    /// @dev The unpaid entries of the market's claim queue, added up.
    function _queueSum() private view returns (uint256 sum) {
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        for (uint256 i = head; i < tail; ++i) {
            (, uint256 amount) = vault.claimAt(address(amm), i);
            sum += amount;
        }
    }
}
