// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {IAmm, Side} from "./interfaces/IAmm.sol";
import {IVault} from "./interfaces/IVault.sol";
import {IClearingHouse} from "./interfaces/IClearingHouse.sol";
import {CurveMath} from "./libraries/CurveMath.sol";
import {Delegation} from "./libraries/Delegation.sol";
import {FixedPoint} from "./libraries/FixedPoint.sol";
import {PositionMath, StoredPosition, Trade} from "./libraries/PositionMath.sol";
import {SequencerUptime} from "./libraries/SequencerUptime.sol";
import {ADMIN_MODULE_KIND, MAX_FEE_RATIO as MAX_FEE_RATIO_} from "./clearinghouse/AdminModule.sol";
import {ClearingHouseBase} from "./clearinghouse/ClearingHouseBase.sol";
import {LIQUIDATION_MODULE_KIND} from "./clearinghouse/LiquidationModule.sol";
import {ClearingHouseModule} from "./clearinghouse/ClearingHouseModule.sol";
import {LiquidationStorage} from "./clearinghouse/LiquidationStorage.sol";
import {SETTLEMENT_MODULE_KIND} from "./clearinghouse/SettlementModule.sol";
import {SettlementStorage} from "./clearinghouse/SettlementStorage.sol";

/// @title ClearingHouse
/// @notice Positions, margin and fees for every market. See {IClearingHouse}.
/// @dev Calls go one way: ClearingHouse -> Amm (pricing) and -> Vault (value). A position is two
/// storage slots; every trade makes one call to the Amm and one to the Vault. Trading, margin,
/// administration and views live here; what a trade does to a position is {PositionMath}'s.
/// Liquidation ({LiquidationModule}) and global settlement ({SettlementModule}) are modules deployed
/// beforehand, checked by the constructor and run by DELEGATECALL.
contract ClearingHouse is ClearingHouseBase, IClearingHouse {
    using FixedPoint for uint256;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Highest trading fee a market may charge: 5% of notional.
    uint256 public constant MAX_FEE_RATIO = MAX_FEE_RATIO_;

    /// @notice The module that runs the owner's configuration: the Vault and insurance fund links,
    /// listing markets and their parameters, pausing.
    address public immutable adminModule;

    /// @notice The module that runs {liquidate}, {liquidateWithLimit} and {setLiquidationParams}.
    address public immutable liquidationModule;
    /// @notice The module that runs {settleMarket} and {settlePosition}.
    address public immutable settlementModule;

    // ---------------------------------------------------------------- constructor

    /// @param owner_ Who links the Vault, lists markets, sets parameters and pauses.
    /// @param sequencerFeed_ The L2 sequencer uptime feed (Chainlink's) whose status gates
    /// risk-increasing actions (see {IClearingHouse-sequencerFeed}); address(0) on a chain without
    /// a sequencer. An immutable, so chains without one pay nothing for the check. The grace period
    /// starts at SequencerUptime.DEFAULT_GRACE_PERIOD ({setSequencerGracePeriod}).
    /// @param modules The three modules, deployed beforehand with the same `sequencerFeed_` (the
    /// modules' creation code would take this contract's past the 49,152-byte initcode limit).
    /// Each must answer its own kind and that feed, else {InvalidModule}.
    constructor(
        address owner_,
        AggregatorV3Interface sequencerFeed_,
        Modules memory modules
    ) Ownable(owner_) ClearingHouseBase(sequencerFeed_) {
        adminModule = _checkedModule(modules.admin, ADMIN_MODULE_KIND, sequencerFeed_);
        liquidationModule = _checkedModule(modules.liquidation, LIQUIDATION_MODULE_KIND, sequencerFeed_);
        settlementModule = _checkedModule(modules.settlement, SETTLEMENT_MODULE_KIND, sequencerFeed_);
        LiquidationStorage.set(LiquidationStorage.defaults());
        _config.sequencerGracePeriod = uint32(SequencerUptime.DEFAULT_GRACE_PERIOD);
        emit SequencerGracePeriodSet(SequencerUptime.DEFAULT_GRACE_PERIOD);
    }

    /// @dev `module` if it is a module of `kind` built with `sequencerFeed_`; reverts otherwise.
    function _checkedModule(
        address module,
        bytes32 kind,
        AggregatorV3Interface sequencerFeed_
    ) private view returns (address) {
        if (module.code.length != 0) {
            // solhint-disable-next-line avoid-low-level-calls
            (bool ok, bytes memory data) = module.staticcall(abi.encodeCall(ClearingHouseModule.moduleInfo, ()));
            if (ok && data.length == 64 && keccak256(data) == keccak256(abi.encode(kind, sequencerFeed_))) {
                return module;
            }
        }
        revert InvalidModule(module);
    }

    // ---------------------------------------------------------------- trading

    /// @dev One open request, gathered so the trade steps take few arguments.
    struct Order {
        address amm;
        Side side;
        uint256 margin;
        uint256 leverage;
        uint256 notional;
        uint256 baseLimit;
        /// @dev What the insurance fund holds ({_insuranceAvailable}): read once, as no step of the
        /// trade moves it before the settlement.
        uint256 fund;
    }

    /// @inheritdoc IClearingHouse
    function openPosition(
        address amm,
        Side side,
        uint256 margin,
        uint256 leverage,
        uint256 baseLimit,
        uint256 deadline
    ) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _tradableMarket(amm);
        Order memory o = Order(
            amm,
            side,
            margin,
            leverage,
            PositionMath.openNotional(margin, leverage, market.initialMarginRatio),
            baseLimit,
            _insuranceAvailable()
        );
        StoredPosition memory p = _loadPosition(amm, msg.sender);
        // Against the position, its exit value classifies the trade (a reduce or a reversal), on the
        // curve the swap will trade on: any repeg runs first. With it, the swap values it ({_increase}).
        uint256 exitValue;
        if (p.size != 0 && (p.size > 0) != (side == Side.LONG)) {
            (uint256 quoteReserve, uint256 baseReserve) = IAmm(amm).repegAndGetReserves(o.fund);
            exitValue = CurveMath.quoteForBase(quoteReserve, baseReserve, p.size, SignedMath.abs(p.size));
        }
        TradeKind kind = PositionMath.tradeKind(p.size, side, o.notional, exitValue);
        if (kind == TradeKind.REDUCE) {
            // Reducing risk stays open while the sequencer is down and in a reduce-only market.
            _reduceByQuote(market, p, o);
        } else {
            _checkSequencer();
            _requireActive(amm, market);
            if (kind == TradeKind.REVERSE) _reverse(market, p, o);
            else _increase(market, p, o);
        }
    }

    /// @inheritdoc IClearingHouse
    function closePosition(address amm, uint256 quoteLimit, uint256 deadline) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _tradableMarket(amm);
        StoredPosition memory p = _positions[amm][msg.sender];
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        _reduceByBase(amm, market, p, SignedMath.abs(p.size), quoteLimit);
    }

    /// @inheritdoc IClearingHouse
    function reducePosition(
        address amm,
        uint256 baseAmount,
        uint256 quoteLimit,
        uint256 deadline
    ) external nonReentrant whenNotPaused {
        _checkDeadline(deadline);
        Market memory market = _tradableMarket(amm);
        if (baseAmount == 0) revert ZeroAmount();
        StoredPosition memory p = _positions[amm][msg.sender];
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        uint256 absSize = SignedMath.abs(p.size);
        if (baseAmount > absSize) revert ReduceExceedsPosition(baseAmount, absSize);
        _reduceByBase(amm, market, p, baseAmount, quoteLimit);
    }

    /// @dev Opens a position, or adds exposure on its side: margin and fee come from free collateral.
    function _increase(Market memory market, StoredPosition memory p, Order memory o) private {
        (uint256 base, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) = _swapToIncrease(
            market,
            p,
            o
        );
        Trade memory t = PositionMath.increase(p, o.side, base, o.margin, o.notional, funding, market.feeRatio);
        if (spread != 0 || curveCost != 0) PositionMath.chargeSpread(t, spread, curveCost);
        _store(msg.sender, o.amm, t, p);
    }

    /// @dev An increase's swap, with its checks: the trader's base bound, and the existing position
    /// must meet the initial margin valued at the spot the swap traded on (after any repeg, before
    /// the trade, so the trade's own price impact cannot flatter it). The swap returns that value,
    /// so no valuation call runs first.
    function _swapToIncrease(
        Market memory market,
        StoredPosition memory p,
        Order memory o
    ) private returns (uint256 base, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) {
        uint256 notionalBefore;
        (base, funding, spread, curveCost, notionalBefore) = IAmm(o.amm).swapQuote(o.side, o.notional, p.size, o.fund);
        _checkBaseLimit(o.side, base, o.baseLimit);
        PositionMath.requireMayIncrease(p, funding, notionalBefore, market.initialMarginRatio);
    }

    /// @dev Swaps the order's notional on its side and checks the trader's base bound.
    function _swapQuote(
        Order memory o,
        int256 sizeBefore
    ) private returns (uint256 base, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) {
        (base, funding, spread, curveCost, ) = IAmm(o.amm).swapQuote(o.side, o.notional, sizeBefore, o.fund);
        _checkBaseLimit(o.side, base, o.baseLimit);
    }

    /// @dev An open against the position for less than its exit value: trades the order's
    /// notional and realises the part of the position it buys back.
    function _reduceByQuote(Market memory market, StoredPosition memory p, Order memory o) private {
        (uint256 base, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) = _swapQuote(o, p.size);
        // The notional is below the exit value on this same curve, so only the pool's rounding could
        // buy back more than the position: refused by name rather than realised.
        uint256 absSize = SignedMath.abs(p.size);
        if (base > absSize) revert ReduceExceedsPosition(base, absSize);
        Trade memory t = PositionMath.reduce(p, base, o.notional, funding, market.feeRatio);
        if (spread != 0 || curveCost != 0) PositionMath.chargeSpreadOnReduce(p, t, spread, curveCost);
        _deferGain(o.amm, p, t);
        if (p.size != 0) _requireMarkMarginRatio(o.amm, p, market.maintenanceMarginRatio);
        _store(msg.sender, o.amm, t, p);
    }

    /// @dev Closes `base` of the position (all of it is a close) at the pool's price.
    function _reduceByBase(
        address amm,
        Market memory market,
        StoredPosition memory p,
        uint256 base,
        uint256 quoteLimit
    ) private {
        bool closingLong = p.size > 0;
        (uint256 quote, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) = IAmm(amm).swapBase(
            p.size,
            base,
            _insuranceAvailable()
        );
        _checkQuoteLimit(closingLong, quote, quoteLimit);
        Trade memory t = PositionMath.reduce(p, base, quote, funding, market.feeRatio);
        if (spread != 0 || curveCost != 0) PositionMath.chargeSpreadOnReduce(p, t, spread, curveCost);
        _deferGain(amm, p, t);
        if (p.size != 0) _requireMarkMarginRatio(amm, p, market.maintenanceMarginRatio);
        _store(msg.sender, amm, t, p);
    }

    /// @dev Trades against the position for at least its exit value: closes it, then opens the rest
    /// of the notional on the other side with margin rest / leverage from free collateral, unless
    /// the rest is dust ({PositionMath-restTradable}).
    function _reverse(Market memory market, StoredPosition memory p, Order memory o) private {
        uint256 closedSize = SignedMath.abs(p.size);
        int256 sizeBefore = p.size;
        (uint256 exitValue, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost) = IAmm(o.amm)
            .swapBase(p.size, closedSize, o.fund);
        Trade memory t = PositionMath.reduce(p, closedSize, exitValue, funding, market.feeRatio);
        if (spread != 0 || curveCost != 0) PositionMath.chargeSpreadOnReduce(p, t, spread, curveCost);
        _deferGain(o.amm, p, t);
        // The close traded on the curve openPosition valued it on: exitValue <= notional.
        uint256 rest = o.notional - exitValue;
        if (rest != 0 && _restTradable(o.amm, o.side, rest)) {
            p = _openRest(o, market.feeRatio, rest, t);
            t.quoteAmount = o.notional;
        }
        _checkBaseLimit(o.side, closedSize + SignedMath.abs(p.size), o.baseLimit);
        t.baseDelta = p.size - sizeBefore;
        _store(msg.sender, o.amm, t, p);
    }

    /// @dev Whether a reversal's rest is worth trading at the pool's price after the close.
    function _restTradable(address amm, Side side, uint256 rest) private view returns (bool) {
        (uint256 quoteReserve, uint256 baseReserve) = IAmm(amm).getReserves();
        uint256 baseOut = CurveMath.baseForQuote(quoteReserve, baseReserve, side, rest);
        return PositionMath.restTradable(rest, baseOut, quoteReserve, baseReserve);
    }

    /// @dev The opening leg of a reversal: a fresh position of notional `rest`, its margin and fee
    /// added to `t`. The close accrued funding to now, so its swap accrues nothing; the fund is
    /// passed for the vAMM leverage bound, which counts the fund's share as for any other trade.
    function _openRest(
        Order memory o,
        uint256 feeRatio,
        uint256 rest,
        Trade memory t
    ) private returns (StoredPosition memory opened) {
        (uint256 base, IAmm.FundingSnapshot memory funding, uint256 spread, uint256 curveCost, ) = IAmm(o.amm)
            .swapQuote(o.side, rest, 0, o.fund);
        uint256 fee;
        (opened, fee) = PositionMath.openRest(o.side, base, rest, o.leverage, funding, feeRatio);
        t.fee += fee;
        t.freeCollateralDelta -= (uint256(opened.margin) + fee).toInt256();
        if (spread != 0 || curveCost != 0) PositionMath.chargeSpread(t, spread, curveCost);
    }

    // ---------------------------------------------------------------- margin

    /// @inheritdoc IClearingHouse
    function addMargin(address amm, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        StoredPosition storage p = _positions[amm][msg.sender];
        // A position exists only in a listed market, so this also checks the market; a settled one's
        // Vault account is closed, and the Vault refuses the margin with MarketIsSettled.
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        // Funding is not settled here: adding margin cannot hurt anyone, and the next trade settles it.
        uint256 margin = p.margin + amount;
        p.margin = margin.toUint128();
        int256 delta = amount.toInt256();
        _config.vault.moveMargin(msg.sender, amm, delta);
        emit MarginChanged(msg.sender, amm, delta, margin);
    }

    /// @inheritdoc IClearingHouse
    function removeMargin(address amm, uint256 amount) external nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        _checkSequencer();
        StoredPosition storage stored = _positions[amm][msg.sender];
        StoredPosition memory p = stored;
        if (p.size == 0) revert NoPosition(msg.sender, amm);
        if (amount > p.margin) revert InsufficientMargin(p.margin, amount);
        Market memory market = _markets[amm];
        if (market.status == MarketStatus.SETTLED) revert MarketIsSettled(amm);
        p.margin -= uint128(amount);
        // Valued at the exit value with profit left out: unrealised profit never backs a withdrawal.
        uint256 exitValue = IAmm(amm).previewSwapBase(p.size, SignedMath.abs(p.size));
        PositionMath.requireEquity(
            PositionMath.equityWithoutProfit(p, _pendingFunding(amm, p), exitValue),
            exitValue,
            market.initialMarginRatio
        );
        stored.margin = p.margin;
        // amount <= the margin, a uint128: the cast and the negation are exact.
        int256 delta = -int256(amount);
        _config.vault.moveMargin(msg.sender, amm, delta);
        emit MarginChanged(msg.sender, amm, delta, p.margin);
    }

    // ---------------------------------------------------------------- modules

    /// @inheritdoc IClearingHouse
    function setInsuranceFund(address) external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function setVault(IVault) external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function addMarket(address, MarketParams calldata) external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function setMarketParams(address, MarketParams calldata) external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function pause() external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function unpause() external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function setSequencerGracePeriod(uint256) external {
        _delegate(adminModule);
    }

    /// @inheritdoc IClearingHouse
    function contributeToBudget(address, uint256) external {
        _delegate(settlementModule);
    }

    /// @inheritdoc IClearingHouse
    function updateFunding(address) external {
        _delegate(settlementModule);
    }

    /// @inheritdoc IClearingHouse
    function liquidate(address, address) external returns (LiquidationResult memory) {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IClearingHouse
    function liquidateWithLimit(address, address, uint256, uint256) external returns (LiquidationResult memory) {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IClearingHouse
    function setLiquidationParams(LiquidationParams calldata) external {
        _delegate(liquidationModule);
    }

    /// @inheritdoc IClearingHouse
    function settleMarket(address) external {
        _delegate(settlementModule);
    }

    /// @inheritdoc IClearingHouse
    function settlePosition(address, address) external {
        _delegate(settlementModule);
    }

    /// @dev Runs this call's calldata in `module`'s code on this contract's storage and returns
    /// or reverts with what it returned. The module checks access, pause and reentrancy itself.
    function _delegate(address module) private {
        Delegation.forward(module);
    }

    /// @dev A view served by the liquidation module (the risk views, which need its code but no
    /// room here): {Delegation-forwardView}; {fallback} serves it.
    function _delegateView() private view {
        Delegation.forwardView();
    }

    /// @notice Serves {_delegateView}'s calls from this contract only: runs the calldata after the
    /// marker in the liquidation module. Anything else is refused with {ICommonErrors-NotDelegated}.
    fallback() external {
        Delegation.serveView(liquidationModule);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IClearingHouse
    function sequencerFeed() external view returns (AggregatorV3Interface) {
        return _sequencerFeed;
    }

    /// @inheritdoc IClearingHouse
    function sequencerGracePeriod() external view returns (uint256) {
        return _config.sequencerGracePeriod;
    }

    /// @inheritdoc IClearingHouse
    function getPosition(address amm, address trader) external view returns (Position memory) {
        StoredPosition memory p = _positions[amm][trader];
        return Position(p.size, p.margin, p.openNotional, p.fundingCheckpoint);
    }

    /// @inheritdoc IClearingHouse
    function getPendingFunding(address amm, address trader) external view returns (int256) {
        return _pendingFunding(amm, _positions[amm][trader]);
    }

    /// @inheritdoc IClearingHouse
    function getUnrealizedPnl(address, address) external view returns (int256) {
        _delegateView();
    }

    /// @inheritdoc IClearingHouse
    function getMarginRatio(address, address) external view returns (int256) {
        _delegateView();
    }

    /// @inheritdoc IClearingHouse
    function getLiquidationMarginRatio(address, address) external view returns (int256) {
        _delegateView();
    }

    /// @inheritdoc IClearingHouse
    function getLiquidationParams() external view returns (LiquidationParams memory) {
        _delegateView();
    }

    /// @inheritdoc IClearingHouse
    function getMarketStatus(address amm) external view returns (MarketStatus status, uint256 shortfall) {
        return (_markets[amm].status, _shortfalls[amm]);
    }

    /// @inheritdoc IClearingHouse
    function getSettlement(address amm) external view returns (Settlement memory) {
        return SettlementStorage.ofMarket(amm);
    }

    /// @inheritdoc IClearingHouse
    function getMarketParams(address amm) external view returns (MarketParams memory) {
        Market memory m = _markets[amm];
        return MarketParams(m.initialMarginRatio, m.maintenanceMarginRatio, m.feeRatio);
    }

    /// @inheritdoc IClearingHouse
    function isMarketListed(address amm) external view returns (bool) {
        return _markets[amm].listed;
    }

    /// @inheritdoc IClearingHouse
    function vault() external view returns (IVault) {
        return _config.vault;
    }

    /// @inheritdoc IClearingHouse
    function paused() external view returns (bool) {
        return _config.paused;
    }
}
