// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IVaultErrors} from "../../../../contracts/interfaces/IVault.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../../contracts/interfaces/IVault.sol";
import {ILiquidatorHook} from "./HandlerBase.sol";
import {TradeExecution} from "./TradeExecution.sol";

/// @notice The end of every run (`afterInvariant`, P12): every trader's position is liquidated or
/// closed and every trader withdraws all it has. Not a fuzz target.
abstract contract FinalSettlement is TradeExecution {
    // ================================================================== final settlement

    /// @notice Closes every position, in an order drawn from `seed`, then withdraws everything. Not a
    /// fuzz target: `afterInvariant` calls it (its state is discarded after the run).
    /// - Every close is the first swap of its block (the clock moves 1 s before it), so the
    ///   fluctuation limit cannot refuse it; closes are exempt from the trade-size limit and the
    ///   open-interest cap only limits growth.
    /// - A position whose liquidation margin ratio is below maintenance is liquidated by the
    ///   LiquidatorHandler (as often as needed: partial liquidations, the fluctuation limit), whatever
    ///   is left is closed. A position whose margin cannot cover its loss at its exit value but is not
    ///   liquidatable (the TWAP values it higher) is topped up first (fresh deposit + addMargin), and
    ///   when the shared margin pool cannot pay a winner because of other positions' unrealised losses,
    ///   another open position lends it the shortfall (addMargin, paid back when it closes). Neither
    ///   moves a reserve or realises PnL.
    /// - With a recorded shortfall (bad debt the insurance fund could not pay) the pool holds less than
    ///   the winners' claims for good: a close it cannot pay (InsufficientMarginPool) is "stranded",
    ///   not a failure.
    /// - A short larger than the base reserve cannot buy back yet (InsufficientReserve): it is moved
    ///   to the end of the order and closes once the longs have returned their base.
    function settleAll(uint256 seed) external {
        uint256[] memory order = _permutation(seed);
        uint256 n = order.length;
        uint256 remaining = n;
        // At most n passes over the queue: every pass closes at least every long left.
        for (uint256 pass; pass < n + 1 && remaining != 0; ++pass) {
            for (uint256 k; k < n; ++k) {
                address t = _traders[order[k]];
                if (_position(t).size == 0) continue;
                vm.warp(block.timestamp + 1);
                vm.roll(block.number + 1);
                // Liquidate first: a liquidatable position must be, and a liquidation can be partial or
                // bounded by the per-block fluctuation limit, so it is repeated block after block.
                for (uint256 j; j < 16 && _position(t).size != 0; ++j) {
                    (bool done, bool liquidatable) = ILiquidatorHook(liquidatorHandler).liquidateForSettlement(t);
                    if (done) finalLiquidations++;
                    if (!liquidatable) break;
                    vm.warp(block.timestamp + 1);
                    vm.roll(block.number + 1);
                }
                if (_position(t).size == 0) continue;
                if (!_prepareFinalClose(t)) {
                    finalDeferrals++;
                    continue;
                }
                if (!_close(Action.Close, t)) {
                    finalCloseFailures++;
                    finalCloseLastError = lastError;
                }
            }
            remaining = 0;
            for (uint256 i; i < n; ++i) if (_position(_traders[i]).size != 0) remaining++;
        }
        if (remaining != 0) {
            if (_shortfall() != 0) finalStranded = remaining;
            else finalCloseFailures += remaining;
        }
        for (uint256 i; i < n; ++i) {
            address t = _traders[i];
            uint256 balance = vault.balanceOf(t);
            if (balance != 0 && !_withdraw(Action.WithdrawAll, t, balance)) finalWithdrawFailures++;
        }
        _end();
    }

    /// @dev Makes `t`'s close possible: false if the pool cannot price it yet (short larger than the
    /// base reserve), else tops up its own margin if underwater and lends the pool any shortfall.
    function _prepareFinalClose(address t) internal returns (bool) {
        IClearingHouse.Position memory p = _position(t);
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) return false;
        _rescueIfUnderwater(t);
        p = _position(t);
        // The pool pays margin + PnL (the payout, plus the fee to the insurance fund).
        int256 take = int256(p.margin) - _pendingFunding(t) + _pnlAt(p.size, p.openNotional, exit);
        // The close's funding accrual pays the insurance fund's share out of the pool first.
        int256 flow = amm.getFundingIndices(_insurance()).insuranceFlow;
        if (flow > 0) take += flow;
        (uint256 pool, ) = vault.getPoolBalances();
        if (take > int256(pool)) {
            uint256 shortfall = uint256(take) - pool;
            bool lent;
            for (uint256 i; i < N_TRADERS && !lent; ++i) {
                address lender = _traders[i];
                if (lender == t || _position(lender).size == 0) continue;
                _ensureFree(lender, shortfall);
                _addMargin(lender, shortfall);
                finalTopUps++;
                lent = true;
            }
            // The pool is shared by every market: with no lender here, a position in another market
            // lends it (several markets at once; `peers` is empty in a single-market campaign).
            for (uint256 i; i < _peers.length && !lent; ++i) {
                lent = _peers[i].lendToPool(shortfall);
                if (lent) finalTopUps++;
            }
        }
        return true;
    }

    /// @dev The other markets' settlements (linked by the test's setUp), which can lend to the pool.
    FinalSettlement[] internal _peers;

    /// @notice Links the other markets' TraderHandlers (several markets at once), each allowed to ask
    /// this one for a pool loan.
    function setPeers(FinalSettlement[] calldata peers) external {
        require(msg.sender == _deployer, "only the deployer");
        for (uint256 i; i < peers.length; ++i) {
            if (address(peers[i]) == address(this)) continue;
            _peers.push(peers[i]);
            isHandler[address(peers[i])] = true;
        }
    }

    /// @notice A pool loan asked by another market's settlement: one of this market's open positions
    /// adds `amount` of margin (fresh collateral), paid back at its own close. False if none is open.
    function lendToPool(uint256 amount) external onlyHandler returns (bool) {
        for (uint256 i; i < N_TRADERS; ++i) {
            address lender = _traders[i];
            if (_position(lender).size == 0) continue;
            _ensureFree(lender, amount);
            return _addMargin(lender, amount);
        }
        return false;
    }

    /// @dev Fisher-Yates over the trader indexes.
    function _permutation(uint256 seed) internal pure returns (uint256[] memory order) {
        order = new uint256[](N_TRADERS);
        for (uint256 i; i < N_TRADERS; ++i) order[i] = i;
        for (uint256 i = N_TRADERS - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
