/**
 * The simulation's bookkeeping: per-market counts from the chain's events, one sample of prices,
 * funding, open interest, liquidations and the insurance fund per step, the insurance fund's flows
 * by kind (to the wei), and the trades refused with the error each met.
 */
import { getAddress, type Log } from "ethers";
import { Amm__factory, ClearingHouse__factory, Vault__factory } from "../../../typechain-types/index.js";
import { ErrorDecoder } from "../errors.js";
import { LogPager } from "../log-pager.js";
import { readCurveState } from "./curve.js";
import type { ClaimLedger, FundFlows, MarketSample, MarketStats, StepSample } from "./run.js";
import type { World } from "./setup.js";

export const num = (x: bigint): number => Number(x) / 1e18;

/** What the records held at one sample: the fund, its flows so far and each market's counts. */
export interface Snapshot {
  step: number;
  insuranceFund: bigint;
  flows: FundFlows;
  stats: MarketStats[];
}

const noFlows = (): FundFlows => ({ fees: 0n, penalties: 0n, badDebtCovered: 0n, rewards: 0n, funding: 0n });

/**
 * The fund's flows from `a` to `b`. The Vault emits no event for the fund's share of funding
 * accrued inside a trade or a liquidation, so that kind is the fund's change less the kinds the
 * events name (fees, penalties, bad debt covered, liquidator rewards the fund paid).
 */
export function flowsBetween(a: Snapshot, b: Snapshot): FundFlows {
  const f: FundFlows = {
    fees: b.flows.fees - a.flows.fees,
    penalties: b.flows.penalties - a.flows.penalties,
    badDebtCovered: b.flows.badDebtCovered - a.flows.badDebtCovered,
    rewards: b.flows.rewards - a.flows.rewards,
    funding: 0n,
  };
  f.funding = b.insuranceFund - a.insuranceFund - (f.fees + f.penalties - f.badDebtCovered - f.rewards);
  return f;
}

export class Recorder {
  readonly stats: MarketStats[];
  readonly rejectedReasons = new Map<string, number>();
  readonly samples: StepSample[] = [];
  /** Each market's claims to the wei, from the Vault's ClaimQueued and ClaimPaid events. */
  readonly claims: ClaimLedger[];
  /** Per market, the liquidations' bad debt charged to the market (18 decimals, exact). */
  readonly chargedToMarket: bigint[];
  /** The fund's flows named by events, cumulative since the bots started (`funding` stays 0 here). */
  readonly flows: FundFlows = noFlows();
  /** The records at the first and at the latest sample. */
  first: Snapshot | undefined;
  last: Snapshot | undefined;
  readonly #world: World;
  readonly #decoder = new ErrorDecoder();
  readonly #chIface = ClearingHouse__factory.createInterface();
  readonly #ammIface = Amm__factory.createInterface();
  readonly #vaultIface = Vault__factory.createInterface();
  readonly #vault: string;
  readonly #marketIndex: Map<string, number>;
  readonly #gapSums: number[];
  readonly #clearingHouse: string;
  readonly #arbitrageur: string;
  readonly #events: LogPager;

