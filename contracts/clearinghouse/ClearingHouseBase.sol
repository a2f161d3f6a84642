// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAmm, Side} from "../interfaces/IAmm.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {IVault, IVaultErrors} from "../interfaces/IVault.sol";
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {PositionMath, StoredPosition, Trade} from "../libraries/PositionMath.sol";
import {SequencerUptime} from "../libraries/SequencerUptime.sol";

/// @title ClearingHouseBase
/// @notice The position book every part of the ClearingHouse works on (the Vault link and pause
/// flag, the markets, the positions and their shortfalls) and the few stateful helpers they share:
/// the checks, reading the markets' prices, and the one place a trade's value moves and is told.
/// @dev The ClearingHouse core and its modules ({LiquidationModule}, {SettlementModule}) inherit it,
/// so the modules, run by DELEGATECALL, see the same book at the same slots. What a module owns
/// alone (its parameters, its records) lives in its own namespaced storage struct, not here.
abstract contract ClearingHouseBase is Ownable2Step, ReentrancyGuardTransient {
    using SafeCast for uint256;

    /// @dev See {IClearingHouse-sequencerFeed}.
    AggregatorV3Interface internal immutable _sequencerFeed;

    /// @dev The Vault, the pause flag and the sequencer's grace period share one slot: every trade
    /// reads them with one cold load. (The Vault holds this contract's address as an immutable, so
    /// it is deployed after it. The grace period is at most SequencerUptime.MAX_GRACE_PERIOD.)
    struct Config {
        IVault vault;
        bool paused;
        uint32 sequencerGracePeriod;
    }

    Config internal _config;

    struct Market {
        bool listed;
        IClearingHouse.MarketStatus status;
        uint64 initialMarginRatio;
        uint64 maintenanceMarginRatio;
        uint64 feeRatio;
    }

    mapping(address amm => Market) internal _markets;

    mapping(address amm => mapping(address trader => StoredPosition)) internal _positions;

    /// @dev Bad debt the insurance fund could not cover, per market.
    mapping(address amm => uint256) internal _shortfalls;

    /// @param sequencerFeed_ The L2 sequencer uptime feed whose status gates risk-increasing actions
    /// (see {IClearingHouse-sequencerFeed}); address(0) on a chain without a sequencer.
    constructor(AggregatorV3Interface sequencerFeed_) {
        _sequencerFeed = sequencerFeed_;
    }

    modifier whenNotPaused() {
        if (_config.paused) revert IClearingHouse.EnforcedPause();
        _;
    }

    /// @dev Reverts while the L2 sequencer is down or in its grace period after coming back. Reads
    /// the uptime feed itself ({SequencerUptime}); a chain without one reads nothing.
    function _checkSequencer() internal view {
        if (address(_sequencerFeed) != address(0)) {
            SequencerUptime.check(_sequencerFeed, _config.sequencerGracePeriod, _blockTimestamp());
        }
    }

    /// @dev Funding `p` owes now (negative: is owed), from the market's indices as they would accrue now.
    function _pendingFunding(address amm, StoredPosition memory p) internal view returns (int256) {
        if (p.size == 0) return 0;
        return PositionMath.pendingFunding(p, IAmm(amm).getFundingIndices(_insuranceAvailable()));
    }

    /// @dev The position's liquidation margin ratio (its pending funding settled; see
    /// {LiquidationMath-ratio}) from the market's inputs ({IAmm-getLiquidationInputs}).
    function _liquidationRatio(
        StoredPosition memory p,
        IClearingHouse.LiquidationParams memory params,
        IAmm.LiquidationInputs memory inputs
    ) internal pure returns (int256 ratio) {
        int256 marginAfterFunding = int256(uint256(p.margin)) - PositionMath.pendingFunding(p, inputs.funding);
        ratio = LiquidationMath.ratio(
            p,
            marginAfterFunding,
            inputs.spotPrice,
            inputs.markTwap,
            inputs.indexPrice,
            params.maxSpreadRatio
        );
    }

    /// @dev What the insurance account can pay toward funding. Read before the Vault is called to
    /// settle, so the later call finds the Vault's account and slot warm.
    function _insuranceAvailable() internal view returns (uint256) {
        return _config.vault.insuranceAccount();
    }

    /// @dev Defers the part of a reduce's or close's profit its market's pool cannot pay now into
    /// a claim (see {PositionMath-deferGain}); reads the pool only when there is a profit.
    function _deferGain(address amm, StoredPosition memory p, Trade memory t) internal view {
        if (t.realizedPnl <= 0) return;
        PositionMath.deferGain(p, t, _config.vault.profitAvailable(amm));
    }

    function _emitPositionChanged(address trader, address amm, Trade memory t, StoredPosition memory p) internal {
        emit IClearingHouse.PositionChanged(
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

    /// @dev Stores `p` (or deletes it when closed), moves the trade's money in the Vault (the
    /// trader's free collateral, the exchange fee and the fund's funding share, the market's locked
    /// margin ({PositionMath-lockedMarginDelta}, with the spread joining the budget and the curve
    /// cost leaving it), the trade's claim, the fund's advance of what it spent unbacked
    /// ({PositionMath-deferGain})) and tells the trade.
    function _store(address trader, address amm, Trade memory t, StoredPosition memory p) internal {
        StoredPosition storage stored = _positions[amm][trader];
        int256 lockedMarginDelta = PositionMath.lockedMarginDelta(p, stored.margin, t);
        uint256 exchangeFee = t.fee;
        // A static curve's trade has neither: skip the arithmetic.
        if (t.spread != 0 || t.curveCost != 0) {
            lockedMarginDelta += PositionMath.curveLockedDelta(t);
            exchangeFee -= t.spread;
        }
        _write(stored, p);
        _config.vault.settle(
            trader,
            amm,
            t.freeCollateralDelta,
            exchangeFee.toInt256() + t.insuranceFlow,
            lockedMarginDelta,
            t.claim
        );
        // A profit the pool could not pay paid a debt the receivers' margins hold: the fund bridges it.
        if (t.unbacked != 0) _config.vault.advanceToPool(amm, t.unbacked);
        _emitPositionChanged(trader, amm, t, p);
    }

    /// @dev Writes `p` to `stored`, or deletes it when `p` is closed (size 0). Field by field through
    /// the pointer, so the mapping's slot is hashed once: assigning the struct to the mapping entry,
    /// or deleting it, hashes it again (~200 gas). The compiler still writes each slot once.
    function _write(StoredPosition storage stored, StoredPosition memory p) internal {
        if (p.size == 0) {
            stored.size = 0;
            stored.margin = 0;
            stored.openNotional = 0;
            stored.fundingCheckpoint = 0;
        } else {
            stored.size = p.size;
            stored.margin = p.margin;
            stored.openNotional = p.openNotional;
            stored.fundingCheckpoint = p.fundingCheckpoint;
        }
    }

    /// @dev |size| x spot price, from the reserves (see {PositionMath-notionalAtReserves}).
    function _markNotional(address amm, int256 size) internal view returns (uint256) {
        (uint256 quoteReserve, uint256 baseReserve) = IAmm(amm).getReserves();
        return PositionMath.notionalAtReserves(size, quoteReserve, baseReserve);
    }

    /// @dev Reverts unless (margin + PnL) >= ratio x notional at the spot price: the margin ratio a
    /// reduced position must keep. The margin has had its funding settled.
    function _requireMarkMarginRatio(address amm, StoredPosition memory p, uint256 ratio) internal view {
        uint256 notional = _markNotional(amm, p.size);
        PositionMath.requireEquity(
            int256(uint256(p.margin)) + PositionMath.pnl(p.size, p.openNotional, notional),
            notional,
            ratio
        );
    }

    function _checkBaseLimit(Side side, uint256 base, uint256 baseLimit) internal pure {
        if (baseLimit != 0 && (side == Side.LONG ? base < baseLimit : base > baseLimit)) {
            revert IClearingHouse.BaseLimitMissed(base, baseLimit);
        }
    }

    /// @dev Reverts unless the quote of closing (part of) a long is at least, or of a short at
    /// most, `quoteLimit` (0: no bound).
    function _checkQuoteLimit(bool closingLong, uint256 quote, uint256 quoteLimit) internal pure {
        if (quoteLimit != 0 && (closingLong ? quote < quoteLimit : quote > quoteLimit)) {
            revert IClearingHouse.QuoteLimitMissed(quote, quoteLimit);
        }
    }

    function _checkDeadline(uint256 deadline) internal view {
        uint256 timestamp = _blockTimestamp();
        if (timestamp > deadline) revert IClearingHouse.DeadlineExpired(deadline, timestamp);
    }

    /// @dev A position's two slots, reading the second only if the position exists (a trader's
    /// first trade in a market saves a cold read).
    function _loadPosition(address amm, address trader) internal view returns (StoredPosition memory p) {
        StoredPosition storage stored = _positions[amm][trader];
        if (stored.size != 0) p = stored;
    }

    function _listedMarket(address amm) internal view returns (Market memory market) {
        market = _markets[amm];
        if (!market.listed) revert IClearingHouse.MarketNotListed(amm);
    }

    /// @dev A listed market that has not been settled.
    function _tradableMarket(address amm) internal view returns (Market memory market) {
        market = _listedMarket(amm);
        if (market.status == IClearingHouse.MarketStatus.SETTLED) revert IVaultErrors.MarketIsSettled(amm);
    }

    /// @dev Growing a position needs an active market.
    function _requireActive(address amm, Market memory market) internal pure {
        if (market.status != IClearingHouse.MarketStatus.ACTIVE) revert IClearingHouse.MarketReduceOnly(amm);
    }

    /// @dev The one place the contract reads the time.
    function _blockTimestamp() internal view virtual returns (uint256) {
        return block.timestamp;
    }
}
