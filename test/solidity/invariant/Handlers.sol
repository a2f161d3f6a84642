// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAmmErrors} from "../../../contracts/interfaces/IAmm.sol";
import {IPriceFeedErrors} from "../../../contracts/interfaces/IPriceFeed.sol";
import {IVaultErrors} from "../../../contracts/interfaces/IVault.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Amm} from "../../../contracts/Amm.sol";
import {ClearingHouse} from "../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../contracts/Vault.sol";
import {IAmm, Side} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {IPriceFeed} from "../../../contracts/interfaces/IPriceFeed.sol";
import {IInsuranceFund} from "../../../contracts/interfaces/IInsuranceFund.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {InsuranceFund} from "../../../contracts/InsuranceFund.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {MockERC20} from "../../../contracts/test/MockERC20.sol";
import {TestBase} from "../utils/TestBase.sol";
import {Vm} from "../utils/Vm.sol";

/// @notice What every handler shares: the system under test, units and small pure helpers.
/// @dev Handlers never assert (a revert would only be counted and dropped by the fuzzer, since
/// `failOnRevert` is false): they record anything wrong in a ghost counter the invariants read.
abstract contract HandlerBase is TestBase {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant DEADLINE = type(uint256).max;

    ClearingHouse public immutable clearingHouse;
    Vault public immutable vault;
    Amm public immutable amm;
    MockERC20 public immutable usdc;
    /// @dev Token units x scale = 18-decimal ledger units.
    uint256 public immutable scale;

    constructor(ClearingHouse clearingHouse_, Vault vault_, Amm amm_, MockERC20 usdc_) {
        clearingHouse = clearingHouse_;
        vault = vault_;
        amm = amm_;
        usdc = usdc_;
        scale = 10 ** (18 - uint256(usdc_.decimals()));
    }

    function _position(address t) internal view returns (IClearingHouse.Position memory) {
        return clearingHouse.getPosition(address(amm), t);
    }

    function _params() internal view returns (IClearingHouse.MarketParams memory) {
        return clearingHouse.getMarketParams(address(amm));
    }

    function _abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    /// @dev PnL of a position valued at `quote` (what closing it yields over / under its cost).
    function _pnlAt(int256 size, uint256 openNotional, uint256 quote) internal pure returns (int256) {
        return size > 0 ? int256(quote) - int256(openNotional) : int256(openNotional) - int256(quote);
    }

    /// @dev The position's exit value (what a close would realise now), or ok = false when the pool
    /// cannot price it (a short larger than the base reserve: InsufficientReserve).
    function _tryExitValue(int256 size) internal view returns (bool ok, uint256 exit) {
        try amm.previewSwapBase(size, _abs(size)) returns (uint256 quote) {
            return (true, quote);
        } catch {
            return (false, 0);
        }
    }

    function _selector(bytes memory err) internal pure returns (bytes4 sel) {
        return selectorOf(err);
    }
}

/// @notice Called after every action: the staked insurance fund's share price must not fall without a loss.
interface ISharePriceWatch {
    function check() external;
}

/// @notice What the TraderHandler's final settlement asks of the LiquidatorHandler.
interface ILiquidatorHook {
    /// @dev Liquidates `trader` if its liquidation margin ratio is below maintenance: `done` if a
    /// liquidation went through, `liquidatable` if the position was (and may still be) liquidatable.
    function liquidateForSettlement(address trader) external returns (bool done, bool liquidatable);
}

// ====================================================================== traders

