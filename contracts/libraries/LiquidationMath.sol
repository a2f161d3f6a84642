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
    struct Split {
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 covered;
        uint256 shortfall;
        uint256 traderPayout;
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

    /// @notice Splits what the position has left after the close (`equity`) between the penalty,
    /// the trader and, when it is negative, the insurance fund (holding `fund`). The penalty is
    /// bounded by the equity, so a liquidation never makes bad debt; with bad debt the fund covers
    /// the loss first, then the liquidator's half, as far as it can.
    function split(int256 equity, uint256 penalty, uint256 fund) internal pure returns (Split memory s) {
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
            s.covered = Math.min(s.badDebt, fund);
            s.shortfall = s.badDebt - s.covered;
            s.reward = Math.min(liquidatorHalf, fund - s.covered);
        }
    }

    /// @notice Whether a position's liquidation ratio `r` is below `maintenanceMarginRatio`.
    function isLiquidatable(int256 r, uint256 maintenanceMarginRatio) internal pure returns (bool) {
        return r < int256(maintenanceMarginRatio);
    }
}
