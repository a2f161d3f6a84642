/**
 * The funding keeper: closes each market's funding window once its last funding update is older
 * than KEEPER_INTERVAL, by calling `ClearingHouse.updateFunding(amm)`, which anyone may call. Each
 * update is simulated first and not sent if it would revert; sends are sequential from one signer
 * with nonces the keeper assigns, so a resent transaction cannot be doubled.
 *
 * scripts/keepers/funding.ts runs it; tests drive `FundingKeeper.tick()` directly.
 */
import type { TransactionReceipt } from "ethers";
import { IAmm__factory } from "../../typechain-types/index.js";
import { formatWad, WAD } from "./fixed.js";
import { pendingTimestamp } from "./keeper/chain.js";
import { type Env, type KeeperBaseConfig, type MarketsConfig, readKeeperConfig } from "./keeper/config.js";
import {
  MarketKeeper,
  type MarketFailed,
  type MarketKeeperOptions,
  type MarketSkipped,
} from "./keeper/market-keeper.js";

export interface FundingKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** Update a market once its last funding update is this old (seconds). */
  intervalSeconds: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readFundingKeeperConfig(env: Env): FundingKeeperConfig {
  return readKeeperConfig(env, (reader) => ({
    // The Amm's own bounds on a funding window: 60 s to 1 day.
    intervalSeconds: reader.integer("KEEPER_INTERVAL", 900, { min: 60, max: 86_400, unit: "seconds" }),
  }));
}

/** The FundingUpdated event's fields. */
export interface FundingUpdate {
  premium: bigint;
  markTwap: bigint;
  indexTwap: bigint;
  longIndex: bigint;
  shortIndex: bigint;
  insuranceFlow: bigint;
}

/**
 * A move of the dynamic curve an update made (the Amm's Repegged or DepthChanged event): the peg or
 * depth before and after (1 = launch), its signed cost to the budget and the budget after.
 */
export interface CurveMove {
  kind: "repeg" | "depth";
  before: bigint;
  after: bigint;
  cost: bigint;
  budgetAfter: bigint;
}

/** What one tick did with one market. */
export type MarketOutcome =
  | { market: string; status: "not-due"; dueAt: number }
  | MarketSkipped
  | {
      market: string;
      status: "updated";
      txHash: string;
      gasUsed: bigint;
      funding?: FundingUpdate;
      /** The curve's repeg and depth change, in the order the update made them (none on a static curve). */
      curveMoves: CurveMove[];
    }
  | MarketFailed;

/** "repeg 1 -> 1.0123 (cost 12.5, budget 2,687.5)". */
export function describeCurveMove(m: CurveMove): string {
  return (
    `${m.kind} ${formatWad(m.before, 6)} -> ${formatWad(m.after, 6)} ` +
    `(cost ${formatWad(m.cost, 6)}, budget ${formatWad(m.budgetAfter, 6)})`
  );
}

export interface FundingKeeperOptions extends MarketKeeperOptions {
  config: Omit<FundingKeeperConfig, "privateKey" | "once">;
}

/** The premium as a fraction of the index TWAP per day (18 decimals); undefined without an index. */
export function fundingRatePerDay(premium: bigint, indexTwap: bigint): bigint | undefined {
  return indexTwap === 0n ? undefined : (premium * WAD) / indexTwap;
}

function describeFunding(f: FundingUpdate): string {
  const rate = fundingRatePerDay(f.premium, f.indexTwap);
  // TWAPs of 0: no premium could be set (no valid index over the whole window, or paused).
  if (rate === undefined) return `premium=0 (no index over the window)`;
  const payer = f.premium > 0n ? "longs pay" : f.premium < 0n ? "shorts pay" : "none pays";
  return (
    `premium=${formatWad(f.premium, 6)} rate=${formatWad(rate * 100n, 4)}%/day (${payer}) ` +
    `markTwap=${formatWad(f.markTwap, 6)} indexTwap=${formatWad(f.indexTwap, 6)}`
  );
}

export class FundingKeeper extends MarketKeeper<MarketOutcome> {
  readonly #config: FundingKeeperOptions["config"];
  readonly #ammEvents = IAmm__factory.createInterface();
  /** Markets whose parameters were checked against the configuration. */
  readonly #checked = new Set<string>();
  /** The pending block's time, read once per tick. */
  #now = 0;

  constructor(options: FundingKeeperOptions) {
    super(options);
    this.#config = options.config;
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const started = await this.checkStart();
    if (started.paused) this.logger.warn("the ClearingHouse is paused: funding updates set a zero premium");
    this.logStarted(started, {
      settings: `interval ${this.#config.intervalSeconds} s`,
      markets: this.marketsServed,
    });
  }

  protected async prepareTick(): Promise<void> {
    this.#now = await pendingTimestamp(this.provider, this.retry);
  }