/// @notice One actor: four traders (picked by a fuzzed index) trading in the one market and moving
/// collateral in and out of the Vault. Inputs are bounded so that most calls do something; reverts the
/// protocol is entitled to (pause, limits, margin checks, bad debt) are caught and counted per action;
/// any other revert is an "unexpected revert" the invariants require to be zero.
contract TraderHandler is HandlerBase {
    enum Action {
        Open,
        Increase,
        Reduce,
        Reverse,
        Close,
        AddMargin,
        RemoveMargin,
        Deposit,
        Withdraw,
        WithdrawAll
    }
    uint256 public constant N_ACTIONS = 10;

    /// @dev What a call turned out to be, which decides the reverts it is entitled to (`_isExpected`).
    enum Kind {
        Open,
        Increase,
        Reduce,
        Reverse,
        Close,
        AddMargin,
        RemoveMargin,
        Collateral
    }
    uint256 public constant N_TRADERS = 4;

    address[N_TRADERS] internal _traders;
    /// @dev Initial reserves of the market.
    uint256 public immutable q0;
    uint256 public immutable b0;

    // ------------------------------------------------------------------ ghosts: value (token units)

    mapping(address trader => uint256) public deposited;
    mapping(address trader => uint256) public withdrawn;
    uint256 public totalDeposited;
    uint256 public totalWithdrawn;

    // ------------------------------------------------------------------ ghosts: PositionChanged events (18 decimals)

    mapping(address trader => int256) public realizedPnl;
    mapping(address trader => uint256) public feesPaid;
    int256 public sumRealizedPnl;
    uint256 public sumFees;
    /// @dev Fees recomputed from each trade's inputs: ceil(notional x feeRatio) per leg.
    uint256 public expectedFees;

    // ------------------------------------------------------------------ ghosts: pool

    /// @dev k = quote x base after the last trader action, and how often an action lowered it.
    uint256 public lastK;
    uint256 public kDecreases;
    /// @dev Swaps seen (Swapped events) and the sum over them of max(quote reserve, base reserve)
    /// after the swap: each swap rounds one reserve up, so k grows by less than the other reserve,
    /// itself <= that max. Bounds the reserve drift once every position is closed.
    uint256 public swaps;
    uint256 public roundingSum;

    // ------------------------------------------------------------------ ghosts: outcomes

    uint256[N_ACTIONS] public calls;
    uint256[N_ACTIONS] public successes;
    uint256[N_ACTIONS] public expectedReverts;
    /// @dev Calls that found nothing to do (no position, nothing to withdraw, amount rounds to 0).
    uint256[N_ACTIONS] public skips;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;
    uint256 public lastUnexpectedAction;
    /// @dev Selector of the last revert caught, expected or not, and a histogram of them.
    bytes4 public lastError;
    mapping(bytes4 selector => uint256) public revertsBySelector;

    /// @dev A PositionChanged / MarginChanged whose values disagree with the stored position, the free
    /// collateral change or the insurance fund change.
    uint256 public eventMismatches;
    /// @dev A trade whose fee differs from ceil(notional x feeRatio) per leg.
    uint256 public feeMismatches;
    /// @dev A successful removeMargin leaving the position below the initial margin ratio at its exit
    /// value with profit left out (the documented rule), or at the spot price (getMarginRatio).
    uint256 public removeMarginViolations;
    uint256 public removeMarginMarkViolations;
    /// @dev removeMargin of exactly the largest amount the rule allows, refused with MarginRatioTooLow.
    uint256 public removeMarginMaxRefused;
    /// @dev A trader without a position that could not withdraw all its free collateral.
    uint256 public withdrawAllFailures;

    // ------------------------------------------------------------------ final settlement (afterInvariant)

    uint256 public finalCloseFailures;
    bytes4 public finalCloseLastError;
    uint256 public finalTopUps;
    uint256 public finalDeferrals;
    uint256 public finalWithdrawFailures;
    /// @dev Close attempts of the settlement refused with InsufficientMarginPool while the market has a
    /// recorded shortfall (the pool cannot pay every winner: see SPEC.md, P12), and the positions left
    /// open because of it.
    uint256 public finalStrandedAttempts;
    uint256 public finalStranded;
    uint256 public finalLiquidations;

    // ------------------------------------------------------------------ liquidation (LiquidatorHandler)

    /// @dev The LiquidatorHandler, linked once after deployment; it reports every liquidation here so
    /// the per-trader ledger, the PnL sums, the swap count and k cover liquidations too.
    address public liquidatorHandler;
    /// @dev Penalty a trader paid out of its position (reward + insurance penalty, when the position
    /// had no bad debt), and the bad debt it left (a loss beyond its margin, paid by others).
    mapping(address trader => uint256) public liquidationCharges;
    mapping(address trader => uint256) public badDebtLeft;

    // ------------------------------------------------------------------ funding (18 decimals)

    /// @dev Funding each trader paid (negative: received), from the PositionChanged events (trades and
    /// liquidations), and in total. A payment moves margin, not free collateral.
    mapping(address trader => int256) public fundingPaid;
    int256 public sumFundingPaid;
    /// @dev What the insurance fund received from funding accruals (negative: paid), booked by trades,
    /// liquidations and funding updates; and the sum of what it paid out (the negative flows).
    int256 public sumInsuranceFlow;
    uint256 public sumFundOutflows;
    /// @dev Funding settlements (PositionChanged events) plus booked accruals: each rounds by under one
    /// wei in the protocol's favour, so the funding dust kept by the pool is below twice this count.
    uint256 public fundingRoundings;
    uint256 public nonZeroFundingPayments;
    /// @dev The insurance flow the next trade will book, read from getFundingIndices before the call.
    int256 internal _flowBefore;

    // ------------------------------------------------------------------ staking and sequencer

    /// @dev Token units staked into the insurance fund and paid out by its redemptions (StakerHandler).
    uint256 public stakedUnits;
    uint256 public redeemedUnits;
    /// @dev Checks the staked insurance fund's share price after every action (FundingHandlers.sol).
    ISharePriceWatch public sharePriceWatch;
    /// @dev The ClearingHouse's sequencer gate; a risk-increasing action accepted while it is not up.
    IPriceFeed public sequencerOracle;
    uint256 public sequencerGateViolations;
    /// @dev Reduces, closes and withdrawals that went through while the sequencer was down or in grace.
    uint256 public actionsWhileSequencerDown;
    /// @dev Handlers allowed to report to this ledger (the liquidator, keeper, oracle, stakers).
    mapping(address => bool) public isHandler;
    address internal immutable _deployer;

    constructor(
        ClearingHouse clearingHouse_,
        Vault vault_,
        Amm amm_,
        MockERC20 usdc_
    ) HandlerBase(clearingHouse_, vault_, amm_, usdc_) {
        for (uint256 i; i < N_TRADERS; ++i) {
            _traders[i] = address(uint160(0xA11CE000 + i));
            vm.label(_traders[i], "trader");
        }
        (q0, b0) = amm_.getReserves();
        lastK = q0 * b0;
        _deployer = msg.sender;
    }

    /// @notice Links another handler that reports to this ledger (by the test's setUp).
    function registerHandler(address handler) external {
        require(msg.sender == _deployer, "only the deployer");
        isHandler[handler] = true;
    }

    /// @notice Links the staked insurance fund and the sequencer gate (by the test's setUp).
    function setFundAndSequencer(ISharePriceWatch watch, IPriceFeed sequencerOracle_) external {
        require(msg.sender == _deployer, "only the deployer");
        sharePriceWatch = watch;
        sequencerOracle = sequencerOracle_;
        _end();
    }

    function traderAt(uint256 i) external view returns (address) {
        return _traders[i];
    }

    /// @notice Links the LiquidatorHandler (once, by the test's setUp).
    function setLiquidatorHandler(address handler) external {
        require(liquidatorHandler == address(0), "liquidator handler already set");
        liquidatorHandler = handler;
        isHandler[handler] = true;
    }

    modifier onlyHandler() {
        require(isHandler[msg.sender], "only a registered handler");
        _;
    }

    /// @notice A funding payment settled by a liquidation (from its PositionChanged event) and the
    /// insurance flow its accrual booked.
    function recordFunding(address t, int256 payment, int256 flow) external onlyHandler {
        _recordFundingPayment(t, payment);
        _recordFlow(flow);
    }

    /// @notice An insurance flow booked by a funding update (the keeper).
    function recordFlow(int256 flow) external onlyHandler {
        _recordFlow(flow);
    }

    /// @notice Token units staked into (`units` in) or redeemed from (`units` out) the insurance fund.
    function recordStake(uint256 unitsIn, uint256 unitsOut) external onlyHandler {
        stakedUnits += unitsIn;
        redeemedUnits += unitsOut;
    }

    /// @notice A sequencer-gated action (liquidation) went through while the sequencer was not up.
    function recordGateViolation() external onlyHandler {
        sequencerGateViolations++;
    }

    /// @notice A liquidation of `t`: its realised PnL (from the PositionChanged event), the penalty it
    /// paid and the bad debt it left. Keeps P4, P5, P6 exact.
    function recordLiquidation(address t, int256 pnl, uint256 charged, uint256 badDebt) external onlyHandler {
        realizedPnl[t] += pnl;
        sumRealizedPnl += pnl;
        liquidationCharges[t] += charged;
        badDebtLeft[t] += badDebt;
    }

    /// @notice A Swapped event seen by the liquidator (P12's rounding bound).
    function recordSwap(uint256 q, uint256 b) external onlyHandler {
        swaps++;
        roundingSum += Math.max(q, b);
    }

    /// @notice After a liquidator action: k must not have gone down (P3).
    function syncK() external onlyHandler {
        _end();
    }

    // ================================================================== actions (fuzz targets)

    /// @notice Opens on any side: an open, increase, reduce or reverse depending on the position.
    function openPosition(uint256 traderSeed, uint256 sideSeed, uint256 notionalSeed, uint256 leverageSeed) external {
        _begin(Action.Open);
        Side side = sideSeed & 1 == 0 ? Side.LONG : Side.SHORT;
        _openByNotional(Action.Open, _traderAt(traderSeed), side, notionalSeed, leverageSeed);
        _end();
    }

    /// @notice A crash or a squeeze: another trader trades against an open position's side, at the
    /// maximum leverage, for the top decade of the notional range (counted as an Open action). These
    /// moves, with time passing beyond the mark TWAP window, make positions liquidatable.
    function movePrice(uint256 traderSeed, uint256 notionalSeed) external {
        _begin(Action.Open);
        (address victim, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Open);
            return;
        }
        uint256 v;
        while (_traders[v] != victim) v++;
        address t = _traders[(v + 1 + ((traderSeed >> 8) % (N_TRADERS - 1))) % N_TRADERS];
        Side side = _position(victim).size > 0 ? Side.SHORT : Side.LONG;
        // Bit 2 set: the top decade; leverage seed 0: the maximum.
        _openByNotional(Action.Open, t, side, notionalSeed | 4, 0);
        _end();
    }

    /// @notice Adds to the position on its own side (opens one if there is none).
    function increasePosition(uint256 traderSeed, uint256 notionalSeed, uint256 leverageSeed) external {
        _begin(Action.Increase);
        address t = _traderAt(traderSeed);
        int256 size = _position(t).size;
        Side side = size == 0 ? (notionalSeed & 1 == 0 ? Side.LONG : Side.SHORT) : (size > 0 ? Side.LONG : Side.SHORT);
        _openByNotional(Action.Increase, t, side, notionalSeed >> 1, leverageSeed);
        _end();
    }

    /// @notice Trades against the position for 0.01% .. 99.99% of its exit value.
    function reducePosition(uint256 traderSeed, uint256 fractionSeed, uint256 leverageSeed) external {
        _begin(Action.Reduce);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Reduce);
            return;
        }
        int256 size = _position(t).size;
        (bool ok, uint256 exit) = _tryExitValue(size);
        uint256 leverage = _leverage(leverageSeed);
        uint256 notional = Math.mulDiv(exit, bound(fractionSeed, 1, 9_999), 10_000);
        uint256 margin = Math.mulDiv(notional, WAD, leverage);
        if (!ok || margin == 0 || Math.mulDiv(margin, leverage, WAD) == 0) {
            _skip(Action.Reduce);
            return;
        }
        _trade(Action.Reduce, t, size > 0 ? Side.SHORT : Side.LONG, margin, leverage);
        _end();
    }

    /// @notice Trades against the position for its exit value plus 0 .. 20% of the quote reserve:
    /// closes it and, with a rest, opens the other side.
    function reversePosition(uint256 traderSeed, uint256 extraSeed, uint256 leverageSeed) external {
        _begin(Action.Reverse);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Reverse);
            return;
        }
        int256 size = _position(t).size;
        (bool ok, uint256 exit) = _tryExitValue(size);
        if (!ok || exit == 0) {
            _skip(Action.Reverse);
            return;
        }
        uint256 margin;
        uint256 leverage;
        if (extraSeed % 8 == 0) {
            // Exactly the exit value (1x): the reversal is a plain close through openPosition.
            leverage = WAD;
            margin = exit;
        } else {
            (uint256 q, ) = amm.getReserves();
            leverage = _leverage(leverageSeed);
            uint256 notional = exit + boundLog(extraSeed >> 3, 1, q / 5);
            margin = Math.mulDiv(notional, WAD, leverage, Math.Rounding.Ceil); // margin x leverage >= notional
        }
        _trade(Action.Reverse, t, size > 0 ? Side.SHORT : Side.LONG, margin, leverage);
        _end();
    }

    /// @notice Closes a position; a quarter of the time the trader first tops up a margin that cannot cover
    /// the close (margin + PnL at exit - fee < 0), which would otherwise revert PositionUnderwater.
    function closePosition(uint256 traderSeed, uint256 rescueSeed) external {
        _begin(Action.Close);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.Close);
            return;
        }
        if (rescueSeed % 4 == 0) _rescueIfUnderwater(t);
        if (_close(Action.Close, t)) successes[uint256(Action.Close)]++;
        _end();
    }

    function addMargin(uint256 traderSeed, uint256 amountSeed) external {
        _begin(Action.AddMargin);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.AddMargin);
            return;
        }
        uint256 amount = boundLog(amountSeed, 1, 1e24);
        _ensureFree(t, amount);
        if (_addMargin(t, amount)) successes[uint256(Action.AddMargin)]++;
        _end();
    }

    /// @notice Removes margin: a quarter of the time exactly the most the rule allows, a quarter one
    /// wei more (must be refused), a quarter any amount up to that most, else any amount up to the
    /// whole margin.
    function removeMargin(uint256 traderSeed, uint256 amountSeed) external {
        _begin(Action.RemoveMargin);
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            _skip(Action.RemoveMargin);
            return;
        }
        IClearingHouse.Position memory p = _position(t);
        uint256 amount;
        uint256 mode = amountSeed % 4;
        if (mode == 3) {
            // A dust position can be left with no margin at all by a reduce: nothing to remove then.
            amount = p.margin == 0 ? 0 : bound(amountSeed >> 2, 1, p.margin);
        } else {
            (bool ok, uint256 maxAmount) = _maxRemovable(t, p);
            if (!ok) {
                _skip(Action.RemoveMargin);
                return;
            }
            if (mode == 0) amount = maxAmount;
            else if (mode == 1) amount = Math.min(maxAmount + 1, p.margin);
            else amount = maxAmount == 0 ? 0 : bound(amountSeed >> 2, 1, maxAmount);
        }
        if (amount == 0) {
            _skip(Action.RemoveMargin);
            return;
        }

        uint256 freeBefore = vault.freeCollateral(t);
        _flowBefore = 0; // removeMargin settles no funding
        bool seqUp = _sequencerUp();
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.removeMargin(address(amm), amount) {
            if (!seqUp) sequencerGateViolations++;
            _checkEvents(t, 0, int256(amount), freeBefore, _insurance());
            _checkAfterRemoveMargin(t);
            successes[uint256(Action.RemoveMargin)]++;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(Action.RemoveMargin, Kind.RemoveMargin, err);
            // The most the documented rule allows must be accepted.
            if (mode == 0 && _selector(err) == IClearingHouse.MarginRatioTooLow.selector) removeMarginMaxRefused++;
        }
        _end();
    }

    function deposit(uint256 traderSeed, uint256 unitsSeed) external {
        _begin(Action.Deposit);
        // 1 token unit .. 1,000,000 tokens, whatever the decimals.
        uint256 units = boundLog(unitsSeed, 1, 1e24 / scale);
        if (_deposit(_traderAt(traderSeed), units)) successes[uint256(Action.Deposit)]++;
        _end();
    }

    /// @notice Withdraws any amount up to the trader's whole free collateral (never refused).
    function withdraw(uint256 traderSeed, uint256 unitsSeed) external {
        _begin(Action.Withdraw);
        address t = _traderAt(traderSeed);
        uint256 balance = vault.balanceOf(t);
        if (balance == 0) {
            _skip(Action.Withdraw);
            return;
        }
        if (_withdraw(Action.Withdraw, t, bound(unitsSeed, 1, balance))) successes[uint256(Action.Withdraw)]++;
        _end();
    }

    /// @notice Property 10: a trader with no position withdraws all its free collateral (token units,
    /// rounded down); a failure is recorded, not merely counted as a revert.
    function withdrawAll(uint256 traderSeed) external {
        _begin(Action.WithdrawAll);
        address t;
        bool found;
        for (uint256 i; i < N_TRADERS && !found; ++i) {
            t = _traders[(traderSeed + i) % N_TRADERS];
            found = _position(t).size == 0 && vault.balanceOf(t) != 0;
        }
        if (!found) {
            _skip(Action.WithdrawAll);
            return;
        }
        if (_withdraw(Action.WithdrawAll, t, vault.balanceOf(t))) {
            successes[uint256(Action.WithdrawAll)]++;
            if (vault.freeCollateral(t) >= scale) withdrawAllFailures++;
        } else {
            withdrawAllFailures++;
        }
        _end();
    }

    // ================================================================== final settlement

    /// @notice Closes every position, in an order drawn from `seed`, then withdraws everything. Not a
    /// fuzz target: `afterInvariant` calls it (its state is discarded after the run).
    /// - Every close is the first swap of its block (the clock moves 1 s before it), so the
    ///   fluctuation limit cannot refuse it; closes are exempt from the trade-size limit and the
    ///   open-interest cap only limits growth.
    /// - A position whose liquidation margin ratio is below maintenance is liquidated by the
    ///   LiquidatorHandler (as often as needed: partial liquidations, the fluctuation limit), whatever
    ///   is left is closed. A position whose margin cannot cover its loss at its exit value but is not
    ///   liquidatable (the TWAP values it higher) is topped up first (fresh deposit + addMargin), and
    ///   when the shared margin pool cannot pay a winner because of other positions' unrealised losses,
    ///   another open position lends it the shortfall (addMargin, paid back when it closes). Neither
    ///   moves a reserve or realises PnL.
    /// - With a recorded shortfall (bad debt the insurance fund could not pay) the pool holds less than
    ///   the winners' claims for good: a close it cannot pay (InsufficientMarginPool) is "stranded",
    ///   not a failure.
    /// - A short larger than the base reserve cannot buy back yet (InsufficientReserve): it is moved
    ///   to the end of the order and closes once the longs have returned their base.
    function settleAll(uint256 seed) external {
        uint256[] memory order = _permutation(seed);
        uint256 n = order.length;
        uint256 remaining = n;
        // At most n passes over the queue: every pass closes at least every long left.
        for (uint256 pass; pass < n + 1 && remaining != 0; ++pass) {
            for (uint256 k; k < n; ++k) {
                address t = _traders[order[k]];
                if (_position(t).size == 0) continue;
                vm.warp(block.timestamp + 1);
                vm.roll(block.number + 1);
                // Liquidate first: a liquidatable position must be, and a liquidation can be partial or
                // bounded by the per-block fluctuation limit, so it is repeated block after block.
                for (uint256 j; j < 16 && _position(t).size != 0; ++j) {
                    (bool done, bool liquidatable) = ILiquidatorHook(liquidatorHandler).liquidateForSettlement(t);
                    if (done) finalLiquidations++;
                    if (!liquidatable) break;
                    vm.warp(block.timestamp + 1);
                    vm.roll(block.number + 1);
                }
                if (_position(t).size == 0) continue;
                if (!_prepareFinalClose(t)) {
                    finalDeferrals++;
                    continue;
                }
                if (!_close(Action.Close, t)) {
                    if (lastError == IVaultErrors.InsufficientMarginPool.selector && _shortfall() != 0) {
                        finalStrandedAttempts++;
                    } else {
                        finalCloseFailures++;
                        finalCloseLastError = lastError;
                    }
                }
            }
            remaining = 0;
            for (uint256 i; i < n; ++i) if (_position(_traders[i]).size != 0) remaining++;
        }
        if (remaining != 0) {
            if (_shortfall() != 0) finalStranded = remaining;
            else finalCloseFailures += remaining;
        }
        for (uint256 i; i < n; ++i) {
            address t = _traders[i];
            uint256 balance = vault.balanceOf(t);
            if (balance != 0 && !_withdraw(Action.WithdrawAll, t, balance)) finalWithdrawFailures++;
        }
        _end();
    }

    /// @dev Makes `t`'s close possible: false if the pool cannot price it yet (short larger than the
    /// base reserve), else tops up its own margin if underwater and lends the pool any shortfall.
    function _prepareFinalClose(address t) internal returns (bool) {
        IClearingHouse.Position memory p = _position(t);
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) return false;
        _rescueIfUnderwater(t);
        p = _position(t);
        // The pool pays margin + PnL (the payout, plus the fee to the insurance fund).
        int256 take = int256(p.margin) - _pendingFunding(t) + _pnlAt(p.size, p.openNotional, exit);
        // The close's funding accrual pays the insurance fund's share out of the pool first.
        int256 flow = amm.getFundingIndices(_insurance()).insuranceFlow;
        if (flow > 0) take += flow;
        (uint256 pool, ) = vault.getPoolBalances();
        if (take > int256(pool)) {
            uint256 shortfall = uint256(take) - pool;
            for (uint256 i; i < N_TRADERS; ++i) {
                address lender = _traders[i];
                if (lender == t || _position(lender).size == 0) continue;
                _ensureFree(lender, shortfall);
                _addMargin(lender, shortfall);
                finalTopUps++;
                break;
            }
        }
        return true;
    }

    /// @dev Fisher-Yates over the trader indexes.
    function _permutation(uint256 seed) internal pure returns (uint256[] memory order) {
        order = new uint256[](N_TRADERS);
        for (uint256 i; i < N_TRADERS; ++i) order[i] = i;
        for (uint256 i = N_TRADERS - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % (i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    // ================================================================== trading internals

    /// @dev Notional up to q / 5 quote, kept within the trade-size limit three times out of four (the
    /// fourth may exceed it: TradeTooLarge): half the time log-uniform from 0.001 quote (dust and
    /// rounding), half uniform in the top decade (moves that put positions underwater); leverage
    /// 0.1x .. max.
    function _openByNotional(Action a, address t, Side side, uint256 notionalSeed, uint256 leverageSeed) internal {
        (uint256 q, ) = amm.getReserves();
        uint256 cap = q / 5;
        uint64 maxTradeRatio = amm.getLimits().maxTradeRatio;
        if (maxTradeRatio != 0 && notionalSeed % 4 != 0) cap = Math.min(cap, Math.mulDiv(q, maxTradeRatio, WAD));
        if (cap < 1e15) {
            _skip(a);
            return;
        }
        uint256 leverage = _leverage(leverageSeed);
        uint256 notional =
            (notionalSeed >> 2) & 1 == 0
                ? boundLog(notionalSeed >> 3, 1e15, cap)
                : bound(notionalSeed >> 3, cap / 10, cap);
        uint256 margin = Math.mulDiv(notional, WAD, leverage);
        if (margin == 0 || Math.mulDiv(margin, leverage, WAD) == 0) {
            _skip(a);
            return;
        }
        _trade(a, t, side, margin, leverage);
    }

    /// @dev Exactly the maximum (1 / IMR) half the time (positions that a small move makes
    /// liquidatable), else log-uniform in [0.1x, max].
    function _leverage(uint256 seed) internal view returns (uint256) {
        uint256 maxLeverage = (WAD * WAD) / _params().initialMarginRatio;
        if (seed % 4 < 2 || maxLeverage <= 1e17) return maxLeverage;
        return boundLog(seed >> 2, 1e17, maxLeverage);
    }

    struct TradeCtx {
        Kind kind;
        uint256 notional;
        uint256 feeRatio;
        uint256 expectedFee;
        bool isReverse;
        uint256 exit;
        uint256 freeBefore;
        uint256 insuranceBefore;
    }

    /// @dev openPosition with the fee predicted from the inputs: ceil(notional x fee) for an open,
    /// increase or reduce; for a reversal ceil(exit value x fee) plus, if a rest was opened,
    /// ceil((notional - exit value) x fee).
    function _trade(Action a, address t, Side side, uint256 margin, uint256 leverage) internal {
        TradeCtx memory c;
        c.notional = Math.mulDiv(margin, leverage, WAD);
        c.feeRatio = _params().feeRatio;
        int256 size = _position(t).size;
        if (size == 0 || (size > 0) == (side == Side.LONG)) {
            c.kind = size == 0 ? Kind.Open : Kind.Increase;
            c.expectedFee = _fee(c.notional, c.feeRatio);
        } else {
            // A position the pool cannot price (InsufficientReserve) counts as a reduce.
            (bool priced, uint256 exit) = _tryExitValue(size);
            if (!priced || c.notional < exit) {
                c.kind = Kind.Reduce;
                c.expectedFee = _fee(c.notional, c.feeRatio);
            } else {
                c.kind = Kind.Reverse;
                c.isReverse = true;
                c.exit = exit;
                c.expectedFee = _fee(exit, c.feeRatio);
            }
        }
        // Enough free collateral for any outcome: the margin and the fee of the whole notional.
        _ensureFree(t, margin + _fee(c.notional, c.feeRatio));
        c.freeBefore = vault.freeCollateral(t);
        c.insuranceBefore = _insurance();
        _flowBefore = amm.getFundingIndices(c.insuranceBefore).insuranceFlow;
        bool seqUp = _sequencerUp();

        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.openPosition(address(amm), side, margin, leverage, 0, DEADLINE) {
            if (!seqUp) {
                // Only reducing risk is open while the sequencer is down or in its grace period.
                if (c.kind != Kind.Reduce) sequencerGateViolations++;
                else actionsWhileSequencerDown++;
            }
            if (c.isReverse && _position(t).size != 0) c.expectedFee += _fee(c.notional - c.exit, c.feeRatio);
            uint256 fee = _checkEvents(t, 1, 0, c.freeBefore, c.insuranceBefore);
            _recordFee(fee, c.expectedFee);
            successes[uint256(a)]++;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(a, c.kind, err);
        }
    }

    /// @dev closePosition; true if it went through.
    function _close(Action a, address t) internal returns (bool ok) {
        int256 size = _position(t).size;
        (, uint256 exit) = _tryExitValue(size);
        uint256 expectedFee = _fee(exit, _params().feeRatio);
        uint256 freeBefore = vault.freeCollateral(t);
        uint256 insuranceBefore = _insurance();
        _flowBefore = amm.getFundingIndices(insuranceBefore).insuranceFlow;
        bool seqUp = _sequencerUp();
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.closePosition(address(amm), 0, DEADLINE) {
            if (!seqUp) actionsWhileSequencerDown++;
            uint256 fee = _checkEvents(t, 1, 0, freeBefore, insuranceBefore);
            _recordFee(fee, expectedFee);
            if (_position(t).size != 0) eventMismatches++;
            ok = true;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(a, Kind.Close, err);
        }
    }

    /// @dev Tops the margin up to what the close needs (margin + PnL at exit - fee >= 0).
    function _rescueIfUnderwater(address t) internal {
        IClearingHouse.Position memory p = _position(t);
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) return;
        int256 remaining =
            int256(p.margin) -
                _pendingFunding(t) +
                _pnlAt(p.size, p.openNotional, exit) -
                int256(_fee(exit, _params().feeRatio));
        if (remaining >= 0) return;
        uint256 amount = uint256(-remaining);
        _ensureFree(t, amount);
        _addMargin(t, amount);
    }

    /// @dev addMargin from free collateral (funded by the caller); true if it went through.
    function _addMargin(address t, uint256 amount) internal returns (bool ok) {
        uint256 freeBefore = vault.freeCollateral(t);
        uint256 insuranceBefore = _insurance();
        _flowBefore = 0; // addMargin settles no funding
        vm.recordLogs();
        vm.prank(t);
        try clearingHouse.addMargin(address(amm), amount) {
            _checkEvents(t, 0, -int256(amount), freeBefore, insuranceBefore);
            ok = true;
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            _onRevert(Action.AddMargin, Kind.AddMargin, err);
        }
    }

    /// @dev The largest removeMargin the rule allows: margin' + min(PnL at exit, 0) >=
    /// ceil(exit value x IMR). ok = false if the position cannot be priced.
    function _maxRemovable(
        address t,
        IClearingHouse.Position memory p
    ) internal view returns (bool ok, uint256 amount) {
        uint256 exit;
        (ok, exit) = _tryExitValue(p.size);
        if (!ok) return (false, 0);
        int256 pnl = _pnlAt(p.size, p.openNotional, exit);
        if (pnl > 0) pnl = 0;
        int256 room =
            int256(p.margin) -
                _pendingFunding(t) +
                pnl -
                int256(Math.mulDiv(exit, _params().initialMarginRatio, WAD, Math.Rounding.Ceil));
        amount = room > 0 ? Math.min(uint256(room), p.margin) : 0;
    }

    /// @dev Property 9, checked right after a successful removeMargin: the position keeps the initial
    /// margin ratio at its exit value with profit left out, and hence at the spot price too.
    function _checkAfterRemoveMargin(address t) internal {
        IClearingHouse.Position memory p = _position(t);
        uint256 imr = _params().initialMarginRatio;
        (bool ok, uint256 exit) = _tryExitValue(p.size);
        if (!ok) {
            removeMarginViolations++; // the ClearingHouse priced it in this very call
            return;
        }
        int256 pnl = _pnlAt(p.size, p.openNotional, exit);
        if (pnl > 0) pnl = 0;
        if (int256(p.margin) - _pendingFunding(t) + pnl < int256(Math.mulDiv(exit, imr, WAD, Math.Rounding.Ceil))) {
            removeMarginViolations++;
        }
        // The spot value lies between the exit value and the position's cost to buy back, so the rule
        // above implies getMarginRatio >= IMR (see SPEC.md, property 9).
        if (clearingHouse.getMarginRatio(address(amm), t) < int256(imr)) removeMarginMarkViolations++;
    }

    // ================================================================== collateral internals

    /// @dev Deposits enough for `t` to hold `amount` (18 decimals) of free collateral, plus 10% (so
    /// withdrawals have something to take).
    function _ensureFree(address t, uint256 amount) internal {
        uint256 free = vault.freeCollateral(t);
        if (free >= amount) return;
        uint256 units = Math.ceilDiv(amount - free, scale);
        _deposit(t, units + units / 10);
    }

    /// @dev Mints `units` to `t` and deposits them; true if it went through.
    function _deposit(address t, uint256 units) internal returns (bool ok) {
        usdc.mint(t, units);
        vm.startPrank(t);
        usdc.approve(address(vault), units);
        try vault.deposit(units) {
            deposited[t] += units;
            totalDeposited += units;
            ok = true;
        } catch (bytes memory err) {
            _onRevert(Action.Deposit, Kind.Collateral, err);
        }
        vm.stopPrank();
    }

    function _withdraw(Action a, address t, uint256 units) internal returns (bool ok) {
        uint256 tokensBefore = usdc.balanceOf(t);
        bool seqUp = _sequencerUp();
        vm.prank(t);
        try vault.withdraw(units) {
            if (!seqUp) actionsWhileSequencerDown++;
            withdrawn[t] += units;
            totalWithdrawn += units;
            if (usdc.balanceOf(t) != tokensBefore + units) eventMismatches++;
            ok = true;
        } catch (bytes memory err) {
            _onRevert(a, Kind.Collateral, err);
        }
    }

    // ================================================================== ghost bookkeeping

    function _begin(Action a) internal {
        calls[uint256(a)]++;
    }

    function _skip(Action a) internal {
        skips[uint256(a)]++;
        _end();
    }

    /// @dev After every action: k must not have gone down since the last one.
    function _end() internal {
        (uint256 q, uint256 b) = amm.getReserves();
        uint256 k = q * b; // both < 2^128
        if (k < lastK) kDecreases++;
        lastK = k;
        _watchSharePrice();
    }

    /// @dev The staked fund's share price must not fall without a loss (see SharePriceWatch).
    function _watchSharePrice() internal {
        if (address(sharePriceWatch) != address(0)) sharePriceWatch.check();
    }

    function _sequencerUp() internal view returns (bool) {
        return address(sequencerOracle) == address(0) || sequencerOracle.isSequencerUp();
    }

    function _pendingFunding(address t) internal view returns (int256) {
        return clearingHouse.getPendingFunding(address(amm), t);
    }

    function _recordFundingPayment(address t, int256 payment) internal {
        fundingPaid[t] += payment;
        sumFundingPaid += payment;
        fundingRoundings++;
        if (payment != 0) nonZeroFundingPayments++;
    }

    function _recordFlow(int256 flow) internal {
        sumInsuranceFlow += flow;
        if (flow < 0) sumFundOutflows += uint256(-flow);
        fundingRoundings++;
    }

    function _insurance() internal view returns (uint256 insurance) {
        (, insurance) = vault.getPoolBalances();
    }

    function _shortfall() internal view returns (uint256 shortfall) {
        (, shortfall) = clearingHouse.getMarketStatus(address(amm));
    }

    function _fee(uint256 notional, uint256 feeRatio) internal pure returns (uint256) {
        return Math.mulDiv(notional, feeRatio, WAD, Math.Rounding.Ceil);
    }

    function _recordFee(uint256 fee, uint256 expectedFee) internal {
        expectedFees += expectedFee;
        if (fee != expectedFee) feeMismatches++;
    }

    /// @dev Reads the logs of a successful call: adds every PositionChanged to the PnL / fee ledger and
    /// every Swapped to the rounding bound, and checks the events against the state. `positionEvents`
    /// is how many PositionChanged the call must emit (0 or 1); a margin move (`marginMove` != 0, +
    /// removed / - added) must emit one MarginChanged instead. Returns the fee emitted.
    function _checkEvents(
        address t,
        uint256 positionEvents,
        int256 marginMove,
        uint256 freeBefore,
        uint256 insuranceBefore
    ) internal returns (uint256 fee) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        IClearingHouse.Position memory p = _position(t);
        int256 freeDelta = marginMove;
        uint256 seenPosition;
        uint256 seenMargin;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter == address(amm) && l.topics[0] == IAmm.Swapped.selector) {
                (, , uint256 q, uint256 b) = abi.decode(l.data, (int256, int256, uint256, uint256));
                swaps++;
                roundingSum += Math.max(q, b);
            } else if (l.emitter == address(clearingHouse) && l.topics[0] == IClearingHouse.PositionChanged.selector) {
                seenPosition++;
                fee += _recordPositionChanged(t, l, p);
                (, , , , , int256 evFree, , , ) = abi.decode(
                    l.data,
                    (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256)
                );
                freeDelta = evFree;
            } else if (l.emitter == address(clearingHouse) && l.topics[0] == IClearingHouse.MarginChanged.selector) {
                seenMargin++;
                (int256 amount, uint256 margin) = abi.decode(l.data, (int256, uint256));
                if (amount != -marginMove || margin != p.margin || address(uint160(uint256(l.topics[1]))) != t) {
                    eventMismatches++;
                }
            }
        }
        if (seenPosition != positionEvents || seenMargin != (marginMove == 0 ? 0 : 1)) eventMismatches++;
        if (int256(vault.freeCollateral(t)) - int256(freeBefore) != freeDelta) eventMismatches++;
        // The fund moves by the fee plus the insurance flow of the trade's funding accrual, as
        // predicted by getFundingIndices before the call (0 for margin moves, which accrue nothing).
        if (seenPosition != 0) _recordFlow(_flowBefore);
        if (
            int256(_insurance()) - int256(insuranceBefore) !=
            int256(fee) + (seenPosition != 0 ? _flowBefore : int256(0))
        ) {
            eventMismatches++;
        }
    }

    function _recordPositionChanged(
        address t,
        Vm.Log memory l,
        IClearingHouse.Position memory p
    ) internal returns (uint256 fee) {
        (
            ,
            ,
            int256 pnl,
            uint256 evFee,
            int256 fundingPayment,
            ,
            int256 size,
            uint256 margin,
            uint256 openNotional
        ) = abi.decode(l.data, (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256));
        if (address(uint160(uint256(l.topics[1]))) != t || address(uint160(uint256(l.topics[2]))) != address(amm)) {
            eventMismatches++;
        }
        _recordFundingPayment(t, fundingPayment);
        if (size != p.size || margin != p.margin || openNotional != p.openNotional) eventMismatches++;
        realizedPnl[t] += pnl;
        feesPaid[t] += evFee;
        sumRealizedPnl += pnl;
        sumFees += evFee;
        return evFee;
    }

    /// @dev Counts a revert as expected (the protocol is entitled to it for this kind of call) or not.
    function _onRevert(Action a, Kind k, bytes memory err) internal {
        bytes4 sel = _selector(err);
        lastError = sel;
        revertsBySelector[sel]++;
        if (_isExpected(k, sel)) {
            expectedReverts[uint256(a)]++;
        } else {
            unexpectedReverts++;
            lastUnexpectedSelector = sel;
            lastUnexpectedAction = uint256(a);
        }
    }

    /// @dev The reverts each kind of call is entitled to, given how the handlers bound their inputs
    /// (leverage <= 1 / IMR, free collateral funded, amounts within balance and margin, no deadline
    /// or slippage bound). Anything else, an arithmetic panic or a SafeCast overflow included, is
    /// unexpected.
    function _isExpected(Kind k, bytes4 sel) internal pure returns (bool) {
        if (k == Kind.Collateral) return false; // the Vault has no pause and the amounts are funded
        if (sel == IClearingHouse.EnforcedPause.selector) return true;
        if (k == Kind.AddMargin) return false;
        // Without liquidation a position's loss can exceed its margin, or will once another trader's
        // close moves the price: the shared margin pool then holds less than the other positions'
        // claims, and paying them out (close, reduce fee, removeMargin) can fail with
        // InsufficientMarginPool (README; test_badDebtBlocksProfitableClose).
        bool poolShort = sel == IVaultErrors.InsufficientMarginPool.selector;
        // A short larger than the base reserve cannot be priced (previewSwapBase) nor bought back.
        bool reserve = sel == IAmmErrors.InsufficientReserve.selector;
        bool marginRatio = sel == IClearingHouse.MarginRatioTooLow.selector;
        bool underwater = sel == IClearingHouse.PositionUnderwater.selector;
        bool fluctuation = sel == IAmmErrors.PriceFluctuationLimitExceeded.selector;
        bool tooLarge = sel == IAmmErrors.TradeTooLarge.selector;
        bool oiCap = sel == IAmmErrors.OpenInterestCapExceeded.selector;
        bool zeroBase = sel == IAmmErrors.ZeroSwapAmount.selector; // a long too small to buy one wei of base
        // After a shortfall (bad debt the insurance fund could not pay) positions may only shrink.
        bool reduceOnly = sel == IClearingHouse.MarketReduceOnly.selector;
        // Risk-increasing actions (open, increase, reverse, removeMargin) are gated on the L2 sequencer.
        bool seq =
            sel == IPriceFeedErrors.SequencerDown.selector || sel == IPriceFeedErrors.GracePeriodNotOver.selector;
        if (k == Kind.RemoveMargin) return marginRatio || reserve || poolShort || seq;
        if (k == Kind.Close) return underwater || poolShort || reserve || fluctuation;
        // Opening (a fresh position is never judged on its margin ratio, and cannot be underwater).
        if (k == Kind.Open) return tooLarge || oiCap || fluctuation || reserve || zeroBase || reduceOnly || seq;
        // Growing an existing position: it must meet the IMR at the spot price first.
        if (k == Kind.Increase) {
            return tooLarge || oiCap || fluctuation || reserve || zeroBase || marginRatio || reduceOnly || seq;
        }
        // Reducing: shrinks open interest (never capped), must keep the MMR, and pays its fee from margin.
        if (k == Kind.Reduce) {
            return tooLarge || fluctuation || reserve || zeroBase || marginRatio || underwater || poolShort;
        }
        // Reversing: closes (no ratio check) then opens the rest, which never buys zero base (skipped).
        return underwater || poolShort || fluctuation || tooLarge || oiCap || reserve || reduceOnly || seq;
    }

    // ================================================================== trader selection

    function _traderAt(uint256 seed) internal view returns (address) {
        return _traders[seed % N_TRADERS];
    }

    /// @dev The trader at `seed`, or the next one holding a position.
    function _traderWithPosition(uint256 seed) internal view returns (address t, bool found) {
        for (uint256 i; i < N_TRADERS; ++i) {
            t = _traders[(seed + i) % N_TRADERS];
            if (_position(t).size != 0) return (t, true);
        }
    }
}

