/**
 * One benchmark run: one market (ETH) on a fresh embedded Hardhat network, the scenario's index
 * path, trend-following traders, the funding, liquidation and claims keepers every step, the
 * arbitrage bot only when asked, the static or the dynamic curve. After the last step every
 * position is closed (the demo's wind-down) so the traders' PnL is realised, and the figures the
 * benchmark compares are read: the mark-index gap, the insurance fund's path and its funding
 * payments, the curve's repeg and depth-change costs, the traders' PnL.
 */
import type { Log } from "ethers";
import type { Amm } from "../../../typechain-types/index.js";
import type { ArbitrageBot } from "../arbitrage.js";
import { toWad, WAD } from "../fixed.js";
import type { Logger } from "../keeper/logger.js";
import { LogPager } from "../log-pager.js";
import type { Connection } from "../sim/clock.js";
import { BUDGET_SEED, parseCurveEvent, type CurveName } from "../sim/curve.js";
import { Random } from "../sim/random.js";
import { flowsBetween, num } from "../sim/recorder.js";
import { createWorld, finishRun, playStep, startRun } from "../sim/run.js";
import { fundAccounts } from "../sim/setup.js";
import { WIND_DOWN_ROUND_SECONDS } from "../sim/wind-down.js";
import { peakToTrough, subsidyAllowance } from "./metrics.js";
import { scenarioPath, type ScenarioName } from "./scenarios.js";
import { trendTradersAct } from "./traders.js";

export interface RunOptions {
  scenario: ScenarioName;
  curve: CurveName;
  arbitrage: boolean;
  seed: string;
  steps: number;
  traders: number;
  /** Simulated seconds per step. */
  stepSeconds: number;
}

export interface RunSample {
  hours: number;
  index: number;
  mark: number;
  /** Mark over index less 1, in %. */
  gapPct: number;
  /** Insurance fund balance and its cumulative share of funding (+ received, - paid), quote. */
  fund: number;
  fundFunding: number;
  longOI: number;
  shortOI: number;
  /** Dynamic curve only: peg and depth (1 at launch) and the budget (quote). */
  peg?: number;
  depth?: number;
  budget?: number;
}

export interface CostTally {
  count: number;
  /** Sum of the positive costs (paid by the budget), and of the gains (negative costs, as positive). */
  paid: number;
  gained: number;
}

export interface RunResult {
  options: RunOptions;
  samples: RunSample[];
  /** The scenario's move (crash or rally), hours. */
  moveHours: [number, number];
  /** The index's move over the window (+0.30 a rally, -0.38 a crash). */
  move: number;
  meanGapPct: number;
  maxGapPct: number;
  fundStart: number;
  fundMin: number;
  fundEnd: number;
  /** The fund's largest peak-to-trough fall (quote, >= 0), sampled each step, the wind-down's end included. */
  fundDrawdown: number;
  /** The fund's net funding payments over the run and the wind-down (quote; + paid, - received). */
  fundFundingPaid: number;
  /** The funding subsidy the Amm's budget allowed over the same time: ratio x fund x days. */
  subsidyBudget: number;
  repegs: CostTally;
  depthChanges: CostTally;
  /** What funding updates collected into the budget of the curve's gains, once realised (quote). */
  gainsCollected: number;
  /** What the AMM budget paid of liquidations' bad debt, before the fund (quote). */
  badDebtFromBudget: number;
  /** The AMM budget's net share of funding (+ paid, - received; quote): the imbalance it paid
   * before the fund less the surplus it took up to its target (dynamic curve only). */
  budgetFundingPaid: number;
  /** Dynamic curve only: the AMM budget at the first sample and after the wind-down (quote). */
  budgetStart?: number;
  budgetEnd?: number;
  /** Traders' (not the arbitrage bot's) total realised PnL, all positions closed: withdrawn less deposited. */
  tradersPnl: number;
  arbitragePnl: number;
  /** The liquidation keeper's rewards (quote), withdrawn at the end. */
  liquidatorRewards: number;
  trades: number;
  arbTrades: number;
  /** Spread the traders paid into the AMM budget (quote; dynamic curve only). */
  spread: number;
  liquidations: number;
  badDebt: number;
  rejected: Record<string, number>;
  /** Money the run put in the market's AMM budget from outside (the treasury's seed; quote). */
  budgetSeed: number;
  /** What the market's pool holds after the wind-down (quote): the budget left, plus rounding dust. */
  poolEnd: number;
  /** The Vault's tokens equal what it owes, to the wei, after the wind-down. */
  vaultBalanced: boolean;
  seconds: number;
}

/**
 * Each side's open interest cap as a fraction of the base reserve: 5% pins the static curve's mark
 * inside [1/1.05^2, 1/0.95^2] = [0.907, 1.108] x the launch price, the band issue 14's review
 * measured on the deployed ETH market (the demo's 40% would let a one-sided crowd move it +96%).
 */
export const OPEN_INTEREST_CAP_RATIO = 0.05;

/** The demo's limits with the benchmark's open-interest cap. */
async function capOpenInterest(amm: Amm): Promise<void> {
  const [, base] = await amm.getReserves();
  const limits = await amm.getLimits();
  const cap = (base * toWad(OPEN_INTEREST_CAP_RATIO)) / WAD;
  await (
    await amm.setLimits({
      maxTradeRatio: limits.maxTradeRatio,
      fluctuationLimitRatio: limits.fluctuationLimitRatio,
      maxOpenInterest: cap,
    })
  ).wait();
}

const noCosts = (): CostTally => ({ count: 0, paid: 0, gained: 0 });

/** Token units (6 decimals) to a quote number. */
const token = (x: bigint): number => Number(x) / 1e6;

