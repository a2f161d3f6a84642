// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {Side} from "../../../../contracts/interfaces/IAmm.sol";
import {IAmmCurve} from "../../../../contracts/interfaces/IAmmCurve.sol";
import {GhostLedger} from "./GhostLedger.sol";

/// @notice How a trader's call is made and checked: the trade (fee predicted from its inputs), the
/// close, margin moves and collateral in and out, each one reported to the ledger. The actors that
/// trade (TraderHandler, PriceMoverHandler, FinalSettlement) share it.
abstract contract TradeExecution is GhostLedger {
    // ================================================================== trading internals

    /// @dev Notional up to q / 5 quote, kept within the trade-size limit three times out of four (the
    /// fourth may exceed it: TradeTooLarge): half the time log-uniform from 0.001 quote (dust and
    /// rounding), half uniform in the top decade (moves that put positions underwater); leverage
    /// 0.1x .. max.
    function _openByNotional(Action a, address t, Side side, uint256 notionalSeed, uint256 leverageSeed) internal {
        (uint256 q, ) = amm.getReserves();
        uint256 cap = q / 5;
        uint64 maxTradeRatio = amm.getLimits().maxTradeRatio;
        if (maxTradeRatio != 0 && notionalSeed % 4 != 0) cap = Math.min(cap, Math.mulDiv(q, maxTradeRatio, WAD));
        if (cap < 1e15) {
            _skip(a);
            return;
        }
        uint256 leverage = _leverage(leverageSeed);
        uint256 notional =
            (notionalSeed >> 2) & 1 == 0
                ? boundLog(notionalSeed >> 3, 1e15, cap)
                : bound(notionalSeed >> 3, cap / 10, cap);
        uint256 margin = Math.mulDiv(notional, WAD, leverage);
        if (margin == 0 || Math.mulDiv(margin, leverage, WAD) == 0) {
            _skip(a);
            return;
        }
        _trade(a, t, side, margin, leverage);
    }

    /// @dev Exactly the maximum (1 / IMR) half the time (positions that a small move makes
    /// liquidatable), else log-uniform in [0.1x, max].
    function _leverage(uint256 seed) internal view returns (uint256) {
        uint256 maxLeverage = (WAD * WAD) / _params().initialMarginRatio;
        if (seed % 4 < 2 || maxLeverage <= 1e17) return maxLeverage;
        return boundLog(seed >> 2, 1e17, maxLeverage);
    }

    struct TradeCtx {
        Kind kind;
        uint256 notional;
        uint256 feeRatio;
        uint256 expectedFee;
        bool isReverse;
        uint256 exit;
        uint256 freeBefore;
        uint256 insuranceBefore;
    }

    /// @dev openPosition with the fee predicted from the inputs: ceil(notional x fee) for an open,
    /// increase or reduce; for a reversal ceil(exit value x fee) plus, if a rest was opened,
    /// ceil((notional - exit value) x fee).
    function _trade(Action a, address t, Side side, uint256 margin, uint256 leverage) internal {
        TradeCtx memory c;
        c.notional = Math.mulDiv(margin, leverage, WAD);
        c.feeRatio = _params().feeRatio;
        int256 size = _position(t).size;
        if (size == 0 || (size > 0) == (side == Side.LONG)) {
            c.kind = size == 0 ? Kind.Open : Kind.Increase;
            c.expectedFee = _fee(c.notional, c.feeRatio);
            // Funding (accrued to now, as the trade will) ate more of the margin than this one adds.
            if (size != 0) {
                int256 marginLeft =
                    int256(uint256(_position(t).margin)) - clearingHouse.getPendingFunding(address(amm), t);
                _increaseFindsMarginEaten = marginLeft + int256(margin) < 0;
            }
        } else {
            // Classified as openPosition does, on the curve its swap trades on (any repeg first).
            // A position the pool cannot price (InsufficientReserve) counts as a reduce.
            (bool priced, uint256 exit) = _tryTradeExitValue(size);
            if (!priced || c.notional < exit) {
                c.kind = Kind.Reduce;
                c.expectedFee = _fee(c.notional, c.feeRatio);
            } else {
                c.kind = Kind.Reverse;
                c.isReverse = true;
                c.exit = exit;
                c.expectedFee = _fee(exit, c.feeRatio);
            }
        }
        // Enough free collateral for any outcome: the margin and the fee of the whole notional, and
        // with the dynamic curve on the largest spread it could pay (0 with a static curve).
        _ensureFree(
            t,
            margin +
                _fee(c.notional, c.feeRatio) +
                Math.mulDiv(c.notional, amm.getCurveParams().maxSpreadRatio, WAD, Math.Rounding.Ceil)
        );
        c.freeBefore = vault.freeCollateral(t);
        c.insuranceBefore = _insurance();
        _predictFlows(c.insuranceBefore);
        _snapshotHeld(t);
        bool seqUp = _sequencerUp();

        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.openPosition(address(amm), side, margin, leverage, 0, DEADLINE) {
            // An increase the margin left after funding cannot carry must not go through.
            if (_increaseFindsMarginEaten) eventMismatches++;
            _increaseFindsMarginEaten = false;
            if (!seqUp) {
                // Only reducing risk is open while the sequencer is down or in its grace period.
                if (c.kind != Kind.Reduce) sequencerGateViolations++;
                else actionsWhileSequencerDown++;
            }
            if (c.isReverse && _position(t).size != 0) c.expectedFee += _fee(c.notional - c.exit, c.feeRatio);
            uint256 fee = _checkEvents(t, 1, 0, c.freeBefore, c.insuranceBefore);
            // A repeg before the swap moved the exit value the fee was predicted from: then each
            // leg's fee is ceil(its Swapped quote x fee ratio).
            if (_callRepegged && c.kind != Kind.Open && c.kind != Kind.Increase) c.expectedFee = _callSwapFees;
            _recordFee(fee, c.expectedFee);
            successes[uint256(a)]++;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(a, c.kind, err);
        }
    }

    /// @dev closePosition; true if it went through.
    function _close(Action a, address t) internal returns (bool ok) {
        int256 size = _position(t).size;
        (, uint256 exit) = _tryExitValue(size);
        uint256 expectedFee = _fee(exit, _params().feeRatio);
        uint256 freeBefore = vault.freeCollateral(t);
        uint256 insuranceBefore = _insurance();
        _predictFlows(insuranceBefore);
        _snapshotHeld(t);
        bool seqUp = _sequencerUp();
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.closePosition(address(amm), 0, DEADLINE) {
            if (!seqUp) actionsWhileSequencerDown++;
            uint256 fee = _checkEvents(t, 1, 0, freeBefore, insuranceBefore);
            if (_callRepegged) expectedFee = _callSwapFees; // the repeg moved the exit value
            _recordFee(fee, expectedFee);
            if (_position(t).size != 0) eventMismatches++;
            ok = true;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(a, Kind.Close, err);
        }
    }

    /// @dev Tops the margin up to what the close needs (margin + PnL at exit - fee >= 0). With the
    /// dynamic curve on, at the worse of the exit now and the exit after a full repeg to the fresh
    /// index (which the close may trigger first; a partial one lies between), less the largest
    /// spread the close could pay.
    function _rescueIfUnderwater(address t) internal returns (bool toppedUp) {
        IClearingHouse.Position memory p = _position(t);
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) return false;
        IAmmCurve.CurveParams memory cp = amm.getCurveParams();
        if (cp.repegThresholdRatio != 0) exit = _worseExitAfterRepeg(p.size, exit);
        int256 remaining =
            int256(p.margin) -
                _pendingFunding(t) +
                _pnlAt(p.size, p.openNotional, exit) -
                int256(_fee(exit, _params().feeRatio)) -
                int256(Math.mulDiv(exit, cp.maxSpreadRatio, WAD, Math.Rounding.Ceil));
        if (remaining >= 0) return false;
        uint256 amount = uint256(-remaining);
        _ensureFree(t, amount);
        toppedUp = _addMargin(t, amount);
    }

    /// @dev The exit value of `size` on the curve repegged fully to the fresh index (quote reserve
    /// base x index, base unchanged), if worse for the position than `exit` (lower for a long, higher
    /// for a short); `exit` otherwise, or when there is no fresh index or the short cannot be priced.
    function _worseExitAfterRepeg(int256 size, uint256 exit) internal view returns (uint256) {
        (, , uint256 index) = amm.getValuationPrices(0);
        if (index == 0) return exit;
        (, uint256 b) = amm.getReserves();
        uint256 q = Math.mulDiv(b, index, WAD);
        uint256 s = _abs(size);
        if (size > 0) return Math.min(exit, Math.mulDiv(q, s, b + s));
        if (s >= b) return exit;
        return Math.max(exit, Math.mulDiv(q, s, b - s, Math.Rounding.Ceil));
    }

    /// @dev addMargin from free collateral (funded by the caller); true if it went through.
    function _addMargin(address t, uint256 amount) internal returns (bool ok) {
        uint256 freeBefore = vault.freeCollateral(t);
        uint256 insuranceBefore = _insurance();
        _flowBefore = 0; // addMargin settles no funding
        _snapshotHeld(t);
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.addMargin(address(amm), amount) {
            _checkEvents(t, 0, -int256(amount), freeBefore, insuranceBefore);
            ok = true;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(Action.AddMargin, Kind.AddMargin, err);
        }
    }

    /// @dev The largest removeMargin the rule allows: margin' + min(PnL at exit, 0) >=
    /// ceil(exit value x IMR). ok = false if the position cannot be priced.
    function _maxRemovable(
        address t,
        IClearingHouse.Position memory p
    ) internal view returns (bool ok, uint256 amount) {
        uint256 exit;
        (ok, exit) = _tryExitValue(p.size);
        if (!ok) return (false, 0);
        int256 pnl = _pnlAt(p.size, p.openNotional, exit);
        if (pnl > 0) pnl = 0;
        int256 room =
            int256(p.margin) -
                _pendingFunding(t) +
                pnl -
                int256(Math.mulDiv(exit, _params().initialMarginRatio, WAD, Math.Rounding.Ceil));
        amount = room > 0 ? Math.min(uint256(room), p.margin) : 0;
    }

    /// @dev Property 9, checked right after a successful removeMargin: the position keeps the initial
    /// margin ratio at its exit value with profit left out, and hence at the spot price too.
    function _checkAfterRemoveMargin(address t) internal {
        IClearingHouse.Position memory p = _position(t);
        uint256 imr = _params().initialMarginRatio;
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) {
            removeMarginViolations++; // the ClearingHouse priced it in this very call
            return;
        }
        int256 pnl = _pnlAt(p.size, p.openNotional, exit);
        if (pnl > 0) pnl = 0;
        if (int256(p.margin) - _pendingFunding(t) + pnl < int256(Math.mulDiv(exit, imr, WAD, Math.Rounding.Ceil))) {
            removeMarginViolations++;
        }
        // The spot value lies between the exit value and the position's cost to buy back, so the rule
        // above implies getMarginRatio >= IMR (see SPEC.md, property 9).
        if (clearingHouse.getMarginRatio(address(amm), t) < int256(imr)) removeMarginMarkViolations++;
    }

    // ================================================================== collateral internals

    /// @dev Deposits enough for `t` to hold `amount` (18 decimals) of free collateral, plus 10% (so
    /// withdrawals have something to take).
    function _ensureFree(address t, uint256 amount) internal {
        uint256 free = vault.freeCollateral(t);
        if (free >= amount) return;
        uint256 units = Math.ceilDiv(amount - free, scale);
        _deposit(t, units + units / 10);
    }

    /// @dev Mints `units` to `t` and deposits them; true if it went through.
    function _deposit(address t, uint256 units) internal returns (bool ok) {
        usdc.mint(t, units);
        vm.startPrank(t);
        usdc.approve(address(vault), units);
        try vault.deposit(units) {
            deposited[t] += units;
            totalDeposited += units;
            ok = true;
        } catch (bytes memory err) {
            _onRevert(Action.Deposit, Kind.Collateral, err);
        }
        vm.stopPrank();
    }

    function _withdraw(Action a, address t, uint256 units) internal returns (bool ok) {
        uint256 tokensBefore = usdc.balanceOf(t);
        bool seqUp = _sequencerUp();
        vm.prank(t);
        try vault.withdraw(units) {
            if (!seqUp) actionsWhileSequencerDown++;
            withdrawn[t] += units;
            totalWithdrawn += units;
            if (usdc.balanceOf(t) != tokensBefore + units) eventMismatches++;
            ok = true;
        } catch (bytes memory err) {
            _onRevert(a, Kind.Collateral, err);
        }
    }
}
