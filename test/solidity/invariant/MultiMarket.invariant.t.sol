// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Amm} from "../../../contracts/Amm.sol";
import {ChainlinkPriceFeed} from "../../../contracts/ChainlinkPriceFeed.sol";
import {InsuranceFund} from "../../../contracts/InsuranceFund.sol";
import {IAmm} from "../../../contracts/interfaces/IAmm.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IVault} from "../../../contracts/interfaces/IVault.sol";
import {MockAggregator} from "../../../contracts/test/MockAggregator.sol";
import {Artifacts} from "../utils/Artifacts.sol";
import {Deployer} from "../utils/Deployer.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";
import {ClaimsHandler} from "./handlers/ClaimsHandler.sol";
import {FundingKeeperHandler} from "./handlers/FundingKeeperHandler.sol";
import {LiquidatorHandler} from "./handlers/LiquidatorHandler.sol";
import {OracleHandler} from "./handlers/OracleHandler.sol";
import {PriceMoverHandler} from "./handlers/PriceMoverHandler.sol";
import {SharePriceWatch} from "./handlers/SharePriceWatch.sol";
import {StakerHandler} from "./handlers/StakerHandler.sol";
import {TimeHandler} from "./handlers/TimeHandler.sol";
import {TraderHandler} from "./handlers/TraderHandler.sol";

