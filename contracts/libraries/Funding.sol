// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

/// @title Funding
/// @notice The arithmetic of continuous funding, shared by the Amm (which accrues a market's
/// indices) and the ClearingHouse (which settles positions against them).
/// @dev A market keeps two cumulative indices, in quote per unit of base (18 decimals):
/// - the long index: what one unit of long has paid since the market opened (negative: received);
/// - the short index: what one unit of short has received (negative: paid).
/// While both sides are paid in full the two move together. The insurance fund takes what the
/// paying side pays beyond what the receiving side receives, and pays the difference the other
/// way; when it cannot pay in full, the receiving side's index grows by less.
/// Every rounding favours the protocol: the paying side's growth is rounded up, the receiving
/// side's down; a position's payment is rounded up and its receipt down; the fund's income is
/// rounded down and its payment up. The margin pool keeps the dust.
library Funding {
    uint256 internal constant WAD = 1e18;
    /// @notice The premium is a daily rate: indices grow by premium x elapsed / 1 day.
    uint256 internal constant PERIOD = 1 days;

    /// @notice One accrual over `elapsed` seconds at a constant premium and open interest.
    /// @param premium Quote per base per day; positive: longs pay shorts.
    /// @param longSize Total long size (base).
    /// @param shortSize Total short size (base).
    /// @param elapsed Seconds accrued.
    /// @param insuranceAvailable Most the insurance fund can pay (18 decimals).
    /// @return longIndexDelta Growth of the long index.
    /// @return shortIndexDelta Growth of the short index.
    /// @return insuranceFlow What the insurance fund receives (negative: pays), at least -insuranceAvailable.
    function accrue(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 elapsed,
        uint256 insuranceAvailable
    ) internal pure returns (int256 longIndexDelta, int256 shortIndexDelta, int256 insuranceFlow) {
        if (premium == 0 || elapsed == 0) return (0, 0, 0);
        uint256 magnitude = SignedMath.abs(premium);
        uint256 paidPerUnit = Math.mulDiv(magnitude, elapsed, PERIOD, Math.Rounding.Ceil);
        uint256 receivedPerUnit = Math.mulDiv(magnitude, elapsed, PERIOD);
        (uint256 payerSize, uint256 receiverSize) = premium > 0 ? (longSize, shortSize) : (shortSize, longSize);

        uint256 payments = Math.mulDiv(payerSize, paidPerUnit, WAD);
        uint256 receipts = Math.mulDiv(receiverSize, receivedPerUnit, WAD, Math.Rounding.Ceil);
        if (receipts > payments + insuranceAvailable) {
            // The fund cannot make up the difference: the receiving side gets what the paying side
            // pays plus all the fund has, and no more. receiverSize > 0 here, as receipts > 0.
            receivedPerUnit = Math.mulDiv(payments + insuranceAvailable, WAD, receiverSize);
            receipts = Math.mulDiv(receiverSize, receivedPerUnit, WAD, Math.Rounding.Ceil);
        }
        insuranceFlow = int256(payments) - int256(receipts);
        if (premium > 0) {
            longIndexDelta = int256(paidPerUnit);
            shortIndexDelta = int256(receivedPerUnit);
        } else {
            longIndexDelta = -int256(receivedPerUnit);
            shortIndexDelta = -int256(paidPerUnit);
        }
    }

    /// @notice What a position owes for the index moves since its checkpoint; negative: it receives.
    /// Rounded up (toward plus infinity): a payment is never under-charged, a receipt never overpaid.
    /// @param size Position size: + long (settles on the long index), - short (on the short index).
    /// @param indexDelta The side's index now minus the position's checkpoint.
    function owed(int256 size, int256 indexDelta) internal pure returns (int256) {
        if (size == 0 || indexDelta == 0) return 0;
        uint256 magnitude = SignedMath.abs(size);
        uint256 deltaMagnitude = SignedMath.abs(indexDelta);
        // A long pays when its index rose; a short pays when its index (what it receives) fell.
        bool pays = (size > 0) == (indexDelta > 0);
        if (pays) return int256(Math.mulDiv(magnitude, deltaMagnitude, WAD, Math.Rounding.Ceil));
        return -int256(Math.mulDiv(magnitude, deltaMagnitude, WAD));
    }
}
