// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm} from "./interfaces/IAmm.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IClearingHouseViewer} from "./interfaces/IClearingHouseViewer.sol";
import {IPriceFeed} from "./interfaces/IPriceFeed.sol";
import {IVault} from "./interfaces/IVault.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";

/// @title ClearingHouseViewer
/// @notice Batched reads of positions for keepers and dApps. See {IClearingHouseViewer}.
/// @dev Stateless: it holds only the ClearingHouse's address and reads everything from it, the
/// Amms and the Vault at call time. What a market shares (its parameters, status, spot price) is
/// read once per run of consecutive pairs in that market, so callers should group pairs by market.
contract ClearingHouseViewer is IClearingHouseViewer {
    using FixedPoint for uint256;

    uint256 private constant WAD = 1e18;

    /// @inheritdoc IClearingHouseViewer
    IClearingHouse public immutable clearingHouse;

    /// @dev What every pair in one call shares (`paused` also when the sequencer is down), and what consecutive pairs of one market share.
    struct Context {
        IVault vault;
        bool paused;
        IClearingHouse.LiquidationParams liquidationParams;
        address amm;
        bool liquidationOpen;
        uint256 maintenanceMarginRatio;
        uint256 spotPrice;
    }

    /// @param clearingHouse_ The ClearingHouse to read.
    constructor(IClearingHouse clearingHouse_) {
        if (address(clearingHouse_) == address(0)) revert ZeroAddress();
        clearingHouse = clearingHouse_;
    }

    /// @inheritdoc IClearingHouseViewer
    function getPositions(
        address[] calldata amms,
        address[] calldata traders
    ) external view returns (PositionView[] memory views) {
        if (amms.length != traders.length) revert LengthMismatch(amms.length, traders.length);
        Context memory ctx = _context();
        views = new PositionView[](amms.length);
        for (uint256 i = 0; i < amms.length; ++i) {
            views[i] = _view(ctx, amms[i], traders[i]);
        }
    }

    /// @inheritdoc IClearingHouseViewer
    function getPositionView(address amm, address trader) external view returns (PositionView memory view_) {
        return _view(_context(), amm, trader);
    }

    /// @inheritdoc IClearingHouseViewer
    function getLiquidationPrice(address amm, address trader) external view returns (uint256 price) {
        IClearingHouse.Position memory p = clearingHouse.getPosition(amm, trader);
        if (p.size == 0) return 0;
        int256 pendingFunding = clearingHouse.getPendingFunding(amm, trader);
        return _liquidationPrice(p, pendingFunding, clearingHouse.getMarketParams(amm).maintenanceMarginRatio);
    }

    function _context() private view returns (Context memory ctx) {
        ctx.vault = clearingHouse.vault();
        ctx.paused = clearingHouse.paused() || !_sequencerUp();
        ctx.liquidationParams = clearingHouse.getLiquidationParams();
    }

    /// @dev Whether the ClearingHouse's sequencer check passes (it gates liquidations too).
    function _sequencerUp() private view returns (bool) {
        IPriceFeed oracle = clearingHouse.sequencerOracle();
        if (address(oracle) == address(0)) return true;
        try oracle.checkSequencer() {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev Reads the market's shared figures unless the previous pair was in the same market.
    function _enterMarket(Context memory ctx, address amm) private view {
        if (ctx.amm == amm && amm != address(0)) return;
        ctx.amm = amm;
        ctx.maintenanceMarginRatio = clearingHouse.getMarketParams(amm).maintenanceMarginRatio;
        (IClearingHouse.MarketStatus status, ) = clearingHouse.getMarketStatus(amm);
        ctx.liquidationOpen =
            !ctx.paused &&
            clearingHouse.isMarketListed(amm) &&
            status != IClearingHouse.MarketStatus.SETTLED;
        ctx.spotPrice = 0;
    }

    function _view(Context memory ctx, address amm, address trader) private view returns (PositionView memory v) {
        if (address(ctx.vault) != address(0)) v.freeCollateral = ctx.vault.freeCollateral(trader);
        IClearingHouse.Position memory p = clearingHouse.getPosition(amm, trader);
        if (p.size == 0) return v;
        _enterMarket(ctx, amm);
        v.size = p.size;
        v.margin = p.margin;
        v.openNotional = p.openNotional;
        v.pendingFunding = clearingHouse.getPendingFunding(amm, trader);
        v.unrealizedPnl = clearingHouse.getUnrealizedPnl(amm, trader);
        v.marginRatio = clearingHouse.getMarginRatio(amm, trader);
        v.liquidationMarginRatio = clearingHouse.getLiquidationMarginRatio(amm, trader);
        v.liquidationPrice = _liquidationPrice(p, v.pendingFunding, ctx.maintenanceMarginRatio);
        v.liquidatable = ctx.liquidationOpen && v.liquidationMarginRatio < int256(ctx.maintenanceMarginRatio);
        if (v.liquidatable) {
            if (ctx.spotPrice == 0) ctx.spotPrice = IAmm(amm).getSpotPrice();
            v.closeBase = _liquidationSize(
                p.size,
                v.liquidationMarginRatio,
                ctx.spotPrice,
                ctx.maintenanceMarginRatio,
                ctx.liquidationParams
            );
            v.closeQuote = IAmm(amm).previewSwapBase(p.size, v.closeBase);
        }
    }

    /// @dev The spot price P at which (mA + PnL(P)) / (|size| x P) = mmr, with mA = margin - pending
    /// funding: a long's P = (openNotional - mA) / (|size| (1 - mmr)), rounded up; a short's
    /// P = (mA + openNotional) / (|size| (1 + mmr)), rounded down. 0 when no price solves it.
    function _liquidationPrice(
        IClearingHouse.Position memory p,
        int256 pendingFunding,
        uint256 maintenanceMarginRatio
    ) private pure returns (uint256) {
        int256 marginAfterFunding = int256(p.margin) - pendingFunding;
        int256 openNotional = int256(p.openNotional);
        uint256 absSize = SignedMath.abs(p.size);
        if (p.size > 0) {
            if (marginAfterFunding >= openNotional) return 0;
            uint256 debt = uint256(openNotional - marginAfterFunding);
            return Math.mulDiv(debt, WAD * WAD, absSize * (WAD - maintenanceMarginRatio), Math.Rounding.Ceil);
        }
        int256 cover = marginAfterFunding + openNotional;
        if (cover <= 0) return 0;
        return Math.mulDiv(uint256(cover), WAD * WAD, absSize * (WAD + maintenanceMarginRatio), Math.Rounding.Floor);
    }

    /// @dev The base a liquidation closes, as the ClearingHouse computes it (see its
    /// `_liquidationSize`): the whole position below the fee ratio or when the rest would be under
    /// `minPositionNotional` at spot, else the fraction (target - r) / (target - fee), rounded up.
    function _liquidationSize(
        int256 size,
        int256 ratio,
        uint256 spotPrice,
        uint256 maintenanceMarginRatio,
        IClearingHouse.LiquidationParams memory params
    ) private pure returns (uint256 closeBase) {
        uint256 absSize = SignedMath.abs(size);
        if (ratio < int256(uint256(params.feeRatio))) return absSize;
        uint256 target = maintenanceMarginRatio + params.partialBuffer;
        closeBase = absSize.mulDivUp(target - uint256(ratio), target - params.feeRatio);
        if (closeBase >= absSize || (absSize - closeBase).wMulDown(spotPrice) < params.minPositionNotional) {
            return absSize;
        }
    }
}
