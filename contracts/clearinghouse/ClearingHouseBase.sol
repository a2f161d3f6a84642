// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {IPriceFeed} from "../interfaces/IPriceFeed.sol";
import {IVault} from "../interfaces/IVault.sol";
import {FixedPoint} from "../libraries/FixedPoint.sol";
import {Funding} from "../libraries/Funding.sol";

/// @title ClearingHouseBase
/// @notice The ClearingHouse's storage and the accounting every part of it shares: funding
/// settlement, PnL and margin ratios, checks, and the one place a trade's value moves and is told.
/// @dev Split from {ClearingHouse} for reading only: the parts are abstract and deploy as one contract.
abstract contract ClearingHouseBase is IClearingHouse, Ownable2Step, ReentrancyGuardTransient {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @inheritdoc IClearingHouse
    IPriceFeed public immutable sequencerOracle;

    /// @dev The Vault and the pause flag share one slot: every trade reads both with one cold load.
    /// (The Vault holds this contract's address as an immutable, so it is deployed after it.)
    struct Config {
        IVault vault;
        bool paused;
    }

    Config internal _config;

    struct Market {
        bool listed;
        MarketStatus status;
        uint64 initialMarginRatio;
        uint64 maintenanceMarginRatio;
        uint64 feeRatio;
    }

    /// @dev Packed form of {IClearingHouse.Position}: slot 1 size and margin, slot 2 open notional
    /// and the funding index the position last settled at (its side's index).
    struct StoredPosition {
        int128 size;
        uint128 margin;
        uint128 openNotional;
        int128 fundingCheckpoint;
    }

    mapping(address amm => Market) internal _markets;

    mapping(address amm => mapping(address trader => StoredPosition)) internal _positions;

    LiquidationParams internal _liquidationParams;

    /// @dev Bad debt the insurance fund could not cover, per market.
    mapping(address amm => uint256) internal _shortfalls;

    mapping(address amm => Settlement) internal _settlements;

    /// @param sequencerOracle_ The price feed whose `checkSequencer` gates risk-increasing actions on
    /// an L2 (see {IClearingHouse-sequencerOracle}); address(0) on a chain without a sequencer. An
    /// immutable, so chains without one pay nothing for the check.
    constructor(IPriceFeed sequencerOracle_) {
        sequencerOracle = sequencerOracle_;
    }

    /// @dev Reverts while the L2 sequencer is down or in its grace period after coming back.
    function _checkSequencer() internal view {
        if (address(sequencerOracle) != address(0)) sequencerOracle.checkSequencer();
    }

    modifier whenNotPaused() {
        if (_config.paused) revert EnforcedPause();
        _;
    }

    /// @dev Settles the position's funding up to `funding` into `t` and returns its margin after it
    /// (negative if funding ate more than the margin); moves the checkpoint to `side`'s index.
    function _settleFunding(
        StoredPosition memory p,
        Side side,
        IAmm.FundingSnapshot memory funding,
        Trade memory t
    ) internal pure returns (int256 marginAfterFunding) {
        if (p.size != 0) {
            t.fundingPayment = Funding.owed(p.size, _positionIndex(p.size, funding) - p.fundingCheckpoint);
        }
        t.insuranceFlow = funding.insuranceFlow;
        p.fundingCheckpoint = _sideIndex(side, funding).toInt128();
        return int256(uint256(p.margin)) - t.fundingPayment;
    }

    /// @dev The index a position of `size` settles on: longs on the long index, shorts on the short.
    function _positionIndex(int256 size, IAmm.FundingSnapshot memory funding) internal pure returns (int256) {
        return size > 0 ? funding.longIndex : funding.shortIndex;
    }

    function _sideIndex(Side side, IAmm.FundingSnapshot memory funding) internal pure returns (int256) {
        return side == Side.LONG ? funding.longIndex : funding.shortIndex;
    }

    /// @dev Funding a position owes now (negative: is owed), from the market's indices as they
    /// would accrue now.
    function _pendingFunding(address amm, StoredPosition memory p) internal view returns (int256) {
        if (p.size == 0) return 0;
        IAmm.FundingSnapshot memory funding = IAmm(amm).getFundingIndices(_insuranceAvailable());
        return Funding.owed(p.size, _positionIndex(p.size, funding) - p.fundingCheckpoint);
    }

    /// @dev What the insurance account can pay toward funding. Read before the Vault is called to
    /// settle, so the later call finds the Vault's account and slot warm.
    function _insuranceAvailable() internal view returns (uint256 fund) {
        (, fund) = _config.vault.getPoolBalances();
    }

    /// @dev What one trade did, gathered so the event can be emitted from one place.
    struct Trade {
        int256 baseDelta;
        uint256 quoteAmount;
        int256 realizedPnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeCollateralDelta;
        int256 insuranceFlow;
    }

    /// @dev Moves the trader's free collateral, the fee and the insurance fund's funding share in
    /// the Vault, then emits the new state.
    function _settleAndEmit(address trader, address amm, Trade memory t, StoredPosition memory p) internal {
        _config.vault.settle(trader, t.freeCollateralDelta, t.fee.toInt256() + t.insuranceFlow);
        _emitPositionChanged(trader, amm, t, p);
    }

    function _emitPositionChanged(address trader, address amm, Trade memory t, StoredPosition memory p) internal {
        emit PositionChanged(
            trader,
            amm,
            t.baseDelta,
            t.quoteAmount,
            t.realizedPnl,
            t.fee,
            t.fundingPayment,
            t.freeCollateralDelta,
            p.size,
            p.margin,
            p.openNotional
        );
    }

    /// @dev Takes `base` off the position for `t.quoteAmount` and realises its PnL into `t`
    /// (average-entry accounting). The closed part's cost basis rounds against the trader; the rest
    /// keeps what is left, so over the position's life the bases add up to the open notional exactly.
    function _realize(StoredPosition memory p, uint256 base, Trade memory t) internal pure {
        uint256 closedBasis;
        if (p.size > 0) {
            closedBasis = uint256(p.openNotional).mulDivUp(base, uint256(int256(p.size)));
            t.realizedPnl = t.quoteAmount.toInt256() - closedBasis.toInt256();
            t.baseDelta = -base.toInt256();
        } else {
            closedBasis = uint256(p.openNotional).mulDivDown(base, uint256(-int256(p.size)));
            t.realizedPnl = closedBasis.toInt256() - t.quoteAmount.toInt256();
            t.baseDelta = base.toInt256();
        }
        p.size = (p.size + t.baseDelta).toInt128();
        p.openNotional = (p.openNotional - closedBasis).toUint128();
    }

    /// @dev Reverts unless (margin + PnL) >= ratio x notional, both valued at the spot price
    /// (rounded against the trader): the margin ratio that reducing must keep. The margin has had
    /// its funding settled.
    function _requireMarkMarginRatio(address amm, StoredPosition memory p, uint256 ratio) internal view {
        uint256 notional = _markNotional(amm, p.size);
        _requireEquity(int256(uint256(p.margin)) + _pnl(p.size, p.openNotional, notional), notional, ratio);
    }

    /// @dev Reverts unless (margin - pending funding + min(PnL, 0)) >= ratio x exit value. Valuing
    /// at the exit value (what a close would realise) and leaving profit out is stricter than the
    /// spot-price ratio, so unrealised profit never backs a withdrawal.
    function _requireExitMarginRatioWithoutProfit(
        address amm,
        StoredPosition memory p,
        int256 pendingFunding,
        uint256 ratio
    ) internal view {
        uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
        int256 pnl = _pnl(p.size, p.openNotional, exitValue);
        if (pnl > 0) pnl = 0;
        _requireEquity(int256(uint256(p.margin)) - pendingFunding + pnl, exitValue, ratio);
    }

    function _requireEquity(int256 equity, uint256 notional, uint256 ratio) internal pure {
        uint256 required = notional.wMulUp(ratio);
        if (equity < required.toInt256()) revert MarginRatioTooLow(_ratio(equity, notional), ratio);
    }

    /// @dev |size| x price: rounded down for a long (its value), up for a short (its cost to buy back).
    function _notionalAt(int256 size, uint256 price) internal pure returns (uint256) {
        return size > 0 ? uint256(size).wMulDown(price) : uint256(-size).wMulUp(price);
    }

    /// @dev |size| x spot price, from the reserves directly: rounded down for a long (its value),
    /// up for a short (its cost to buy back).
    function _markNotional(address amm, int256 size) internal view returns (uint256) {
        (uint256 quoteReserve, uint256 baseReserve) = IAmm(amm).getReserves();
        return
            size > 0
                ? uint256(size).mulDivDown(quoteReserve, baseReserve)
                : uint256(-size).mulDivUp(quoteReserve, baseReserve);
    }

    function _checkBaseLimit(Side side, uint256 base, uint256 baseLimit) internal pure {
        if (baseLimit != 0 && (side == Side.LONG ? base < baseLimit : base > baseLimit)) {
            revert BaseLimitMissed(base, baseLimit);
        }
    }

    function _checkDeadline(uint256 deadline) internal view {
        uint256 timestamp = _blockTimestamp();
        if (timestamp > deadline) revert DeadlineExpired(deadline, timestamp);
    }

    /// @dev A position's two slots, reading the second only if the position exists (a trader's
    /// first trade in a market saves a cold read).
    function _loadPosition(address amm, address trader) internal view returns (StoredPosition memory p) {
        StoredPosition storage stored = _positions[amm][trader];
        if (stored.size != 0) p = stored;
    }

    function _listedMarket(address amm) internal view returns (Market memory market) {
        market = _markets[amm];
        if (!market.listed) revert MarketNotListed(amm);
    }

    /// @dev A listed market that has not been settled.
    function _tradableMarket(address amm) internal view returns (Market memory market) {
        market = _listedMarket(amm);
        if (market.status == MarketStatus.SETTLED) revert MarketIsSettled(amm);
    }

    /// @dev Growing a position needs an active market.
    function _requireActive(address amm, Market memory market) internal pure {
        if (market.status != MarketStatus.ACTIVE) revert MarketReduceOnly(amm);
    }

    /// @dev The one place the contract reads the time.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }

    /// @dev PnL of a position valued at `quote`: what closing it yields over (long) or under (short) its cost.
    function _pnl(int256 size, uint256 openNotional, uint256 quote) internal pure returns (int256) {
        return size > 0 ? quote.toInt256() - openNotional.toInt256() : openNotional.toInt256() - quote.toInt256();
    }

    /// @dev equity / notional in 18 decimals, rounded down (toward minus infinity, so an underwater
    /// position never looks healthier than it is); a position worth nothing has an unbounded ratio,
    /// of the sign of its equity.
    function _ratio(int256 equity, uint256 notional) internal pure returns (int256 ratio) {
        if (notional == 0) return equity < 0 ? type(int256).min : type(int256).max;
        int256 scaled = equity * 1e18;
        int256 divisor = notional.toInt256();
        ratio = scaled / divisor;
        // Solidity's signed division truncates toward zero: step down when it cut a negative value.
        if (scaled < 0 && ratio * divisor != scaled) ratio -= 1;
    }
}
