/**
 * The simulation's bookkeeping: per-market counts from the chain's events, one sample of prices,
 * funding and open interest per step, and the trades refused with the error each met.
 */
import { getAddress, type Log } from "ethers";
import { Amm__factory, ClearingHouse__factory } from "../../../typechain-types/index.js";
import { ErrorDecoder } from "../errors.js";
import { LogPager } from "../log-pager.js";
import type { MarketSample, MarketStats, StepSample } from "./run.js";
import type { World } from "./setup.js";

export const num = (x: bigint): number => Number(x) / 1e18;

export class Recorder {
  readonly stats: MarketStats[];
  readonly rejectedReasons = new Map<string, number>();
  readonly samples: StepSample[] = [];
  readonly #world: World;
  readonly #decoder = new ErrorDecoder();
  readonly #chIface = ClearingHouse__factory.createInterface();
  readonly #ammIface = Amm__factory.createInterface();
  readonly #marketIndex: Map<string, number>;
  readonly #gapSums: number[];
  readonly #clearingHouse: string;
  readonly #arbitrageur: string;
  readonly #events: LogPager;

  constructor(world: World, options: { clearingHouse: string; arbitrageur: string; startBlock: number }) {
    this.#world = world;
    const { markets, paths } = world;
    this.stats = markets.map((m, i) => ({
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
    this.#marketIndex = new Map(markets.map((m, i) => [m.address, i]));
    this.#gapSums = markets.map(() => 0);
    this.#clearingHouse = options.clearingHouse;
    this.#arbitrageur = options.arbitrageur;
    this.#events = new LogPager(world.ethers.provider, {
      address: [options.clearingHouse, ...markets.map((m) => m.address)],
      startBlock: options.startBlock + 1,
      blockRange: 5_000,
    });
  }

  /** Counts the events of the blocks mined since the last call. */
  async readEvents(): Promise<void> {
    await this.#events.readTo(await this.#world.ethers.provider.getBlockNumber(), (logs) => this.#count(logs));
  }

  /** Sends a trader's transaction on market `i`; a revert is counted, not thrown. */
  async attempt(i: number, send: () => Promise<{ wait: () => Promise<unknown> }>): Promise<boolean> {
    try {
      await (await send()).wait();
      return true;
    } catch (error) {
      const name = this.#decoder.decodeError(error)?.name;
      if (name === undefined) throw error;
      this.stats[i].rejected++;
      this.rejectedReasons.set(name, (this.rejectedReasons.get(name) ?? 0) + 1);
      return false;
    }
  }

  /** Records each market's index, mark, funding rate and open interest, and the insurance fund. */
  async sample(step: number): Promise<StepSample> {
    const { markets, paths, system, opts } = this.#world;
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
        this.#gapSums[i] += gap;
        this.stats[i].maxGapPct = Math.max(this.stats[i].maxGapPct, gap);
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
    const s = { step, hours: (step * opts.stepSeconds) / 3600, markets: ms, insuranceFund: num(insurance) };
    this.samples.push(s);
    return s;
  }

  /** Turns the summed mark-index gaps into means over `steps`. */
  finishGaps(steps: number): void {
    for (let i = 0; i < this.stats.length; i++) this.stats[i].meanGapPct = this.#gapSums[i] / Math.max(1, steps);
  }

  /** One range of logs: a transaction's logs all fall in one range, as a block never straddles two. */
  #count(logs: Log[]): void {
    const { stats } = this;
    const liquidationTxs = new Set<string>();
    for (const entry of logs) {
      if (entry.address !== this.#clearingHouse) continue;
      const parsed = this.#chIface.parseLog(entry);
      if (parsed?.name !== "PositionLiquidated") continue;
      liquidationTxs.add(entry.transactionHash);
      const s = stats[this.#marketIndex.get(getAddress(parsed.args.amm as string))!];
      s.liquidations++;
      if (parsed.args.full) s.fullLiquidations++;
      s.badDebt += num(parsed.args.badDebt as bigint);
      s.shortfall += num(parsed.args.shortfall as bigint);
    }
    for (const entry of logs) {
      const i = this.#marketIndex.get(entry.address);
      if (i !== undefined) {
        if (this.#ammIface.parseLog(entry)?.name === "FundingUpdated") stats[i].fundingUpdates++;
        continue;
      }
      const parsed = this.#chIface.parseLog(entry);
      if (parsed?.name !== "PositionChanged") continue;
      const s = stats[this.#marketIndex.get(getAddress(parsed.args.amm as string))!];
      if (!liquidationTxs.has(entry.transactionHash)) {
        s.trades++;
        if (getAddress(parsed.args.trader as string) === this.#arbitrageur) s.arbTrades++;
      }
      s.volume += num(parsed.args.quoteAmount as bigint);
      s.fees += num(parsed.args.fee as bigint);
      const funding = num(parsed.args.fundingPayment as bigint);
      if (funding > 0) s.fundingPaid += funding;
      else s.fundingReceived -= funding;
    }
  }
}
