// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {Side} from "../../../../contracts/interfaces/IAmm.sol";
import {ClearingHouse} from "../../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../../contracts/Vault.sol";
import {Amm} from "../../../../contracts/Amm.sol";
import {MockERC20} from "../../../../contracts/test/MockERC20.sol";
import {GhostLedger} from "./GhostLedger.sol";
import {PriceMoverHandler} from "./PriceMoverHandler.sol";
import {FinalSettlement} from "./FinalSettlement.sol";

/// @notice One actor: four traders (picked by a fuzzed index) trading in the one market and moving
/// collateral in and out of the Vault. Inputs are bounded so that most calls do something; reverts the
/// protocol is entitled to (pause, limits, margin checks, bad debt) are caught and counted per action;
/// any other revert is an "unexpected revert" the invariants require to be zero. The deployed contract
/// also carries the price mover (`movePrice`), the final settlement (`settleAll`) and the ghost ledger
/// the other handlers report to.
contract TraderHandler is PriceMoverHandler, FinalSettlement {
    constructor(
        ClearingHouse clearingHouse_,
        Vault vault_,
        Amm amm_,
        MockERC20 usdc_
    ) GhostLedger(clearingHouse_, vault_, amm_, usdc_) {}

    // ================================================================== actions (fuzz targets)

    /// @notice Opens on any side: an open, increase, reduce or reverse depending on the position.
    function openPosition(uint256 traderSeed, uint256 sideSeed, uint256 notionalSeed, uint256 leverageSeed) external {
        _begin(Action.Open);
        Side side = sideSeed & 1 == 0 ? Side.LONG : Side.SHORT;
        _openByNotional(Action.Open, _traderAt(traderSeed), side, notionalSeed, leverageSeed);
        _end();
    }

    /// @notice Adds to the position on its own side (opens one if there is none).
    function increasePosition(uint256 traderSeed, uint256 notionalSeed, uint256 leverageSeed) external {
        _begin(Action.Increase);
        address t = _traderAt(traderSeed);
        int256 size = _position(t).size;
        Side side = size == 0 ? (notionalSeed & 1 == 0 ? Side.LONG : Side.SHORT) : (size > 0 ? Side.LONG : Side.SHORT);
        _openByNotional(Action.Increase, t, side, notionalSeed >> 1, leverageSeed);
        _end();
    }

    /// @notice Trades against the position for 0.01% .. 99.99% of its exit value.
    function reducePosition(uint256 traderSeed, uint256 fractionSeed, uint256 leverageSeed) external {
        _begin(Action.Reduce);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Reduce);
            return;
        }
        int256 size = _position(t).size;
        (bool ok, uint256 exit) = _tryTradeExitValue(size);
        uint256 leverage = _leverage(leverageSeed);
        uint256 notional = Math.mulDiv(exit, bound(fractionSeed, 1, 9_999), 10_000);
        uint256 margin = Math.mulDiv(notional, WAD, leverage);
        if (!ok || margin == 0 || Math.mulDiv(margin, leverage, WAD) == 0) {
            _skip(Action.Reduce);
            return;
        }
        _trade(Action.Reduce, t, size > 0 ? Side.SHORT : Side.LONG, margin, leverage);
        _end();
    }

    /// @notice Trades against the position for its exit value plus 0 .. 20% of the quote reserve:
    /// closes it and, with a rest, opens the other side.
    function reversePosition(uint256 traderSeed, uint256 extraSeed, uint256 leverageSeed) external {
        _begin(Action.Reverse);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Reverse);
            return;
        }
        int256 size = _position(t).size;
        (bool ok, uint256 exit) = _tryTradeExitValue(size);
        if (!ok || exit == 0) {
            _skip(Action.Reverse);
            return;
        }
        uint256 margin;
        uint256 leverage;
        if (extraSeed % 8 == 0) {
            // Exactly the exit value (1x): the reversal is a plain close through openPosition.
            leverage = WAD;
            margin = exit;
        } else {
            (uint256 q, ) = amm.getReserves();
            leverage = _leverage(leverageSeed);
            uint256 notional = exit + boundLog(extraSeed >> 3, 1, q / 5);
            margin = Math.mulDiv(notional, WAD, leverage, Math.Rounding.Ceil); // margin x leverage >= notional
        }
        _trade(Action.Reverse, t, size > 0 ? Side.SHORT : Side.LONG, margin, leverage);
        _end();
    }

    /// @notice Closes a position; a quarter of the time the trader first tops up a margin that cannot cover
    /// the close (margin + PnL at exit - fee < 0), which would otherwise revert PositionUnderwater.
    function closePosition(uint256 traderSeed, uint256 rescueSeed) external {
        _begin(Action.Close);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Close);
            return;
        }
        if (rescueSeed % 4 == 0 && _rescueIfUnderwater(t)) closeTopUps++;
        if (_close(Action.Close, t)) successes[uint256(Action.Close)]++;
        _end();
    }

    function addMargin(uint256 traderSeed, uint256 amountSeed) external {
        _begin(Action.AddMargin);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.AddMargin);
            return;
        }
        uint256 amount = boundLog(amountSeed, 1, 1e24);
        _ensureFree(t, amount);
        if (_addMargin(t, amount)) successes[uint256(Action.AddMargin)]++;
        _end();
    }

    /// @notice Removes margin: a quarter of the time exactly the most the rule allows, a quarter one
    /// wei more (must be refused), a quarter any amount up to that most, else any amount up to the
    /// whole margin.
    function removeMargin(uint256 traderSeed, uint256 amountSeed) external {
        _begin(Action.RemoveMargin);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.RemoveMargin);
            return;
        }
        IClearingHouse.Position memory p = _position(t);
        uint256 amount;
        uint256 mode = amountSeed % 4;
        if (mode == 3) {
            // A dust position can be left with no margin at all by a reduce: nothing to remove then.
            amount = p.margin == 0 ? 0 : bound(amountSeed >> 2, 1, p.margin);
        } else {
            (bool ok, uint256 maxAmount) = _maxRemovable(t, p);
            if (!ok) {
                _skip(Action.RemoveMargin);
                return;
            }
            if (mode == 0) amount = maxAmount;
            else if (mode == 1) amount = Math.min(maxAmount + 1, p.margin);
            else amount = maxAmount == 0 ? 0 : bound(amountSeed >> 2, 1, maxAmount);
        }
        if (amount == 0) {
            _skip(Action.RemoveMargin);
            return;
        }

        uint256 freeBefore = vault.freeCollateral(t);
        _flowBefore = 0; // removeMargin settles no funding
        _snapshotHeld(t);
        bool seqUp = _sequencerUp();
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.removeMargin(address(amm), amount) {
            if (!seqUp) sequencerGateViolations++;
            _checkEvents(t, 0, int256(amount), freeBefore, _insurance());
            _checkAfterRemoveMargin(t);
            successes[uint256(Action.RemoveMargin)]++;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(Action.RemoveMargin, Kind.RemoveMargin, err);
            // The most the documented rule allows must be accepted.
            if (mode == 0 && _selector(err) == IClearingHouse.MarginRatioTooLow.selector) removeMarginMaxRefused++;
        }
        _end();
    }

    function deposit(uint256 traderSeed, uint256 unitsSeed) external {
        _begin(Action.Deposit);
        // 1 token unit .. 1,000,000 tokens, whatever the decimals.
        uint256 units = boundLog(unitsSeed, 1, 1e24 / scale);
        if (_deposit(_traderAt(traderSeed), units)) successes[uint256(Action.Deposit)]++;
        _end();
    }

    /// @notice Withdraws any amount up to the trader's whole free collateral (never refused).
    function withdraw(uint256 traderSeed, uint256 unitsSeed) external {
        _begin(Action.Withdraw);
        address t = _traderAt(traderSeed);
        uint256 balance = vault.balanceOf(t);
        if (balance == 0) {
            _skip(Action.Withdraw);
            return;
        }
        if (_withdraw(Action.Withdraw, t, bound(unitsSeed, 1, balance))) successes[uint256(Action.Withdraw)]++;
        _end();
    }

    /// @notice Property 10: a trader with no position withdraws all its free collateral (token units,
    /// rounded down); a failure is recorded, not merely counted as a revert.
    function withdrawAll(uint256 traderSeed) external {
        _begin(Action.WithdrawAll);
        address t;
        bool found;
        for (uint256 i; i < N_TRADERS && !found; ++i) {
            t = _traders[(traderSeed + i) % N_TRADERS];
            found = _position(t).size == 0 && vault.balanceOf(t) != 0;
        }
        if (!found) {
            _skip(Action.WithdrawAll);
            return;
        }
        if (_withdraw(Action.WithdrawAll, t, vault.balanceOf(t))) {
            successes[uint256(Action.WithdrawAll)]++;
            if (vault.freeCollateral(t) >= scale) withdrawAllFailures++;
        } else {
            withdrawAllFailures++;
        }
        _end();
    }
}
