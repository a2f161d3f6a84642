/**
 * The simulation behind `npm run demo`: deploys the protocol with two or more markets whose mock
 * Chainlink feeds follow a seeded price path (a random walk with a crash of at least 30%), lets a
 * few dozen traders trade at random with varied leverage, runs the arbitrage bot, the funding
 * keeper, the liquidation keeper and the claims keeper as time advances, then closes every position
 * (liquidating what must be), pays every claim, withdraws everything and checks solvency.
 *
 * Reproducible: every random draw comes from the seed, and block timestamps come from a clock the
 * simulation keeps (each transaction one second after the previous one, each step at a fixed
 * time), not from the wall clock.
 */
import type { Logger } from "../keeper/logger.js";
import { runArbitrage, runKeepers, stepOracle, tradersAct } from "./actions.js";
import { Clock, type Connection } from "./clock.js";
import { enableDynamicCurve, type CurveName } from "./curve.js";
import { ASSETS, pricePaths } from "./prices.js";
import { Random } from "./random.js";
import { flowsBetween, num, Recorder } from "./recorder.js";
import { fundAccounts, setupMarkets, startBots, type Accounts, type Bots, type World } from "./setup.js";
import { checkSolvency, WIND_DOWN_ROUND_SECONDS, windDown } from "./wind-down.js";

export interface SimOptions {
  seed: string;
  steps: number;
  markets: number;
  traders: number;
  /** Simulated seconds per step. */
  stepSeconds?: number;
  /** The markets' curve: "static" (default) or "dynamic" (repeg, formulaic k, spread, budget). */
  curve?: CurveName;
  /** Called after each step (progress bar). */
  onStep?: (step: number, steps: number, note: string) => void;
  /** Receives the keepers' and the bot's log lines. */
  log?: (line: string) => void;
}

export interface MarketSample {
  index: number;
  mark: number;
  /** Mark over index less 1, in % (+: mark above index). */
  gapPct: number;
  /** Funding rate of the current premium, % of the index per day. */
  fundingRatePct: number;
  /** Open interest in base: everyone's, and the arbitrage bot's part of it. */
  longOI: number;
  shortOI: number;
  arbLongOI: number;
  arbShortOI: number;
  /** Dynamic curve only: peg and depth (multiples of launch) and the AMM budget (quote). */
  peg?: number;
  depth?: number;
  budget?: number;
  /** Cumulative since the start: liquidations, bad debt (quote), funding paid and received by positions (quote). */
  liquidations: number;
  badDebt: number;
  fundingPaid: number;
  fundingReceived: number;
  /** Claims queued in the market and not yet paid at this sample (quote; the Vault's figure). */
  claimsPending: number;
}

export interface StepSample {
  step: number;
  /** Hours since the start. */
  hours: number;
  markets: MarketSample[];
  insuranceFund: number;
  insuranceFundWei: bigint;
  /** The insurance fund's share of funding since the start (quote; + received, - paid). */
  insuranceFunding: number;
}

/** Flows into the insurance fund by kind, in 18 decimals (+ in, the paying kinds as positive amounts). */
export interface FundFlows {
  fees: bigint;
  /** The fund's half of liquidation penalties. */
  penalties: bigint;
  /** Bad debt the fund covered (paid). */
  badDebtCovered: bigint;
  /** Liquidator rewards the fund paid (those of liquidations with bad debt). */
  rewards: bigint;
  /** The fund's share of funding (+ received, - paid). */
  funding: bigint;
}

/** The insurance fund from the last sample to the end: last sample + wind-down flows = final. */
export interface InsuranceReconciliation {
  lastSample: bigint;
  windDown: FundFlows;
  final: bigint;
  /** Hours at the last sample and at the end of the wind-down. */
  lastSampleHours: number;
  endHours: number;
}

