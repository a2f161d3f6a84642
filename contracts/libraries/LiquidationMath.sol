// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {FixedPoint} from "./FixedPoint.sol";
import {PositionMath, StoredPosition} from "./PositionMath.sol";

/// @title LiquidationMath
/// @notice The rules of liquidation as pure functions: the margin ratio a position is judged by,
/// how much of it one liquidation closes, and how what it has left is split. The liquidation
/// module and the viewer both run them; nothing else restates them.
library LiquidationMath {
    using FixedPoint for uint256;

    /// @notice What a position's value is split into by a liquidation.
    /// @dev `fromBudget` is what the market's AMM budget paid (of the fair bad debt first, then of
    /// the liquidator's reward: `rewardFromBudget`), `covered` the fund's part of the rest of the
    /// fair bad debt and `shortfall` what neither could pay.
    struct Split {
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 chargedToMarket;
        uint256 covered;
        uint256 shortfall;
        uint256 traderPayout;
        uint256 fromBudget;
        uint256 rewardFromBudget;
    }

    /// @notice The margin ratio a liquidation is judged by: the best for the trader of the spot
    /// price and the mark TWAP, and of the index when the spot is more than `maxSpreadRatio` from
    /// it (an index of 0 is none), so one block's trades cannot make a position liquidatable.
    function ratio(
        StoredPosition memory p,
        int256 marginAfterFunding,
        uint256 spot,
        uint256 markTwap,
        uint256 index,
        uint256 maxSpreadRatio
    ) internal pure returns (int256 r) {
        r = PositionMath.ratioAt(p, marginAfterFunding, spot);
        int256 atTwap = PositionMath.ratioAt(p, marginAfterFunding, markTwap);
        if (atTwap > r) r = atTwap;
        if (index != 0) {
            uint256 spread = spot > index ? spot - index : index - spot;
            if (spread > index.wMulDown(maxSpreadRatio)) {
                int256 atIndex = PositionMath.ratioAt(p, marginAfterFunding, index);
                if (atIndex > r) r = atIndex;
            }
        }
    }

    /// @notice How much base one liquidation closes before price impact is seen. Closing a
    /// fraction f at penalty ratio c takes the ratio r to (r - f c) / (1 - f); solving for the
    /// target t = maintenance + buffer gives f = (t - r) / (t - c), rounded up. The whole position
    /// when r is below c, or when what would remain is worth less than `minPositionNotional` at
    /// spot; never more than `maxCloseBase`, what the pool takes within its per-block fluctuation
    /// limit (0: the limit is reached in this block).
    function closeBase(
        uint256 absSize,
        int256 r,
        uint256 spot,
        uint256 maintenanceMarginRatio,
        IClearingHouse.LiquidationParams memory params,
        uint256 maxCloseBase
    ) internal pure returns (uint256 base) {
        base = absSize;
        if (r >= int256(uint256(params.feeRatio))) {
            // Here feeRatio <= r < maintenance < target, so the fraction is in (0, 1).
            uint256 target = maintenanceMarginRatio + params.partialBuffer;
            uint256 part = absSize.mulDivUp(target - uint256(r), target - params.feeRatio);
            if (part < absSize && (absSize - part).wMulDown(spot) >= params.minPositionNotional) base = part;
        }
        return Math.min(base, maxCloseBase);
    }

    /// @notice Whether the rest of a partly closed position `p`, holding `equity` less the
    /// penalty and valued at the spot (`quoteReserve / baseReserve`) the close left behind, keeps at
    /// least the penalty ratio. If not, the partial size's neglect of price impact left it near
    /// water, and the rest is closed too.
    function restHealthy(
        StoredPosition memory p,
        int256 equity,
        uint256 penalty,
        uint256 feeRatio,
        uint256 quoteReserve,
        uint256 baseReserve
    ) internal pure returns (bool) {
        uint256 notional = PositionMath.notionalAtReserves(p.size, quoteReserve, baseReserve);
        int256 restEquity = equity - int256(penalty) + PositionMath.pnl(p.size, p.openNotional, notional);
        return restEquity >= int256(notional.wMulUp(feeRatio));
    }

    /// @notice The price a liquidation's bad debt is judged at: the index when the market has one
    /// (0: none), else the mark TWAP, unless the spot is better for the position (higher for a
    /// long, lower for a short). An execution worse than it (a spot pushed away from the index,
    /// the close's own price impact) is no loss of the fund's to cover.
    function fairPrice(bool long, uint256 spot, uint256 markTwap, uint256 index) internal pure returns (uint256) {
        uint256 reference_ = index != 0 ? index : markTwap;
        if (long) return spot > reference_ ? spot : reference_;
        return spot < reference_ ? spot : reference_;
    }

    /// @notice The position's equity after the close had `closeBase` been closed at `fair` for the
    /// quote `fairQuote` instead of `quote`: `equity` plus what the execution lost against it.
    function fairEquity(bool long, int256 equity, uint256 quote, uint256 fairQuote) internal pure returns (int256) {
        int256 difference = int256(fairQuote) - int256(quote);
        return long ? equity + difference : equity - difference;
    }

    /// @notice The bad debt a liquidation leaves that the fair price ({fairPrice}) shows too: the
    /// part of -`equity` within -`equityAtFairPrice`, 0 without bad debt. The market's AMM budget
    /// and then the insurance fund cover it; the rest of the bad debt is the market's.
    function fairBadDebt(int256 equity, int256 equityAtFairPrice) internal pure returns (uint256) {
        if (equity >= 0 || equityAtFairPrice >= 0) return 0;
        return Math.min(uint256(-equityAtFairPrice), uint256(-equity));
    }

    /// @notice Splits what the position has left after the close (`equity`) between the penalty,
    /// the trader and, when it is negative, the market and the insurance fund (holding `fund`).
    /// The penalty is bounded by the equity, so a liquidation never makes bad debt. With bad debt
    /// the fair bad debt ({fairBadDebt}) is paid first by the market's own AMM budget, then by
    /// the fund as far as it holds; what neither pays is the shortfall. The bad debt beyond the
    /// fair price is charged to the market (its pool pays its winners less: their claims wait).
    /// The liquidator's half is paid only when the fair price shows bad debt too, so a group that
    /// controls both sides gains nothing by pushing the spot: by what the budget spent beyond the
    /// fair bad debt, then by the fund as far as it has left. `fromBudget` is what the budget spent
    /// of `fair bad debt + penalty / 2` ({IAmmCurve-coverBadDebt}), so at most that.
    function split(
        int256 equity,
        int256 equityAtFairPrice,
        uint256 penalty,
        uint256 fund,
        uint256 fromBudget
    ) internal pure returns (Split memory s) {
        uint256 liquidatorHalf = penalty / 2;
        if (equity >= 0) {
            uint256 left = uint256(equity);
            if (left >= penalty) {
                s.reward = liquidatorHalf;
                s.insurancePenalty = penalty - liquidatorHalf;
                s.traderPayout = left - penalty;
            } else {
                s.reward = Math.min(liquidatorHalf, left);
                s.insurancePenalty = left - s.reward;
            }
        } else {
            s.badDebt = uint256(-equity);
            uint256 fair = fairBadDebt(equity, equityAtFairPrice);
            s.chargedToMarket = s.badDebt - fair;
            s.fromBudget = fromBudget;
            uint256 forDebt = Math.min(fromBudget, fair);
            uint256 rest = fair - forDebt;
            s.covered = Math.min(rest, fund);
            s.shortfall = rest - s.covered;
            if (fair != 0) {
                s.rewardFromBudget = fromBudget - forDebt;
                s.reward = s.rewardFromBudget + Math.min(liquidatorHalf - s.rewardFromBudget, fund - s.covered);
            }
        }
    }

    /// @notice The part of the liquidator's `reward` that only a realised profit the market's pool
    /// cannot pay would pay: what is left of `realizedPnl` (after what the rest carried) beyond
    /// `profitAvailable` and the trader's `claim` paid the penalty instead of waiting. The fund's
    /// `insurancePenalty` takes that first (the Vault books what the pool does not hold as its
    /// receivable); the reward's part beyond it is queued as the liquidator's claim, so neither is
    /// paid out of margin that backs another position. 0 without a profit beyond what the pool can pay.
    function rewardBeyondGain(
        int256 realizedPnl,
        uint256 profitAvailable,
        uint256 claim,
        uint256 insurancePenalty,
        uint256 reward
    ) internal pure returns (uint256) {
        int256 unpaid = realizedPnl - int256(profitAvailable) - int256(claim);
        if (unpaid <= int256(insurancePenalty)) return 0;
        return Math.min(uint256(unpaid) - insurancePenalty, reward);
    }

    /// @notice Whether a position's liquidation ratio `r` is below `maintenanceMarginRatio`.
    function isLiquidatable(int256 r, uint256 maintenanceMarginRatio) internal pure returns (bool) {
        return r < int256(maintenanceMarginRatio);
    }
}
