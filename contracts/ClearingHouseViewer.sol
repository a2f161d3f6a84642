// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {IClearingHouseViewer} from "./interfaces/IClearingHouseViewer.sol";
import {IVault, IVaultErrors} from "./interfaces/IVault.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {PositionMath, StoredPosition, Trade} from "./libraries/PositionMath.sol";
import {SequencerUptime} from "./libraries/SequencerUptime.sol";

/// @title ClearingHouseViewer
/// @notice Batched reads of positions and trade previews for keepers and dApps. See {IClearingHouseViewer}.
/// @dev Stateless: it holds only the ClearingHouse's address and reads everything from it, the
/// Amms and the Vault at call time. What a market shares (its parameters, status, spot price) is
/// read once per run of consecutive pairs in that market, so callers should group pairs by market.
contract ClearingHouseViewer is IClearingHouseViewer {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @inheritdoc IClearingHouseViewer
    IClearingHouse public immutable clearingHouse;

    /// @dev What every pair in one call shares (`paused` also when the sequencer is down), and what consecutive pairs of one market share.
    struct Context {
        IVault vault;
        bool paused;
        address amm;
        bool liquidationOpen;
        uint256 maintenanceMarginRatio;
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
    }

    /// @inheritdoc IClearingHouseViewer
    function isSequencerUp() external view returns (bool) {
        return _sequencerUp();
    }

    /// @dev Whether the ClearingHouse's sequencer check passes now (it gates liquidations too): the
    /// same rule, {SequencerUptime}, on the ClearingHouse's feed and grace period.
    function _sequencerUp() private view returns (bool) {
        (SequencerUptime.Status status, , ) = SequencerUptime.status(
            clearingHouse.sequencerFeed(),
            clearingHouse.sequencerGracePeriod(),
            block.timestamp
        );
        return status == SequencerUptime.Status.UP;
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
    }

    function _view(Context memory ctx, address amm, address trader) private view returns (PositionView memory v) {
        if (address(ctx.vault) != address(0)) {
            v.freeCollateral = ctx.vault.freeCollateral(trader);
            v.claim = ctx.vault.claimOf(amm, trader);
        }
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
    }

    /// @dev The liquidation price of `p` (see {PositionMath-priceAtRatio}) at maintenance.
    function _liquidationPrice(
        IClearingHouse.Position memory p,
        int256 pendingFunding,
        uint256 maintenanceMarginRatio
    ) private pure returns (uint256) {
        return
            PositionMath.priceAtRatio(
                p.size,
                p.margin.toInt256() - pendingFunding,
                p.openNotional,
                maintenanceMarginRatio
            );
    }

    // ---------------------------------------------------------------- previews

    /// @dev What a preview reads of one market and trader.
    struct Market {
        address amm;
        IClearingHouse.MarketParams params;
        IClearingHouse.MarketStatus status;
        uint256 quoteReserve;
        uint256 baseReserve;
        uint256 budget;
        IAmm.FundingSnapshot funding;
        StoredPosition position;
        uint256 profitAvailable;
    }

    /// @inheritdoc IClearingHouseViewer
    function previewOpen(
        address amm,
        address trader,
        Side side,
        uint256 margin,
        uint256 leverage
    ) external view returns (OpenPreview memory preview) {
        Market memory m = _market(amm, trader);
        if (m.status == IClearingHouse.MarketStatus.SETTLED) revert IVaultErrors.MarketIsSettled(amm);
        uint256 notional = PositionMath.openNotional(margin, leverage, m.params.initialMarginRatio);
        StoredPosition memory p = m.position;
        int256 sizeBefore = p.size;
        uint256 exitValue;
        if (p.size != 0 && (p.size > 0) != (side == Side.LONG)) {
            exitValue = CurveMath.quoteForBase(m.quoteReserve, m.baseReserve, p.size, SignedMath.abs(p.size));
        }
        preview.kind = PositionMath.tradeKind(p.size, side, notional, exitValue);
        if (preview.kind != IClearingHouse.TradeKind.REDUCE && m.status != IClearingHouse.MarketStatus.ACTIVE) {
            revert IClearingHouse.MarketReduceOnly(amm);
        }
        Trade memory t;
        uint256 legBase;
        uint256 legQuote;
        if (preview.kind == IClearingHouse.TradeKind.REVERSE) {
            (t, legBase, legQuote) = _previewReverse(m, side, notional, leverage, exitValue);
            p = m.position;
            if (legBase == 0) preview.kind = IClearingHouse.TradeKind.CLOSE;
        } else {
            (t, legBase) = _previewOneLeg(m, preview.kind, side, margin, notional);
            legQuote = notional;
        }
        _requireFreeCollateral(trader, t.freeCollateralDelta);
        _describe(preview, t, m, sizeBefore, legBase, legQuote);
    }

    /// @dev An open, increase or reduce: one swap of `notional` on `side`. Leaves the position after
    /// it in `m.position` and the reserves after it in `m`; returns the trade and its base.
    function _previewOneLeg(
        Market memory m,
        IClearingHouse.TradeKind kind,
        Side side,
        uint256 margin,
        uint256 notional
    ) private view returns (Trade memory t, uint256 legBase) {
        legBase = CurveMath.baseForQuote(m.quoteReserve, m.baseReserve, side, notional);
        uint256 spread = _spreadFee(m, side, legBase, notional);
        if (kind == IClearingHouse.TradeKind.REDUCE) {
            (m.quoteReserve, m.baseReserve) = CurveMath.afterQuoteSwap(m.quoteReserve, m.baseReserve, side, notional);
            t = PositionMath.reduce(m.position, legBase, notional, m.funding, m.params.feeRatio);
            PositionMath.chargeSpreadOnReduce(m.position, t, spread, 0);
            PositionMath.deferGain(m.position, t, m.profitAvailable);
            _requireSpotRatio(m.position, m, m.params.maintenanceMarginRatio);
            return (t, legBase);
        }
        // An increase values the position at the spot before the swap, as the trade does.
        PositionMath.requireMayIncrease(
            m.position,
            m.funding,
            m.position.size == 0 ? 0 : PositionMath.notionalAtReserves(m.position.size, m.quoteReserve, m.baseReserve),
            m.params.initialMarginRatio
        );
        (m.quoteReserve, m.baseReserve) = CurveMath.afterQuoteSwap(m.quoteReserve, m.baseReserve, side, notional);
        t = PositionMath.increase(m.position, side, legBase, margin, notional, m.funding, m.params.feeRatio);
        PositionMath.chargeSpread(t, spread, 0);
    }

    /// @dev Fills `preview` from the trade `t`, the position after it (`m.position`) and the
    /// reserves it leaves (`m`); `legBase` and `legQuote` are the trade's (or opening leg's) base and quote.
    function _describe(
        OpenPreview memory preview,
        Trade memory t,
        Market memory m,
        int256 sizeBefore,
        uint256 legBase,
        uint256 legQuote
    ) private pure {
        StoredPosition memory p = m.position;
        preview.baseDelta = p.size - sizeBefore;
        preview.quoteAmount = t.quoteAmount;
        preview.fee = t.fee;
        preview.fundingPayment = t.fundingPayment;
        preview.realizedPnl = t.realizedPnl;
        preview.freeCollateralDelta = t.freeCollateralDelta;
        preview.claim = t.claim;
        preview.size = p.size;
        preview.margin = p.margin;
        preview.openNotional = p.openNotional;
        if (legBase != 0) preview.entryPrice = legQuote.wDivDown(legBase);
        preview.spotPriceAfter = m.quoteReserve.wDivDown(m.baseReserve);
        if (p.size != 0) {
            uint256 notionalAfter = PositionMath.notionalAtReserves(p.size, m.quoteReserve, m.baseReserve);
            preview.marginRatio = PositionMath.ratio(
                int256(uint256(p.margin)) + PositionMath.pnl(p.size, p.openNotional, notionalAfter),
                notionalAfter
            );
            preview.liquidationPrice = PositionMath.priceAtRatio(
                p.size,
                int256(uint256(p.margin)),
                p.openNotional,
                m.params.maintenanceMarginRatio
            );
        }
    }

    /// @dev The spread a leg trading `base` on `side` for `quote` pays, by the Amm's own formula
    /// ({IAmmCurve-previewSpreadFeeAfter}) on the curve the trade finds (`m`: after any repeg).
    function _spreadFee(Market memory m, Side side, uint256 base, uint256 quote) private view returns (uint256) {
        return
            IAmm(m.amm).previewSpreadFeeAfter(0, m.budget, m.quoteReserve, m.baseReserve, _signed(side, base), quote);
    }

    /// @dev The spread of a reversal's opening leg (`legBase` for `legQuote`) on the curve its
    /// close (`close`: its base change and spread) left in `m`.
    function _legSpread(
        Market memory m,
        Side side,
        Trade memory close,
        uint256 legBase,
        uint256 legQuote
    ) private view returns (uint256) {
        return
            IAmm(m.amm).previewSpreadFeeAfter(
                close.baseDelta,
                m.budget + close.spread,
                m.quoteReserve,
                m.baseReserve,
                _signed(side, legBase),
                legQuote
            );
    }

    /// @dev A trade's base change on `side`: + bought (LONG), - sold (SHORT).
    function _signed(Side side, uint256 base) private pure returns (int256) {
        return side == Side.LONG ? base.toInt256() : -base.toInt256();
    }

    /// @dev A reversal: the close at the exit value, then the rest on the other side unless it is
    /// dust. Leaves the position after it in `m.position` and the reserves after it in `m`;
    /// returns the trade and the opening leg's base and quote (0 when the rest is not traded).
    /// Each leg's spread is the Amm's formula on the curve it trades on: the close's on the curve
    /// now, the opening leg's on the curve the close left ({IAmmCurve-previewSpreadFeeAfter}).
    function _previewReverse(
        Market memory m,
        Side side,
        uint256 notional,
        uint256 leverage,
        uint256 exitValue
    ) private view returns (Trade memory t, uint256 legBase, uint256 legQuote) {
        {
            uint256 closedSize = SignedMath.abs(m.position.size);
            (m.quoteReserve, m.baseReserve) = CurveMath.afterBaseSwap(
                m.quoteReserve,
                m.baseReserve,
                m.position.size,
                closedSize
            );
            t = PositionMath.reduce(m.position, closedSize, exitValue, m.funding, m.params.feeRatio);
            PositionMath.chargeSpreadOnReduce(m.position, t, _spreadFee(m, side, closedSize, exitValue), 0);
            PositionMath.deferGain(m.position, t, m.profitAvailable);
        }
        legQuote = notional - exitValue;
        if (legQuote == 0) return (t, 0, 0);
        legBase = CurveMath.baseForQuote(m.quoteReserve, m.baseReserve, side, legQuote);
        if (!PositionMath.restTradable(legQuote, legBase, m.quoteReserve, m.baseReserve)) return (t, 0, 0);
        // The close's base change and spread (t so far) shape the curve the opening leg trades on.
        uint256 legSpread = _legSpread(m, side, t, legBase, legQuote);
        (m.quoteReserve, m.baseReserve) = CurveMath.afterQuoteSwap(m.quoteReserve, m.baseReserve, side, legQuote);
        uint256 openFee;
        (m.position, openFee) = PositionMath.openRest(side, legBase, legQuote, leverage, m.funding, m.params.feeRatio);
        t.quoteAmount = notional;
        t.fee += openFee;
        t.freeCollateralDelta -= (uint256(m.position.margin) + openFee).toInt256();
        PositionMath.chargeSpread(t, legSpread, 0);
    }

    /// @inheritdoc IClearingHouseViewer
    function previewClose(address amm, address trader) external view returns (ClosePreview memory preview) {
        Market memory m = _market(amm, trader);
        StoredPosition memory p = m.position;
        if (p.size == 0) return preview;
        uint256 absSize = SignedMath.abs(p.size);
        uint256 quote = CurveMath.quoteForBase(m.quoteReserve, m.baseReserve, p.size, absSize);
        uint256 spread = _spreadFee(m, p.size > 0 ? Side.SHORT : Side.LONG, absSize, quote);
        Trade memory t = PositionMath.reduce(p, absSize, quote, m.funding, m.params.feeRatio);
        PositionMath.chargeSpreadOnReduce(p, t, spread, 0);
        PositionMath.deferGain(p, t, m.profitAvailable);
        preview = ClosePreview(
            t.quoteAmount,
            t.fee,
            t.fundingPayment,
            t.realizedPnl,
            uint256(t.freeCollateralDelta),
            t.claim
        );
    }

    /// @inheritdoc IClearingHouseViewer
    function maxRemovableMargin(address amm, address trader) external view returns (uint256 amount) {
        Market memory m = _market(amm, trader);
        StoredPosition memory p = m.position;
        if (p.size == 0) return 0;
        // removeMargin swaps nothing, so it runs no repeg: valued on the curve as it stands.
        uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
        return
            PositionMath.removableMargin(
                p,
                PositionMath.pendingFunding(p, m.funding),
                exitValue,
                m.params.initialMarginRatio
            );
    }

    /// @dev The market's parameters, status, reserves and funding indices as they would accrue
    /// now, and the trader's position; reverts MarketNotListed for an unlisted market.
    function _market(address amm, address trader) private view returns (Market memory m) {
        if (!clearingHouse.isMarketListed(amm)) revert IClearingHouse.MarketNotListed(amm);
        m.amm = amm;
        m.params = clearingHouse.getMarketParams(amm);
        (m.status, ) = clearingHouse.getMarketStatus(amm);
        // The curve a trade now trades on: after the repeg it would run first (none due: as it is).
        (m.quoteReserve, m.baseReserve, m.budget, ) = IAmm(amm).previewRepeg();
        IVault vault = clearingHouse.vault();
        m.funding = IAmm(amm).getFundingIndices(vault.insuranceAccount());
        m.profitAvailable = vault.profitAvailable(amm);
        IClearingHouse.Position memory p = clearingHouse.getPosition(amm, trader);
        m.position = StoredPosition(
            p.size.toInt128(),
            p.margin.toUint128(),
            p.openNotional.toUint128(),
            p.fundingCheckpoint.toInt128()
        );
    }

    /// @dev Reverts as the ClearingHouse's reduce does unless `p` keeps `ratio` at `m`'s spot.
    function _requireSpotRatio(StoredPosition memory p, Market memory m, uint256 ratio) private pure {
        if (p.size == 0) return;
        uint256 notional = PositionMath.notionalAtReserves(p.size, m.quoteReserve, m.baseReserve);
        PositionMath.requireEquity(
            int256(uint256(p.margin)) + PositionMath.pnl(p.size, p.openNotional, notional),
            notional,
            ratio
        );
    }

    /// @dev Reverts as the Vault would when the trade takes more than the trader's free collateral.
    function _requireFreeCollateral(address trader, int256 freeCollateralDelta) private view {
        if (freeCollateralDelta >= 0) return;
        uint256 needed = uint256(-freeCollateralDelta);
        uint256 available = clearingHouse.vault().freeCollateral(trader);
        if (needed > available) revert IVaultErrors.InsufficientFreeCollateral(trader, available, needed);
    }
}