// ====================================================================== time

/// @notice The clock: moves time (and the block number) forward. Each new timestamp is a new block for
/// the Amm's per-block rules (fluctuation limit, TWAP), so this also unblocks the fluctuation limit.
contract TimeHandler is TestBase {
    uint256 public warps;
    uint256 public secondsElapsed;

    /// @notice 1..120 s three times out of four; else 900 s .. 1 h (past the 15-minute mark TWAP
    /// window, so the TWAP catches up with the spot price and losing positions become liquidatable)
    /// or 1 h .. 7 days.
    function warp(uint256 seed) external {
        uint256 mode = seed % 8;
        uint256 dt =
            mode == 0
                ? bound(seed >> 3, 1 hours, 7 days)
                : (mode == 1 ? bound(seed >> 3, 15 minutes, 1 hours) : bound(seed >> 3, 1, 120));
        vm.warp(block.timestamp + dt);
        vm.roll(block.number + dt / 12 + 1);
        warps++;
        secondsElapsed += dt;
    }
}

// ====================================================================== admin

/// @notice The owner of the ClearingHouse and the Amm: pauses, changes the market's risk parameters and
/// the Amm's limits, always within their valid ranges (so any revert is unexpected).
contract AdminHandler is HandlerBase {
    uint256 public paramChanges;
    uint256 public limitChanges;
    uint256 public pauses;
    uint256 public unpauses;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;

    /// @dev The market's parameters at deployment, and its initial base reserve.
    IClearingHouse.MarketParams internal _defaults;
    uint256 internal immutable _b0;

    constructor(
        ClearingHouse clearingHouse_,
        Vault vault_,
        Amm amm_,
        MockERC20 usdc_
    ) HandlerBase(clearingHouse_, vault_, amm_, usdc_) {
        _defaults = clearingHouse_.getMarketParams(address(amm_));
        (, _b0) = amm_.getReserves();
    }

    /// @notice Half the time back to the deployment's parameters; else IMR 1% .. 100%, 0 < MMR < IMR,
    /// fee 0 .. 5% (the whole valid range; 0 .. 0.3% half the time).
    function setMarketParams(uint256 imrSeed, uint256 mmrSeed, uint256 feeSeed) external {
        IClearingHouse.MarketParams memory p = _defaults;
        if (imrSeed & 1 == 1) {
            p.initialMarginRatio = uint64(boundLog(imrSeed >> 1, 0.01e18, 1e18));
            p.maintenanceMarginRatio = uint64(bound(mmrSeed, 1, p.initialMarginRatio - 1));
            p.feeRatio = uint64(feeSeed & 1 == 0 ? bound(feeSeed >> 1, 0, 0.05e18) : bound(feeSeed >> 1, 0, 0.003e18));
        }
        try clearingHouse.setMarketParams(address(amm), p) {
            paramChanges++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Each limit off half the time, else: trade size 1% .. 100% of the quote reserve, price
    /// move 1% .. 100% per block, open interest cap 1.25% .. 250% of the initial base reserve per side.
    function setLimits(uint256 tradeSeed, uint256 fluctuationSeed, uint256 oiSeed) external {
        IAmm.Limits memory l;
        if (tradeSeed & 1 == 1) l.maxTradeRatio = uint64(boundLog(tradeSeed >> 1, 0.01e18, 1e18));
        if (fluctuationSeed & 1 == 1) l.fluctuationLimitRatio = uint64(boundLog(fluctuationSeed >> 1, 0.01e18, 1e18));
        if (oiSeed & 1 == 1) l.maxOpenInterest = uint128(boundLog(oiSeed >> 1, _b0 / 80, (_b0 * 5) / 2));
        try amm.setLimits(l) {
            limitChanges++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Pauses one call in eight (unpause is always taken), so trading is live most of the time.
    function pause(uint256 seed) external {
        if (seed % 8 != 0 || clearingHouse.paused()) return;
        try clearingHouse.pause() {
            pauses++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    function unpause() external {
        if (!clearingHouse.paused()) return;
        try clearingHouse.unpause() {
            unpauses++;
        } catch (bytes memory err) {
            _unexpected(err);
        }
    }

    /// @notice Ownable2Step: the test contract hands both contracts over in `setUp`.
    function acceptOwnerships() external {
        clearingHouse.acceptOwnership();
        amm.acceptOwnership();
    }

    function _unexpected(bytes memory err) internal {
        unexpectedReverts++;
        lastUnexpectedSelector = _selector(err);
    }
}

// ====================================================================== liquidator

/// @notice A keeper with its own address: liquidates a fuzzed trader, preferring (three times out of four)
/// one whose liquidation margin ratio is below maintenance, and otherwise checks that a position at or
/// above maintenance is refused (NotLiquidatable). It also makes traders try to liquidate themselves
/// (SelfLiquidation). Every successful liquidation is checked against its PositionLiquidated event,
/// the Vault's balances and the rules, and its figures are summed into the ghosts the invariants read
/// (rewards, insurance penalties, bad debt, shortfall); the liquidated trader's realised PnL, penalty
/// and bad debt go to the TraderHandler's ledger. The keeper never withdraws during a run, so its free
/// collateral is exactly the sum of its rewards.
contract LiquidatorHandler is HandlerBase, ILiquidatorHook {
    address public constant LIQUIDATOR = address(0x11C1D470);

    TraderHandler public immutable traders;

    // ------------------------------------------------------------------ ghosts: activity

    uint256 public calls;
    uint256 public skips;
    uint256 public liquidations;
    uint256 public fullLiquidations;
    uint256 public partialLiquidations;
    uint256 public boundedPenalties;
    uint256 public badDebtLiquidations;
    uint256 public shortfallLiquidations;
    /// @dev Refusals of a position at or above maintenance (NotLiquidatable), as they should be.
    uint256 public notLiquidatableRefusals;
    /// @dev Other expected reverts (pause, fluctuation limit, reserve, pool).
    uint256 public expectedReverts;
    uint256 public selfLiquidationRefusals;
    /// @dev Refusals while the sequencer was down or in its grace period (SequencerDown, GracePeriodNotOver).
    uint256 public sequencerRefusals;
    /// @dev Times the keeper waited for the mark TWAP (15 to 30 minutes).
    uint256 public waits;

    // ------------------------------------------------------------------ ghosts: the events' figures (18 decimals)

    uint256 public sumRewards;
    uint256 public sumInsurancePenalties;
    uint256 public sumBadDebt;
    uint256 public sumShortfall;
    /// @dev The bad debt the insurance fund paid (bad debt - shortfall) and the rewards it paid (with bad debt).
    uint256 public sumCovered;
    uint256 public sumRewardsFromFund;
    uint256 public sumQuoteClosed;
    /// @dev Token units the keeper withdrew (only at the end of a run).
    uint256 public withdrawnUnits;

    // ------------------------------------------------------------------ ghosts: violations

    /// @dev A position liquidated while its liquidation margin ratio was >= maintenance, or one below it
    /// refused with NotLiquidatable ("only below maintenance", both ways).
    uint256 public liquidatedAtOrAboveMaintenance;
    uint256 public refusedBelowMaintenance;
    /// @dev A trader liquidated its own position.
    uint256 public selfLiquidationAccepted;
    /// @dev Value created or destroyed by a liquidation (see _checkConservation).
    uint256 public conservationViolations;
    /// @dev Reward / insurance penalty / bad debt / shortfall different from the rules.
    uint256 public penaltyMismatches;
    /// @dev An event disagreeing with the state (positions, balances, market status).
    uint256 public eventMismatches;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;
    bytes4 public lastError;
    mapping(bytes4 selector => uint256) public revertsBySelector;

    constructor(
        ClearingHouse clearingHouse_,
        Vault vault_,
        Amm amm_,
        MockERC20 usdc_,
        TraderHandler traders_
    ) HandlerBase(clearingHouse_, vault_, amm_, usdc_) {
        traders = traders_;
        vm.label(LIQUIDATOR, "liquidator");
    }

    // ================================================================== actions (fuzz targets)

    /// @notice Liquidates a trader: three times out of four the first (from the seed) below maintenance
    /// if any, else the seed's trader with a position (most often one that must be refused). Half the
    /// time through liquidateWithLimit (no bound, no deadline). When no position is liquidatable but one
    /// is below maintenance at the spot price (the mark TWAP still values it higher), the keeper waits:
    /// 15 to 30 minutes pass, so the TWAP catches up with the spot price.
    function liquidate(uint256 traderSeed, uint256 modeSeed) external {
        calls++;
        address t;
        bool found;
        if (modeSeed % 4 != 0) {
            (t, found) = _traderBelowMaintenance(traderSeed);
            if (!found && _anyBelowMaintenanceAtSpot()) {
                uint256 dt = bound(modeSeed >> 3, 15 minutes + 1, 30 minutes);
                vm.warp(block.timestamp + dt);
                vm.roll(block.number + dt / 12 + 1);
                waits++;
                (t, found) = _traderBelowMaintenance(traderSeed);
            }
        }
        if (!found) (t, found) = _traderWithPosition(traderSeed);
        if (!found) {
            skips++;
            return;
        }
        _attempt(t, (modeSeed >> 2) & 1 == 1);
        traders.syncK();
    }

    /// @notice A trader tries to liquidate its own position: must revert SelfLiquidation (EnforcedPause
    /// while paused), whatever its margin ratio.
    function selfLiquidate(uint256 traderSeed) external {
        calls++;
        (address t, bool found) = _traderWithPosition(traderSeed);
        if (!found) {
            skips++;
            return;
        }
        vm.prank(t);
        try clearingHouse.liquidate(address(amm), t) {
            selfLiquidationAccepted++;
        } catch (bytes memory err) {
            bytes4 sel = _selector(err);
            if (sel == IClearingHouse.SelfLiquidation.selector || sel == IClearingHouse.EnforcedPause.selector) {
                selfLiquidationRefusals++;
            } else {
                _unexpected(sel);
            }
        }
        traders.syncK();
    }

    /// @inheritdoc ILiquidatorHook
    function liquidateForSettlement(address t) external returns (bool done, bool liquidatable) {
        if (_position(t).size == 0) return (false, false);
        liquidatable = _liquidationRatio(t) < int256(uint256(_params().maintenanceMarginRatio));
        if (!liquidatable) return (false, false);
        done = _attempt(t, false);
        traders.syncK();
    }

    // ================================================================== the check of one liquidation

    /// @dev Everything read before a liquidation.
    struct Before {
        IClearingHouse.Position p;
        int256 ratio;
        uint256 mmr;
        bool paused;
        uint256 traderFree;
        uint256 liquidatorFree;
        uint256 pool;
        uint256 fund;
        uint256 allFree;
        uint256 shortfall;
        uint256 liquidationFeeRatio;
        /// @dev The funding the position owes now and the insurance flow the liquidation's accrual
        /// will book, both read from the same indices the liquidation settles on.
        int256 pending;
        int256 flow;
        bool sequencerUp;
        /// @dev The spot price is already beyond the fluctuation band on the far side (see SPEC.md,
        /// Observations): the Amm's maxCloseBase for the other side is 0.
    }

    /// @dev What the logs of a liquidation said.
    struct Seen {
        uint256 positionChanged;
        uint256 positionLiquidated;
        uint256 shortfallRecorded;
        int256 baseDelta;
        uint256 quoteAmount;
        int256 pnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeDelta;
        uint256 baseClosed;
        uint256 quoteClosed;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 shortfall;
        bool full;
        uint256 shortfallTotal;
        uint256 shortfallRecordedAmount;
    }

    /// @dev One liquidation of `t` by the keeper, checked; true if it went through.
    function _attempt(address t, bool withLimit) internal returns (bool ok) {
        Before memory b = _snapshot(t);
        vm.recordLogs();
        vm.prank(LIQUIDATOR);
        bool success;
        bytes memory err;
        if (withLimit) {
            try clearingHouse.liquidateWithLimit(address(amm), t, 0, DEADLINE) {
                success = true;
            } catch (bytes memory reason) {
                err = reason;
            }
        } else {
            try clearingHouse.liquidate(address(amm), t) {
                success = true;
            } catch (bytes memory reason) {
                err = reason;
            }
        }
        if (!success) {
            vm.getRecordedLogs();
            _onRevert(b, _selector(err));
            return false;
        }
        // "Only below maintenance": the ratio the view gave just before, in the same block.
        if (b.ratio >= int256(b.mmr)) liquidatedAtOrAboveMaintenance++;
        if (!b.sequencerUp) traders.recordGateViolation();
        Seen memory e = _readLogs(t);
        _checkEvents(t, b, e);
        _checkPenalty(b, e);
        _checkConservation(t, b, e);
        _record(t, e);
        traders.recordFunding(t, e.fundingPayment, b.flow);
        return true;
    }

    function _snapshot(address t) internal view returns (Before memory b) {
        b.p = _position(t);
        b.ratio = _liquidationRatio(t);
        b.mmr = _params().maintenanceMarginRatio;
        b.paused = clearingHouse.paused();
        b.traderFree = vault.freeCollateral(t);
        b.liquidatorFree = vault.freeCollateral(LIQUIDATOR);
        (b.pool, b.fund) = vault.getPoolBalances();
        b.allFree = _allFree();
        (, b.shortfall) = clearingHouse.getMarketStatus(address(amm));
        b.liquidationFeeRatio = clearingHouse.getLiquidationParams().feeRatio;
        b.pending = clearingHouse.getPendingFunding(address(amm), t);
        b.flow = amm.getFundingIndices(b.fund).insuranceFlow;
        IPriceFeed seq = clearingHouse.sequencerOracle();
        b.sequencerUp = address(seq) == address(0) || seq.isSequencerUp();
    }

    /// @dev Expected refusals: NotLiquidatable exactly when the ratio is >= maintenance; the pause; the
    /// fluctuation limit already used up in this block (LiquidationLimitReached); a short larger than
    /// the base reserve (InsufficientReserve); a pool that cannot pay the reward or the rest of the
    /// margin (InsufficientMarginPool: other positions' unrealised losses, or a shortfall).
    function _onRevert(Before memory b, bytes4 sel) internal {
        lastError = sel;
        revertsBySelector[sel]++;
        if (sel == IClearingHouse.EnforcedPause.selector && b.paused) {
            expectedReverts++;
        } else if (
            !b.sequencerUp &&
            (sel == IPriceFeedErrors.SequencerDown.selector || sel == IPriceFeedErrors.GracePeriodNotOver.selector)
        ) {
            // Liquidations are gated on the L2 sequencer, whatever the ratio.
            sequencerRefusals++;
        } else if (sel == IClearingHouse.NotLiquidatable.selector) {
            if (b.ratio < int256(b.mmr)) refusedBelowMaintenance++;
            else notLiquidatableRefusals++;
        } else if (b.ratio >= int256(b.mmr)) {
            // At or above maintenance the only answer (unpaused) is NotLiquidatable.
            _unexpected(sel);
        } else if (
            sel == IClearingHouse.LiquidationLimitReached.selector ||
            sel == IAmmErrors.InsufficientReserve.selector ||
            sel == IVaultErrors.InsufficientMarginPool.selector
        ) {
            expectedReverts++;
        } else {
            _unexpected(sel);
        }
    }

    function _readLogs(address t) internal returns (Seen memory e) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter == address(amm) && l.topics[0] == IAmm.Swapped.selector) {
                (, , uint256 q, uint256 bb) = abi.decode(l.data, (int256, int256, uint256, uint256));
                traders.recordSwap(q, bb);
            } else if (l.emitter != address(clearingHouse)) {
                continue;
            } else if (l.topics[0] == IClearingHouse.PositionChanged.selector) {
                e.positionChanged++;
                if (
                    address(uint160(uint256(l.topics[1]))) != t ||
                    address(uint160(uint256(l.topics[2]))) != address(amm)
                ) {
                    eventMismatches++;
                }
                _decodePositionChanged(t, l.data, e);
            } else if (l.topics[0] == IClearingHouse.PositionLiquidated.selector) {
                e.positionLiquidated++;
                if (
                    address(uint160(uint256(l.topics[1]))) != t ||
                    address(uint160(uint256(l.topics[2]))) != address(amm) ||
                    address(uint160(uint256(l.topics[3]))) != LIQUIDATOR
                ) eventMismatches++;
                _decodeLiquidated(l.data, e);
            } else if (l.topics[0] == IClearingHouse.ShortfallRecorded.selector) {
                e.shortfallRecorded++;
                uint256 amount;
                (amount, e.shortfallTotal) = abi.decode(l.data, (uint256, uint256));
                if (address(uint160(uint256(l.topics[1]))) != address(amm)) eventMismatches++;
                e.shortfallRecordedAmount = amount;
            }
        }
    }

    /// @dev PositionLiquidated's data, a static tuple: decoded as a struct of the same layout.
    struct Liquidated {
        uint256 baseClosed;
        uint256 quoteClosed;
        uint256 reward;
        uint256 insurancePenalty;
        uint256 badDebt;
        uint256 shortfall;
        bool full;
    }

    function _decodeLiquidated(bytes memory data, Seen memory e) internal pure {
        Liquidated memory d = abi.decode(data, (Liquidated));
        e.baseClosed = d.baseClosed;
        e.quoteClosed = d.quoteClosed;
        e.reward = d.reward;
        e.insurancePenalty = d.insurancePenalty;
        e.badDebt = d.badDebt;
        e.shortfall = d.shortfall;
        e.full = d.full;
    }

    /// @dev PositionChanged's data, a static tuple: decoded as a struct of the same layout.
    struct Changed {
        int256 baseDelta;
        uint256 quoteAmount;
        int256 realizedPnl;
        uint256 fee;
        int256 fundingPayment;
        int256 freeCollateralDelta;
        int256 size;
        uint256 margin;
        uint256 openNotional;
    }

    function _decodePositionChanged(address t, bytes memory data, Seen memory e) internal {
        Changed memory d = abi.decode(data, (Changed));
        e.baseDelta = d.baseDelta;
        e.quoteAmount = d.quoteAmount;
        e.pnl = d.realizedPnl;
        e.fee = d.fee;
        e.fundingPayment = d.fundingPayment;
        e.freeDelta = d.freeCollateralDelta;
        IClearingHouse.Position memory p = _position(t);
        if (d.size != p.size || d.margin != p.margin || d.openNotional != p.openNotional) eventMismatches++;
    }

    /// @dev The events against the state: one PositionChanged (no fee; no funding in this market; the
    /// trader's free-collateral change), one PositionLiquidated (its base and quote are the trade's,
    /// `full` iff the position is gone, the reward is the keeper's credit), one ShortfallRecorded iff a
    /// shortfall, with the market's new total, and a market with a shortfall is reduce-only.
    function _checkEvents(address t, Before memory b, Seen memory e) internal {
        if (e.positionChanged != 1 || e.positionLiquidated != 1) eventMismatches++;
        // No fee; the funding settled is exactly what getPendingFunding said just before.
        if (e.fee != 0 || e.fundingPayment != b.pending) eventMismatches++;
        if (int256(vault.freeCollateral(t)) - int256(b.traderFree) != e.freeDelta) eventMismatches++;
        if (vault.freeCollateral(LIQUIDATOR) - b.liquidatorFree != e.reward) eventMismatches++;
        if (e.baseClosed != _abs(e.baseDelta) || e.quoteClosed != e.quoteAmount || e.baseClosed == 0) eventMismatches++;
        // A liquidation only closes: the trade is against the position, never past it.
        if ((b.p.size > 0) == (e.baseDelta > 0) || e.baseClosed > _abs(b.p.size)) eventMismatches++;
        int256 sizeAfter = _position(t).size;
        if (e.full != (sizeAfter == 0)) eventMismatches++;
        (IClearingHouse.MarketStatus status, uint256 shortfallAfter) = clearingHouse.getMarketStatus(address(amm));
        if (shortfallAfter != b.shortfall + e.shortfall) eventMismatches++;
        if (e.shortfallRecorded != (e.shortfall != 0 ? 1 : 0)) eventMismatches++;
        if (e.shortfall != 0 && (e.shortfallTotal != shortfallAfter || e.shortfallRecordedAmount != e.shortfall)) {
            eventMismatches++;
        }
        if (shortfallAfter != 0 && status != IClearingHouse.MarketStatus.REDUCE_ONLY) eventMismatches++;
    }

    /// @dev "Reward + penalty = ceil(quote x fee ratio) unless bounded": with the equity the position
    /// had left after the close (margin + realised PnL; no funding here) and the penalty
    /// ceil(quote closed x liquidation fee ratio):
    ///  - equity >= penalty: reward = floor(penalty / 2), insurance penalty = the rest, no bad debt;
    ///  - 0 <= equity < penalty (bounded): reward + insurance penalty = equity, reward = min(half, equity);
    ///  - equity < 0: bad debt = -equity, no insurance penalty, the fund covers min(bad debt, fund),
    ///    shortfall = the rest, reward = min(half, what the fund has left).
    function _checkPenalty(Before memory b, Seen memory e) internal {
        uint256 penalty = Math.mulDiv(e.quoteClosed, b.liquidationFeeRatio, WAD, Math.Rounding.Ceil);
        uint256 half = penalty / 2;
        int256 equity = int256(b.p.margin) - e.fundingPayment + e.pnl;
        // The fund as it stands after the liquidation's own funding flow.
        uint256 fund = uint256(int256(b.fund) + b.flow);
        bool bad;
        if (equity >= int256(penalty)) {
            bad = e.reward != half || e.insurancePenalty != penalty - half || e.badDebt != 0 || e.shortfall != 0;
        } else if (equity >= 0) {
            uint256 left = uint256(equity);
            bad = e.reward != Math.min(half, left) || e.reward + e.insurancePenalty != left || e.badDebt != 0;
            bad = bad || e.shortfall != 0;
            boundedPenalties++;
        } else {
            uint256 debt = uint256(-equity);
            uint256 covered = Math.min(debt, fund);
            bad = e.badDebt != debt || e.insurancePenalty != 0 || e.shortfall != debt - covered;
            bad = bad || e.reward != Math.min(half, fund - covered);
        }
        if (bad) penaltyMismatches++;
    }

    /// @dev "Liquidation conserves value": every claim on the Vault together is unchanged (custody), and
    /// what the trader (free + margin), the keeper and the insurance fund gained together is exactly the
    /// realised PnL (paid by the pool's quote) plus the shortfall (the only value that appears: the
    /// pool now owes it). Also the trader keeps exactly its equity less the penalty (margin of the rest,
    /// or payout), or nothing.
    function _checkConservation(address t, Before memory b, Seen memory e) internal {
        (uint256 pool, uint256 fund) = vault.getPoolBalances();
        if (_allFree() + pool + fund != b.allFree + b.pool + b.fund) conservationViolations++;
        int256 traderDelta = int256(vault.freeCollateral(t) + _position(t).margin) - int256(b.traderFree + b.p.margin);
        int256 liquidatorDelta = int256(vault.freeCollateral(LIQUIDATOR)) - int256(b.liquidatorFree);
        int256 fundDelta = int256(fund) - int256(b.fund);
        // Funding: the trader pays e.fundingPayment out of its margin, the fund receives the flow, the
        // pool keeps the difference (the other side's claim and the rounding dust).
        if (traderDelta + liquidatorDelta + fundDelta != e.pnl + int256(e.shortfall) - e.fundingPayment + b.flow)
            conservationViolations++;
        // Each share on its own.
        int256 equity = int256(b.p.margin) - e.fundingPayment + e.pnl;
        int256 charged = int256(e.reward + e.insurancePenalty);
        int256 expectedTrader = equity >= 0 ? e.pnl - e.fundingPayment - charged : -int256(b.p.margin);
        if (traderDelta != expectedTrader) conservationViolations++;
        int256 expectedFund =
            b.flow +
                int256(e.insurancePenalty) -
                int256(e.badDebt - e.shortfall) -
                (e.badDebt != 0 ? int256(e.reward) : int256(0));
        if (fundDelta != expectedFund) conservationViolations++;
    }

    function _record(address t, Seen memory e) internal {
        liquidations++;
        if (e.full) fullLiquidations++;
        else partialLiquidations++;
        if (e.badDebt != 0) badDebtLiquidations++;
        if (e.shortfall != 0) shortfallLiquidations++;
        sumRewards += e.reward;
        sumInsurancePenalties += e.insurancePenalty;
        sumBadDebt += e.badDebt;
        sumShortfall += e.shortfall;
        sumCovered += e.badDebt - e.shortfall;
        if (e.badDebt != 0) sumRewardsFromFund += e.reward;
        sumQuoteClosed += e.quoteClosed;
        traders.recordLiquidation(t, e.pnl, e.badDebt == 0 ? e.reward + e.insurancePenalty : 0, e.badDebt);
    }

    // ================================================================== helpers

    /// @dev getLiquidationMarginRatio (it only reads prices: never expected to revert for a position).
    function _liquidationRatio(address t) internal view returns (int256) {
        return clearingHouse.getLiquidationMarginRatio(address(amm), t);
    }

    function _traderBelowMaintenance(uint256 seed) internal view returns (address t, bool found) {
        int256 mmr = int256(uint256(_params().maintenanceMarginRatio));
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            t = traders.traderAt((seed + i) % traders.N_TRADERS());
            if (_position(t).size != 0 && _liquidationRatio(t) < mmr) return (t, true);
        }
    }

    function _anyBelowMaintenanceAtSpot() internal view returns (bool) {
        int256 mmr = int256(uint256(_params().maintenanceMarginRatio));
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            if (_position(t).size != 0 && clearingHouse.getMarginRatio(address(amm), t) < mmr) return true;
        }
        return false;
    }

    function _traderWithPosition(uint256 seed) internal view returns (address t, bool found) {
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            t = traders.traderAt((seed + i) % traders.N_TRADERS());
            if (_position(t).size != 0) return (t, true);
        }
    }

    /// @dev Free collateral of every trader and the keeper.
    function _allFree() internal view returns (uint256 sum) {
        for (uint256 i; i < traders.N_TRADERS(); ++i) sum += vault.freeCollateral(traders.traderAt(i));
        sum += vault.freeCollateral(LIQUIDATOR);
    }

    function _unexpected(bytes4 sel) internal {
        unexpectedReverts++;
        lastUnexpectedSelector = sel;
        lastError = sel;
    }

    /// @notice The keeper withdraws all its free collateral (the final settlement); true if it went
    /// through (or there was nothing).
    function withdrawAllRewards() external returns (bool ok) {
        uint256 units = vault.balanceOf(LIQUIDATOR);
        if (units == 0) return true;
        uint256 before = usdc.balanceOf(LIQUIDATOR);
        vm.prank(LIQUIDATOR);
        try vault.withdraw(units) {
            withdrawnUnits += units;
            ok = usdc.balanceOf(LIQUIDATOR) == before + units;
        } catch {
            ok = false;
        }
    }
}

