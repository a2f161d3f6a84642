/**
 * The funding keeper: closes each market's funding window once its last funding update is older
 * than KEEPER_INTERVAL, by calling `ClearingHouse.updateFunding(amm)`, which anyone may call. Each
 * update is simulated first and not sent if it would revert; sends are sequential from one signer
 * with nonces the keeper assigns, so a resent transaction cannot be doubled.
 *
 * scripts/keepers/funding.ts runs it; tests drive `FundingKeeper.tick()` directly.
 */
import type { TransactionReceipt } from "ethers";
import { formatEther } from "ethers";
import {
  Amm__factory,
  ClearingHouse__factory,
  IAmm__factory,
  IPriceFeed__factory,
  Vault__factory,
} from "../../typechain-types/index.js";
import { formatWad, WAD } from "./fixed.js";
import { KeeperBase, type KeeperBaseOptions } from "./keeper/base.js";
import { pendingTimestamp } from "./keeper/chain.js";
import {
  type Env,
  EnvReader,
  type KeeperBaseConfig,
  type MarketsConfig,
  readKeeperBaseConfig,
  readMarketsConfig,
} from "./keeper/config.js";
import { errorMessage } from "./keeper/errors.js";
import { MarketList } from "./keeper/markets.js";

export interface FundingKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** Update a market once its last funding update is this old (seconds). */
  intervalSeconds: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readFundingKeeperConfig(env: Env): FundingKeeperConfig {
  const reader = new EnvReader(env);
  const markets = readMarketsConfig(reader);
  // The Amm's own bounds on a funding window: 60 s to 1 day.
  const intervalSeconds = reader.integer("KEEPER_INTERVAL", 900, { min: 60, max: 86_400, unit: "seconds" });
  const config = { ...markets, intervalSeconds, ...readKeeperBaseConfig(reader) };
  reader.finish();
  return config;
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
  | { market: string; status: "skipped"; reason: string }
  | {
      market: string;
      status: "updated";
      txHash: string;
      gasUsed: bigint;
      funding?: FundingUpdate;
      /** The curve's repeg and depth change, in the order the update made them (none on a static curve). */
      curveMoves: CurveMove[];
    }
  | { market: string; status: "failed"; error: string };

/** "repeg 1 -> 1.0123 (cost 12.5, budget 2,687.5)". */
export function describeCurveMove(m: CurveMove): string {
  return (
    `${m.kind} ${formatWad(m.before, 6)} -> ${formatWad(m.after, 6)} ` +
    `(cost ${formatWad(m.cost, 6)}, budget ${formatWad(m.budgetAfter, 6)})`
  );
}

export interface FundingKeeperOptions extends KeeperBaseOptions {
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

export class FundingKeeper extends KeeperBase {
  readonly #config: FundingKeeperOptions["config"];
  readonly #markets: MarketList;
  readonly #ammEvents = IAmm__factory.createInterface();
  /** Markets whose parameters were checked against the configuration. */
  readonly #checked = new Set<string>();
  #lastIdle = "";

  constructor(options: FundingKeeperOptions) {
    super(options);
    this.#config = options.config;
    this.#markets = new MarketList(this.clearingHouse, { ...options.config, retry: this.retry, names: this.names });
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const { clearingHouse, markets, intervalSeconds, startBlock } = this.#config;
    const { chainId, from, balance, paused } = await this.checkStart();
    if (paused) this.logger.warn("the ClearingHouse is paused: funding updates set a zero premium");
    this.logger.info(
      `started on chain ${chainId}: ClearingHouse ${clearingHouse}, signer ${from} ` +
        `(balance ${formatEther(balance)}), interval ${intervalSeconds} s, ` +
        (markets ? `markets ${markets.join(", ")}` : `markets listed from block ${startBlock}`),
    );
  }

  /** Updates every market that is due, one after the other; returns what it did with each. */
  async tick(): Promise<MarketOutcome[]> {
    const markets = await this.#markets.refresh();
    const now = await pendingTimestamp(this.provider, this.retry);
    // Re-read the nonce each tick, so anything sent from this account meanwhile is accounted for.
    this.tx.resync();
    const outcomes: MarketOutcome[] = [];
    for (const market of markets) outcomes.push(await this.#serve(market, now));
    await this.#logIdle(outcomes);
    return outcomes;
  }

  async #serve(market: string, now: number): Promise<MarketOutcome> {
    const name = await this.names.of(market);
    try {
      const amm = IAmm__factory.connect(market, this.provider);
      const state = await this.call(`getFundingState(${market})`, () => amm.getFundingState());
      this.#checkParams(market, name, state.params);
      const dueAt = Number(state.updatedAt) + this.#config.intervalSeconds;
      if (now < dueAt) return { market, status: "not-due", dueAt };

      // "pending": the state and timestamp the transaction will meet, not the last block's.
      const reason = await this.simulate(`updateFunding(${market})`, () =>
        this.clearingHouse.updateFunding.staticCall(market, { blockTag: "pending" }),
      );
      if (reason !== undefined) return this.#skip(market, name, reason);
      return await this.#send(market, name);
    } catch (error) {
      const message = errorMessage(error);
      this.logger.error(`failed ${name}: ${message}`);
      return { market, status: "failed", error: message };
    }
  }

  #skip(market: string, name: string, reason: string): MarketOutcome {
    this.logger.warn(`skipped ${name}: updateFunding would revert with ${reason}; not sent`);
    return { market, status: "skipped", reason };
  }

  async #send(market: string, name: string): Promise<MarketOutcome> {
    const sent = await this.send(`updateFunding(${market})`, (nonce) =>
      this.clearingHouse.updateFunding(market, { nonce }),
    );
    if ("reason" in sent) return this.#skip(market, name, sent.reason);
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

  /** One line when nothing was due, and only when the next due market or time changed. */
  async #logIdle(outcomes: readonly MarketOutcome[]): Promise<void> {
    if (outcomes.some((o) => o.status !== "not-due")) {
      this.#lastIdle = "";
      return;
    }
    const next = outcomes
      .flatMap((o) => (o.status === "not-due" ? [o] : []))
      .reduce<{ market: string; dueAt: number } | undefined>((a, o) => (a && a.dueAt <= o.dueAt ? a : o), undefined);
    const line = next
      ? `idle: ${outcomes.length} market(s); next due: ${await this.names.of(next.market)} at ${new Date(next.dueAt * 1000).toISOString()}`
      : "idle: no markets";
    if (line !== this.#lastIdle) this.logger.info(line);
    this.#lastIdle = line;
  }
}
