// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ISequencerErrors} from "../../../contracts/libraries/SequencerUptime.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {InsuranceFund} from "../../../contracts/InsuranceFund.sol";
import {IAmm} from "../../../contracts/interfaces/IAmm.sol";
import {IAmmCurveErrors} from "../../../contracts/interfaces/IAmmCurve.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {Artifacts} from "../utils/Artifacts.sol";
import {Deployer} from "../utils/Deployer.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";
import {AdminHandler} from "./handlers/AdminHandler.sol";
import {ClaimsHandler} from "./handlers/ClaimsHandler.sol";
import {FundingKeeperHandler} from "./handlers/FundingKeeperHandler.sol";
import {LiquidatorHandler} from "./handlers/LiquidatorHandler.sol";
import {OracleHandler} from "./handlers/OracleHandler.sol";
import {PriceMoverHandler} from "./handlers/PriceMoverHandler.sol";
import {SharePriceWatch} from "./handlers/SharePriceWatch.sol";
import {StakerHandler} from "./handlers/StakerHandler.sol";
import {TimeHandler} from "./handlers/TimeHandler.sol";
import {TraderHandler} from "./handlers/TraderHandler.sol";

/// @notice Stateful invariants of the protocol: Vault, ClearingHouse (built with the price feed as its
/// sequencer oracle), one Amm with a Chainlink-style index (funding runs), liquidation, and the staked
/// insurance fund. The properties, numbered as here, are stated in SPEC.md next to this file; the
/// concrete suites at the end of the file run them on two markets.
///
/// Actors (handlers/, one file each): TraderHandler (4 traders: open/increase/reduce/reverse/close, add/remove
/// margin, deposit, withdraw, withdraw-all), LiquidatorHandler (a keeper liquidating traders, and traders
/// trying to liquidate themselves), TimeHandler (warp/roll forward), AdminHandler (pause, market
/// parameters, Amm limits), OracleHandler (index walk, bad rounds, reverting aggregator, sequencer
/// outages, pokes), FundingKeeperHandler (updateFunding at random times), StakerHandler (3 stakers:
/// deposit, request/complete/cancel redemptions). The fuzzer calls only their action functions
/// (`targetSelectors`), weighted toward trading. Runs and depth come from hardhat.config.ts
/// (`test.solidity` profiles): default (CI) 64 x 64, `--test-profile deep` 512 x 256. Each
/// invariant_* function runs its own campaign; a handler call that reverts is counted and dropped
/// (`failOnRevert: false`), the handlers themselves catch the protocol's reverts and record anything
/// wrong in ghost counters. ProtocolDynamicCurve.invariant.t.sol runs the same properties with the
/// dynamic curve on (`_configureCurve`; SPEC.md, "The dynamic curve").
abstract contract ProtocolInvariantBase is Deployer, InvariantBase {
    /// @dev The market under test, fixed per concrete suite.
    uint256 internal q0;
    uint256 internal b0;

    TraderHandler internal traders;
    TimeHandler internal time;
    AdminHandler internal admin;
    LiquidatorHandler internal liquidator;
    OracleHandler internal oracle;
    FundingKeeperHandler internal keeper;
    StakerHandler internal stakers;
    ClaimsHandler internal claims;
    SharePriceWatch internal watch;

    ChainlinkPriceFeed internal priceFeed;
    MockAggregator internal aggregator;
    MockAggregator internal sequencerFeed;
    InsuranceFund internal insuranceFund;
    bytes32 internal constant ASSET = "BASE";
    /// @dev Funding: premium capped at 50% of the index TWAP per day, updates at least 5 minutes apart,
    /// accrual for up to 1 hour after an update.
    uint64 internal constant MAX_PREMIUM_RATIO = 0.5e18;

    /// @dev Collateral decimals, initial quote and base reserves, fee ratio (IMR 10%, MMR 6.25%).
    function market()
        internal
        pure
        virtual
        returns (uint8 decimals, uint256 quoteReserve, uint256 baseReserve, uint64 fee);

    function setUp() public {
        uint8 decimals;
        uint64 fee;
        (decimals, q0, b0, fee) = market();
        // A day into the chain, so the sequencer's status can date from well before its grace period.
        vm.warp(block.timestamp + 1 days);
        sequencerFeed = new MockAggregator(0);
        sequencerFeed.setSequencerStatus(false, block.timestamp - 1 days);
        priceFeed = Artifacts.priceFeed(address(this));
        // Trade size limited to 10% of the quote reserve at the start; the admin changes it.
        deploySystemWithSequencer(
            decimals,
            q0,
            b0,
            fee,
            IAmm.Limits(0.1e18, 0, 0),
            AggregatorV3Interface(address(sequencerFeed))
        );
        // The index: an 8-decimal aggregator answering the initial spot price, a 1-hour heartbeat (the
        // clock's long warps make it stale), bounds at 1/10 and 10 times the initial price.
        aggregator = new MockAggregator(8);
        uint256 spot = (q0 * 1e18) / b0;
        int256 answer = int256(spot / 1e10);
        aggregator.setRoundData(1, answer, block.timestamp, block.timestamp, 1);
        priceFeed.setAsset(ASSET, aggregator, 1 hours, uint128(spot / 10), uint128(spot * 10));
        amm.setOracle(priceFeed, ASSET);
        amm.setFundingParams(IAmm.FundingParams(MAX_PREMIUM_RATIO, 300, 3600));
        // The staked insurance fund, bound to the Vault as deployCore does.
        insuranceFund = new InsuranceFund(usdc, IVault(address(vault)), address(this), "Staked insurance", "sINS");
        clearingHouse.setInsuranceFund(address(insuranceFund));

        traders = new TraderHandler(clearingHouse, vault, amm, usdc);
        time = new TimeHandler();
        admin = new AdminHandler(clearingHouse, vault, amm, usdc);
        liquidator = new LiquidatorHandler(traders);
        traders.setLiquidatorHandler(address(liquidator));
        claims = new ClaimsHandler(traders);
        traders.setClaimsHandler(address(claims));
        oracle = new OracleHandler(amm, priceFeed, aggregator, sequencerFeed, ASSET, traders, answer);
        keeper = new FundingKeeperHandler(traders);
        stakers = new StakerHandler(insuranceFund, usdc, traders);
        traders.registerHandler(address(oracle));
        traders.registerHandler(address(keeper));
        traders.registerHandler(address(stakers));
        TraderHandler[] memory ledgers = new TraderHandler[](1);
        ledgers[0] = traders;
        LiquidatorHandler[] memory keepers = new LiquidatorHandler[](1);
        keepers[0] = liquidator;
        watch = new SharePriceWatch(insuranceFund, ledgers, keepers);
        traders.setFund(watch);
        // The index history starts now; a first staker backs the fund.
        amm.pokeIndex();
        stakers.stakeExactly(0, 10_000 * 10 ** decimals);
        _configureCurve(decimals);
        clearingHouse.transferOwnership(address(admin));
        amm.transferOwnership(address(admin));
        admin.acceptOwnerships();

        targetContract(address(traders));
        targetContract(address(time));
        targetContract(address(admin));
        targetContract(address(liquidator));
        targetContract(address(oracle));
        targetContract(address(keeper));
        targetContract(address(stakers));
        targetContract(address(claims));

        // Weights: 17 trader slots (2 of them price moves), 2 clock slots, 4 admin slots (pause itself acts one
        // time in eight), 4 liquidator slots (3 liquidations, 1 self-liquidation attempt), 1 claims payer slot.
        bytes4[] memory t = new bytes4[](17);
        t[0] = TraderHandler.openPosition.selector;
        t[1] = TraderHandler.openPosition.selector;
        t[2] = TraderHandler.openPosition.selector;
        t[3] = TraderHandler.increasePosition.selector;
        t[4] = TraderHandler.reducePosition.selector;
        t[5] = TraderHandler.reducePosition.selector;
        t[6] = TraderHandler.reversePosition.selector;
        t[7] = TraderHandler.closePosition.selector;
        t[8] = TraderHandler.closePosition.selector;
        t[9] = TraderHandler.addMargin.selector;
        t[10] = TraderHandler.removeMargin.selector;
        t[11] = TraderHandler.removeMargin.selector;
        t[12] = TraderHandler.deposit.selector;
        t[13] = TraderHandler.withdraw.selector;
        t[14] = TraderHandler.withdrawAll.selector;
        t[15] = PriceMoverHandler.movePrice.selector;
        t[16] = PriceMoverHandler.movePrice.selector;
        targetSelector(FuzzSelector(address(traders), t));

        bytes4[] memory c = new bytes4[](2);
        c[0] = TimeHandler.warp.selector;
        c[1] = TimeHandler.warp.selector;
        targetSelector(FuzzSelector(address(time), c));

        bytes4[] memory a = new bytes4[](4);
        a[0] = AdminHandler.setMarketParams.selector;
        a[1] = AdminHandler.setLimits.selector;
        a[2] = AdminHandler.pause.selector;
        a[3] = AdminHandler.unpause.selector;
        targetSelector(FuzzSelector(address(admin), a));

        bytes4[] memory l = new bytes4[](4);
        l[0] = LiquidatorHandler.liquidate.selector;
        l[1] = LiquidatorHandler.liquidate.selector;
        l[2] = LiquidatorHandler.liquidate.selector;
        l[3] = LiquidatorHandler.selfLiquidate.selector;
        targetSelector(FuzzSelector(address(liquidator), l));

        // Oracle: 6 slots (2 moves, 1 bad round, 1 reverting aggregator, 1 sequencer, 1 poke).
        bytes4[] memory o = new bytes4[](6);
        o[0] = OracleHandler.move.selector;
        o[1] = OracleHandler.move.selector;
        o[2] = OracleHandler.publishBad.selector;
        o[3] = OracleHandler.toggleRevert.selector;
        o[4] = OracleHandler.sequencer.selector;
        o[5] = OracleHandler.poke.selector;
        targetSelector(FuzzSelector(address(oracle), o));

        bytes4[] memory pc = new bytes4[](1);
        pc[0] = ClaimsHandler.payClaims.selector;
        targetSelector(FuzzSelector(address(claims), pc));

        bytes4[] memory f = new bytes4[](2);
        f[0] = FundingKeeperHandler.updateFunding.selector;
        f[1] = FundingKeeperHandler.updateFunding.selector;
        targetSelector(FuzzSelector(address(keeper), f));

        bytes4[] memory st = new bytes4[](4);
        st[0] = StakerHandler.stake.selector;
        st[1] = StakerHandler.requestRedeem.selector;
        st[2] = StakerHandler.completeRedeem.selector;
        st[3] = StakerHandler.cancelRedeem.selector;
        targetSelector(FuzzSelector(address(stakers), st));

        // The handlers prank as the actors; no fuzzed call may come from a protocol address.
        excludeSender(address(clearingHouse));
        excludeSender(address(vault));
        excludeSender(address(amm));
        excludeSender(address(usdc));
        for (uint256 i; i < traders.N_TRADERS(); ++i) excludeSender(traders.traderAt(i));
        excludeSender(liquidator.LIQUIDATOR());
        excludeSender(claims.PAYER());
        excludeSender(keeper.KEEPER());
        excludeSender(address(insuranceFund));
        excludeSender(address(priceFeed));
        excludeSender(address(aggregator));
        excludeSender(address(sequencerFeed));
        for (uint256 i; i < stakers.N_STAKERS(); ++i) excludeSender(stakers.stakerAt(i));
    }

    /// @dev The market's dynamic curve, set up as its owner and a funder would before trading opens
    /// (the parameter files' deployment): nothing here, a static curve; see the dynamic-curve suite.
    function _configureCurve(uint8 decimals) internal virtual {}

    // ================================================================== sums over the traders

    struct Book {
        int256 sumSize;
        uint256 longSize;
        uint256 shortSize;
        uint256 sumMargin;
        uint256 sumFree;
        uint256 shortfall;
        uint256 longOpenNotional;
        uint256 shortOpenNotional;
        /// @dev claimOf summed over the traders and the keeper.
        uint256 sumClaims;
        /// @dev Sum of margin - pending funding over the open positions, and the pending fund flow.
        int256 netMargin;
        int256 pendingFlow;
    }

    function _book() internal view returns (Book memory s) {
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), t);
            s.sumSize += p.size;
            if (p.size > 0) {
                s.longSize += uint256(p.size);
                s.longOpenNotional += p.openNotional;
            } else if (p.size < 0) {
                s.shortSize += uint256(-p.size);
                s.shortOpenNotional += p.openNotional;
            }
            s.sumMargin += p.margin;
            s.sumFree += vault.freeCollateral(t);
            s.sumClaims += vault.claimOf(address(amm), t);
            if (p.size != 0) {
                int256 pending = clearingHouse.getPendingFunding(address(amm), t);
                s.netMargin += int256(uint256(p.margin)) - pending;
            }
        }
        // The keeper's rewards are claims on the Vault too.
        s.sumFree += vault.freeCollateral(liquidator.LIQUIDATOR());
        s.sumClaims += vault.claimOf(address(amm), liquidator.LIQUIDATOR());
        (, s.shortfall) = clearingHouse.getMarketStatus(address(amm));
        // The fund's and the budget's flows of the accrual not booked yet (what the next trade or
        // update will book).
        (, uint256 insurance) = vault.getPoolBalances();
        IAmm.FundingSnapshot memory pending = amm.getFundingIndices(insurance);
        s.pendingFlow = pending.insuranceFlow + pending.budgetFlow;
    }

    /// @dev The insurance fund the ghosts predict: fees + insurance penalties - bad debt it covered -
    /// rewards it paid (a liquidation with bad debt has the fund pay the keeper's reward).
    function _expectedInsurance() internal view returns (uint256) {
        int256 expected =
            int256(traders.sumFees() + liquidator.sumInsurancePenalties()) -
                int256(liquidator.sumCovered() + liquidator.sumRewardsFromFund()) +
                traders.sumInsuranceFlow() +
                int256(traders.stakedUnits() * tokenScale()) -
                int256(traders.redeemedUnits() * tokenScale()) -
                int256(traders.fundReceivableOwed());
        return uint256(expected);
    }

    /// @dev The funding the traders paid (settled + still pending on open positions) minus what the
    /// insurance fund and the AMM budget received (booked + what the pending accrual would book): the
    /// dust the pool keeps.
    function _fundingDust() internal view returns (int256 dust) {
        dust = traders.sumFundingPaid() - traders.sumInsuranceFlow() - traders.sumBudgetFundingFlow();
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            if (clearingHouse.getPosition(address(amm), t).size != 0) {
                dust += clearingHouse.getPendingFunding(address(amm), t);
            }
        }
        (, uint256 insurance) = vault.getPoolBalances();
        IAmm.FundingSnapshot memory pending = amm.getFundingIndices(insurance);
        dust -= pending.insuranceFlow + pending.budgetFlow;
    }

    /// @dev The quote reserve the positions are measured from: q0 + what the curve's repegs and depth
    /// changes added to it outside trades (q0 with a static curve).
    function _quoteStart() internal view returns (int256) {
        return int256(q0) + traders.quoteShift();
    }

    /// @dev The AMM budget's money in the market's pool beside the margins (0 with a static curve):
    /// contributions + spreads the traders paid out of their margins - what the budget paid of
    /// liquidations (fair bad debt, rewards). Repeg / depth costs and collected gains move none.
    function _budgetMoney() internal view returns (int256) {
        return int256(traders.sumBudgetCredited() + traders.sumSpread()) - int256(traders.sumBudgetSpent());
    }

    // ================================================================== invariants

    /// @notice P1 (custody). The Vault's token balance x scale equals every claim on it exactly: the
    /// traders' and the keeper's free collateral + the market's pool (the one market's pool is the
    /// sum of the pools) + the insurance fund. And it is exactly what was deposited minus what was
    /// withdrawn (only deposits and withdrawals move tokens).
    function invariant_P1_custodyIdentity() public view {
        Book memory s = _book();
        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        assertEq(vault.marketBalances(address(amm)).pool, pool, "P1: the market's pool != the sum of the pools");
        uint256 tokens = usdc.balanceOf(address(vault));
        assertEq(tokens * tokenScale(), s.sumFree + pool + insurance, "P1: tokens x scale != free + pool + insurance");
        assertEq(
            tokens,
            traders.totalDeposited() +
                traders.stakedUnits() -
                traders.totalWithdrawn() -
                liquidator.withdrawnUnits() -
                traders.redeemedUnits(),
            "P1: tokens != deposited + staked - withdrawn - redeemed"
        );
    }

    /// @notice P2 (base conservation). Sum of position sizes == initial base reserve - base reserve,
    /// exactly; the open interest equals the sum of long sizes and of |short sizes|; a closed position
    /// keeps no margin and no open notional.
    function invariant_P2_baseConservationAndOpenInterest() public view {
        Book memory s = _book();
        (, uint256 b) = amm.getReserves();
        // b0 + what the curve's depth changes added to the base reserve (0 with a static curve).
        assertEq(s.sumSize, int256(b0) + traders.baseShift() - int256(b), "P2: sum of sizes != b0 - base reserve");
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong, s.longSize, "P2: long open interest != sum of long sizes");
        assertEq(oiShort, s.shortSize, "P2: short open interest != sum of |short sizes|");
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            IClearingHouse.Position memory p = clearingHouse.getPosition(address(amm), traders.traderAt(i));
            if (p.size == 0) assertEq(p.margin + p.openNotional, 0, "P2: closed position kept margin/notional");
        }
    }

    /// @notice P3 (k). k = quote x base is never below its initial value and never went down across a
    /// trader action (ghost: k after the previous action; only trader actions swap). With the dynamic
    /// curve on: never down across a swap, its floor is k after the latest Repegged / DepthChanged
    /// (which may lower it by design), and the reserves never move without one of those events.
    function invariant_P3_kNeverDecreases() public view {
        (uint256 q, uint256 b) = amm.getReserves();
        uint256 k = q * b;
        // kFloor: q0 x b0, or k right after the latest repeg / depth change (curve on).
        assertGe(k, traders.kFloor(), "P3: k below its initial value (or its value after the last curve move)");
        assertGe(k, traders.lastK(), "P3: k below the last value seen");
        assertEq(traders.kDecreases(), 0, "P3: an action (or a swap) decreased k");
        assertEq(traders.reserveMismatches(), 0, "P3: the reserves moved without a Swapped / Repegged / DepthChanged");
    }

    /// @notice P4 (the market's pool). The market's pool == sum of open margins + unpaid claims - sum
    /// of realised PnL (from the PositionChanged events, liquidations included) - the market's
    /// shortfall + funding paid - insurance flow: every margin sits in the pool, every realised PnL
    /// is paid by it (a gain it could not pay stays in it as a claim until payClaims pays it), and
    /// the bad debt the insurance fund did not cover (the shortfall, and the part charged to the
    /// market beyond the bad debt at the fair price) is missing from it. The unpaid claims are the
    /// ledger's (ClaimQueued - ClaimPaid events). The shortfall is also the sum of the
    /// PositionLiquidated shortfalls.
    function invariant_P4_marginPoolAccounting() public view {
        Book memory s = _book();
        uint256 pool = vault.marketBalances(address(amm)).pool;
        assertEq(
            int256(pool),
            int256(s.sumMargin + traders.sumClaimsQueued() - traders.sumClaimsPaid()) -
                traders.sumRealizedPnl() -
                int256(s.shortfall + liquidator.sumChargedToMarket()) +
                traders.sumFundingPaid() -
                traders.sumInsuranceFlow() +
                int256(traders.fundReceivableOwed()) +
                _budgetMoney(),
            "P4: pool != margins + claims - realised PnL - shortfall - charged + funding paid - insurance flow"
        );
        assertEq(s.shortfall, liquidator.sumShortfall(), "P4: market shortfall != sum of liquidation shortfalls");
    }

    /// @notice P5 (quote conservation, zero-sum PnL). Sum of realised PnL == long open notional - short
    /// open notional - (quote reserve - q0), exactly: what traders realise is what the pool's quote
    /// moved, net of the positions still open. With the dynamic curve on, q0 is shifted by what the
    /// repegs and depth changes added to the quote reserve outside trades (`quoteShift`).
    function invariant_P5_quoteConservation() public view {
        Book memory s = _book();
        (uint256 q, ) = amm.getReserves();
        assertEq(
            traders.sumRealizedPnl(),
            int256(s.longOpenNotional) - int256(s.shortOpenNotional) - (int256(q) - _quoteStart()),
            "P5: realised PnL != long ON - short ON - (q - q0)"
        );
    }

    /// @notice P6 (per-trader ledger; withdrawals bounded). For every trader, free collateral +
    /// margin == (deposited - withdrawn) x scale + realised PnL - fees paid - liquidation penalties
    /// paid + bad debt left (the loss beyond its margin that others paid), exactly; hence no trader
    /// has withdrawn more than that, and in total the traders have withdrawn no more than they
    /// deposited.
    function invariant_P6_traderLedgerAndWithdrawals() public view {
        uint256 scale = tokenScale();
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            int256 inOut = int256(traders.deposited(t) * scale) - int256(traders.withdrawn(t) * scale);
            int256 earned =
                traders.realizedPnl(t) -
                    int256(traders.feesPaid(t) + traders.liquidationCharges(t)) +
                    int256(traders.badDebtLeft(t)) -
                    traders.fundingPaid(t);
            // A claim is the trader's: profit realised, owed by the market's pool.
            int256 held = int256(
                vault.freeCollateral(t) +
                    clearingHouse.getPosition(address(amm), t).margin +
                    vault.claimOf(address(amm), t)
            );
            assertEq(
                held,
                inOut + earned,
                "P6: free + margin + claim != deposited - withdrawn + PnL - fees - penalties + bad debt"
            );
            assertLe(
                int256(traders.withdrawn(t) * scale),
                int256(traders.deposited(t) * scale) + earned,
                "P6: withdrew more than deposits + realised PnL - fees"
            );
        }
        // The traders together cannot take out more than they put in plus what the stakers put in (the
        // fund pays funding imbalances and bad debt out of its stakes).
        assertLe(
            traders.totalWithdrawn(),
            traders.totalDeposited() + traders.stakedUnits(),
            "P6: total withdrawn > total deposited + staked"
        );
    }

    /// @notice P7 (insurance fund). Insurance fund == fees + insurance penalties - bad debt covered -
    /// rewards paid from the fund (liquidations with bad debt), every term summed from the events
    /// (PositionChanged, PositionLiquidated); and the fees == the fees recomputed from each trade's inputs
    /// (ceil(notional x feeRatio) per leg).
    function invariant_P7_insuranceFundIsTheFees() public view {
        (, uint256 insurance) = vault.getPoolBalances();
        assertEq(insurance, _expectedInsurance(), "P7: insurance fund != fees + penalties - covered - rewards paid");
        assertEq(traders.sumFees(), traders.expectedFees(), "P7: fees emitted != fees recomputed from the trades");
        assertEq(traders.feeMismatches(), 0, "P7: a trade charged another fee than ceil(notional x fee)");
    }

    /// @notice P8 (events). Every PositionChanged / MarginChanged carries the stored position, and its
    /// free-collateral delta and fee are the Vault's actual changes.
    function invariant_P8_eventsMatchState() public view {
        assertEq(traders.eventMismatches(), 0, "P8: an event disagreed with the state");
        assertEq(traders.valueMismatches(), 0, "P8: free + margin + claim moved by other than PnL - fee - funding");
        assertEq(liquidator.eventMismatches(), 0, "P8: a liquidation's events disagreed with the state");
    }

    /// @notice P9 (removeMargin). Right after any successful removeMargin the position meets the initial
    /// margin ratio at its exit value with unrealised profit left out, and at the spot price.
    function invariant_P9_removeMarginKeepsInitialMargin() public view {
        assertEq(traders.removeMarginViolations(), 0, "P9: removeMargin left the position below IMR at exit");
        assertEq(traders.removeMarginMarkViolations(), 0, "P9: removeMargin left getMarginRatio below IMR");
        assertEq(traders.removeMarginMaxRefused(), 0, "P9: removing exactly the most the rule allows was refused");
    }

    /// @notice P10 (withdrawability). Every trader's free collateral is covered by the Vault's tokens,
    /// all of them at once; and every attempt by a trader without a position to withdraw all of it
    /// succeeded (leaving less than one token unit of dust).
    function invariant_P10_freeCollateralWithdrawable() public view {
        uint256 tokens = usdc.balanceOf(address(vault));
        uint256 sum;
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            uint256 balance = vault.balanceOf(traders.traderAt(i));
            assertLe(balance, tokens, "P10: a trader's free collateral exceeds the Vault's tokens");
            sum += balance;
        }
        sum += vault.balanceOf(liquidator.LIQUIDATOR());
        assertLe(sum, tokens, "P10: the traders' and the keeper's free collateral exceed the Vault's tokens");
        assertEq(traders.withdrawAllFailures(), 0, "P10: a trader without a position could not withdraw all");
    }

    /// @notice P11 (no unexpected revert). No action reverted with an error the protocol is not entitled
    /// to for it (arithmetic panic, SafeCast overflow, LeverageTooHigh within the bound, a withdrawal
    /// within balance, an admin change within the valid ranges...).
    function invariant_P11_noUnexpectedRevert() public view {
        if (traders.unexpectedReverts() != 0) {
            // Names the culprit: TraderHandler.Action index and the 4-byte error selector.
            revert AssertionFailed(
                "P11: unexpected trader revert (left: action, right: error selector)",
                traders.lastUnexpectedAction(),
                uint32(traders.lastUnexpectedSelector())
            );
        }
        if (liquidator.unexpectedReverts() != 0) {
            revert AssertionFailed(
                "P11: unexpected liquidation revert (right: error selector)",
                0,
                uint32(liquidator.lastUnexpectedSelector())
            );
        }
        if (admin.unexpectedReverts() != 0) {
            revert AssertionFailed(
                "P11: unexpected admin revert (right: error selector)",
                0,
                uint32(admin.lastUnexpectedSelector())
            );
        }
        if (keeper.unexpectedReverts() != 0) {
            revert AssertionFailed("P11: unexpected updateFunding revert", 0, uint32(keeper.lastUnexpectedSelector()));
        }
        if (oracle.unexpectedReverts() != 0) {
            revert AssertionFailed("P11: unexpected pokeIndex revert", 0, uint32(oracle.lastUnexpectedSelector()));
        }
        if (stakers.unexpectedReverts() != 0) {
            revert AssertionFailed("P11: unexpected staker revert", 0, uint32(stakers.lastUnexpectedSelector()));
        }
        if (claims.unexpectedReverts() != 0) {
            revert AssertionFailed("P11: unexpected payClaims revert", 0, uint32(claims.lastUnexpectedSelector()));
        }
    }

    /// @notice P16 (funding conservation and cap). What the traders paid in funding (settled in
    /// PositionChanged events + still pending on open positions) minus what the insurance fund took
    /// (booked + the pending accrual's share) is the rounding dust kept by the margin pool: >= 0, and
    /// below 2 wei per funding settlement or accrual. Every funding update's premium is within
    /// +/- maxPremiumRatio x index TWAP (0 while paused or without an index TWAP), its insurance flow is
    /// the one getFundingIndices predicted and the Vault booked, and no update came before
    /// minUpdateInterval.
    function invariant_P16_fundingConservation() public view {
        int256 dust = _fundingDust();
        assertGe(dust, int256(0), "P16: traders paid less funding than the fund and the receivers got");
        assertLe(dust, int256(2 * (traders.fundingRoundings() + traders.N_TRADERS())), "P16: funding dust too large");
        assertEq(keeper.premiumCapViolations(), 0, "P16: a premium beyond maxPremiumRatio x index TWAP");
        assertEq(keeper.flowMismatches(), 0, "P16: an update's insurance flow != predicted / booked");
        assertEq(keeper.earlyAccepted(), 0, "P16: a funding update before minUpdateInterval");
    }

    /// @notice P17 (insurance fund). Its assets move only through fees, liquidation penalties, funding
    /// flows, bad debt (and the rewards paid with it), stakes and redemptions (P7's identity, with
    /// every term a ghost); the staked fund reads the Vault's insurance account; its share price never
    /// fell without a loss (bad debt covered, a reward paid with bad debt, or funding paid out of the
    /// fund); each deposit minted previewDeposit shares and each redemption paid min(value at the
    /// request, value now) after the cooldown.
    function invariant_P17_insuranceFund() public view {
        (, uint256 insurance) = vault.getPoolBalances();
        assertEq(insurance, _expectedInsurance(), "P17: insurance != fees + penalties + flows - losses + stakes");
        assertEq(insuranceFund.totalAssets(), insurance / tokenScale(), "P17: fund's totalAssets != insurance account");
        assertEq(watch.sharePriceDrops(), 0, "P17: the fund's share price fell without a loss");
        assertEq(stakers.redeemMismatches(), 0, "P17: a stake or redemption paid another amount");
    }

    /// @notice P18 (oracle and sequencer). pokeIndex records exactly what the feed calls valid (a stale,
    /// zero, negative, future-dated or out-of-bounds round, or a reverting aggregator, is never
    /// recorded, and pokeIndex never reverts); no risk-increasing action (open, increase, reverse,
    /// removeMargin, liquidation) went through while the sequencer was down or in its grace period.
    function invariant_P18_oracleAndSequencer() public view {
        assertEq(oracle.pokeMismatches(), 0, "P18: pokeIndex disagreed with the feed");
        assertEq(traders.sequencerGateViolations(), 0, "P18: a risk-increasing action while the sequencer was down");
    }

    /// @notice P19 (locked margin and the claim queue). The market's locked margin is net of pending
    /// funding: every trade moves it by its margin change + the funding it settled - the fund's flow,
    /// a funding update by - the flow, so it == max(0, open margins + funding settled - fund flows
    /// booked) exactly (the Vault floors it at 0), and it exceeds the open positions' margins net of
    /// their pending funding (getPendingFunding, accrued to now) by the pending fund flow plus the
    /// funding settlements' rounding dust (each under a wei, in the pool's favour); with no position
    /// left what stays locked is that dust. Its claims == sum of claimOf over the traders and the keeper
    /// == sum of the queue's unpaid entries [head, tail) == claims queued - paid (ClaimQueued /
    /// ClaimPaid events), and each account's claimOf is its own queued - paid; every payClaims paid
    /// the queue in order from its head with what the pool held beyond its locked margin (the
    /// handler's `payClaims` action and the final settlement). The market's AMM budget is locked
    /// margin as well: locked = margins net of pending funding + dust + budget.
    function invariant_P19_lockedMarginAndClaims() public view {
        Book memory s = _book();
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        // The market's AMM budget (issue 14) is locked too: spreads add to both, curve costs take from
        // both; its funding shares only move money between it and the positions' margins (both locked).
        int256 budget = int256(amm.getCurveState().budget);
        int256 net =
            int256(s.sumMargin) +
                traders.sumFundingPaid() -
                traders.sumInsuranceFlow() -
                traders.sumBudgetFundingFlow() +
                budget;
        assertEq(
            m.lockedMargin,
            net > 0 ? uint256(net) : 0,
            "P19: locked margin != open margins + funding settled - fund flows + budget"
        );
        if (net > 0) {
            int256 dust = int256(m.lockedMargin) - s.netMargin - s.pendingFlow - budget;
            assertGe(dust, 0, "P19: locked margin below the open margins net of pending funding");
            assertLe(uint256(dust), 2 * traders.fundingRoundings() + 2, "P19: locked margin above the funding dust");
        }
        assertEq(m.claims, s.sumClaims, "P19: claims != sum of claimOf");
        assertEq(m.claims, traders.sumClaimsQueued() - traders.sumClaimsPaid(), "P19: claims != queued - paid");
        assertEq(m.fundReceivable, traders.fundReceivableOwed(), "P19: fund receivable != booked - paid");
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(amm));
        uint256 queue;
        for (uint256 i = head; i < tail; ++i) {
            (, uint256 amount) = vault.claimAt(address(amm), i);
            assertTrue(amount != 0, "P19: an unpaid entry of the queue holds nothing");
            queue += amount;
        }
        assertEq(m.claims, queue, "P19: claims != sum of the queue's entries");
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            address t = traders.traderAt(i);
            assertEq(vault.claimOf(address(amm), t), traders.claimOwed(t), "P19: a trader's claimOf != queued - paid");
        }
        address keeperAddress = liquidator.LIQUIDATOR();
        assertEq(vault.claimOf(address(amm), keeperAddress), traders.claimOwed(keeperAddress), "P19: keeper's claim");
        assertEq(claims.paymentMismatches(), 0, "P19: payClaims paid other than FIFO from the spare pool");
    }

    /// @notice P20 (the Vault's tokens cover the margins). At every step the Vault's tokens x scale
    /// cover every free collateral, the market's locked margin (the open margins net of their pending
    /// funding, P19) and the fund: tokens x scale >= free + locked margin + fund, i.e. pool >= locked
    /// margin. Funding never moves what is free to pay profit (the locked margin follows each accrual),
    /// a trade's or liquidation's realised profit is paid only as far as profitAvailable, and the
    /// fund's take (fees, penalties, its funding share) only from what the pool holds beyond its
    /// locked margin (the rest is its receivable, P19): no profit, fee or penalty is ever paid out of
    /// margin that backs an open position. The one allowance is by design: a liquidation's bad debt
    /// charged to the market (beyond the bad debt at the fair price, which the fund does not cover)
    /// can leave the pool below the locked margin when the position's funding debt exceeded its
    /// margin (the receivers' locked margin holds that debt); the handler sums exactly how far such
    /// liquidations took the pool below it (`sumDeficitCharged`, at most what they charged).
    function invariant_P20_tokensCoverMargins() public view {
        Book memory s = _book();
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        (, uint256 insurance) = vault.getPoolBalances();
        uint256 allowance = liquidator.sumDeficitCharged() + traders.sumGapWithoutFund();
        assertEq(
            traders.gapsLeftWithFund(),
            0,
            "P20: a trade left the pool below its locked margin the fund could fill"
        );
        assertGe(
            usdc.balanceOf(address(vault)) * tokenScale() + allowance,
            s.sumFree + m.lockedMargin + insurance,
            "P20: tokens x scale + allowance < free + locked margin + fund"
        );
        assertGe(m.pool + allowance, m.lockedMargin, "P20: pool + allowance < locked margin");
    }

    /// @notice P13 (only below maintenance). Every liquidation that went through was of a position whose
    /// liquidation margin ratio (getLiquidationMarginRatio, read just before in the same block) was below
    /// maintenance; every position below it that was refused was refused for another reason than
    /// NotLiquidatable (pause, fluctuation limit, reserve, pool); one at or above it was refused with
    /// NotLiquidatable (else P11); and no trader liquidated itself (SelfLiquidation).
    function invariant_P13_onlyBelowMaintenanceIsLiquidated() public view {
        assertEq(
            liquidator.liquidatedAtOrAboveMaintenance(),
            0,
            "P13: a position at or above maintenance was liquidated"
        );
        assertEq(
            liquidator.refusedBelowMaintenance(),
            0,
            "P13: a position below maintenance was refused NotLiquidatable"
        );
        assertEq(liquidator.selfLiquidationAccepted(), 0, "P13: a trader liquidated its own position");
    }

    /// @notice P14 (liquidation conserves value). For every liquidation: the claims on the Vault together
    /// (all free collateral + margin pool + insurance fund) are unchanged; what the trader (free +
    /// margin), the keeper and the fund gained together is the realised PnL plus the shortfall; the
    /// trader's share is its equity's change less the penalty (or its whole margin with bad debt), the
    /// fund's the insurance penalty - the bad debt it covered - the reward it paid. And the keeper's free
    /// collateral (plus what it withdrew at the end) is exactly the sum of its rewards.
    function invariant_P14_liquidationConservesValue() public view {
        assertEq(liquidator.conservationViolations(), 0, "P14: a liquidation created or destroyed value");
        address keeperAddress = liquidator.LIQUIDATOR();
        assertEq(
            vault.freeCollateral(keeperAddress) +
                vault.claimOf(address(amm), keeperAddress) +
                liquidator.withdrawnUnits() * tokenScale(),
            liquidator.sumRewards(),
            "P14: keeper's free collateral + claim != sum of rewards"
        );
        // The market's AMM budget pays the fair bad debt first (0 with a static curve).
        assertEq(
            liquidator.sumBadDebt(),
            liquidator.sumCovered() +
                liquidator.sumShortfall() +
                liquidator.sumChargedToMarket() +
                liquidator.sumBadDebtFromBudget(),
            "P14: bad debt != covered by the budget and the fund + shortfall + charged to the market"
        );
    }

    /// @notice P15 (reward + penalty = ceil(quote x fee ratio) unless bounded). For every liquidation,
    /// with penalty = ceil(quote closed x liquidation fee ratio) and equity = margin + realised PnL: the
    /// keeper gets floor(penalty / 2) and the fund the rest when equity >= penalty; when 0 <= equity <
    /// penalty both together get exactly the equity (keeper first, up to its half); with equity < 0 the
    /// bad debt is -equity, the fund covers what it can, the rest is the shortfall, and the keeper gets
    /// its half only as far as the fund still can pay it.
    function invariant_P15_liquidationPenalty() public view {
        assertEq(liquidator.penaltyMismatches(), 0, "P15: reward / insurance penalty / bad debt off the rules");
    }

    /// @notice P12 (path independence, checked at the end of every run). Closing every position, in an
    /// order drawn from the run's state (a winner never waits for the losers: what the pool cannot
    /// pay yet is its claim), then paying the claims, brings the base reserve back to b0 exactly and
    /// the quote reserve to q0 plus rounding dust: q0 <= q and (q - q0) x b0 <= sum over all swaps of
    /// max(reserves after the swap) (each swap raises k by less than the reserve it did not round),
    /// i.e. about max(q, b) / b0 wei of quote per swap. The traders' total PnL is then -(q - q0) <= 0;
    /// without a shortfall every claim is paid in full and the pool holds exactly the dust; the
    /// insurance fund holds the fees, and every trader withdraws all its free collateral.
    function afterInvariant() public virtual {
        if (clearingHouse.paused()) admin.unpause();
        // Settle with a working oracle and the sequencer up (liquidations are sequencer-gated).
        oracle.restore();
        // The settlement trades and liquidates too: whatever it does must also be clean. Only what it adds
        // is checked here (a violation before it is already reported by the invariant that watches it).
        uint256[4] memory before = _ghostCounters();
        uint256[6] memory liqBefore = _liquidationCounters();
        uint256[42] memory stats = _stats();
        (uint256 q1, uint256 b1) = amm.getReserves();
        traders.settleAll(uint256(keccak256(abi.encode(q1, b1, traders.swaps(), block.timestamp))));
        uint256[4] memory afterSettle = _ghostCounters();
        uint256[6] memory liqAfter = _liquidationCounters();
        stats[10] = liquidator.liquidations() - stats[1];
        stats[11] = vault.marketBalances(address(amm)).claims != 0 ? 1 : 0;
        _reportStats(stats);
        // Skipped trader actions (stats[31] of stats[30]) are counted and reported with the statistics,
        // not bounded per run: a run whose opens are refused (sequencer down or in grace, paused,
        // limits) skips nearly every trader action after them (SPEC.md, Statistics).
        assertEq(afterSettle[0], before[0], "P12: the settlement decreased k");
        assertEq(afterSettle[1], before[1], "P12: an event of the settlement disagreed with the state");
        assertEq(afterSettle[2], before[2], "P12: a close of the settlement charged another fee");
        if (afterSettle[3] != before[3]) {
            revert AssertionFailed(
                "P12: unexpected revert during the settlement (left: action, right: error selector)",
                traders.lastUnexpectedAction(),
                uint32(traders.lastUnexpectedSelector())
            );
        }
        assertEq(liqAfter[0], liqBefore[0], "P12: the settlement liquidated a position at or above maintenance");
        assertEq(liqAfter[1], liqBefore[1], "P12: the settlement was refused a liquidation below maintenance");
        assertEq(liqAfter[2], liqBefore[2], "P12: a liquidation of the settlement did not conserve value");
        assertEq(liqAfter[3], liqBefore[3], "P12: a liquidation of the settlement broke the penalty rules");
        assertEq(liqAfter[4], liqBefore[4], "P12: a liquidation event of the settlement disagreed with the state");
        if (liqAfter[5] != liqBefore[5]) {
            revert AssertionFailed(
                "P12: unexpected liquidation revert during the settlement (right: error selector)",
                0,
                uint32(liquidator.lastUnexpectedSelector())
            );
        }

        if (traders.finalCloseFailures() != 0) {
            revert AssertionFailed(
                "P12: a position could not be closed (left: count, right: last error)",
                traders.finalCloseFailures(),
                uint32(traders.finalCloseLastError())
            );
        }
        assertEq(traders.finalWithdrawFailures(), 0, "P12: a withdrawal of all free collateral failed");
        // The keeper was paid exactly its rewards (what the pool still owes it as a claim included) and
        // takes them out.
        assertEq(
            vault.freeCollateral(liquidator.LIQUIDATOR()) + vault.claimOf(address(amm), liquidator.LIQUIDATOR()),
            liquidator.sumRewards(),
            "P12: keeper != rewards"
        );
        assertTrue(liquidator.withdrawAllRewards(), "P12: the keeper could not withdraw its rewards");

        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        (, uint256 shortfall) = clearingHouse.getMarketStatus(address(amm));
        assertEq(insurance, _expectedInsurance(), "P12: insurance fund != fees + penalties - covered - rewards");
        // Everyone withdrew: what stays with the traders and the keeper is dust below one token unit.
        uint256 dust;
        for (uint256 i; i < traders.N_TRADERS(); ++i) {
            uint256 free = vault.freeCollateral(traders.traderAt(i));
            assertLt(free, tokenScale(), "P12: more than dust left after withdrawing all");
            dust += free;
        }
        uint256 keeperDust = vault.freeCollateral(liquidator.LIQUIDATOR());
        assertLt(keeperDust, tokenScale(), "P12: keeper left more than dust");
        dust += keeperDust;
        assertEq(usdc.balanceOf(address(vault)) * tokenScale(), dust + pool + insurance, "P12: custody after exit");
        assertLe(
            traders.totalWithdrawn() + liquidator.withdrawnUnits() + traders.redeemedUnits(),
            traders.totalDeposited() + traders.stakedUnits(),
            "P12: more was taken out than put in"
        );

        (uint256 q, uint256 b) = amm.getReserves();
        // With the curve on, b0 and q0 are shifted by the curve's moves; the traders' total PnL is
        // then at most what those moves paid them (their signed costs), less the swaps' rounding.
        assertEq(int256(b), int256(b0) + traders.baseShift(), "P12: base reserve not back at b0");
        int256 drift = int256(q) - _quoteStart();
        assertGe(drift, -traders.sumCurveCost(), "P12: quote reserve below q0 (less the curve's costs)");
        if (traders.curveMoves() == 0) {
            assertLe(uint256(drift) * b0, traders.roundingSum(), "P12: quote reserve drift above the rounding bound");
        }
        (uint256 oiLong, uint256 oiShort) = amm.getOpenInterest();
        assertEq(oiLong + oiShort, 0, "P12: open interest left");
        assertEq(traders.sumRealizedPnl(), -drift, "P12: total realised PnL != -(q - q0)");
        // Every position is closed and payClaims ran: the pool less the claims left is the rounding
        // dust (q - q0) plus the funding dust (funding paid - insurance flow: nothing is pending
        // without positions), less the bad debt nobody paid (P4 with no margins left). So without a
        // shortfall every claim was paid in full and the pool keeps only the dust; with one, the
        // claims left are exactly the uncovered bad debt less that dust, and the pool is empty.
        (uint256 marketPool, , uint256 claims) = _balancesOf();
        assertEq(marketPool, pool, "P12: the market's pool != the sum of the pools");
        uint256 uncovered = shortfall + liquidator.sumChargedToMarket();
        int256 left =
            drift -
                int256(uncovered) +
                _budgetMoney() +
                traders.sumFundingPaid() -
                traders.sumInsuranceFlow() +
                int256(traders.fundReceivableOwed());
        assertEq(
            int256(pool) - int256(claims),
            left,
            "P12: pool - claims != (q - q0) - shortfall - charged + funding dust"
        );
        _checkClaimsLeft(pool, claims, uncovered);
        invariant_P19_lockedMarginAndClaims();
        invariant_P16_fundingConservation();
    }

    /// @dev After the settlement: what stays locked is the funding dust; payClaims left no spare pool
    /// beside unpaid claims, and claims are left only up to the uncovered bad debt (the shortfall +
    /// the bad debt charged to the market), none without it.
    function _checkClaimsLeft(uint256 pool, uint256 claims, uint256 uncovered) internal view {
        if (uncovered == 0) assertEq(claims, 0, "P12: a claim was left unpaid without uncovered bad debt");
        (, uint256 lockedLeft, ) = _balancesOf();
        int256 fundingDust = traders.sumFundingPaid() - traders.sumInsuranceFlow() - traders.sumBudgetFundingFlow();
        // The AMM budget stays locked in the pool (0 with a static curve).
        fundingDust += int256(amm.getCurveState().budget);
        assertEq(lockedLeft, fundingDust > 0 ? uint256(fundingDust) : 0, "P12: locked != the funding dust + budget");
        assertTrue(pool <= lockedLeft || claims == 0, "P12: payClaims left both a spare pool and claims");
        assertLe(claims, uncovered, "P12: claims left above the shortfall + bad debt charged to the market");
    }

    /// @dev The market's pool, locked margin and claims.
    function _balancesOf() internal view returns (uint256, uint256, uint256) {
        IVault.MarketBalances memory m = vault.marketBalances(address(amm));
        return (m.pool, m.lockedMargin, m.claims);
    }

    // ================================================================== statistics (opt-in)

    /// @dev Per run, before the settlement: runs (1), liquidations, full, partial, with bad debt, with a
    /// shortfall, with a bounded penalty, NotLiquidatable refusals, other expected liquidation
    /// reverts, self-liquidation refusals; then (filled in after it) the settlement's liquidations and
    /// whether claims were left unpaid (a shortfall).

    function _stats() internal view returns (uint256[42] memory c) {
        c[0] = 1;
        c[1] = liquidator.liquidations();
        c[2] = liquidator.fullLiquidations();
        c[3] = liquidator.partialLiquidations();
        c[4] = liquidator.badDebtLiquidations();
        c[5] = liquidator.shortfallLiquidations();
        c[6] = liquidator.boundedPenalties();
        c[7] = liquidator.notLiquidatableRefusals();
        c[8] = liquidator.expectedReverts();
        c[9] = liquidator.waits();
        c[12] = keeper.updates();
        c[13] = keeper.nonZeroPremiums();
        c[14] = keeper.tooEarly();
        c[15] = traders.nonZeroFundingPayments();
        c[16] = oracle.moves();
        c[17] = oracle.staleRounds() + oracle.badAnswers();
        c[18] = oracle.revertToggles();
        c[19] = oracle.outages();
        c[20] = oracle.validPokes();
        c[21] = oracle.pokes();
        c[22] = stakers.stakes();
        c[23] = stakers.requests();
        c[24] = stakers.completions();
        c[25] = stakers.cancels();
        c[26] =
            traders.revertsBySelector(ISequencerErrors.SequencerDown.selector) +
            traders.revertsBySelector(ISequencerErrors.GracePeriodNotOver.selector) +
            liquidator.sequencerRefusals();
        c[27] = traders.actionsWhileSequencerDown();
        c[28] = watch.dropsOnFunding();
        c[29] = watch.dropsOnBadDebt();
        (c[30], c[31]) = traders.callsAndSkips();
        c[32] = traders.closeTopUps();
        c[33] = traders.tradesQueuingClaims();
        c[34] = claims.nonZeroPayments();
        c[35] = traders.receivablesBooked();
        c[36] = liquidator.profitableLiquidations();
        // The dynamic curve (all 0 with a static curve).
        c[37] = traders.repegs();
        c[38] = traders.depthChanges();
        c[39] = traders.spreadCharges();
        c[40] = traders.revertsBySelector(IAmmCurveErrors.VammLeverageExceeded.selector);
        c[41] = traders.budgetFundingFlows();
    }

    /// @dev With INVARIANT_STATS=<runs> in the environment, adds this run's counts to totals kept in the
    /// process environment (which the EVM state reverts do not touch) and, at the end of the
    /// campaign's last run, fails with the totals: a console-free report. Run one campaign at a time
    /// (`--grep`), since campaigns share the environment. Off (0) by default.
    function _reportStats(uint256[42] memory run) internal {
        uint256 runs = vm.envOr("INVARIANT_STATS", uint256(0));
        if (runs == 0) return;
        string[42] memory names = [
            "runs",
            "liquidations",
            "full",
            "partial",
            "badDebt",
            "shortfall",
            "boundedPenalty",
            "notLiquidatable",
            "otherRefusals",
            "keeperWaits",
            "settlementLiquidations",
            "runsWithClaimsLeft",
            "fundingUpdates",
            "nonZeroPremiums",
            "updatesTooEarly",
            "nonZeroFundingPayments",
            "oracleMoves",
            "badRounds",
            "revertToggles",
            "sequencerOutages",
            "validPokes",
            "pokes",
            "stakes",
            "redeemRequests",
            "redeemCompletions",
            "redeemCancels",
            "sequencerRefusals",
            "actionsWhileSequencerDown",
            "sharePriceDropsOnFunding",
            "sharePriceDropsOnBadDebt",
            "traderCalls",
            "traderSkips",
            "closeTopUps",
            "tradesQueuingClaims",
            "claimPayments",
            "receivablesBooked",
            "profitableLiquidations",
            "repegs",
            "depthChanges",
            "spreadCharges",
            "vammLeverageRefusals",
            "budgetFundingFlows"
        ];
        string memory prefix = string.concat("INVARIANT_STATS_", vm.toString(q0), "_");
        string memory report = string.concat("stats q0=", vm.toString(q0 / 1e18), ":");
        for (uint256 i; i < 42; ++i) {
            string memory key = string.concat(prefix, names[i]);
            uint256 total = vm.envOr(key, uint256(0)) + run[i];
            vm.setEnv(key, vm.toString(total));
            run[i] = total;
            report = string.concat(report, " ", names[i], "=", vm.toString(total));
        }
        if (run[0] >= runs) revert AssertionFailedBool(report);
    }

    /// @dev The liquidator handler's violation counters that a settlement could move.
    function _liquidationCounters() internal view returns (uint256[6] memory c) {
        c[0] = liquidator.liquidatedAtOrAboveMaintenance();
        c[1] = liquidator.refusedBelowMaintenance();
        c[2] = liquidator.conservationViolations();
        c[3] = liquidator.penaltyMismatches();
        c[4] = liquidator.eventMismatches();
        c[5] = liquidator.unexpectedReverts();
    }

    /// @dev The trader handler's violation counters that a settlement could move.
    function _ghostCounters() internal view returns (uint256[4] memory c) {
        c[0] = traders.kDecreases();
        c[1] = traders.eventMismatches();
        c[2] = traders.feeMismatches();
        c[3] = traders.unexpectedReverts();
    }
}

/// @notice 6-decimal USDC; quote reserve 1,000,000, base reserve 8,123.456789 (price ~123.1, so the
/// quote reserve is the larger: up to ~123 wei of rounding drift per swap); fee 0.1%.
contract ProtocolInvariantTest is ProtocolInvariantBase {
    function market() internal pure override returns (uint8, uint256, uint256, uint64) {
        return (6, 1_000_000e18, 8_123_456789000000000000, 0.001e18);
    }
}

/// @notice 18-decimal collateral (token units = ledger units); quote reserve 250,000, price ~0.0437
/// (base reserve ~5.72M: the larger, so under 1 wei of drift per swap); no fee until the admin sets one.
contract ProtocolInvariant18DecimalsLowPriceTest is ProtocolInvariantBase {
    function market() internal pure override returns (uint8, uint256, uint256, uint64) {
        return (18, 250_000e18, 5_720_823_798627002288329519, 0);
    }
}