  constructor(
    world: World,
    options: { clearingHouse: string; vault: string; arbitrageur: string; startBlock: number },
  ) {
    this.#world = world;
    const { markets, paths } = world;
    this.stats = markets.map((m, i) => ({
      symbol: m.symbol,
      trades: 0,
      arbTrades: 0,
      rejected: 0,
      volume: 0,
      fees: 0,
      spread: 0,
      fundingPaid: 0,
      fundingReceived: 0,
      fundingUpdates: 0,
      liquidations: 0,
      fullLiquidations: 0,
      badDebt: 0,
      chargedToMarket: 0,
      shortfall: 0,
      claimsQueued: 0,
      claimsQueuedAmount: 0,
      claimsPaidAmount: 0,
      meanGapPct: 0,
      maxGapPct: 0,
      crashDepthPct: paths.crashDepth[i] * 100,
    }));
    this.claims = markets.map(() => ({ queued: 0n, paid: 0n, count: 0 }));
    this.chargedToMarket = markets.map(() => 0n);
    this.#marketIndex = new Map(markets.map((m, i) => [m.address, i]));
    this.#vault = options.vault;
    this.#gapSums = markets.map(() => 0);
    this.#clearingHouse = options.clearingHouse;
    this.#arbitrageur = options.arbitrageur;
    this.#events = new LogPager(world.ethers.provider, {
      address: [options.clearingHouse, options.vault, ...markets.map((m) => m.address)],
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

  /**
   * Records each market's index, mark and gap, funding rate, open interest (the arbitrage bot's
   * apart), the counts so far (liquidations, bad debt, funding), its claims pending, and the
   * insurance fund with its share of funding so far.
   */
  async sample(step: number): Promise<StepSample> {
    const { markets, paths, system, opts } = this.#world;
    const ch = system.clearingHouse;
    const ms: MarketSample[] = [];
    for (const [i, m] of markets.entries()) {
      const [spot, oi, funding, arb, money] = await Promise.all([
        m.amm.getSpotPrice(),
        m.amm.getOpenInterest(),
        m.amm.getFundingState(),
        ch.getPosition(m.address, this.#arbitrageur),
        system.vault.marketBalances(m.address),
      ]);
      const curve = opts.curve === "dynamic" ? await readCurveState(m.amm) : undefined;
      const index = paths.prices[i][step];
      const mark = num(spot);
      const gapPct = (mark / index - 1) * 100;
      if (step > 0) {
        this.#gapSums[i] += Math.abs(gapPct);
        this.stats[i].maxGapPct = Math.max(this.stats[i].maxGapPct, Math.abs(gapPct));
      }
      const st = this.stats[i];
      ms.push({
        index,
        mark,
        gapPct,
        fundingRatePct: (num(funding[0]) / index) * 100,
        longOI: num(oi[0]),
        shortOI: num(oi[1]),
        arbLongOI: arb.size > 0n ? num(arb.size) : 0,
        arbShortOI: arb.size < 0n ? num(-arb.size) : 0,
        liquidations: st.liquidations,
        badDebt: st.badDebt,
        fundingPaid: st.fundingPaid,
        fundingReceived: st.fundingReceived,
        claimsPending: num(money.claims),
        ...(curve === undefined ? {} : { peg: curve.peg, depth: curve.depth, budget: curve.budget }),
      });
    }
    const [, insurance] = await system.vault.getPoolBalances();
    const snapshot: Snapshot = {
      step,
      insuranceFund: insurance,
      flows: { ...this.flows },
      stats: this.stats.map((x) => ({ ...x })),
    };
    this.first ??= snapshot;
    this.last = snapshot;
    const s: StepSample = {
      step,
      hours: (step * opts.stepSeconds) / 3600,
      markets: ms,
      insuranceFund: num(insurance),
      insuranceFundWei: insurance,
      insuranceFunding: num(flowsBetween(this.first, snapshot).funding),
    };
    this.samples.push(s);
    return s;
  }

  /** The records now, read after the last sample (the fund as `insuranceFund`). */
  now(insuranceFund: bigint): Snapshot {
    return { step: -1, insuranceFund, flows: { ...this.flows }, stats: this.stats.map((x) => ({ ...x })) };
  }

  /** Turns the summed mark-index gaps into means over `steps`. */
  finishGaps(steps: number): void {
    for (let i = 0; i < this.stats.length; i++) this.stats[i].meanGapPct = this.#gapSums[i] / Math.max(1, steps);
  }

  /** A ClaimQueued or ClaimPaid of the Vault, on its market's ledger (other Vault events are not counted). */
  #countClaim(entry: Log): void {
    const parsed = this.#vaultIface.parseLog(entry);
    if (parsed?.name !== "ClaimQueued" && parsed?.name !== "ClaimPaid") return;
    const i = this.#marketIndex.get(getAddress(parsed.args.market as string))!;
    const amount = parsed.args.amount as bigint;
    if (parsed.name === "ClaimQueued") {
      this.claims[i].queued += amount;
      this.claims[i].count++;
      this.stats[i].claimsQueued++;
      this.stats[i].claimsQueuedAmount += num(amount);
    } else {
      this.claims[i].paid += amount;
      this.stats[i].claimsPaidAmount += num(amount);
    }
  }

  /** One range of logs: a transaction's logs all fall in one range, as a block never straddles two. */
  #count(logs: Log[]): void {
    const { stats } = this;
    const liquidationTxs = new Set<string>();
    // Bad debt beyond what the fair price shows is the market's, not the fund's: by transaction.
    const charged = new Map<string, bigint>();
    for (const entry of logs) {
      if (entry.address !== this.#clearingHouse) continue;
      const parsed = this.#chIface.parseLog(entry);
      if (parsed?.name !== "BadDebtChargedToMarket") continue;
      const amount = parsed.args.amount as bigint;
      charged.set(entry.transactionHash, (charged.get(entry.transactionHash) ?? 0n) + amount);
      const i = this.#marketIndex.get(getAddress(parsed.args.amm as string))!;
      this.chargedToMarket[i] += amount;
      stats[i].chargedToMarket += num(amount);
    }
    // Bad debt a dynamic curve's AMM budget paid before the fund (the Amm's BudgetSpentOnBadDebt).
    const fromBudget = new Map<string, bigint>();
    for (const entry of logs) {
      if (!this.#marketIndex.has(entry.address)) continue;
      const parsed = this.#ammIface.parseLog(entry);
      if (parsed?.name !== "BudgetSpentOnBadDebt") continue;
      const amount = parsed.args.amount as bigint;
      fromBudget.set(entry.transactionHash, (fromBudget.get(entry.transactionHash) ?? 0n) + amount);
    }
    for (const entry of logs) {
      if (entry.address !== this.#clearingHouse) continue;
      const parsed = this.#chIface.parseLog(entry);
      if (parsed?.name !== "PositionLiquidated") continue;
      liquidationTxs.add(entry.transactionHash);
      const s = stats[this.#marketIndex.get(getAddress(parsed.args.amm as string))!];
      s.liquidations++;
      if (parsed.args.full) s.fullLiquidations++;
      const badDebt = parsed.args.badDebt as bigint;
      s.badDebt += num(badDebt);
      s.shortfall += num(parsed.args.shortfall as bigint);
      this.flows.penalties += parsed.args.insurancePenalty as bigint;
      const toMarket = charged.get(entry.transactionHash) ?? 0n;
      // The budget's spend (BudgetSpentOnBadDebt) paid the fair bad debt first, then the reward.
      const budgetPaid = fromBudget.get(entry.transactionHash) ?? 0n;
      const fair = badDebt - toMarket;
      const budgetForDebt = budgetPaid < fair ? budgetPaid : fair;
      this.flows.badDebtCovered += fair - (parsed.args.shortfall as bigint) - budgetForDebt;
      // With bad debt the fund pays the liquidator's reward too (LiquidationMath.split), only when
      // the fair price shows bad debt as well, beyond what the budget paid of it.
      if (badDebt > toMarket)
        this.flows.rewards += (parsed.args.liquidatorReward as bigint) - (budgetPaid - budgetForDebt);
    }
    // A dynamic curve's spread: PositionChanged's `fee` includes it, but it goes to the market's
    // AMM budget, not to the fund (the Amm's SpreadCharged, by transaction).
    const spreads = new Map<string, bigint>();
    for (const entry of logs) {
      const i = this.#marketIndex.get(entry.address);
      if (i === undefined) continue;
      const parsed = this.#ammIface.parseLog(entry);
      if (parsed?.name === "FundingUpdated") stats[i].fundingUpdates++;
      if (parsed?.name !== "SpreadCharged") continue;
      const spread = parsed.args.spreadFee as bigint;
      spreads.set(entry.transactionHash, (spreads.get(entry.transactionHash) ?? 0n) + spread);
      stats[i].spread += num(spread);
    }
    for (const entry of logs) {
      if (entry.address === this.#vault) {
        this.#countClaim(entry);
        continue;
      }
      if (this.#marketIndex.has(entry.address)) continue;
      const parsed = this.#chIface.parseLog(entry);
      if (parsed?.name !== "PositionChanged") continue;
      const s = stats[this.#marketIndex.get(getAddress(parsed.args.amm as string))!];
      const fee = (parsed.args.fee as bigint) - (spreads.get(entry.transactionHash) ?? 0n);
      if (!liquidationTxs.has(entry.transactionHash)) {
        // A liquidation's penalty, not a fee, goes to the fund.
        this.flows.fees += fee;
        s.trades++;
        if (getAddress(parsed.args.trader as string) === this.#arbitrageur) s.arbTrades++;
      }
      s.volume += num(parsed.args.quoteAmount as bigint);
      s.fees += num(fee);
      const funding = num(parsed.args.fundingPayment as bigint);
      if (funding > 0) s.fundingPaid += funding;
      else s.fundingReceived -= funding;
    }
  }
}