  /** Updates the market's funding if it is due. */
  protected async serve(market: string, name: string): Promise<MarketOutcome> {
    const amm = IAmm__factory.connect(market, this.provider);
    const state = await this.call(`getFundingState(${market})`, () => amm.getFundingState());
    this.#checkParams(market, name, state.params);
    const dueAt = Number(state.updatedAt) + this.#config.intervalSeconds;
    if (this.#now < dueAt) return { market, status: "not-due", dueAt };

    // "pending": the state and timestamp the transaction will meet, not the last block's.
    const reason = await this.simulate(`updateFunding(${market})`, () =>
      this.clearingHouse.updateFunding.staticCall(market, { blockTag: "pending" }),
    );
    if (reason !== undefined) return this.skipped(market, name, "updateFunding", reason);
    return await this.#send(market, name);
  }

  async #send(market: string, name: string): Promise<MarketOutcome> {
    const sent = await this.send(`updateFunding(${market})`, (nonce) =>
      this.clearingHouse.updateFunding(market, { nonce }),
    );
    if ("reason" in sent) return this.skipped(market, name, "updateFunding", sent.reason);
    const hash = sent.hash;
    const receipt = await this.tx.confirm(hash);
    const funding = this.#fundingUpdated(receipt, market);
    const curveMoves = this.#curveMoves(receipt, market);
    this.logger.info(
      `updated ${name} tx=${hash} gas=${receipt.gasUsed} ` +
        (funding ? describeFunding(funding) : "(no FundingUpdated event in the receipt)") +
        curveMoves.map((m) => `; ${describeCurveMove(m)}`).join(""),
    );
    return { market, status: "updated", txHash: hash, gasUsed: receipt.gasUsed, funding, curveMoves };
  }

  /** The dynamic curve's moves in an update's receipt (Repegged, DepthChanged), in order. */
  #curveMoves(receipt: TransactionReceipt, market: string): CurveMove[] {
    const moves: CurveMove[] = [];
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== market.toLowerCase()) continue;
      const parsed = this.#ammEvents.parseLog(log);
      if (parsed?.name === "Repegged")
        moves.push({
          kind: "repeg",
          before: parsed.args.oldPeg,
          after: parsed.args.newPeg,
          cost: parsed.args.cost,
          budgetAfter: parsed.args.budgetAfter,
        });
      else if (parsed?.name === "DepthChanged")
        moves.push({
          kind: "depth",
          before: parsed.args.oldDepth,
          after: parsed.args.newDepth,
          cost: parsed.args.cost,
          budgetAfter: parsed.args.budgetAfter,
        });
    }
    return moves;
  }

  #fundingUpdated(receipt: TransactionReceipt, market: string): FundingUpdate | undefined {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== market.toLowerCase()) continue;
      const parsed = this.#ammEvents.parseLog(log);
      if (parsed?.name !== "FundingUpdated") continue;
      const [premium, markTwap, indexTwap, longIndex, shortIndex, insuranceFlow] = parsed.args as unknown as bigint[];
      return { premium, markTwap, indexTwap, longIndex, shortIndex, insuranceFlow };
    }
    return undefined;
  }

  /** Warns, once per market, about settings that cannot work with its funding parameters. */
  #checkParams(market: string, name: string, params: { minUpdateInterval: bigint; maxAccrualPeriod: bigint }): void {
    if (this.#checked.has(market)) return;
    this.#checked.add(market);
    const { intervalSeconds, pollSeconds } = this.#config;
    if (intervalSeconds < params.minUpdateInterval) {
      this.logger.warn(
        `${name}: KEEPER_INTERVAL ${intervalSeconds} s is below its minUpdateInterval ` +
          `${params.minUpdateInterval} s: earlier updates revert, and are simulated and skipped`,
      );
    }
    // Funding accrues for at most maxAccrualPeriod after an update: a slower keeper stops it.
    if (intervalSeconds + pollSeconds > params.maxAccrualPeriod) {
      this.logger.warn(
        `${name}: KEEPER_INTERVAL + KEEPER_POLL (${intervalSeconds + pollSeconds} s) exceed its ` +
          `maxAccrualPeriod ${params.maxAccrualPeriod} s: funding will stop between updates`,
      );
    }
  }

  /** The line when nothing was due: the next due market and time. */
  protected async idleLine(outcomes: readonly MarketOutcome[]): Promise<string | undefined> {
    if (outcomes.some((o) => o.status !== "not-due")) return undefined;
    const next = outcomes
      .flatMap((o) => (o.status === "not-due" ? [o] : []))
      .reduce<{ market: string; dueAt: number } | undefined>((a, o) => (a && a.dueAt <= o.dueAt ? a : o), undefined);
    return next
      ? `idle: ${outcomes.length} market(s); next due: ${await this.names.of(next.market)} at ${new Date(next.dueAt * 1000).toISOString()}`
      : "idle: no markets";
  }
}
