// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClaimsHook, ILiquidatorHook} from "./HandlerBase.sol";
import {TradeExecution} from "./TradeExecution.sol";

/// @notice The end of every run (`afterInvariant`, P12): every trader's position is liquidated or
/// closed and every trader withdraws all it has. Not a fuzz target.
abstract contract FinalSettlement is TradeExecution {
    // ================================================================== final settlement

    /// @notice Closes every position, in an order drawn from `seed`, pays the market's claims, then
    /// withdraws everything. Not a fuzz target: `afterInvariant` calls it (its state is discarded
    /// after the run).
    /// - Every close is the first swap of its block (the clock moves 1 s before it), so the
    ///   fluctuation limit cannot refuse it; closes are exempt from the trade-size limit and the
    ///   open-interest cap only limits growth.
    /// - A position whose liquidation margin ratio is below maintenance is liquidated by the
    ///   LiquidatorHandler (as often as needed: partial liquidations, the fluctuation limit), whatever
    ///   is left is closed. A position whose margin cannot cover its loss at its exit value but is not
    ///   liquidatable (the TWAP values it higher) is topped up first (fresh deposit + addMargin),
    ///   which moves no reserve and realises no PnL. Nothing else is done for a winner: its close never
    ///   waits for the pool (the gain the pool cannot pay yet is queued as its claim).
    /// - A short larger than the base reserve cannot buy back yet (InsufficientReserve): it is moved
    ///   to the end of the order and closes once the longs have returned their base.
    /// - Once every position is closed, `payClaims` pays the queue (P12 checks what is left).
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
        finalCloseFailures += remaining;
        IClaimsHook(claimsHandler).payAllClaims();
        for (uint256 i; i < n; ++i) {
            address t = _traders[i];
            uint256 balance = vault.balanceOf(t);
            if (balance != 0 && !_withdraw(Action.WithdrawAll, t, balance)) finalWithdrawFailures++;
        }
        _end();
    }

    /// @dev Makes `t`'s close possible: false if the pool cannot price it yet (short larger than the
    /// base reserve), else tops up its own margin if underwater.
    function _prepareFinalClose(address t) internal returns (bool) {
        (bool ok, ) = _tryExitValue(_position(t).size);
        if (!ok) return false;
        _rescueIfUnderwater(t);
        return true;
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
