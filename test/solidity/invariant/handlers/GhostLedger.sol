// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {sequencerUp} from "../../utils/SequencerGate.sol";
import {IAmmErrors} from "../../../../contracts/interfaces/IAmm.sol";
import {ISequencerErrors} from "../../../../contracts/libraries/SequencerUptime.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Amm} from "../../../../contracts/Amm.sol";
import {ClearingHouse} from "../../../../contracts/ClearingHouse.sol";
import {Vault} from "../../../../contracts/Vault.sol";
import {IClearingHouse} from "../../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../../contracts/interfaces/IVault.sol";
import {MockERC20} from "../../../../contracts/test/MockERC20.sol";
import {Vm} from "../../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";
import {IAmm} from "../../../../contracts/interfaces/IAmm.sol";
import {IAmmCurve, IAmmCurveErrors} from "../../../../contracts/interfaces/IAmmCurve.sol";
import {ISharePriceWatch} from "./HandlerBase.sol";

/// @notice The shared ledger of the campaign: the four traders' addresses, every ghost variable the
/// invariants read (deposits, withdrawals, realised PnL, fees, funding, k, swaps, stakes, violation
/// counters), the functions the other handlers report to (`record*`, registered in `setUp`), and the
/// bookkeeping every trader action ends with (events checked against the state, reverts sorted into
/// expected and unexpected). The trading actors build on it: TradeExecution, TraderHandler,
/// PriceMoverHandler, FinalSettlement.
abstract contract GhostLedger is HandlerBase {
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

    // ------------------------------------------------------------------ ghosts: the dynamic curve (issue 14)

    /// @dev The reserves as the Amm's events left them, in event order (Swapped, Repegged,
    /// DepthChanged carry the reserves after): after every action they must be the stored ones
    /// (`reserveMismatches` otherwise: the reserves moved without an event saying so).
    uint256 public reserveQuote;
    uint256 public reserveBase;
    uint256 public reserveMismatches;
    /// @dev What the curve's moves (Repegged, DepthChanged) added to the quote and base reserves
    /// outside trades: q0 + quoteShift and b0 + baseShift are the reserves the positions are
    /// measured from (P2, P5, P12). Both 0 with the static curve.
    int256 public quoteShift;
    int256 public baseShift;
    /// @dev k's floor: q0 x b0, then k right after the latest curve move (a repeg or depth change
    /// may lower k; a swap never does).
    uint256 public kFloor;
    /// @dev Curve moves seen, and the sum of their signed costs (the exact change of the terminal
    /// value: + paid to the traders from the budget, - their loss), and of the positive ones.
    uint256 public repegs;
    uint256 public depthChanges;
    int256 public sumCurveCost;
    uint256 public sumCurveCostPaid;
    /// @dev The AMM budget's ins and outs by the Amm's events: BudgetCredited (contributions),
    /// SpreadCharged, GainsCollected in; positive curve costs and BudgetSpentOnBadDebt out. Each
    /// event's budgetAfter must be what these sums make it (`budgetEventMismatches`).
    uint256 public sumBudgetCredited;
    uint256 public sumSpread;
    uint256 public spreadCharges;
    uint256 public sumGainsCollected;
    uint256 public sumBudgetSpent;
    /// @dev What the budget received from funding accruals' imbalance (negative: paid), by the Amm's
    /// BudgetFundingFlow events, and how many there were (the budget's share on a dynamic curve; the
    /// fund's is `sumInsuranceFlow`). Each call's must be the one getFundingIndices predicted.
    int256 public sumBudgetFundingFlow;
    uint256 public budgetFundingFlows;
    uint256 public budgetEventMismatches;
    /// @dev A SpreadCharged whose ratio is outside [baseSpreadRatio, maxSpreadRatio] or whose fee is
    /// not ceil(the swap's quote x ratio).
    uint256 public spreadMismatches;
    /// @dev Within the call being read: the spread charged, whether the curve repegged before its
    /// swap, the exchange fee of its swaps (ceil(|quote| x feeRatio) per Swapped) and the last swap's
    /// quote amount.
    uint256 internal _callSpread;
    bool internal _callRepegged;
    uint256 internal _callSwapFees;
    /// @dev Within the call being read: the budget's funding share (BudgetFundingFlow).
    int256 internal _callBudgetFlow;
    uint256 internal _lastSwapQuote;

    // ------------------------------------------------------------------ ghosts: outcomes

    uint256[N_ACTIONS] public calls;
    uint256[N_ACTIONS] public successes;
    uint256[N_ACTIONS] public expectedReverts;
    /// @dev Calls that found nothing to do (no position, nothing to withdraw, amount rounds to 0).
    uint256[N_ACTIONS] public skips;
    /// @dev Fuzzed closes whose position was topped up first (the rest closed as they stood).
    uint256 public closeTopUps;
    uint256 public lastUnexpectedAction;
    /// @dev Selector of the last revert caught, expected or not, and a histogram of them.
    bytes4 public lastError;
    mapping(bytes4 selector => uint256) public revertsBySelector;
    /// @dev Set before an increase whose position's margin, less the funding it owes now, plus the
    /// new margin is below zero (funding ate the margin; PnL may still keep it above the IMR): the
    /// ClearingHouse refuses it with PositionUnderwater (a margin only liquidation may touch), and
    /// only then is that revert expected of an increase. Cleared by {_onRevert}'s verdict.
    bool internal _increaseFindsMarginEaten;

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
    uint256 public finalDeferrals;
    uint256 public finalWithdrawFailures;
    uint256 public finalLiquidations;

    // ------------------------------------------------------------------ claims (18 decimals)

    /// @dev This market's claims, from the Vault's ClaimQueued / ClaimPaid events (trades, margin
    /// moves, liquidations, payClaims), per account (traders and the keeper) and in total.
    mapping(address account => uint256) public claimsQueued;
    mapping(address account => uint256) public claimsPaid;
    uint256 public sumClaimsQueued;
    uint256 public sumClaimsPaid;
    /// @dev Claims queued while the pool held less than the payout asked of it (the Vault's own cap,
    /// beyond the ClearingHouse's deferral).
    uint256 public vaultCappedPayouts;
    /// @dev Trader calls that queued a claim: a winner closed or reduced while the others' losses
    /// were unrealised (the order that used to revert InsufficientMarginPool).
    uint256 public tradesQueuingClaims;
    /// @dev The insurance fund's receivable against this market's pool, from the Vault's
    /// FundReceivableBooked / FundReceivablePaid events: what the fund's take (a fee, a penalty, its
    /// funding share) found beyond what the pool held over its locked margin, and what payClaims
    /// later paid it of that. Booked events are counted.
    uint256 public sumReceivableBooked;
    uint256 public sumReceivablePaid;
    uint256 public receivablesBooked;
    /// @dev The fund's advances into this market's pool (the Vault's FundAdvanced: a reduce or close
    /// paid a funding debt beyond its margin, or its spread, out of a profit the pool could not pay;
    /// the advance is booked as the fund's receivable too) and how many. A fall of the fund's share
    /// price they cause is explained (SharePriceWatch): the fund lent it, repaid ahead of every claim.
    uint256 public sumFundAdvanced;
    uint256 public fundAdvances;
    /// @dev P20's allowance for trader calls: how far a call left the pool further below its locked
    /// margin than before, only ever when the fund had nothing left to advance (else `gapsLeftWithFund`).
    uint256 public sumGapWithoutFund;
    uint256 public gapsLeftWithFund;
    /// @dev Statistics: the part of a reduce's or close's realised PnL (after what a partial reduce
    /// carried in the rest) that was neither within what the pool could pay (profitAvailable, read
    /// before the call) nor queued as the trader's claim: it paid the fee where the position's own
    /// money could not, the fund's take of it becoming its receivable (no P20 allowance any more).
    uint256 public sumGainPaidBeyondAvailable;
    uint256 public gainsPaidBeyondAvailable;
    /// @dev A call whose money did not add up for the account: the change of its free collateral +
    /// margin + claim != realised PnL - fee - funding (trades) or 0 (margin moves).
    uint256 public valueMismatches;

    // ------------------------------------------------------------------ liquidation (LiquidatorHandler)

    /// @dev The LiquidatorHandler, linked once after deployment; it reports every liquidation here so
    /// the per-trader ledger, the PnL sums, the swap count and k cover liquidations too.
    address public liquidatorHandler;
    /// @dev The ClaimsHandler (the payClaims actor), linked once after deployment.
    address public claimsHandler;
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
    /// @dev The insurance flow the next trade will book, read from getFundingIndices before the call,
    /// and the budget's share of the same accrual.
    int256 internal _flowBefore;
    int256 internal _budgetFlowBefore;
    /// @dev The trader's free collateral + margin + claim before the call being checked, and the
    /// market's profitAvailable then.
    int256 internal _heldBefore;
    uint256 internal _availableBefore;
    uint256 internal _gapBefore;

    // ------------------------------------------------------------------ staking and sequencer

    /// @dev Token units staked into the insurance fund and paid out by its redemptions (StakerHandler).
    uint256 public stakedUnits;
    uint256 public redeemedUnits;
    /// @dev Checks the staked insurance fund's share price after every action (FundingHandlers.sol).
    ISharePriceWatch public sharePriceWatch;
    /// @dev Risk-increasing actions accepted while the ClearingHouse's sequencer gate was not up.
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
        kFloor = lastK;
        reserveQuote = q0;
        reserveBase = b0;
        _deployer = msg.sender;
    }

    /// @notice Links another handler that reports to this ledger (by the test's setUp).
    function registerHandler(address handler) external {
        require(msg.sender == _deployer, "only the deployer");
        isHandler[handler] = true;
    }

    /// @notice Links the staked insurance fund (by the test's setUp).
    function setFund(ISharePriceWatch watch) external {
        require(msg.sender == _deployer, "only the deployer");
        sharePriceWatch = watch;
        _end();
    }

    function traderAt(uint256 i) external view returns (address) {
        return _traders[i];
    }

    /// @notice Links the ClaimsHandler (once, by the test's setUp): it reports the claims it pays here
    /// and the final settlement has it pay the queue.
    function setClaimsHandler(address handler) external {
        require(claimsHandler == address(0), "claims handler already set");
        claimsHandler = handler;
        isHandler[handler] = true;
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

    /// @notice What the market's pool owes the fund by the ledger: receivable booked - paid.
    function fundReceivableOwed() public view returns (uint256) {
        return sumReceivableBooked - sumReceivablePaid;
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

    /// @notice A Vault log seen by another handler (the liquidator): its claims go to the ledger.
    function recordVaultLog(bytes32[] calldata topics, bytes calldata data) external onlyHandler {
        _recordClaimLog(topics, data);
    }

    /// @notice An Amm event seen by another handler (the liquidator, the funding keeper): swaps,
    /// curve moves and the budget's ins and outs go to the ledger.
    function recordAmmLog(bytes32[] calldata topics, bytes calldata data) external onlyHandler {
        _recordAmmLog(topics, data);
    }

    /// @notice The budget's budgetAfter by the ledger: credited + spreads + gains collected -
    /// positive curve costs - spent on bad debt + its funding shares.
    function expectedBudget() public view returns (uint256) {
        return
            uint256(
                int256(sumBudgetCredited + sumSpread + sumGainsCollected) -
                    int256(sumCurveCostPaid + sumBudgetSpent) +
                    sumBudgetFundingFlow
            );
    }

    /// @dev Reads the shares of the accrual the next call will book (the fund's, the budget's), as
    /// getFundingIndices answers them with `insurance` in the fund.
    function _predictFlows(uint256 insurance) internal {
        IAmm.FundingSnapshot memory f = amm.getFundingIndices(insurance);
        (_flowBefore, _budgetFlowBefore) = (f.insuranceFlow, f.budgetFlow);
    }

    /// @notice Curve moves (repegs and depth changes) seen so far.
    function curveMoves() external view returns (uint256) {
        return repegs + depthChanges;
    }

    /// @notice `funder` contributes `units` of fresh tokens to the market's AMM budget (by the
    /// test's setUp, as a deployment seeds it): deposited (P1 counts it) and moved into the pool.
    function seedBudget(address funder, uint256 units) external {
        require(msg.sender == _deployer, "only the deployer");
        usdc.mint(funder, units);
        vm.startPrank(funder);
        usdc.approve(address(vault), units);
        vault.deposit(units);
        totalDeposited += units;
        vm.recordLogs();
        clearingHouse.contributeToBudget(address(amm), units * scale);
        vm.stopPrank();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(amm)) _recordAmmLog(logs[i].topics, logs[i].data);
        }
        if (sumBudgetCredited != units * scale || vault.freeCollateral(funder) != 0) budgetEventMismatches++;
        _end();
    }

    /// @notice After a liquidator action: k must not have gone down (P3).
    function syncK() external onlyHandler {
        _end();
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
        if (k < lastK || k < kFloor) kDecreases++;
        lastK = k;
        if (q != reserveQuote || b != reserveBase) {
            reserveMismatches++;
            (reserveQuote, reserveBase) = (q, b);
        }
        _watchSharePrice();
    }

    /// @dev The staked fund's share price must not fall without a loss (see SharePriceWatch).
    function _watchSharePrice() internal {
        if (address(sharePriceWatch) != address(0)) sharePriceWatch.check();
    }

    function _sequencerUp() internal view returns (bool) {
        return sequencerUp(clearingHouse);
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

    /// @dev One Amm event into the ledger: a Swapped (P12's rounding bound; k must not fall across
    /// it), a curve move (Repegged, DepthChanged: the reserves' shift outside trades, k's new floor,
    /// its cost), the budget's ins and outs (each event's budgetAfter checked against the sums).
    function _recordAmmLog(bytes32[] memory topics, bytes memory data) internal {
        bytes32 sig = topics[0];
        if (sig == IAmm.Swapped.selector) {
            (int256 quoteDelta, , uint256 q, uint256 b) = abi.decode(data, (int256, int256, uint256, uint256));
            swaps++;
            roundingSum += Math.max(q, b);
            if (q * b < reserveQuote * reserveBase) kDecreases++;
            (reserveQuote, reserveBase) = (q, b);
            _lastSwapQuote = _abs(quoteDelta);
            _callSwapFees += _fee(_lastSwapQuote, _params().feeRatio);
        } else if (sig == IAmmCurve.Repegged.selector || sig == IAmmCurve.DepthChanged.selector) {
            (, , uint256 q, uint256 b, int256 cost, uint256 budgetAfter) = abi.decode(
                data,
                (uint256, uint256, uint256, uint256, int256, uint256)
            );
            quoteShift += int256(q) - int256(reserveQuote);
            baseShift += int256(b) - int256(reserveBase);
            (reserveQuote, reserveBase) = (q, b);
            kFloor = q * b;
            lastK = kFloor;
            if (sig == IAmmCurve.Repegged.selector) {
                repegs++;
                _callRepegged = true;
            } else {
                depthChanges++;
            }
            sumCurveCost += cost;
            if (cost > 0) sumCurveCostPaid += uint256(cost);
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        } else if (sig == IAmmCurve.SpreadCharged.selector) {
            (uint256 ratio, uint256 spreadFee, uint256 budgetAfter) = abi.decode(data, (uint256, uint256, uint256));
            IAmmCurve.CurveParams memory cp = amm.getCurveParams();
            if (ratio < cp.baseSpreadRatio || ratio > cp.maxSpreadRatio) spreadMismatches++;
            // The spread follows its swap's Swapped (the swap's notional).
            if (spreadFee != Math.mulDiv(_lastSwapQuote, ratio, WAD, Math.Rounding.Ceil)) spreadMismatches++;
            sumSpread += spreadFee;
            spreadCharges++;
            _callSpread += spreadFee;
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        } else if (sig == IAmmCurve.BudgetCredited.selector) {
            (uint256 amount, uint256 budgetAfter) = abi.decode(data, (uint256, uint256));
            sumBudgetCredited += amount;
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        } else if (sig == IAmmCurve.GainsCollected.selector) {
            (uint256 amount, , uint256 budgetAfter) = abi.decode(data, (uint256, uint256, uint256));
            sumGainsCollected += amount;
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        } else if (sig == IAmmCurve.BudgetSpentOnBadDebt.selector) {
            (uint256 amount, uint256 budgetAfter) = abi.decode(data, (uint256, uint256));
            sumBudgetSpent += amount;
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        } else if (sig == IAmmCurve.BudgetFundingFlow.selector) {
            (int256 amount, uint256 budgetAfter) = abi.decode(data, (int256, uint256));
            if (amount == 0) budgetEventMismatches++;
            sumBudgetFundingFlow += amount;
            budgetFundingFlows++;
            _callBudgetFlow += amount;
            if (budgetAfter != expectedBudget()) budgetEventMismatches++;
        }
    }

    /// @dev A Vault ClaimQueued / ClaimPaid of this market into the claim ledger; returns the amount
    /// queued (0 for anything else). The totals the events carry must be the ledger's.
    function _recordClaimLog(bytes32[] memory topics, bytes memory data) internal returns (uint256 queued) {
        if (topics.length < 2 || address(uint160(uint256(topics[1]))) != address(amm)) return 0;
        if (topics[0] == IVault.FundReceivableBooked.selector || topics[0] == IVault.FundReceivablePaid.selector) {
            (uint256 amount, uint256 total) = abi.decode(data, (uint256, uint256));
            if (topics[0] == IVault.FundReceivableBooked.selector) {
                sumReceivableBooked += amount;
                receivablesBooked++;
            } else {
                sumReceivablePaid += amount;
            }
            if (total != fundReceivableOwed()) eventMismatches++;
            return 0;
        }
        if (topics[0] == IVault.FundAdvanced.selector) {
            sumFundAdvanced += abi.decode(data, (uint256));
            fundAdvances++;
            return 0;
        }
        if (topics.length < 3) return 0;
        address account = address(uint160(uint256(topics[2])));
        if (topics[0] == IVault.ClaimQueued.selector) {
            uint256 total;
            (, queued, total) = abi.decode(data, (uint256, uint256, uint256));
            claimsQueued[account] += queued;
            sumClaimsQueued += queued;
            if (total != claimsQueued[account] - claimsPaid[account]) eventMismatches++;
        } else if (topics[0] == IVault.ClaimPaid.selector) {
            (uint256 amount, uint256 remaining) = abi.decode(data, (uint256, uint256));
            claimsPaid[account] += amount;
            sumClaimsPaid += amount;
            if (remaining != claimsQueued[account] - claimsPaid[account]) eventMismatches++;
        }
    }

    /// @notice What `account` is owed in this market by the ledger: claims queued - paid.
    function claimOwed(address account) public view returns (uint256) {
        return claimsQueued[account] - claimsPaid[account];
    }

    function _claimOf(address t) internal view returns (uint256) {
        return vault.claimOf(address(amm), t);
    }

    /// @dev Records `t`'s free collateral + margin + claim before a call (`_checkEvents` compares).
    function _snapshotHeld(address t) internal {
        _heldBefore = int256(vault.freeCollateral(t) + _position(t).margin + _claimOf(t));
        _availableBefore = vault.profitAvailable(address(amm));
        _gapBefore = _poolGap();
    }

    /// @dev How far this market's pool is below its locked margin (0 when it covers it).
    function _poolGap() internal view returns (uint256) {
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        return m.lockedMargin > m.pool ? m.lockedMargin - m.pool : 0;
    }

    /// @dev A trader call may leave the pool further below its locked margin only when the fund
    /// could advance nothing more (P20's allowance); counted otherwise.
    function _recordPoolGap() internal {
        uint256 gap = _poolGap();
        if (gap <= _gapBefore) return;
        if (_insurance() == 0) sumGapWithoutFund += gap - _gapBefore;
        else gapsLeftWithFund++;
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
    /// @dev What the logs of one trader call said (see `_checkEvents`).
    struct CallLogs {
        uint256 positionEvents;
        uint256 marginEvents;
        uint256 fee;
        int256 freeDelta;
        /// @dev Claims the Vault queued in the call, and what the call earned the trader: realised
        /// PnL - fee - funding over its PositionChanged events.
        uint256 queued;
        int256 earned;
        /// @dev Realised PnL over the PositionChanged events: the trade's gain (only it is deferred).
        int256 gain;
    }

    function _checkEvents(
        address t,
        uint256 positionEvents,
        int256 marginMove,
        uint256 freeBefore,
        uint256 insuranceBefore
    ) internal returns (uint256 fee) {
        IClearingHouse.Position memory p = _position(t);
        uint256 bookedBefore = sumReceivableBooked;
        CallLogs memory c = _readCallLogs(t, p, marginMove);
        fee = c.fee;
        if (c.queued != 0) tradesQueuingClaims++;
        _recordGainBeyondAvailable(c);
        if (c.positionEvents != positionEvents || c.marginEvents != (marginMove == 0 ? 0 : 1)) eventMismatches++;
        // The event's free-collateral delta is what the trade pays; the Vault pays it in full unless
        // its pool holds less (then the rest is queued as a claim: counted, and P4/P6 keep it exact).
        int256 paid = int256(vault.freeCollateral(t)) - int256(freeBefore);
        if (paid != c.freeDelta) {
            if (paid > c.freeDelta || c.freeDelta - paid > int256(c.queued)) eventMismatches++;
            else vaultCappedPayouts++;
        }
        // What the call did to the trader's money: free + margin + claim moved by exactly what it
        // earned (realised PnL - fee - funding; nothing for a margin move).
        int256 heldAfter = int256(vault.freeCollateral(t) + p.margin + _claimOf(t));
        if (heldAfter - _heldBefore != c.earned) valueMismatches++;
        // The fund moves by the fee plus the insurance flow of the trade's funding accrual, as
        // predicted by getFundingIndices before the call (0 for margin moves, which accrue nothing).
        if (c.positionEvents != 0) _recordFlow(_flowBefore);
        // The budget's share booked by the call is the one predicted with the fund's.
        if (_callBudgetFlow != (c.positionEvents != 0 ? _budgetFlowBefore : int256(0))) budgetEventMismatches++;
        int256 owedToFund = int256(fee) + (c.positionEvents != 0 ? _flowBefore : int256(0));
        // What the pool did not hold beyond its locked margin is the fund's receivable, exactly.
        int256 moved = int256(_insurance()) - int256(insuranceBefore);
        // An advance (FundAdvanced) left the fund as it was booked: it cancels out here.
        if (moved + int256(sumReceivableBooked - bookedBefore) != owedToFund) eventMismatches++;
        _recordPoolGap();
    }

    /// @dev The gain of the call neither payable by the pool before it nor queued (see the ghost).
    function _recordGainBeyondAvailable(CallLogs memory c) internal {
        if (c.positionEvents == 0 || c.gain <= 0) return;
        int256 beyond = c.gain - int256(_availableBefore) - int256(c.queued);
        if (beyond > 0) {
            sumGainPaidBeyondAvailable += uint256(beyond);
            gainsPaidBeyondAvailable++;
        }
    }

    /// @dev Reads the recorded logs of a trader call into the ledger (PnL, fees, swaps, claims) and
    /// checks each MarginChanged against the stored position `p` and the margin move.
    function _readCallLogs(
        address t,
        IClearingHouse.Position memory p,
        int256 marginMove
    ) internal returns (CallLogs memory c) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        c.freeDelta = marginMove;
        (_callSpread, _callRepegged, _callSwapFees, _lastSwapQuote, _callBudgetFlow) = (0, false, 0, 0, 0);
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter == address(vault)) {
                c.queued += _recordClaimLog(l.topics, l.data);
            } else if (l.emitter == address(amm)) {
                _recordAmmLog(l.topics, l.data);
            } else if (l.emitter == address(clearingHouse) && l.topics[0] == IClearingHouse.PositionChanged.selector) {
                c.positionEvents++;
                (uint256 evFee, int256 earned, int256 pnl) = _recordPositionChanged(t, l, p);
                c.fee += evFee;
                c.earned += earned;
                c.gain += pnl;
                (, , , , , c.freeDelta, , , ) = abi.decode(
                    l.data,
                    (int256, uint256, int256, uint256, int256, int256, int256, uint256, uint256)
                );
            } else if (l.emitter == address(clearingHouse) && l.topics[0] == IClearingHouse.MarginChanged.selector) {
                c.marginEvents++;
                (int256 amount, uint256 margin) = abi.decode(l.data, (int256, uint256));
                if (amount != -marginMove || margin != p.margin || address(uint160(uint256(l.topics[1]))) != t) {
                    eventMismatches++;
                }
            }
        }
        // The PositionChanged fee includes the call's spread (SpreadCharged): the trader pays both,
        // only the exchange fee is the fund's; the spread stays in the pool as budget.
        if (_callSpread > c.fee) {
            eventMismatches++;
        } else {
            c.fee -= _callSpread;
            sumFees -= _callSpread;
        }
    }

    function _recordPositionChanged(
        address t,
        Vm.Log memory l,
        IClearingHouse.Position memory p
    ) internal returns (uint256 fee, int256 earned, int256 realized) {
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
        return (evFee, pnl - int256(evFee) - fundingPayment, pnl);
    }

    /// @dev Counts a revert as expected (the protocol is entitled to it for this kind of call) or not.
    function _onRevert(Action a, Kind k, bytes memory err) internal {
        bytes4 sel = _selector(err);
        lastError = sel;
        revertsBySelector[sel]++;
        bool expected =
            _isExpected(k, sel) ||
                (k == Kind.Increase && _increaseFindsMarginEaten && sel == IClearingHouse.PositionUnderwater.selector);
        _increaseFindsMarginEaten = false;
        if (expected) {
            expectedReverts[uint256(a)]++;
        } else {
            _unexpectedRevert(sel);
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
        // A short larger than the base reserve cannot be priced (previewSwapBase) nor bought back.
        bool reserve = sel == IAmmErrors.InsufficientReserve.selector;
        bool marginRatio = sel == IClearingHouse.MarginRatioTooLow.selector;
        bool underwater = sel == IClearingHouse.PositionUnderwater.selector;
        bool fluctuation = sel == IAmmErrors.PriceFluctuationLimitExceeded.selector;
        bool tooLarge = sel == IAmmErrors.TradeTooLarge.selector;
        bool oiCap = sel == IAmmErrors.OpenInterestCapExceeded.selector;
        bool zeroBase = sel == IAmmErrors.ZeroSwapAmount.selector; // a long too small to buy one wei of base
        // The dynamic curve: a trade that grows the market's net position beyond what its funds back
        // (budget + fund share, x maxVammLeverage). Only risk-increasing kinds: a reduce or close
        // must never be refused for it.
        bool vammLeverage = sel == IAmmCurveErrors.VammLeverageExceeded.selector;
        // After a shortfall (bad debt the insurance fund could not pay) positions may only shrink.
        bool reduceOnly = sel == IClearingHouse.MarketReduceOnly.selector;
        // Risk-increasing actions (open, increase, reverse, removeMargin) are gated on the L2 sequencer.
        bool seq =
            sel == ISequencerErrors.SequencerDown.selector || sel == ISequencerErrors.GracePeriodNotOver.selector;
        if (k == Kind.RemoveMargin) return marginRatio || reserve || seq;
        if (k == Kind.Close) return underwater || reserve || fluctuation;
        // Opening (a fresh position is never judged on its margin ratio, and cannot be underwater).
        if (k == Kind.Open) {
            return tooLarge || oiCap || fluctuation || reserve || zeroBase || reduceOnly || seq || vammLeverage;
        }
        // Growing an existing position: it must meet the IMR at the spot price first.
        if (k == Kind.Increase) {
            return
                tooLarge ||
                oiCap ||
                fluctuation ||
                reserve ||
                zeroBase ||
                marginRatio ||
                reduceOnly ||
                seq ||
                vammLeverage;
        }
        // Reducing: shrinks open interest (never capped), must keep the MMR, and pays its fee from margin.
        // openPosition classifies it on the curve its swap trades on (any repeg runs first), so its
        // notional never buys back more than the position (no ReduceExceedsPosition, no cap).
        if (k == Kind.Reduce) {
            return tooLarge || fluctuation || reserve || zeroBase || marginRatio || underwater;
        }
        // Reversing: closes (no ratio check) then opens the rest, which never buys zero base (skipped).
        return underwater || fluctuation || tooLarge || oiCap || reserve || reduceOnly || seq || vammLeverage;
    }

    /// @notice Trader actions called and skipped (found nothing to do) so far in the run.
    function callsAndSkips() external view returns (uint256 totalCalls, uint256 totalSkips) {
        for (uint256 i; i < N_ACTIONS; ++i) {
            totalCalls += calls[i];
            totalSkips += skips[i];
        }
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
