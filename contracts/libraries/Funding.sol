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
/// While both sides are paid in full the two move together. What the paying side pays beyond what
/// the receiving side receives (the long-short imbalance's funding) and the difference the other way
/// go to and come from the market's backers ({split}):
/// - on a static market, the insurance fund alone: it takes the whole surplus and pays a shortfall
///   out of a budget ({subsidyBudget}): a fraction of its balance per day of funding, never the
///   whole fund;
/// - on a market whose dynamic curve is on ({Sources-budgetOn}), the market's own AMM budget first
///   (seed 004: the vAMM holds the imbalance, so its funds answer for it): a shortfall is paid from
///   the budget above its floor, then by the fund within its subsidy budget; a surplus refills the
///   budget up to its target, and the fund takes the rest.
/// Beyond what they can pay the receiving side's index grows by less.
/// Every rounding favours the protocol: the paying side's growth is rounded up, the receiving
/// side's down; a position's payment is rounded up and its receipt down; the backers' income is
/// rounded down and their payment up. The margin pool keeps the dust.
///
/// Products are plain checked multiplications, not 512-bit `mulDiv`s: the Amm keeps sizes in 104
/// bits, premiums in 96 and indices in 128, elapsed time fits 40 bits, so no product here comes near
/// 2^256 (and checked arithmetic would revert rather than wrap if one did). It saves ~2,000 gas a trade.
library Funding {
    uint256 internal constant WAD = 1e18;
    /// @notice The premium is a daily rate: indices grow by premium x elapsed / 1 day.
    uint256 internal constant PERIOD = 1 days;

    /// @notice Per-unit growth of the indices `elapsed` seconds into a period at `premium`: what a
    /// unit of the paying side has paid (rounded up) and a unit of the receiving side has received
    /// (rounded down). Growth over a stretch of the period is the difference of two such values,
    /// so the indices are a function of time alone and need not be written as time passes.
    function growth(int256 premium, uint256 elapsed) internal pure returns (uint256 paid, uint256 received) {
        uint256 product = SignedMath.abs(premium) * elapsed;
        received = product / PERIOD;
        paid = _ceilDiv(product, PERIOD);
    }

    /// @notice Most the insurance fund may pay toward a stretch of funding: `maxSubsidyRatio` of
    /// `insuranceAvailable` per day, pro rata over the stretch's seconds, rounded down (the fund
    /// pays no more than its budget), and never more than `insuranceAvailable`. Pro rata time, not
    /// per update: calling updates more often does not raise what a day of funding can draw.
    /// @param insuranceAvailable What the insurance fund holds (18 decimals).
    /// @param ratioSeconds `maxSubsidyRatio` (fraction of the fund per day, 18 decimals) x the
    /// stretch's seconds of funding.
    function subsidyBudget(uint256 insuranceAvailable, uint256 ratioSeconds) internal pure returns (uint256) {
        return Math.min(Math.mulDiv(insuranceAvailable, ratioSeconds, WAD * PERIOD), insuranceAvailable);
    }

    /// @notice What, besides the two sides, pays or takes a stretch's imbalance ({split}).
    /// @param insuranceAvailable What the insurance fund holds (18 decimals).
    /// @param ratioSeconds The fund's budget ratio per day x the stretch's seconds (see {subsidyBudget}).
    /// @param budgetOn Whether the market's AMM budget takes part (its dynamic curve is on).
    /// @param budgetAvailable The budget above its floor: the most it pays toward a shortfall.
    /// @param budgetRoom The budget below its target: the most of a surplus it takes.
    struct Sources {
        uint256 insuranceAvailable;
        uint256 ratioSeconds;
        bool budgetOn;
        uint256 budgetAvailable;
        uint256 budgetRoom;
    }

    /// @notice What the paying side pays over a stretch less what the receiving side would receive
    /// in full ({split}'s payments - receipts): positive, a surplus; negative, a shortfall. Lets a
    /// caller read a backer's balance only when the split will need it.
    function imbalance(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 paidPerUnit,
        uint256 receivedPerUnit
    ) internal pure returns (int256) {
        (uint256 payerSize, uint256 receiverSize) = premium > 0 ? (longSize, shortSize) : (shortSize, longSize);
        return int256((payerSize * paidPerUnit) / WAD) - int256(_ceilDiv(receiverSize * receivedPerUnit, WAD));
    }

    /// @notice Splits one stretch of a period between the two sides, the market's AMM budget (when
    /// `s.budgetOn`) and the insurance fund. With receipts (rounded up) above payments (rounded
    /// down), the shortfall is paid by the budget, up to `s.budgetAvailable`, then by the fund, up
    /// to its {subsidyBudget}; beyond both the receiving side's per-unit growth is the largest the
    /// payments and both sources cover. A surplus goes to the budget, up to `s.budgetRoom`, and
    /// the rest to the fund. The budget's share depends on the imbalance and the budget alone (not
    /// on the fund), so a view of the budget needs no fund balance. With the budget off (a static
    /// market) the fund alone pays and takes, as before the budget took part.
    /// @param premium Quote per base per day; positive: longs pay shorts.
    /// @param longSize Total long size (base) over the stretch.
    /// @param shortSize Total short size (base) over the stretch.
    /// @param paidPerUnit What a unit of the paying side pays over the stretch.
    /// @param receivedPerUnit What a unit of the receiving side would receive, paid in full.
    /// @param s The backers' balances (see {Sources}).
    /// @return longIndexDelta Growth of the long index.
    /// @return shortIndexDelta Growth of the short index (less than in full beyond the sources).
    /// @return insuranceFlow What the insurance fund receives (negative: pays), at least minus its
    /// {subsidyBudget} for the stretch (computed only when the receiving side is owed more than the
    /// paying side and the budget pay, so a market whose larger side pays never spends gas on it).
    /// @return budgetFlow What the AMM budget receives (negative: pays), within
    /// [-s.budgetAvailable, s.budgetRoom]; 0 when the budget is off.
    function split(
        int256 premium,
        uint256 longSize,
        uint256 shortSize,
        uint256 paidPerUnit,
        uint256 receivedPerUnit,
        Sources memory s
    ) internal pure returns (int256 longIndexDelta, int256 shortIndexDelta, int256 insuranceFlow, int256 budgetFlow) {
        (uint256 payerSize, uint256 receiverSize) = premium > 0 ? (longSize, shortSize) : (shortSize, longSize);
        uint256 payments = (payerSize * paidPerUnit) / WAD;
        uint256 receipts = _ceilDiv(receiverSize * receivedPerUnit, WAD);
        if (receipts > payments) {
            // The budget pays first, as far as it can (0 when it is off): its share depends on the
            // budget alone, never on the fund.
            uint256 fromBudget = Math.min(receipts - payments, s.budgetAvailable);
            uint256 affordable = payments + fromBudget;
            if (receipts > affordable) {
                affordable += subsidyBudget(s.insuranceAvailable, s.ratioSeconds);
                if (receipts > affordable) {
                    // The sources cannot make up the difference: the receiving side gets what the
                    // paying side pays plus both, and no more. receiverSize > 0 here, as receipts > 0.
                    receivedPerUnit = Math.mulDiv(affordable, WAD, receiverSize);
                    receipts = _ceilDiv(receiverSize * receivedPerUnit, WAD);
                }
            }
            budgetFlow = -int256(fromBudget);
            // The fund pays the rest (0 when the budget covered it all); the reduced receipts can
            // fall below what the payers and the budget put in by rounding: the fund keeps that dust.
            insuranceFlow = int256(payments + fromBudget) - int256(receipts);
        } else if (s.budgetOn) {
            uint256 toBudget = Math.min(payments - receipts, s.budgetRoom);
            budgetFlow = int256(toBudget);
            insuranceFlow = int256(payments - receipts - toBudget);
        } else {
            insuranceFlow = int256(payments - receipts);
        }
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
        if (pays) return int256(_ceilDiv(magnitude * deltaMagnitude, WAD));
        return -int256((magnitude * deltaMagnitude) / WAD);
    }

    /// @dev a / b rounded up, for b > 0.
    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