export interface MarketStats {
  symbol: string;
  trades: number;
  arbTrades: number;
  rejected: number;
  volume: number;
  fees: number;
  /** A dynamic curve's spread, paid into the market's AMM budget (quote; 0 on the static curve). */
  spread: number;
  fundingPaid: number;
  fundingReceived: number;
  fundingUpdates: number;
  liquidations: number;
  fullLiquidations: number;
  badDebt: number;
  /** Bad debt beyond what the fair price shows, charged to the market (its winners' claims wait). */
  chargedToMarket: number;
  shortfall: number;
  /** Profit queued as claims because the market's pool could not pay it: how many, how much (quote). */
  claimsQueued: number;
  claimsQueuedAmount: number;
  /** Claims paid (quote), by the claims keeper during the run and the wind-down. */
  claimsPaidAmount: number;
  meanGapPct: number;
  maxGapPct: number;
  crashDepthPct: number;
}

/** One market's claims to the wei (18 decimals), from the Vault's events. */
export interface ClaimLedger {
  queued: bigint;
  paid: bigint;
  /** How many ClaimQueued. */
  count: number;
}

/** One market's money at the end (18 decimals), read from the Vault. */
export interface MarketMoneyEnd {
  symbol: string;
  pool: bigint;
  lockedMargin: bigint;
  /** Claims still queued. */
  claimsPending: bigint;
  /** The market's AMM budget left (dynamic curve; 0 with the static one): pool money, locked. */
  budget: bigint;
}

export interface Solvency {
  vaultTokens: bigint;
  freeCollateral: bigint;
  /** The sum of the market pools (the Vault's getPoolBalances). */
  marginPool: bigint;
  insuranceFund: bigint;
  /** What the Vault owes in 18 decimals: free collateral + every market's pool + the insurance fund. */
  liabilities: bigint;
  /** Each market's pool, locked margin and pending claims. */
  markets: MarketMoneyEnd[];
  dustLimit: bigint;
  openPositions: number;
  ok: boolean;
  problems: string[];
}

export interface SimResult {
  options: Required<Omit<SimOptions, "onStep" | "log">>;
  symbols: string[];
  samples: StepSample[];
  markets: MarketStats[];
  /** Each market's counts at the last sample, before the wind-down. */
  beforeWindDown: MarketStats[];
  /** Each market's claims queued and paid, to the wei. */
  claims: ClaimLedger[];
  /** Each market's bad debt charged to it (beyond what the fair price showed), to the wei. */
  chargedToMarket: bigint[];
  insurance: InsuranceReconciliation;
  rejectedReasons: Map<string, number>;
  insuranceStart: number;
  insuranceEnd: number;
  deposits: number;
  withdrawals: number;
  crash: { startHours: number; endHours: number };
  finalRounds: number;
  solvency: Solvency;
}

/** What the steps of a run share after its start: the bots and the recorder of their events. */
export interface Run {
  bots: Bots;
  recorder: Recorder;
}

/**
 * A run's world: the chain's clock, started from the chain's own time rounded up to a whole day
 * (so runs line up), and the protocol deployed with `marketCount` markets.
 */
export async function createWorld(
  connection: Connection,
  setup: Pick<World, "opts" | "paths" | "traderRandom" | "logger">,
  marketCount: number,
): Promise<World> {
  const { ethers, provider } = connection;
  const latest = await ethers.provider.getBlock("latest");
  const start = Math.ceil((latest!.timestamp + 1) / 86_400) * 86_400;
  const clock = new Clock(provider, start);
  await clock.init();
  return { ethers, provider, ...setup, clock, start, ...(await setupMarkets(ethers, marketCount)) };
}

/**
 * Once the accounts are funded: the dynamic curve switched on if the run asks for it, the bots
 * started, and the recorder following everything from the bots' first block.
 */
export async function startRun(world: World, accounts: Accounts): Promise<Run> {
  if (world.opts.curve === "dynamic") accounts.all.push(await enableDynamicCurve(world));
  const bots = await startBots(world, accounts);
  const recorder = new Recorder(world, {
    clearingHouse: await world.system.clearingHouse.getAddress(),
    vault: await world.system.vault.getAddress(),
    arbitrageur: accounts.arbitrageur.address,
    startBlock: bots.startBlock,
  });
  return { bots, recorder };
}

/**
 * One step: the clock to the step's time, the oracles' next price, the traders' turn, then the
 * arbitrage bot and the keepers, and the step's events recorded. The caller takes the sample.
 */
