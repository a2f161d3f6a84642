// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {HandlerBase} from "./HandlerBase.sol";
import {TraderHandler} from "./TraderHandler.sol";

/// @notice A handler acting in one market with an address of its own (a keeper, a liquidator, a
/// payer of claims), built from that market's TraderHandler: it works on the same system and
/// reports what its calls moved to the TraderHandler's ghost ledger.
/// @dev Its own file, not HandlerBase.sol: the TraderHandler is itself a HandlerBase.
abstract contract MarketActor is HandlerBase {
    TraderHandler public immutable traders;

    constructor(
        TraderHandler traders_,
        address actor,
        string memory label
    ) HandlerBase(traders_.clearingHouse(), traders_.vault(), traders_.amm(), traders_.usdc()) {
        traders = traders_;
        vm.label(actor, label);
    }
}