// ====================================================================== oracle

/// @notice The index price and the L2 sequencer: a bounded random walk of the aggregator's answer,
/// stale, zero, negative, future-dated and out-of-bounds rounds, an aggregator that reverts, sequencer
/// outages (down, then back up into the grace period), and pokes of the Amm's index. Never asserts:
/// anything wrong is counted (`pokeMismatches`, `unexpectedReverts`).
contract OracleHandler is TestBase {
    uint256 internal constant FEED_DECIMALS = 8;
    /// @dev The walk stays within [initial / 2, initial x 2]; the feed's bounds are [initial / 10, x 10].
    int256 public immutable initialAnswer;

    Amm public immutable amm;
    ChainlinkPriceFeed public immutable priceFeed;
    MockAggregator public immutable aggregator;
    MockAggregator public immutable sequencerFeed;
    bytes32 public immutable asset;
    TraderHandler public immutable traders;

    uint80 public round;
    int256 public lastGood;
    bool public sequencerDown;

    uint256 public moves;
    uint256 public staleRounds;
    uint256 public badAnswers;
    uint256 public revertToggles;
    uint256 public outages;
    uint256 public recoveries;
    uint256 public pokes;
    uint256 public validPokes;
    /// @dev pokeIndex disagreeing with the feed's own tryGetPrice, or recording an invalid price.
    uint256 public pokeMismatches;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;

    constructor(
        Amm amm_,
        ChainlinkPriceFeed priceFeed_,
        MockAggregator aggregator_,
        MockAggregator sequencerFeed_,
        bytes32 asset_,
        TraderHandler traders_,
        int256 initialAnswer_
    ) {
        amm = amm_;
        priceFeed = priceFeed_;
        aggregator = aggregator_;
        sequencerFeed = sequencerFeed_;
        asset = asset_;
        traders = traders_;
        initialAnswer = initialAnswer_;
        lastGood = initialAnswer_;
    }

    /// @notice Publishes a fresh, valid answer: the last good one moved by -5% .. +5% (a tenth of the
    /// time by up to 30%), clamped to [initial / 2, initial x 2]; also makes the aggregator answer again.
    function move(uint256 seed) external {
        uint256 maxStep = seed % 10 == 0 ? 3_000 : 500; // basis points
        uint256 step = bound(seed >> 8, 0, maxStep);
        int256 answer =
            (seed >> 4) & 1 == 0
                ? (lastGood * int256(10_000 + step)) / 10_000
                : (lastGood * int256(10_000 - step)) / 10_000;
        if (answer > initialAnswer * 2) answer = initialAnswer * 2;
        if (answer < initialAnswer / 2) answer = initialAnswer / 2;
        aggregator.setReverting(false);
        _publish(answer, block.timestamp);
        lastGood = answer;
        moves++;
        _poke();
    }

    /// @notice A round the feed must reject: stale (older than the heartbeat), zero, negative,
    /// dated in the future, or outside the asset's bounds.
    function publishBad(uint256 seed) external {
        uint256 mode = seed % 5;
        uint256 heartbeat = priceFeed.getAssetConfig(asset).heartbeat;
        if (mode == 0) {
            if (block.timestamp <= heartbeat + 1 days) return;
            _publish(lastGood, block.timestamp - heartbeat - bound(seed >> 3, 1, 1 days));
            staleRounds++;
        } else if (mode == 1) {
            _publish(0, block.timestamp);
            badAnswers++;
        } else if (mode == 2) {
            _publish(-int256(bound(seed >> 3, 1, uint256(initialAnswer))), block.timestamp);
            badAnswers++;
        } else if (mode == 3) {
            _publish(lastGood, block.timestamp + bound(seed >> 3, 1, 1 hours));
            badAnswers++;
        } else {
            _publish((seed >> 3) & 1 == 0 ? initialAnswer * 11 : initialAnswer / 11, block.timestamp);
            badAnswers++;
        }
        _poke();
    }

    /// @notice The aggregator starts or stops reverting (half the time each).
    function toggleRevert(uint256 seed) external {
        aggregator.setReverting(seed % 2 == 0);
        revertToggles++;
        _poke();
    }

    /// @notice The sequencer goes down (one call in three while it is up) or comes back up, which starts
    /// its grace period (risk-increasing actions stay refused with GracePeriodNotOver meanwhile).
    function sequencer(uint256 seed) external {
        if (sequencerDown) {
            sequencerFeed.setSequencerStatus(false, block.timestamp);
            sequencerDown = false;
            recoveries++;
        } else if (seed % 3 == 0) {
            sequencerFeed.setSequencerStatus(true, block.timestamp);
            sequencerDown = true;
            outages++;
        }
        traders.syncK();
    }

    /// @notice Anyone pokes the index.
    function poke() external {
        _poke();
    }

    /// @notice Before the final settlement: a fresh valid answer, the aggregator answering, and the
    /// sequencer up past its grace period.
    function restore() external {
        aggregator.setReverting(false);
        _publish(lastGood, block.timestamp);
        sequencerFeed.setSequencerStatus(false, block.timestamp - priceFeed.gracePeriod() - 1);
        sequencerDown = false;
    }

    function _publish(int256 answer, uint256 updatedAt) internal {
        round++;
        aggregator.setRoundData(round, answer, updatedAt, updatedAt, round);
    }

    /// @dev pokeIndex records the feed's price iff the feed calls it valid (and never reverts).
    function _poke() internal {
        pokes++;
        (bool feedValid, uint256 feedPrice) = priceFeed.tryGetPrice(asset);
        try amm.pokeIndex() returns (bool valid, uint256 price) {
            if (valid != feedValid || price != (valid ? feedPrice : 0)) pokeMismatches++;
            if (valid) validPokes++;
        } catch (bytes memory err) {
            unexpectedReverts++;
            lastUnexpectedSelector = selectorOf(err);
        }
        traders.syncK();
    }
}

