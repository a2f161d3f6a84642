// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {SequencerUptime} from "../../../contracts/libraries/SequencerUptime.sol";

/// @dev Whether `clearingHouse`'s sequencer check passes now: the contracts' own rule
/// ({SequencerUptime}) on its feed and grace period.
function sequencerUp(IClearingHouse clearingHouse) view returns (bool) {
    (SequencerUptime.Status status, , ) = SequencerUptime.status(
        clearingHouse.sequencerFeed(),
        clearingHouse.sequencerGracePeriod(),
        block.timestamp
    );
    return status == SequencerUptime.Status.UP;
}
