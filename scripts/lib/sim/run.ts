/**
 * The simulation behind `npm run demo`: deploys the protocol with two or more markets whose mock
 * Chainlink feeds follow a seeded price path (a random walk with a crash of at least 30%), lets a
 * few dozen traders trade at random with varied leverage, runs the arbitrage bot, the funding
 * keeper and the liquidation keeper as time advances, then closes every position (liquidating
 * what must be), withdraws everything and checks solvency.
 *
 * Reproducible: every random draw comes from the seed, and block timestamps come from a clock the
 * simulation keeps (each transaction one second after the previous one, each step at a fixed
 * time), not from the wall clock.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { getAddress, keccak256, toUtf8Bytes, type Log } from "ethers";
import {
  Amm__factory,
  ClearingHouse__factory,
  IPriceFeed__factory,
  Vault__factory,
  type Amm,
  type MockAggregator,
} from "../../../typechain-types/index.js";
import { ArbitrageBot, type ArbitrageOutcome } from "../arbitrage.js";
import { deployCore, deployMarket, deployOracle, MAX_DEADLINE, Side, toFeedUnits, type System } from "../deploy.js";
import { toWad, WAD } from "../fixed.js";
import { FundingKeeper } from "../funding-keeper.js";
import { ErrorDecoder } from "../errors.js";
import { LogPager } from "../log-pager.js";
import type { Logger } from "../keeper/logger.js";
import { LiquidationKeeper } from "../liquidation-keeper.js";
import { ASSETS, pricePaths, type PricePaths } from "./prices.js";
import { Random } from "./random.js";

export interface SimOptions {
  seed: string;
  steps: number;
  markets: number;
  traders: number;
  /** Simulated seconds per step. */
  stepSeconds?: number;
  /** Called after each step (progress bar). */
  onStep?: (step: number, steps: number, note: string) => void;
  /** Receives the keepers' and the bot's log lines. */
  log?: (line: string) => void;
}

export interface MarketSample {
  index: number;
  mark: number;
  /** Funding rate of the current premium, % of the index per day. */
  fundingRatePct: number;
  longOI: number;
  shortOI: number;
}

export interface StepSample {
  step: number;
  /** Hours since the start. */
  hours: number;
  markets: MarketSample[];
  insuranceFund: number;
}

export interface MarketStats {
  symbol: string;
  trades: number;
  arbTrades: number;
  rejected: number;
  volume: number;
  fees: number;
  fundingPaid: number;
  fundingReceived: number;
  fundingUpdates: number;
  liquidations: number;
  fullLiquidations: number;
  badDebt: number;
  shortfall: number;
  meanGapPct: number;
  maxGapPct: number;
  crashDepthPct: number;
}

export interface Solvency {
  vaultTokens: bigint;
  freeCollateral: bigint;
  marginPool: bigint;
  insuranceFund: bigint;
  claims: bigint;
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
  rejectedReasons: Map<string, number>;
  insuranceStart: number;
  insuranceEnd: number;
  deposits: number;
  withdrawals: number;
  crash: { startHours: number; endHours: number };
  finalRounds: number;
  solvency: Solvency;
}

const USDC = 10n ** 6n;
const SCALE = 10n ** 12n; // 6-decimal token to the Vault's 18 decimals
const QUOTE_RESERVE = 2_000_000;
const FEE_RATIO = "0.001";
const FUNDING_INTERVAL = 1_800;
const LEVERAGES = [1, 2, 3, 3, 5, 5, 8, 10];
const num = (x: bigint): number => Number(x) / 1e18;

/** Addresses no one holds a key for, impersonated on the embedded network. */
function accountAddress(label: string): string {
  return getAddress(keccak256(toUtf8Bytes(`vamm-demo:${label}`)).slice(0, 42));
}

interface Connection {
  ethers: HardhatEthers;
  provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
}

/**
 * Makes block timestamps a function of the simulation only: after each mined block the next one
 * is set one second later; `jump` moves the clock forward.
 */
class Clock {
  now: number;
  readonly #request: Connection["provider"]["request"];

  constructor(provider: Connection["provider"], start: number) {
    this.now = start;
    const request = provider.request.bind(provider);
    this.#request = request;
    provider.request = async (args) => {
      const result = await request(args);
      if (
        args.method === "eth_sendTransaction" ||
        args.method === "eth_sendRawTransaction" ||
        args.method === "evm_mine"
      ) {
        this.now += 1;
        await request({ method: "evm_setNextBlockTimestamp", params: [this.now] });
      }
      return result;
    };
  }