// ====================================================================== funding keeper

/// @notice A keeper calling ClearingHouse.updateFunding at random times: half the time it first waits
/// out `minUpdateInterval`, else it calls whenever (FundingUpdateTooEarly is then the expected
/// answer). Each update is checked against its FundingUpdated event: the insurance flow is the one
/// getFundingIndices predicted and the one the Vault booked, and the premium never exceeds
/// maxPremiumRatio x index TWAP (0 without an index TWAP, or while paused).
contract FundingKeeperHandler is TestBase {
    address public constant KEEPER = address(0xF00D);
    uint256 internal constant WAD = 1e18;

    ClearingHouse public immutable clearingHouse;
    Vault public immutable vault;
    Amm public immutable amm;
    TraderHandler public immutable traders;

    uint256 public calls;
    uint256 public updates;
    uint256 public nonZeroPremiums;
    uint256 public tooEarly;
    uint256 public waits;
    /// @dev Largest |premium| / (maxPremiumRatio x index TWAP) seen, in basis points (how close to the cap).
    uint256 public maxCapUseBps;

    uint256 public premiumCapViolations;
    uint256 public flowMismatches;
    uint256 public earlyAccepted;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;

    constructor(ClearingHouse clearingHouse_, Vault vault_, Amm amm_, TraderHandler traders_) {
        clearingHouse = clearingHouse_;
        vault = vault_;
        amm = amm_;
        traders = traders_;
    }

    struct Update {
        int256 premium;
        uint256 markTwap;
        uint256 indexTwap;
        int256 longIndex;
        int256 shortIndex;
        int256 insuranceFlow;
    }

    function updateFunding(uint256 seed) external {
        calls++;
        (, uint256 updatedAt, , IAmm.FundingParams memory params) = amm.getFundingState();
        uint256 earliest = updatedAt + params.minUpdateInterval;
        if (seed % 2 == 0 && block.timestamp < earliest) {
            uint256 t = earliest + bound(seed >> 1, 0, 10 minutes);
            vm.roll(block.number + (t - block.timestamp) / 12 + 1);
            vm.warp(t);
            waits++;
        }
        bool early = block.timestamp < earliest;
        bool paused = clearingHouse.paused();
        (, uint256 fundBefore) = vault.getPoolBalances();
        int256 predicted = amm.getFundingIndices(fundBefore).insuranceFlow;
        vm.recordLogs();
        vm.prank(KEEPER);
        try clearingHouse.updateFunding(address(amm)) {
            if (early) earlyAccepted++;
            updates++;
            Update memory u = _readUpdate();
            (, uint256 fundAfter) = vault.getPoolBalances();
            if (u.insuranceFlow != predicted || int256(fundAfter) - int256(fundBefore) != u.insuranceFlow) {
                flowMismatches++;
            }
            traders.recordFlow(u.insuranceFlow);
            uint256 cap = (u.indexTwap * params.maxPremiumRatio) / WAD;
            uint256 magnitude = u.premium >= 0 ? uint256(u.premium) : uint256(-u.premium);
            if (magnitude > cap || (paused && u.premium != 0)) premiumCapViolations++;
            (int256 statePremium, , , ) = amm.getFundingState();
            if (statePremium != u.premium) premiumCapViolations++;
            if (u.premium != 0) {
                nonZeroPremiums++;
                uint256 use = (magnitude * 10_000) / cap;
                if (use > maxCapUseBps) maxCapUseBps = use;
            }
        } catch (bytes memory err) {
            vm.getRecordedLogs();
            bytes4 sel = selectorOf(err);
            if (early && sel == IAmmErrors.FundingUpdateTooEarly.selector) {
                tooEarly++;
            } else {
                unexpectedReverts++;
                lastUnexpectedSelector = sel;
            }
        }
        traders.syncK();
    }

    function _readUpdate() internal returns (Update memory u) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(amm) && logs[i].topics[0] == IAmm.FundingUpdated.selector) {
                u = abi.decode(logs[i].data, (Update));
                seen++;
            }
        }
        if (seen != 1) flowMismatches++;
    }
}