/** A no-op arbitrage bot for the runs without one (the wind-down calls the bot between rounds). */
const NO_ARBITRAGE = { tick: async () => [] } as unknown as ArbitrageBot;

export async function runBenchmark(connection: Connection, options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const { ethers } = connection;
  const random = new Random(`${options.seed}:${options.scenario}`);
  const paths = scenarioPath(options.scenario, random.fork("prices"), options.steps);
  const quiet = (): Logger => ({ info: () => {}, warn: () => {}, error: () => {} });

  const world = await createWorld(
    connection,
    {
      opts: {
        seed: options.seed,
        steps: options.steps,
        traders: options.traders,
        stepSeconds: options.stepSeconds,
        curve: options.curve,
      },
      paths,
      traderRandom: random.fork("traders"),
      logger: quiet,
    },
    1,
  );
  const market = world.markets[0];
  await capOpenInterest(market.amm);
  const accounts = await fundAccounts(world);
  const deposited = new Map<string, bigint>();
  for (const signer of [...accounts.traders.map((t) => t.signer), accounts.arbitrageur]) {
    deposited.set(signer.address, await world.system.vault.balanceOf(signer.address));
  }
  const run = await startRun(world, accounts);
  if (!options.arbitrage) run.bots.arbitrage = NO_ARBITRAGE;
  const { bots, recorder } = run;
  const repegs = noCosts();
  const depthChanges = noCosts();
  let gainsCollected = 0;
  let badDebtFromBudget = 0;
  let budgetFundingPaid = 0;
  const curveLogs = new LogPager(ethers.provider, {
    address: market.address,
    startBlock: bots.startBlock + 1,
    blockRange: 5_000,
  });
  const readCurveLogs = async () =>
    curveLogs.readTo(await ethers.provider.getBlockNumber(), (logs: Log[]) => {
      for (const log of logs) {
        const event = parseCurveEvent(log);
        if (event === undefined) continue;
        if (event.kind === "badDebt") {
          badDebtFromBudget += event.cost;
          continue;
        }
        if (event.kind === "funding") {
          budgetFundingPaid += event.cost;
          continue;
        }
        if (event.kind === "collect") {
          gainsCollected -= event.cost;
          continue;
        }
        const tally = event.kind === "repeg" ? repegs : depthChanges;
        tally.count++;
        if (event.cost >= 0) tally.paid += event.cost;
        else tally.gained -= event.cost;
      }
    });

  const subsidyRatio = num(await market.amm.getFundingSubsidyRatio());
  const samples: RunSample[] = [];
  const sample = async (step: number) => {
    const s = await recorder.sample(step);
    const m = s.markets[0];
    samples.push({
      hours: s.hours,
      index: m.index,
      mark: m.mark,
      gapPct: m.gapPct,
      fund: s.insuranceFund,
      fundFunding: s.insuranceFunding,
      longOI: m.longOI,
      shortOI: m.shortOI,
      ...(m.peg === undefined ? {} : { peg: m.peg, depth: m.depth, budget: m.budget }),
    });
  };

  await sample(0);
  for (let step = 1; step <= options.steps; step++) {
    await playStep(world, run, step, () => trendTradersAct(world, accounts.traders, recorder, step));
    await readCurveLogs();
    await sample(step);
  }

  const { rounds, solvency } = await finishRun(world, accounts, run);
  await readCurveLogs();
  const fundEnd = num(solvency.insuranceFund);
  const flows = flowsBetween(recorder.first!, recorder.now(solvency.insuranceFund));
  const fundStart = samples[0].fund;
  const path = [...samples.map((s) => s.fund), fundEnd];
  const fundMin = Math.min(...path);
  const fundDrawdown = peakToTrough(path);
  let subsidyBudget = subsidyAllowance(
    subsidyRatio,
    samples.map((s) => s.fund),
    options.stepSeconds,
  );
  // The wind-down's time too, at the last sample's balance (funding accrues while positions close).
  subsidyBudget += (subsidyRatio * samples[samples.length - 1].fund * rounds * WIND_DOWN_ROUND_SECONDS) / 86_400;

  const pnl = async (address: string) =>
    token(await world.system.usdc.balanceOf(address)) - token(deposited.get(address) ?? 0n);
  let tradersPnl = 0;
  for (const t of accounts.traders) tradersPnl += await pnl(t.signer.address);
  const stats = recorder.stats[0];
  return {
    options,
    samples,
    moveHours: [(paths.crashStart * options.stepSeconds) / 3600, (paths.crashEnd * options.stepSeconds) / 3600],
    move: -paths.crashDepth[0],
    meanGapPct: stats.meanGapPct,
    maxGapPct: stats.maxGapPct,
    fundStart,
    fundMin,
    fundEnd,
    fundDrawdown,
    fundFundingPaid: -num(flows.funding),
    subsidyBudget,
    repegs,
    depthChanges,
    gainsCollected,
    badDebtFromBudget,
    budgetFundingPaid,
    budgetStart: samples[0].budget,
    budgetEnd: options.curve === "dynamic" ? num(solvency.markets[0].budget) : undefined,
    tradersPnl,
    arbitragePnl: await pnl(accounts.arbitrageur.address),
    liquidatorRewards: await pnl(accounts.liquidator.address),
    trades: stats.trades,
    arbTrades: stats.arbTrades,
    spread: stats.spread,
    liquidations: stats.liquidations,
    badDebt: stats.badDebt,
    rejected: Object.fromEntries(recorder.rejectedReasons),
    budgetSeed: options.curve === "dynamic" ? BUDGET_SEED : 0,
    poolEnd: num(solvency.marginPool),
    vaultBalanced: solvency.vaultTokens * 10n ** 12n === solvency.liabilities,
    seconds: (performance.now() - started) / 1000,
  };
}