export async function playStep(world: World, run: Run, step: number, tradersTurn: () => Promise<void>): Promise<void> {
  await world.clock.jumpTo(world.start + step * world.opts.stepSeconds);
  await stepOracle(world, step);
  await tradersTurn();
  await runArbitrage(run.bots);
  await runKeepers(run.bots);
  await run.recorder.readEvents();
}

/** After the last step: every position closed and every claim paid (see windDown), then the solvency check. */
export async function finishRun(
  world: World,
  accounts: Accounts,
  run: Run,
): Promise<{ rounds: number; withdrawals: bigint; solvency: Solvency }> {
  run.recorder.finishGaps(world.opts.steps);
  const { rounds, withdrawals } = await windDown(world, accounts, run.bots, run.recorder);
  const solvency = await checkSolvency(world, accounts, rounds, run.recorder.chargedToMarket);
  return { rounds, withdrawals, solvency };
}

/**
 * The demo's run, step by step: set up the markets, fund the traders, start the bots; then per
 * step move the oracle, let the traders act, run the arbitrage bot and the keepers, and record;
 * finally wind everything down and check solvency.
 */
export async function runSimulation(connection: Connection, options: SimOptions): Promise<SimResult> {
  const opts = { stepSeconds: 600, curve: "static" as CurveName, ...options };
  const { steps, seed } = opts;
  const marketCount = Math.max(2, Math.min(ASSETS.length, opts.markets));
  const random = new Random(seed);
  const paths = pricePaths(random.fork("prices"), ASSETS.slice(0, marketCount), { steps });
  const log = opts.log ?? (() => {});
  const logger = (name: string): Logger => ({
    info: (t) => log(`INFO  [${name}] ${t}`),
    warn: (t) => log(`WARN  [${name}] ${t}`),
    error: (t) => log(`ERROR [${name}] ${t}`),
  });

  const world = await createWorld(
    connection,
    { opts, paths, traderRandom: random.fork("traders"), logger },
    marketCount,
  );
  const accounts = await fundAccounts(world);
  const run = await startRun(world, accounts);
  const { recorder } = run;

  await recorder.sample(0);
  const lastMove = world.markets.map(() => 0);
  for (let step = 1; step <= steps; step++) {
    await playStep(world, run, step, () => tradersAct(world, accounts.traders, recorder, lastMove));
    const s = await recorder.sample(step);
    for (let i = 0; i < world.markets.length; i++) lastMove[i] = paths.prices[i][step] - paths.prices[i][step - 1];
    opts.onStep?.(
      step,
      steps,
      s.markets.map((m, i) => `${world.markets[i].symbol} ${m.index.toFixed(m.index < 100 ? 2 : 0)}`).join(" "),
    );
  }

  const { rounds, withdrawals, solvency } = await finishRun(world, accounts, run);
  const last = recorder.last!;
  const insurance: InsuranceReconciliation = {
    lastSample: last.insuranceFund,
    windDown: flowsBetween(last, recorder.now(solvency.insuranceFund)),
    final: solvency.insuranceFund,
    lastSampleHours: (steps * opts.stepSeconds) / 3600,
    endHours: (steps * opts.stepSeconds + rounds * WIND_DOWN_ROUND_SECONDS) / 3600,
  };

  return {
    options: {
      seed,
      steps,
      markets: marketCount,
      traders: opts.traders,
      stepSeconds: opts.stepSeconds,
      curve: opts.curve,
    },
    symbols: world.markets.map((m) => m.symbol),
    samples: recorder.samples,
    markets: recorder.stats,
    beforeWindDown: last.stats,
    claims: recorder.claims.map((c) => ({ ...c })),
    chargedToMarket: [...recorder.chargedToMarket],
    insurance,
    rejectedReasons: recorder.rejectedReasons,
    insuranceStart: Number(accounts.stake) / 1e6,
    insuranceEnd: num(solvency.insuranceFund),
    deposits: Number(accounts.deposits) / 1e6,
    withdrawals: Number(withdrawals) / 1e6,
    crash: {
      startHours: (paths.crashStart * opts.stepSeconds) / 3600,
      endHours: (paths.crashEnd * opts.stepSeconds) / 3600,
    },
    finalRounds: rounds,
    solvency,
  };
}