// ====================================================================== insurance-fund stakers

/// @notice Three stakers of the insurance fund: deposit, requestRedeem, completeRedeem (half the time
/// after waiting out the cooldown, else whenever: CooldownNotElapsed), cancelRedeem. Every token in
/// and out is reported to the TraderHandler's ledger (P1, P7); each redemption must pay exactly
/// min(value at the request, value now).
contract StakerHandler is TestBase {
    uint256 public constant N_STAKERS = 3;

    InsuranceFund public immutable fund;
    MockERC20 public immutable usdc;
    TraderHandler public immutable traders;
    uint256 public immutable scale;

    address[N_STAKERS] internal _stakers;

    uint256 public stakes;
    uint256 public requests;
    uint256 public completions;
    uint256 public cancels;
    uint256 public expectedReverts;
    uint256 public redeemMismatches;
    uint256 public unexpectedReverts;
    bytes4 public lastUnexpectedSelector;

    constructor(InsuranceFund fund_, MockERC20 usdc_, TraderHandler traders_) {
        fund = fund_;
        usdc = usdc_;
        traders = traders_;
        scale = 10 ** (18 - uint256(usdc_.decimals()));
        for (uint256 i; i < N_STAKERS; ++i) _stakers[i] = address(uint160(0x57A4E000 + i));
    }

    function stakerAt(uint256 i) external view returns (address) {
        return _stakers[i];
    }

    /// @notice Stakes 1 token unit .. 100,000 tokens (log-uniform).
    function stake(uint256 seed, uint256 unitsSeed) external {
        _stake(seed, boundLog(unitsSeed, 1, 1e23 / scale));
    }

    /// @notice Stakes exactly `units` (the test's setUp backs the fund with a first stake).
    function stakeExactly(uint256 seed, uint256 units) external {
        _stake(seed, units);
    }

    function _stake(uint256 seed, uint256 units) internal {
        address s = _stakers[seed % N_STAKERS];
        usdc.mint(s, units);
        uint256 expectedShares = fund.previewDeposit(units);
        vm.prank(s);
        usdc.approve(address(fund), units);
        vm.prank(s);
        try fund.deposit(units, s) returns (uint256 shares) {
            stakes++;
            if (shares != expectedShares) redeemMismatches++;
            traders.recordStake(units, 0);
        } catch (bytes memory err) {
            // A deposit too small to mint a single share.
            _onRevert(err, IInsuranceFund.ZeroShares.selector, expectedShares == 0);
        }
        traders.syncK();
    }

    /// @notice A staker without an open request asks to redeem 1 .. all of its shares.
    function requestRedeem(uint256 seed, uint256 sharesSeed) external {
        (address s, bool found) = _find(seed, false);
        if (!found) return;
        uint256 shares = bound(sharesSeed, 1, fund.balanceOf(s));
        vm.prank(s);
        try fund.requestRedeem(shares) {
            requests++;
        } catch (bytes memory err) {
            _onRevert(err, bytes4(0), false);
        }
        traders.syncK();
    }

    /// @notice A staker with an open request completes it, half the time after waiting out the cooldown.
    function completeRedeem(uint256 seed, uint256 waitSeed) external {
        (address s, bool found) = _find(seed, true);
        if (!found) return;
        IInsuranceFund.RedeemRequest memory r = fund.redeemRequest(s);
        if (waitSeed % 2 == 0 && block.timestamp < r.unlockAt) {
            uint256 t = uint256(r.unlockAt) + bound(waitSeed >> 1, 0, 1 hours);
            vm.roll(block.number + (t - block.timestamp) / 12 + 1);
            vm.warp(t);
        }
        bool early = block.timestamp < r.unlockAt;
        uint256 expected = Math.min(fund.previewRedeem(r.shares), r.assetsAtRequest);
        uint256 before = usdc.balanceOf(s);
        vm.prank(s);
        try fund.completeRedeem(s) returns (uint256 assets) {
            completions++;
            if (early || assets != expected || usdc.balanceOf(s) != before + assets) redeemMismatches++;
            traders.recordStake(0, assets);
        } catch (bytes memory err) {
            _onRevert(err, IInsuranceFund.CooldownNotElapsed.selector, early);
        }
        traders.syncK();
    }

    function cancelRedeem(uint256 seed) external {
        (address s, bool found) = _find(seed, true);
        if (!found) return;
        vm.prank(s);
        try fund.cancelRedeem() {
            cancels++;
        } catch (bytes memory err) {
            _onRevert(err, bytes4(0), false);
        }
        traders.syncK();
    }

    /// @dev The staker at `seed` or the next one with (`withRequest`) or without an open request and
    /// with shares to request.
    function _find(uint256 seed, bool withRequest) internal view returns (address s, bool found) {
        for (uint256 i; i < N_STAKERS; ++i) {
            s = _stakers[(seed + i) % N_STAKERS];
            bool open = fund.redeemRequest(s).shares != 0;
            if (withRequest ? open : (!open && fund.balanceOf(s) != 0)) return (s, true);
        }
    }

    function _onRevert(bytes memory err, bytes4 allowed, bool entitled) internal {
        bytes4 sel = selectorOf(err);
        if (entitled && sel == allowed) {
            expectedReverts++;
        } else {
            unexpectedReverts++;
            lastUnexpectedSelector = sel;
        }
    }
}