/// @notice One campaign over three markets at once (SPEC.md, "Several markets"): one Vault, one
/// ClearingHouse, one staked insurance fund, one sequencer feed, three Amms with their own reserves,
/// prices, fees, limits and index; the same four traders (and the same keeper and funding keeper
/// addresses) act in all three, so their free collateral is shared across markets. Every property that
/// can be per market is checked per market; the accounting properties (custody, margin pool, insurance
/// fund, each trader's ledger) are checked across the markets.
contract MultiMarketInvariantTest is Deployer, InvariantBase {
    uint256 internal constant N_MARKETS = 3;
    uint64 internal constant MAX_PREMIUM_RATIO = 0.5e18;

    struct Market {
        Amm amm;
        uint256 q0;
        uint256 b0;
        TraderHandler traders;
        LiquidatorHandler liquidator;
        OracleHandler oracle;
        FundingKeeperHandler keeper;
        ClaimsHandler claims;
    }

    Market[N_MARKETS] internal markets;
    TimeHandler internal time;
    StakerHandler internal stakers;
    SharePriceWatch internal watch;
    ChainlinkPriceFeed internal priceFeed;
    MockAggregator internal sequencerFeed;
    InsuranceFund internal insuranceFund;

    /// @dev Market i: quote reserve, base reserve, fee, limits.
    ///  0: price ~123.1 (1,000,000 / 8,123.456789), fee 0.1%; every limit on: trade size 10% of the
    ///     quote reserve, price move 5% per block, open interest 25% of the initial base reserve a side.
    ///  1: price ~0.0437 (250,000 / ~5.72M base, the larger reserve), fee 0.05%; every limit on: trade
    ///     size 5%, price move 10% per block, open interest 50% of the initial base reserve.
    ///  2: price 2,000 (4,000,000 / 2,000), fee 0.2%; trade size 10% only.
    function _spec(uint256 i) internal pure returns (uint256 q, uint256 b, uint64 fee, IAmm.Limits memory l) {
        if (i == 0) {
            (q, b, fee) = (1_000_000e18, 8_123_456789000000000000, 0.001e18);
            l = IAmm.Limits(0.1e18, 0.05e18, uint128(b / 4));
        } else if (i == 1) {
            (q, b, fee) = (250_000e18, 5_720_823_798627002288329519, 0.0005e18);
            l = IAmm.Limits(0.05e18, 0.1e18, uint128(b / 2));
        } else {
            (q, b, fee) = (4_000_000e18, 2_000e18, 0.002e18);
            l = IAmm.Limits(0.1e18, 0, 0);
        }
    }

    /// @dev The campaign's clock starts here whatever the runner's: the 30-second observation buckets
    /// and every time-dependent path then follow the fixed seed alone, so CI replays the same runs.
    uint256 internal constant START = 1_800_000_000;

    function setUp() public {
        vm.warp(START);
        sequencerFeed = new MockAggregator(0);
        sequencerFeed.setSequencerStatus(false, block.timestamp - 1 days);
        priceFeed = Artifacts.priceFeed(address(this));
        (uint256 q, uint256 b, uint64 fee, IAmm.Limits memory limits) = _spec(0);
        deploySystemWithSequencer(6, q, b, fee, limits, AggregatorV3Interface(address(sequencerFeed)));
        insuranceFund = new InsuranceFund(usdc, IVault(address(vault)), address(this), "Staked insurance", "sINS");
        clearingHouse.setInsuranceFund(address(insuranceFund));

        TraderHandler[] memory ledgers = new TraderHandler[](N_MARKETS);
        LiquidatorHandler[] memory liquidators = new LiquidatorHandler[](N_MARKETS);
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            (q, b, fee, limits) = _spec(i);
            if (i == 0) {
                m.amm = amm;
            } else {
                // One curve module serves every market.
                m.amm = new Amm(address(clearingHouse), q, b, limits, address(this), amm.curveModule());
                clearingHouse.addMarket(address(m.amm), IClearingHouse.MarketParams(IMR, MMR, fee));
            }
            (m.q0, m.b0) = (q, b);
            int256 answer = _index(m.amm, bytes32(uint256(i + 1)), q, b);
            m.traders = new TraderHandler(clearingHouse, vault, m.amm, usdc);
            m.liquidator = new LiquidatorHandler(m.traders);
            m.traders.setLiquidatorHandler(address(m.liquidator));
            m.claims = new ClaimsHandler(m.traders);
            m.traders.setClaimsHandler(address(m.claims));
            m.oracle = new OracleHandler(
                m.amm,
                priceFeed,
                _aggregators[address(m.amm)],
                sequencerFeed,
                bytes32(uint256(i + 1)),
                m.traders,
                answer
            );
            m.keeper = new FundingKeeperHandler(m.traders);
            m.traders.registerHandler(address(m.oracle));
            m.traders.registerHandler(address(m.keeper));
            ledgers[i] = m.traders;
            liquidators[i] = m.liquidator;
        }
        // The stakers report to the first market's ledger (the fund is shared: counted once).
        stakers = new StakerHandler(insuranceFund, usdc, markets[0].traders);
        markets[0].traders.registerHandler(address(stakers));
        watch = new SharePriceWatch(insuranceFund, ledgers, liquidators);
        for (uint256 i; i < N_MARKETS; ++i) {
            markets[i].traders.setFund(watch);
        }
        stakers.stakeExactly(0, 10_000e6);
        time = new TimeHandler();
        _targets();
    }

    /// @dev The market's index: an 8-decimal aggregator answering the initial spot price (1-hour
    /// heartbeat, bounds at 1/10 and 10 times it), funding on, and a first index recorded.
    function _index(Amm a, bytes32 asset, uint256 q, uint256 b) internal returns (int256 answer) {
        MockAggregator aggregator = new MockAggregator(8);
        _aggregators[address(a)] = aggregator;
        uint256 spot = (q * 1e18) / b;
        answer = int256(spot / 1e10);
        aggregator.setRoundData(1, answer, block.timestamp, block.timestamp, 1);
        priceFeed.setAsset(asset, aggregator, 1 hours, uint128(spot / 10), uint128(spot * 10));
        a.setOracle(priceFeed, asset);
        a.setFundingParams(IAmm.FundingParams(MAX_PREMIUM_RATIO, 300, 3600));
        a.pokeIndex();
    }

    mapping(address amm => MockAggregator) internal _aggregators;

    /// @dev Each market: the single-market suite's trader (17), liquidator (4), claims payer (1), oracle (5, the sequencer
    /// only on the first market) and funding keeper (2) slots; the clock 6, the stakers 4.
    function _targets() internal {
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            targetContract(address(m.traders));
            targetContract(address(m.liquidator));
            targetContract(address(m.oracle));
            targetContract(address(m.keeper));
            targetContract(address(m.claims));
            bytes4[] memory pc = new bytes4[](1);
            pc[0] = ClaimsHandler.payClaims.selector;
            targetSelector(FuzzSelector(address(m.claims), pc));
            bytes4[] memory t = new bytes4[](17);
            (t[0], t[1], t[2]) = (
                TraderHandler.openPosition.selector,
                TraderHandler.openPosition.selector,
                TraderHandler.openPosition.selector
            );
            (t[3], t[4], t[5]) = (
                TraderHandler.increasePosition.selector,
                TraderHandler.reducePosition.selector,
                TraderHandler.reducePosition.selector
            );
            (t[6], t[7], t[8]) = (
                TraderHandler.reversePosition.selector,
                TraderHandler.closePosition.selector,
                TraderHandler.closePosition.selector
            );
            (t[9], t[10], t[11]) = (
                TraderHandler.addMargin.selector,
                TraderHandler.removeMargin.selector,
                TraderHandler.removeMargin.selector
            );
            (t[12], t[13], t[14]) = (
                TraderHandler.deposit.selector,
                TraderHandler.withdraw.selector,
                TraderHandler.withdrawAll.selector
            );
            (t[15], t[16]) = (PriceMoverHandler.movePrice.selector, PriceMoverHandler.movePrice.selector);
            targetSelector(FuzzSelector(address(m.traders), t));
            bytes4[] memory l = new bytes4[](4);
            (l[0], l[1], l[2], l[3]) = (
                LiquidatorHandler.liquidate.selector,
                LiquidatorHandler.liquidate.selector,
                LiquidatorHandler.liquidate.selector,
                LiquidatorHandler.selfLiquidate.selector
            );
            targetSelector(FuzzSelector(address(m.liquidator), l));
            bytes4[] memory o = new bytes4[](i == 0 ? 6 : 5);
            (o[0], o[1], o[2], o[3], o[4]) = (
                OracleHandler.move.selector,
                OracleHandler.move.selector,
                OracleHandler.publishBad.selector,
                OracleHandler.toggleRevert.selector,
                OracleHandler.poke.selector
            );
            if (i == 0) o[5] = OracleHandler.sequencer.selector;
            targetSelector(FuzzSelector(address(m.oracle), o));
            bytes4[] memory f = new bytes4[](2);
            (f[0], f[1]) = (FundingKeeperHandler.updateFunding.selector, FundingKeeperHandler.updateFunding.selector);
            targetSelector(FuzzSelector(address(m.keeper), f));
            excludeSender(address(m.amm));
            excludeSender(address(_aggregators[address(m.amm)]));
        }
        targetContract(address(time));
        bytes4[] memory c = new bytes4[](6);
        for (uint256 i; i < 6; ++i) c[i] = TimeHandler.warp.selector;
        targetSelector(FuzzSelector(address(time), c));
        targetContract(address(stakers));
        bytes4[] memory st = new bytes4[](4);
        (st[0], st[1], st[2], st[3]) = (
            StakerHandler.stake.selector,
            StakerHandler.requestRedeem.selector,
            StakerHandler.completeRedeem.selector,
            StakerHandler.cancelRedeem.selector
        );
        targetSelector(FuzzSelector(address(stakers), st));

        excludeSender(address(clearingHouse));
        excludeSender(address(vault));
        excludeSender(address(usdc));
        excludeSender(address(insuranceFund));
        excludeSender(address(priceFeed));
        excludeSender(address(sequencerFeed));
        for (uint256 i; i < 4; ++i) excludeSender(markets[0].traders.traderAt(i));
        excludeSender(markets[0].liquidator.LIQUIDATOR());
        excludeSender(markets[0].claims.PAYER());
        excludeSender(markets[0].keeper.KEEPER());
        for (uint256 i; i < stakers.N_STAKERS(); ++i) excludeSender(stakers.stakerAt(i));
    }
    // ================================================================== sums

    function _trader(uint256 j) internal view returns (address) {
        return markets[0].traders.traderAt(j);
    }

    function _keeperAddress() internal view returns (address) {
        return markets[0].liquidator.LIQUIDATOR();
    }

    /// @dev Every claim on the Vault: the traders' and the keeper's free collateral + the markets'
    /// pools (their sum, checked against the Vault's total) + insurance fund.
    function _claims() internal view returns (uint256 sumFree, uint256 pool, uint256 insurance) {
        for (uint256 j; j < 4; ++j) sumFree += vault.freeCollateral(_trader(j));
        sumFree += vault.freeCollateral(_keeperAddress());
        uint256 total;
        (total, insurance) = vault.getPoolBalances();
        for (uint256 i; i < N_MARKETS; ++i) pool += vault.marketBalances(address(markets[i].amm)).pool;
        assertEq(pool, total, "the markets' pools do not add up to the Vault's total");
    }

    /// @dev An account's claims over every market.
    function _claimsOf(address account) internal view returns (uint256 sum) {
        for (uint256 i; i < N_MARKETS; ++i) sum += vault.claimOf(address(markets[i].amm), account);
    }

    /// @dev Token units in minus out, summed over the markets' ledgers (stakes are in the first one).
    function _netUnits() internal view returns (int256 net) {
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            net += int256(m.traders.totalDeposited() + m.traders.stakedUnits());
            net -= int256(m.traders.totalWithdrawn() + m.liquidator.withdrawnUnits() + m.traders.redeemedUnits());
        }
    }

    /// @dev What the market's ledger says its pool holds: margins + unpaid claims - realised PnL -
    /// shortfall - bad debt charged to the market + funding paid - insurance flow (what went in less
    /// what came out).
    function _poolShare(Market storage m) internal view returns (int256 share) {
        for (uint256 j; j < 4; ++j) share += int256(clearingHouse.getPosition(address(m.amm), _trader(j)).margin);
        (, uint256 shortfall) = clearingHouse.getMarketStatus(address(m.amm));
        share += int256(m.traders.sumClaimsQueued()) - int256(m.traders.sumClaimsPaid());
        share +=
            -m.traders.sumRealizedPnl() -
            int256(shortfall + m.liquidator.sumChargedToMarket()) +
            m.traders.sumFundingPaid() -
            m.traders.sumInsuranceFlow() +
            int256(m.traders.fundReceivableOwed());
    }

    /// @dev The insurance fund the ghosts predict, over every market, plus stakes less redemptions.
    function _expectedInsurance() internal view returns (uint256) {
        int256 expected;
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            expected += int256(m.traders.sumFees() + m.liquidator.sumInsurancePenalties());
            expected -= int256(m.liquidator.sumCovered() + m.liquidator.sumRewardsFromFund());
            expected += m.traders.sumInsuranceFlow() - int256(m.traders.fundReceivableOwed());
            expected +=
                int256(m.traders.stakedUnits() * tokenScale()) - int256(m.traders.redeemedUnits() * tokenScale());
        }
        return uint256(expected);
    }

    /// @dev P16's dust of one market: funding paid (settled + pending) - what the fund and the AMM
    /// budget took (booked + the pending accrual's shares; the budget's is 0 on a static curve).
    function _fundingDust(Market storage m) internal view returns (int256 dust) {
        dust = m.traders.sumFundingPaid() - m.traders.sumInsuranceFlow() - m.traders.sumBudgetFundingFlow();
        for (uint256 j; j < 4; ++j) {
            if (clearingHouse.getPosition(address(m.amm), _trader(j)).size != 0) {
                dust += clearingHouse.getPendingFunding(address(m.amm), _trader(j));
            }
        }
        (, uint256 insurance) = vault.getPoolBalances();
        IAmm.FundingSnapshot memory pending = m.amm.getFundingIndices(insurance);
        dust -= pending.insuranceFlow + pending.budgetFlow;
    }

    // ================================================================== invariants

    /// @notice P1 and P10 across the markets: the Vault's tokens x scale = every trader's and the
    /// keeper's free collateral + the margin pool + the insurance fund, exactly, and = what went in less
    /// what came out over every market's ledger; every free collateral is covered by the tokens.
    function invariant_M1_custodyAcrossMarkets() public view {
        (uint256 sumFree, uint256 pool, uint256 insurance) = _claims();
        uint256 tokens = usdc.balanceOf(address(vault));
        assertEq(tokens * tokenScale(), sumFree + pool + insurance, "M1/P1: tokens x scale != free + pool + insurance");
        assertEq(int256(tokens), _netUnits(), "M1/P1: tokens != in - out over every market");
        uint256 sum = vault.balanceOf(_keeperAddress());
        for (uint256 j; j < 4; ++j) sum += vault.balanceOf(_trader(j));
        assertLe(sum, tokens, "M1/P10: free collateral exceeds the Vault's tokens");
        for (uint256 i; i < N_MARKETS; ++i) {
            assertEq(markets[i].traders.withdrawAllFailures(), 0, "M1/P10: a withdraw-all failed");
        }
    }

    /// @notice P2, P3 and P5 per market: base conservation and open interest, k never down, quote
    /// conservation (zero-sum PnL).
    function invariant_M2_perMarketReserves() public view {
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            (uint256 q, uint256 b) = m.amm.getReserves();
            int256 sumSize;
            uint256 longs;
            uint256 shorts;
            int256 netNotional;
            for (uint256 j; j < 4; ++j) {
                IClearingHouse.Position memory p = clearingHouse.getPosition(address(m.amm), _trader(j));
                sumSize += p.size;
                if (p.size > 0) (longs, netNotional) = (longs + uint256(p.size), netNotional + int256(p.openNotional));
                if (p.size < 0)
                    (shorts, netNotional) = (shorts + uint256(-p.size), netNotional - int256(p.openNotional));
                if (p.size == 0) assertEq(p.margin + p.openNotional, 0, "M2/P2: closed position kept margin");
            }
            assertEq(sumSize, int256(m.b0) - int256(b), "M2/P2: sum of sizes != b0 - base reserve");
            (uint256 oiLong, uint256 oiShort) = m.amm.getOpenInterest();
            assertEq(oiLong, longs, "M2/P2: long open interest");
            assertEq(oiShort, shorts, "M2/P2: short open interest");
            assertGe(q * b, m.q0 * m.b0, "M2/P3: k below its initial value");
            assertEq(m.traders.kDecreases(), 0, "M2/P3: an action decreased k");
            assertEq(m.traders.sumRealizedPnl(), netNotional - (int256(q) - int256(m.q0)), "M2/P5: quote conservation");
        }
    }

    /// @notice P4, P7 and P17 across the markets: each market's own pool holds exactly what its
    /// ledger says went in less what came out (no market's money is in another's pool), and the
    /// Vault's total is their sum; each market's shortfall is its liquidations'; the insurance fund
    /// is the sum over the markets of fees + penalties + funding flows - bad debt covered - rewards
    /// paid, plus stakes less redemptions; each market's fees are the ones recomputed from its trades.
    function invariant_M3_poolAndInsuranceAcrossMarkets() public view {
        (uint256 pool, uint256 insurance) = vault.getPoolBalances();
        int256 shares;
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            int256 share = _poolShare(m);
            assertEq(int256(vault.marketBalances(address(m.amm)).pool), share, "M3/P4: a market's pool != its ledger");
            shares += share;
            (, uint256 shortfall) = clearingHouse.getMarketStatus(address(m.amm));
            assertEq(shortfall, m.liquidator.sumShortfall(), "M3/P4: shortfall != its liquidations'");
            assertEq(m.traders.sumFees(), m.traders.expectedFees(), "M3/P7: fees != recomputed");
            assertEq(m.traders.feeMismatches(), 0, "M3/P7: a fee off ceil(notional x fee)");
        }
        assertEq(int256(pool), shares, "M3/P4: pool != sum over markets of margins - PnL - shortfall + funding");
        assertEq(insurance, _expectedInsurance(), "M3/P7: insurance != sum over markets");
        assertEq(insuranceFund.totalAssets(), insurance / tokenScale(), "M3/P17: totalAssets != insurance account");
        assertEq(watch.sharePriceDrops(), 0, "M3/P17: the share price fell without a loss");
        assertEq(stakers.redeemMismatches(), 0, "M3/P17: a stake or redemption paid another amount");
    }

    /// @notice P6 across the markets: each trader's free collateral + its margins and claims in every market =
    /// (deposited - withdrawn) x scale + realised PnL - fees - penalties + bad debt left - funding
    /// paid, summed over every market's ledger.
    function invariant_M4_traderLedgerAcrossMarkets() public view {
        uint256 scale = tokenScale();
        for (uint256 j; j < 4; ++j) {
            address t = _trader(j);
            int256 held = int256(vault.freeCollateral(t) + _claimsOf(t));
            int256 expected;
            for (uint256 i; i < N_MARKETS; ++i) {
                Market storage m = markets[i];
                TraderHandler h = m.traders;
                held += int256(clearingHouse.getPosition(address(m.amm), t).margin);
                expected += int256(h.deposited(t) * scale) - int256(h.withdrawn(t) * scale);
                expected += h.realizedPnl(t) - int256(h.feesPaid(t) + h.liquidationCharges(t));
                expected += int256(h.badDebtLeft(t)) - h.fundingPaid(t);
            }
            assertEq(held, expected, "M4/P6: free + margins != in - out + PnL - fees - penalties + bad debt - funding");
        }
    }

    /// @notice Per market, the properties the handlers check on the spot: P8 (events), P9
    /// (removeMargin), P11 (no unexpected revert), P13..P15 (liquidation), P16 (funding dust and the
    /// keeper's checks), P18 (oracle and sequencer); and the keeper's free collateral is the sum of its
    /// rewards over the markets.
    function invariant_M5_perMarketChecks() public view {
        uint256 rewards;
        uint256 keeperWithdrawn;
        for (uint256 i; i < N_MARKETS; ++i) _checkMarket(markets[i]);
        for (uint256 i; i < N_MARKETS; ++i) {
            rewards += markets[i].liquidator.sumRewards();
            keeperWithdrawn += markets[i].liquidator.withdrawnUnits() * tokenScale();
        }
        assertEq(
            vault.freeCollateral(_keeperAddress()) + _claimsOf(_keeperAddress()) + keeperWithdrawn,
            rewards,
            "M5/P14: keeper != rewards"
        );
        if (stakers.unexpectedReverts() != 0) {
            revert AssertionFailed("M5/P11: unexpected staker revert", 0, uint32(stakers.lastUnexpectedSelector()));
        }
    }

    /// @notice P19 per market and P20 across the markets: each market's locked margin is its open
    /// positions' margins net of their pending funding (exactly: max(0, margins + funding settled -
    /// fund flows booked); above the margins net of getPendingFunding by the pending fund flow and
    /// the rounding dust); its claims are the sum of claimOf (traders and keeper), of its
    /// queue's unpaid entries and of its ledger's queued - paid, and each account's claimOf its own;
    /// its payClaims paid FIFO from the spare pool. The Vault's tokens x scale cover every free
    /// collateral, every locked margin and the fund, and each market's pool covers its locked margin;
    /// each market's fund receivable is its ledger's booked - paid.
    function invariant_M6_claimsAndCoverage() public view {
        (uint256 sumFree, , uint256 insurance) = _claims();
        uint256 locked;
        uint256 allowance;
        for (uint256 i; i < N_MARKETS; ++i) {
            locked += _checkClaims(markets[i]);
            allowance += markets[i].liquidator.sumDeficitCharged() + markets[i].traders.sumGapWithoutFund();
            assertEq(markets[i].traders.gapsLeftWithFund(), 0, "M6/P20: a trade left a gap the fund could fill");
        }
        assertGe(
            usdc.balanceOf(address(vault)) * tokenScale() + allowance,
            sumFree + locked + insurance,
            "M6/P20: tokens x scale + allowance < free + locked margin + fund"
        );
    }

    /// @dev P19 and P20 of one market; returns its locked margin.
    function _checkClaims(Market storage m) internal view returns (uint256 locked) {
        IVault.MarketBalances memory b = vault.marketBalances(address(m.amm));
        uint256 margins;
        int256 netMargins;
        uint256 claims = vault.claimOf(address(m.amm), _keeperAddress());
        assertEq(claims, m.traders.claimOwed(_keeperAddress()), "M6/P19: keeper's claim != its ledger");
        for (uint256 j; j < 4; ++j) {
            address t = _trader(j);
            IClearingHouse.Position memory p = clearingHouse.getPosition(address(m.amm), t);
            margins += p.margin;
            if (p.size != 0)
                netMargins += int256(uint256(p.margin)) - clearingHouse.getPendingFunding(address(m.amm), t);
            uint256 claim = vault.claimOf(address(m.amm), t);
            assertEq(claim, m.traders.claimOwed(t), "M6/P19: a trader's claimOf != its ledger");
            claims += claim;
        }
        // The market's AMM budget (issue 14) is locked margin too.
        int256 budget = int256(m.amm.getCurveState().budget);
        int256 net =
            int256(margins) +
                m.traders.sumFundingPaid() -
                m.traders.sumInsuranceFlow() -
                m.traders.sumBudgetFundingFlow() +
                budget;
        assertEq(b.lockedMargin, net > 0 ? uint256(net) : 0, "M6/P19: locked != margins + funding - flows + budget");
        if (net > 0) {
            (, uint256 insurance) = vault.getPoolBalances();
            IAmm.FundingSnapshot memory pending = m.amm.getFundingIndices(insurance);
            int256 dust = int256(b.lockedMargin) - netMargins - pending.insuranceFlow - pending.budgetFlow - budget;
            assertGe(dust, 0, "M6/P19: locked margin below the margins net of pending funding");
            assertLe(uint256(dust), 2 * m.traders.fundingRoundings() + 2, "M6/P19: locked above the funding dust");
        }
        assertEq(b.claims, claims, "M6/P19: claims != sum of claimOf");
        assertEq(b.claims, m.traders.sumClaimsQueued() - m.traders.sumClaimsPaid(), "M6/P19: claims != queued - paid");
        (uint256 head, uint256 tail) = vault.claimQueueBounds(address(m.amm));
        uint256 queue;
        for (uint256 k = head; k < tail; ++k) {
            (, uint256 amount) = vault.claimAt(address(m.amm), k);
            queue += amount;
        }
        assertEq(b.claims, queue, "M6/P19: claims != sum of the queue's entries");
        assertEq(m.claims.paymentMismatches(), 0, "M6/P19: payClaims paid other than FIFO from the spare pool");
        assertEq(b.fundReceivable, m.traders.fundReceivableOwed(), "M6/P19: fund receivable != booked - paid");
        // The allowances (by design, SPEC.md): bad debt charged to the market beyond its spare pool,
        // and a trade's gap the fund had nothing left to advance.
        assertGe(
            b.pool + m.liquidator.sumDeficitCharged() + m.traders.sumGapWithoutFund(),
            b.lockedMargin,
            "M6/P20: a market's pool + allowance < its locked margin"
        );
        locked = b.lockedMargin;
    }

    function _checkMarket(Market storage m) internal view {
        TraderHandler h = m.traders;
        LiquidatorHandler l = m.liquidator;
        assertEq(h.eventMismatches() + l.eventMismatches(), 0, "M5/P8: an event disagreed with the state");
        assertEq(h.valueMismatches(), 0, "M5/P8: free + margin + claim moved by other than PnL - fee - funding");
        assertEq(
            h.removeMarginViolations() + h.removeMarginMarkViolations() + h.removeMarginMaxRefused(),
            0,
            "M5/P9: removeMargin off the rule"
        );
        if (h.unexpectedReverts() != 0) {
            revert AssertionFailed(
                "M5/P11: unexpected trader revert (left: action, right: error selector)",
                h.lastUnexpectedAction(),
                uint32(h.lastUnexpectedSelector())
            );
        }
        if (l.unexpectedReverts() != 0) {
            revert AssertionFailed("M5/P11: unexpected liquidation revert", 0, uint32(l.lastUnexpectedSelector()));
        }
        if (m.keeper.unexpectedReverts() != 0) {
            revert AssertionFailed(
                "M5/P11: unexpected updateFunding revert",
                0,
                uint32(m.keeper.lastUnexpectedSelector())
            );
        }
        if (m.claims.unexpectedReverts() != 0) {
            revert AssertionFailed("M5/P11: unexpected payClaims revert", 0, uint32(m.claims.lastUnexpectedSelector()));
        }
        if (m.oracle.unexpectedReverts() != 0) {
            revert AssertionFailed("M5/P11: unexpected pokeIndex revert", 0, uint32(m.oracle.lastUnexpectedSelector()));
        }
        assertEq(l.liquidatedAtOrAboveMaintenance(), 0, "M5/P13: liquidated at or above maintenance");
        assertEq(l.refusedBelowMaintenance(), 0, "M5/P13: refused below maintenance");
        assertEq(l.selfLiquidationAccepted(), 0, "M5/P13: self-liquidation");
        assertEq(l.conservationViolations(), 0, "M5/P14: a liquidation created or destroyed value");
        assertEq(
            l.sumBadDebt(),
            l.sumCovered() + l.sumShortfall() + l.sumChargedToMarket(),
            "M5/P14: bad debt != covered + shortfall + charged"
        );
        assertEq(l.penaltyMismatches(), 0, "M5/P15: penalty off the rules");
        int256 dust = _fundingDust(m);
        assertGe(dust, int256(0), "M5/P16: negative funding dust");
        assertLe(dust, int256(2 * (h.fundingRoundings() + 4)), "M5/P16: funding dust too large");
        assertEq(
            m.keeper.premiumCapViolations() + m.keeper.flowMismatches() + m.keeper.earlyAccepted(),
            0,
            "M5/P16: a funding update off the rules"
        );
        assertEq(m.oracle.pokeMismatches(), 0, "M5/P18: pokeIndex disagreed with the feed");
        assertEq(h.sequencerGateViolations(), 0, "M5/P18: a gated action while the sequencer was down");
    }

    /// @notice P12 over the three markets: settle every market (liquidate what is below maintenance,
    /// close the rest, pay its claims, withdraw everything), in turn; the settlement breaks none of
    /// the per-market checks; each market's reserves come back (b = b0, q0 <= q within the rounding
    /// bound, open interest 0, realised PnL = -(q - q0)); each market's pool less its claims left is
    /// its own dust less its uncovered bad debt, so without a shortfall every claim is paid in full
    /// and the pool keeps only the dust; custody holds with every trader and the keeper at dust.
    function afterInvariant() public {
        for (uint256 i; i < N_MARKETS; ++i) markets[i].oracle.restore();
        // Skipped trader actions are not bounded per run (SPEC.md, Statistics): a run that draws only
        // actions needing a position it does not have is legitimate, and the shrinker reaches one for
        // any bound (ten calls all skipped, then twenty, were found once the claims payer was added).
        for (uint256 i; i < N_MARKETS; ++i) {
            Market storage m = markets[i];
            (uint256 q1, uint256 b1) = m.amm.getReserves();
            m.traders.settleAll(uint256(keccak256(abi.encode(i, q1, b1, m.traders.swaps(), block.timestamp))));
            if (m.traders.finalCloseFailures() != 0) {
                revert AssertionFailed(
                    "M/P12: a position could not be closed (left: market, right: last error)",
                    i,
                    uint32(m.traders.finalCloseLastError())
                );
            }
            assertEq(m.traders.finalWithdrawFailures(), 0, "M/P12: a withdrawal failed");
        }
        // Later markets' settlements may have paid traders after an earlier one withdrew: withdraw again.
        markets[0].traders.settleAll(0);
        invariant_M5_perMarketChecks();
        invariant_M6_claimsAndCoverage();
        assertTrue(markets[0].liquidator.withdrawAllRewards(), "M/P12: the keeper could not withdraw");
        (uint256 sumFree, uint256 pool, uint256 insurance) = _claims();
        assertLt(sumFree, 5 * tokenScale(), "M/P12: more than dust left after withdrawing all");
        assertEq(usdc.balanceOf(address(vault)) * tokenScale(), sumFree + pool + insurance, "M/P12: custody");
        assertEq(insurance, _expectedInsurance(), "M/P12: insurance");
        for (uint256 i; i < N_MARKETS; ++i) _checkSettledMarket(markets[i]);
    }

    /// @dev One market after the settlement: reserves back, and its pool less its claims left is
    /// (q - q0) - shortfall - bad debt charged to it + funding dust (P4 with no margins); what stays
    /// locked is the funding dust; without uncovered bad debt (shortfall or charged) no claim is left.
    function _checkSettledMarket(Market storage m) internal view {
        (uint256 q, uint256 b) = m.amm.getReserves();
        assertEq(b, m.b0, "M/P12: base reserve not back at b0");
        assertGe(q, m.q0, "M/P12: quote reserve below q0");
        assertLe((q - m.q0) * m.b0, m.traders.roundingSum(), "M/P12: quote drift above the rounding bound");
        (uint256 oiLong, uint256 oiShort) = m.amm.getOpenInterest();
        assertEq(oiLong + oiShort, 0, "M/P12: open interest left");
        assertEq(m.traders.sumRealizedPnl(), -int256(q - m.q0), "M/P12: realised PnL != -(q - q0)");
        (, uint256 shortfall) = clearingHouse.getMarketStatus(address(m.amm));
        uint256 uncovered = shortfall + m.liquidator.sumChargedToMarket();
        int256 fundingDust = m.traders.sumFundingPaid() - m.traders.sumInsuranceFlow();
        int256 left = int256(q - m.q0) - int256(uncovered) + fundingDust;
        left += int256(m.traders.fundReceivableOwed());
        IVault.MarketBalances memory bal = vault.marketBalances(address(m.amm));
        assertEq(bal.lockedMargin, fundingDust > 0 ? uint256(fundingDust) : 0, "M/P12: locked != the funding dust");
        assertEq(int256(bal.pool) - int256(bal.claims), left, "M/P12: pool - claims != (q - q0) - uncovered + dust");
        if (uncovered == 0) assertEq(bal.claims, 0, "M/P12: a claim left unpaid without uncovered bad debt");
        assertTrue(
            bal.pool <= bal.lockedMargin || bal.claims == 0,
            "M/P12: payClaims left both a spare pool and claims"
        );
        assertLe(bal.claims, uncovered, "M/P12: claims left above the shortfall + bad debt charged to the market");
    }
}
