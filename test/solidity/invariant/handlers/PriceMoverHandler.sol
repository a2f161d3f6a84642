// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Side} from "../../../../contracts/interfaces/IAmm.sol";
import {TradeExecution} from "./TradeExecution.sol";

/// @notice The price mover: one of the four traders trades hard against another's open position, so
/// that positions go underwater and become liquidatable. It trades through the same machinery as the
/// traders and is deployed as part of the TraderHandler contract (its selector is one of that
/// contract's fuzz targets), so the fuzzer's choices, and the fixed seed's runs, are those of the
/// single-file suite.
abstract contract PriceMoverHandler is TradeExecution {
    /// @notice A crash or a squeeze: another trader trades against an open position's side, at the
    /// maximum leverage, for the top decade of the notional range (counted as an Open action). These
    /// moves, with time passing beyond the mark TWAP window, make positions liquidatable.
    function movePrice(uint256 traderSeed, uint256 notionalSeed) external {
        _begin(Action.Open);
        (address victim, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Open);
            return;
        }
        uint256 v;
        while (_traders[v] != victim) v++;
        address t = _traders[(v + 1 + ((traderSeed >> 8) % (N_TRADERS - 1))) % N_TRADERS];
        Side side = _position(victim).size > 0 ? Side.SHORT : Side.LONG;
        // Bit 2 set: the top decade; leverage seed 0: the maximum.
        _openByNotional(Action.Open, t, side, notionalSeed | 4, 0);
        _end();
    }
}