// ====================================================================== share price

/// @notice The staked insurance fund's share price, (totalAssets + 1) / (totalSupply + 10^6) (the
/// ERC4626 virtual offset), checked after every action: a fall is counted in `sharePriceDrops` unless
/// the fund lost something since the previous check: bad debt it covered, a reward it paid with bad
/// debt, or funding it paid out (ghosts of the LiquidatorHandler and the TraderHandler).
contract SharePriceWatch is ISharePriceWatch {
    InsuranceFund public immutable fund;
    TraderHandler public immutable traders;
    LiquidatorHandler public immutable liquidator;

    uint256 internal _lastAssets;
    uint256 internal _lastSupply;
    uint256 internal _lastLosses;
    uint256 public checks;
    uint256 public sharePriceDrops;
    uint256 public dropsOnBadDebt;
    uint256 public dropsOnFunding;
    uint256 internal _lastBadDebt;

    constructor(InsuranceFund fund_, TraderHandler traders_, LiquidatorHandler liquidator_) {
        fund = fund_;
        traders = traders_;
        liquidator = liquidator_;
    }

    function check() external {
        checks++;
        uint256 a = fund.totalAssets() + 1;
        uint256 s = fund.totalSupply() + 1e6;
        uint256 badDebtLosses = liquidator.sumCovered() + liquidator.sumRewardsFromFund();
        uint256 losses = badDebtLosses + traders.sumFundOutflows();
        // a / s < lastAssets / lastSupply, without overflow (the supply explodes after a wipe-out).
        if (_lastSupply != 0 && Math.mulDiv(a, _lastSupply, s) < _lastAssets) {
            if (losses == _lastLosses) sharePriceDrops++;
            else if (badDebtLosses != _lastBadDebt) dropsOnBadDebt++;
            else dropsOnFunding++;
        }
        (_lastAssets, _lastSupply, _lastLosses, _lastBadDebt) = (a, s, losses, badDebtLosses);
    }
}