  async init(): Promise<void> {
    await this.#request({ method: "evm_setNextBlockTimestamp", params: [this.now] });
  }

  /** The next block's timestamp becomes at least `t`. */
  async jumpTo(t: number): Promise<void> {
    if (t <= this.now) return;
    this.now = t;
    await this.#request({ method: "evm_setNextBlockTimestamp", params: [t] });
  }
}

interface Trader {
  signer: HardhatEthersSigner;
  leverage: number;
  /** Chance to follow the last step's move rather than fade it. */
  momentum: number;
}

interface Market {
  symbol: string;
  amm: Amm;
  address: string;
  aggregator: MockAggregator;
}

export async function runSimulation(connection: Connection, options: SimOptions): Promise<SimResult> {
  const { ethers, provider } = connection;
  const opts = { stepSeconds: 600, ...options };
  const { steps, seed } = opts;
  const marketCount = Math.max(2, Math.min(ASSETS.length, opts.markets));
  const random = new Random(seed);
  const paths: PricePaths = pricePaths(random.fork("prices"), ASSETS.slice(0, marketCount), { steps });
  const traderRandom = random.fork("traders");
  const log = opts.log ?? (() => {});
  const logger = (name: string): Logger => ({
    info: (t) => log(`INFO  [${name}] ${t}`),
    warn: (t) => log(`WARN  [${name}] ${t}`),
    error: (t) => log(`ERROR [${name}] ${t}`),
  });

  // The clock starts from the chain's own time, rounded up to a whole day, so runs line up.
  const latest = await ethers.provider.getBlock("latest");
  const start = Math.ceil((latest!.timestamp + 1) / 86_400) * 86_400;
  const clock = new Clock(provider, start);
  await clock.init();

  // ---------------------------------------------------------------- deployment
  const system: System = await deployCore(ethers);
  const ch = system.clearingHouse;
  const vaultAddress = await system.vault.getAddress();
  const markets: Market[] = [];
  let priceFeed;
  for (let m = 0; m < marketCount; m++) {
    const asset = ASSETS[m];
    const amm = await deployMarket(ethers, system, {
      quoteReserve: toWad(QUOTE_RESERVE),
      baseReserve: toWad((QUOTE_RESERVE / asset.price).toFixed(12)),
      feeRatio: toWad(FEE_RATIO),
      maxTradeRatio: toWad("0.02"),
      fluctuationLimitRatio: toWad("0.03"),
      maxOpenInterest: toWad(((QUOTE_RESERVE / asset.price) * 0.4).toFixed(12)),
    });
    const oracle = await deployOracle(ethers, system, amm, {
      symbol: asset.symbol,
      price: toWad(asset.price.toFixed(8)),
      priceFeed,
    });
    priceFeed = oracle.priceFeed;
    markets.push({ symbol: asset.symbol, amm, address: await amm.getAddress(), aggregator: oracle.aggregator });
  }
  const ammAddresses = markets.map((m) => m.address);

  // Accounts: impersonated, with ether for gas.
  const account = async (label: string): Promise<HardhatEthersSigner> => {
    const address = accountAddress(label);
    await provider.request({ method: "hardhat_impersonateAccount", params: [address] });
    await provider.request({ method: "hardhat_setBalance", params: [address, "0x56bc75e2d63100000"] });
    return ethers.getSigner(address);
  };
  let deposits = 0n;
  const fund = async (signer: HardhatEthersSigner, amount: bigint): Promise<void> => {
    await (await system.usdc.mint(signer.address, amount)).wait();
    await (await system.usdc.connect(signer).approve(vaultAddress, amount)).wait();
    await (await system.vault.connect(signer).deposit(amount)).wait();
    deposits += amount;
  };

  // Insurance fund: a staker puts 50,000 in the ERC4626 fund.
  const staker = await account("staker");
  const stake = 50_000n * USDC;
  await (await system.usdc.mint(staker.address, stake)).wait();
  await (await system.usdc.connect(staker).approve(await system.insuranceFund.getAddress(), stake)).wait();
  await (await system.insuranceFund.connect(staker).deposit(stake, staker.address)).wait();
  deposits += stake;

  const traders: Trader[] = [];
  for (let i = 0; i < opts.traders; i++) {
    const signer = await account(`trader-${i}`);
    await fund(signer, BigInt(Math.round(traderRandom.uniform(2_000, 20_000))) * USDC);
    traders.push({ signer, leverage: traderRandom.pick(LEVERAGES), momentum: traderRandom.uniform(0.3, 0.8) });
  }
  const arbSigner = await account("arbitrageur");
  await fund(arbSigner, 1_000_000n * USDC);
  const fundingSigner = await account("funding-keeper");
  const liquidatorSigner = await account("liquidator");
  const allAccounts = [
    system.owner,
    staker,
    ...traders.map((t) => t.signer),
    arbSigner,
    fundingSigner,
    liquidatorSigner,
  ];

  const startBlock = await ethers.provider.getBlockNumber();
  const common = {
    clearingHouse: await ch.getAddress(),
    markets: ammAddresses,
    startBlock,
    logBlockRange: 5_000,
    maxRetries: 0,
    retryDelayMs: 250,
    txTimeoutSeconds: 600,
  };
  const fundingKeeper = new FundingKeeper({
    signer: fundingSigner,
    logger: logger("funding"),
    config: { ...common, intervalSeconds: FUNDING_INTERVAL, pollSeconds: opts.stepSeconds },
  });
  const liquidationKeeper = new LiquidationKeeper({
    signer: liquidatorSigner,
    logger: logger("liquidation"),
    config: {
      ...common,
      viewer: await system.viewer.getAddress(),
      batchSize: 250,
      cooldownSeconds: 60,
      slippageBps: 300,
      pollSeconds: opts.stepSeconds,
    },
  });
  const arbitrage = new ArbitrageBot({
    signer: arbSigner,
    logger: logger("arbitrage"),
    config: {
      ...common,
      leverage: 3,
      maxPositionNotional: 500_000,
      minProfit: 5,
      horizonSeconds: 3_600,
      slippageBps: 100,
      maxTradesPerTick: 3,
    },
  });
  await fundingKeeper.start();
  await liquidationKeeper.start();
  await arbitrage.start();

  // ---------------------------------------------------------------- bookkeeping
  const decoder = new ErrorDecoder();
  const chIface = ClearingHouse__factory.createInterface();
  const ammIface = Amm__factory.createInterface();
  const stats: MarketStats[] = markets.map((m, i) => ({
    symbol: m.symbol,
    trades: 0,
    arbTrades: 0,
    rejected: 0,
    volume: 0,
    fees: 0,
    fundingPaid: 0,
    fundingReceived: 0,
    fundingUpdates: 0,
    liquidations: 0,
    fullLiquidations: 0,
    badDebt: 0,
    shortfall: 0,
    meanGapPct: 0,
    maxGapPct: 0,
    crashDepthPct: paths.crashDepth[i] * 100,
  }));
  const marketIndex = new Map(markets.map((m, i) => [m.address, i]));
  const rejectedReasons = new Map<string, number>();
  const events = new LogPager(ethers.provider, {
    address: [common.clearingHouse, ...ammAddresses],
    startBlock: startBlock + 1,
    blockRange: 5_000,
  });
  let positionChanges = 0;
  const arbAddress = arbSigner.address;

  /** One range of logs: a transaction's logs all fall in one range, as a block never straddles two. */
  const countEvents = (logs: Log[]): void => {
    const liquidationTxs = new Set<string>();
    for (const entry of logs) {
      if (entry.address !== common.clearingHouse) continue;
      const parsed = chIface.parseLog(entry);
      if (parsed?.name !== "PositionLiquidated") continue;
      liquidationTxs.add(entry.transactionHash);
      const s = stats[marketIndex.get(getAddress(parsed.args.amm as string))!];
      s.liquidations++;
      if (parsed.args.full) s.fullLiquidations++;
      s.badDebt += num(parsed.args.badDebt as bigint);
      s.shortfall += num(parsed.args.shortfall as bigint);
    }
    for (const entry of logs) {
      const i = marketIndex.get(entry.address);
      if (i !== undefined) {
        if (ammIface.parseLog(entry)?.name === "FundingUpdated") stats[i].fundingUpdates++;
        continue;
      }
      const parsed = chIface.parseLog(entry);
      if (parsed?.name !== "PositionChanged") continue;
      positionChanges++;
      const s = stats[marketIndex.get(getAddress(parsed.args.amm as string))!];
      if (!liquidationTxs.has(entry.transactionHash)) {
        s.trades++;
        if (getAddress(parsed.args.trader as string) === arbAddress) s.arbTrades++;
      }
      s.volume += num(parsed.args.quoteAmount as bigint);
      s.fees += num(parsed.args.fee as bigint);
      const funding = num(parsed.args.fundingPayment as bigint);
      if (funding > 0) s.fundingPaid += funding;
      else s.fundingReceived -= funding;
    }
  };
  const readEvents = async (): Promise<void> => events.readTo(await ethers.provider.getBlockNumber(), countEvents);

  /** Sends a trader's transaction; a revert is counted, not thrown. */
  const attempt = async (i: number, send: () => Promise<{ wait: () => Promise<unknown> }>): Promise<boolean> => {
    try {
      await (await send()).wait();
      return true;
    } catch (error) {
      const name = decoder.decodeError(error)?.name;
      if (name === undefined) throw error;
      stats[i].rejected++;
      rejectedReasons.set(name, (rejectedReasons.get(name) ?? 0) + 1);
      return false;
    }
  };

  const setIndex = async (step: number): Promise<void> => {
    for (const [i, m] of markets.entries()) {
      const price = toWad(paths.prices[i][step].toFixed(8));
      await (await m.aggregator.setAnswer(toFeedUnits(price, 8), BigInt(clock.now))).wait();
      // The oracle updater also records the new price in the market's index history (anyone may).
      await (await m.amm.pokeIndex()).wait();
    }
  };

  const samples: StepSample[] = [];
  const gapSums = markets.map(() => 0);
  const sample = async (step: number): Promise<void> => {
    const ms: MarketSample[] = [];
    for (const [i, m] of markets.entries()) {
      const [spot, oi, funding] = await Promise.all([
        m.amm.getSpotPrice(),
        m.amm.getOpenInterest(),
        m.amm.getFundingState(),
      ]);
      const index = paths.prices[i][step];
      const mark = num(spot);
      const gap = Math.abs(mark / index - 1) * 100;
      if (step > 0) {
        gapSums[i] += gap;
        stats[i].maxGapPct = Math.max(stats[i].maxGapPct, gap);
      }
      ms.push({
        index,
        mark,
        fundingRatePct: (num(funding[0]) / index) * 100,
        longOI: num(oi[0]),
        shortOI: num(oi[1]),
      });
    }
    const [, insurance] = await system.vault.getPoolBalances();
    samples.push({ step, hours: (step * opts.stepSeconds) / 3600, markets: ms, insuranceFund: num(insurance) });
  };

  const lastMove = markets.map(() => 0);
  const traderStep = async (step: number): Promise<void> => {
    const actions = 2 + traderRandom.int(Math.max(2, Math.round(opts.traders / 8)));
    for (let a = 0; a < actions; a++) {
      const t = traderRandom.pick(traders);
      const i = traderRandom.int(markets.length);
      const market = markets[i].address;
      const trader = ch.connect(t.signer);
      const position = await ch.getPosition(market, t.signer.address);
      const free = num(await system.vault.freeCollateral(t.signer.address));
      // Follow the last move with probability `momentum`, else fade it; no move: a coin toss.
      const up = lastMove[i] === 0 ? traderRandom.chance(0.5) : lastMove[i] > 0 === traderRandom.chance(t.momentum);
      const maxNotional = QUOTE_RESERVE * 0.015;
      const margin = (lev: number) => Math.min(free * traderRandom.uniform(0.05, 0.3), maxNotional / lev);
      const open = async (side: number, lev: number) => {
        const m = margin(lev);
        if (m < 10) return;
        await attempt(i, () => trader.openPosition(market, side, toWad(m.toFixed(6)), toWad(lev), 0n, MAX_DEADLINE));
      };
      if (position.size === 0n) {
        await open(up ? Side.LONG : Side.SHORT, t.leverage);
        continue;
      }
      const long = position.size > 0n;
      const r = traderRandom.next();
      if (r < 0.3) {
        await attempt(i, () => trader.closePosition(market, 0n, MAX_DEADLINE));
      } else if (r < 0.5) {
        await open(long ? Side.LONG : Side.SHORT, t.leverage);
      } else if (r < 0.65) {
        // Reduce: a third of the open notional at 1x.
        const q = (num(position.openNotional) / 3).toFixed(6);
        await attempt(i, () =>
          trader.openPosition(market, long ? Side.SHORT : Side.LONG, toWad(q), WAD, 0n, MAX_DEADLINE),
        );
      } else if (r < 0.72) {
        await attempt(i, () => trader.addMargin(market, toWad((free * 0.1).toFixed(6))));
      }
    }
  };

  const keepersTick = async (): Promise<ArbitrageOutcome[]> => {
    const outcomes = await arbitrage.tick();
    await fundingKeeper.tick();
    await liquidationKeeper.tick();
    return outcomes;
  };

  // ---------------------------------------------------------------- the run
  await sample(0);
  for (let step = 1; step <= steps; step++) {
    await clock.jumpTo(start + step * opts.stepSeconds);
    await setIndex(step);
    await traderStep(step);
    await keepersTick();
    await readEvents();
    await sample(step);
    for (let i = 0; i < markets.length; i++) lastMove[i] = paths.prices[i][step] - paths.prices[i][step - 1];
    const s = samples[samples.length - 1];
    opts.onStep?.(
      step,
      steps,
      s.markets.map((m, i) => `${markets[i].symbol} ${m.index.toFixed(m.index < 100 ? 2 : 0)}`).join(" "),
    );
  }
  for (let i = 0; i < markets.length; i++) stats[i].meanGapPct = gapSums[i] / Math.max(1, steps);

  // ---------------------------------------------------------------- wind-down
  // Every trader closes; what cannot close is left to the liquidation keeper, with time passing
  // (the mark TWAP) and the arbitrage bot bringing the mark back to the index between rounds. The
  // arbitrageur closes last.
  const openPositions = async (signers: HardhatEthersSigner[]) => {
    const open: Array<{ signer: HardhatEthersSigner; i: number }> = [];
    for (const signer of signers) {
      for (const [i, m] of markets.entries()) {
        if ((await ch.getPosition(m.address, signer.address)).size !== 0n) open.push({ signer, i });
      }
    }
    return open;
  };
  let round = 0;
  let t = start + steps * opts.stepSeconds;
  const traderSigners = traders.map((x) => x.signer);
  for (const group of [traderSigners, [arbSigner]]) {
    for (let r = 0; r < 30; r++, round++) {
      const open = await openPositions(group);
      if (open.length === 0) break;
      for (const { signer, i } of open) {
        await attempt(i, () => ch.connect(signer).closePosition(markets[i].address, 0n, MAX_DEADLINE));
      }
      t += 300;
      await clock.jumpTo(t);
      await setIndex(steps);
      if (group === traderSigners) await arbitrage.tick();
      await fundingKeeper.tick();
      await liquidationKeeper.tick();
      await readEvents();
    }
  }
  await readEvents();
  const finalRounds = round;

  // Everyone withdraws what the Vault owes them in whole token units.
  let withdrawals = 0n;
  for (const signer of allAccounts) {
    const balance = await system.vault.balanceOf(signer.address);
    if (balance > 0n) {
      await (await system.vault.connect(signer).withdraw(balance)).wait();
      withdrawals += balance;
    }
  }

  // ---------------------------------------------------------------- solvency
  const vaultTokens = await system.usdc.balanceOf(vaultAddress);
  const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
  let freeCollateral = 0n;
  for (const signer of allAccounts) freeCollateral += await system.vault.freeCollateral(signer.address);
  const claims = freeCollateral + marginPool + insuranceFund;
  const stillOpen = (await openPositions([...traderSigners, arbSigner])).length;
  // Rounding (always in the protocol's favour) may leave dust in the margin pool: less than one token unit.
  const dustLimit = SCALE;
  const problems: string[] = [];
  if (vaultTokens * SCALE !== claims) {
    problems.push(`the Vault holds ${vaultTokens * SCALE} (18 decimals) but the claims add up to ${claims}`);
  }
  if (marginPool > dustLimit)
    problems.push(`the margin pool holds ${marginPool} wei, more than rounding dust (${dustLimit})`);
  if (stillOpen > 0) problems.push(`${stillOpen} position(s) still open after ${finalRounds} rounds`);
  for (const m of markets) {
    const [long, short] = await m.amm.getOpenInterest();
    if (long !== 0n || short !== 0n) problems.push(`${m.symbol}: open interest ${long} long, ${short} short left`);
  }
  if (freeCollateral >= BigInt(allAccounts.length) * SCALE) {
    problems.push(`free collateral ${freeCollateral} left beyond sub-unit remainders after every withdrawal`);
  }

  return {
    options: { seed, steps, markets: marketCount, traders: opts.traders, stepSeconds: opts.stepSeconds },
    symbols: markets.map((m) => m.symbol),
    samples,
    markets: stats,
    rejectedReasons,
    insuranceStart: Number(stake) / 1e6,
    insuranceEnd: num(insuranceFund),
    deposits: Number(deposits) / 1e6,
    withdrawals: Number(withdrawals) / 1e6,
    crash: {
      startHours: (paths.crashStart * opts.stepSeconds) / 3600,
      endHours: (paths.crashEnd * opts.stepSeconds) / 3600,
    },
    finalRounds,
    solvency: {
      vaultTokens,
      freeCollateral,
      marginPool,
      insuranceFund,
      claims,
      dustLimit,
      openPositions: stillOpen,
      ok: problems.length === 0,
      problems,
    },
  };
}
