/**
 * The liquidation keeper: follows every open position from the ClearingHouse's PositionChanged
 * events (from START_BLOCK, then only the new blocks each tick), reads them through the
 * ClearingHouseViewer in batches (one eth_call per BATCH_SIZE positions, never one per position),
 * and liquidates what is liquidatable with `liquidateWithLimit`, bounded by the viewer's preview of
 * the close less SLIPPAGE_BPS. Each liquidation is simulated first and not sent if it would revert;
 * a position is left alone for COOLDOWN seconds after an attempt; sends are sequential from one
 * signer with nonces the keeper assigns (see TxSender in keeper.ts).
 *
 * scripts/keepers/liquidation.ts runs it; tests and the benchmark drive `tick()` or `scan()`.
 */
import { getAddress, type Provider, type TransactionReceipt } from "ethers";
import {
  IClearingHouse__factory,
  IClearingHouseViewer__factory,
  type IClearingHouseViewer,
} from "../../typechain-types/index.js";
import { formatWad } from "./fixed.js";
import { LogPager } from "./log-pager.js";
import { KeeperBase, type KeeperBaseOptions } from "./keeper/base.js";
import { pendingTimestamp } from "./keeper/chain.js";
import { ConfigError, type Env, type KeeperBaseConfig, type MarketsConfig, readKeeperConfig } from "./keeper/config.js";
import type { RetryOptions } from "./keeper/retry.js";

export interface LiquidationKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** The ClearingHouseViewer the positions are read through. */
  viewer: string;
  /** Positions per viewer call. */
  batchSize: number;
  /** Seconds (chain time) a position is left alone after an attempt to liquidate it. */
  cooldownSeconds: number;
  /** How much worse than the viewer's preview the close may execute, in basis points. */
  slippageBps: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readLiquidationKeeperConfig(env: Env): LiquidationKeeperConfig {
  return readKeeperConfig(env, (reader) => ({
    viewer: reader.address("VIEWER", { required: true }),
    batchSize: reader.integer("BATCH_SIZE", 250, { min: 1, max: 5_000, unit: "positions" }),
    cooldownSeconds: reader.integer("COOLDOWN", 60, { min: 0, max: 86_400, unit: "seconds" }),
    slippageBps: reader.integer("SLIPPAGE_BPS", 100, { min: 0, max: 5_000, unit: "basis points" }),
  }));
}

/** One position the keeper follows. */
export interface PositionKey {
  amm: string;
  trader: string;
}

/** The viewer's figures for one position (see IClearingHouseViewer.PositionView). */
export type PositionView = Awaited<ReturnType<IClearingHouseViewer["getPositions"]>>[number];

/** The PositionLiquidated event's fields. */
export interface Liquidated {
  baseClosed: bigint;
  quoteClosed: bigint;
  liquidatorReward: bigint;
  insurancePenalty: bigint;
  badDebt: bigint;
  shortfall: bigint;
  full: boolean;
}

/** What one tick did with one liquidatable position. */
export type LiquidationOutcome = PositionKey &
  (
    | { status: "cooling"; until: number }
    | { status: "skipped"; reason: string }
    | { status: "liquidated"; txHash: string; gasUsed: bigint; quoteLimit: bigint; liquidation?: Liquidated }
    | { status: "failed"; error: string }
  );

/** What one scan found. */
export interface Scan {
  /** Positions followed (open as of the last block read). */
  positions: number;
  /** Viewer calls made. */
  batches: number;
  /** The block the scan read. */
  blockNumber: number;
  /** The liquidatable positions with the viewer's figures. */
  liquidatable: Array<PositionKey & { view: PositionView }>;
}

export interface LiquidationKeeperOptions extends KeeperBaseOptions {
  config: Omit<LiquidationKeeperConfig, "privateKey" | "once">;
}

const BPS = 10_000n;

/** The quote bound for a close the viewer previewed: a long's close receives at least, a short's pays at most. */
export function quoteLimitFor(size: bigint, closeQuote: bigint, slippageBps: number): bigint {
  const bps = BigInt(slippageBps);
  if (size > 0n) return (closeQuote * (BPS - bps)) / BPS;
  return (closeQuote * (BPS + bps) + BPS - 1n) / BPS;
}

const keyOf = (amm: string, trader: string): string => `${amm}:${trader}`;

/**
 * The open positions, from PositionChanged events: the event carries the position's new size, so
 * the last one seen for a (market, trader) says whether it is open. Logs are read in bounded block
 * ranges and resume where the last successful read stopped.
 */
export class PositionBook {
  readonly #markets?: ReadonlySet<string>;
  readonly #iface = IClearingHouse__factory.createInterface();
  readonly #pager: LogPager;
  /** Open positions by "amm:trader", in the order first seen. */
  readonly #open = new Map<string, PositionKey>();

  constructor(
    provider: Provider,
    options: {
      clearingHouse: string;
      markets?: readonly string[];
      startBlock: number;
      logBlockRange: number;
      retry: RetryOptions;
    },
  ) {
    this.#markets = options.markets ? new Set(options.markets) : undefined;
    this.#pager = new LogPager(provider, {
      address: options.clearingHouse,
      topics: [this.#iface.getEvent("PositionChanged").topicHash],
      startBlock: options.startBlock,
      blockRange: options.logBlockRange,
      what: "PositionChanged logs",
      retry: options.retry,
    });
  }

  /** The next block to read. */
  get nextBlock(): number {
    return this.#pager.nextBlock;
  }

  /** Reads the events of the blocks not yet read, up to `latest`; returns the open positions, grouped by market. */
  async refresh(latest: number): Promise<PositionKey[]> {
    await this.#pager.readTo(latest, (logs) => {
      for (const log of logs) {
        const parsed = this.#iface.parseLog(log);
        if (parsed === null) continue;
        const trader = getAddress(parsed.args.trader as string);
        const amm = getAddress(parsed.args.amm as string);
        if (this.#markets && !this.#markets.has(amm)) continue;
        const key = keyOf(amm, trader);
        if ((parsed.args.size as bigint) === 0n) this.#open.delete(key);
        else if (!this.#open.has(key)) this.#open.set(key, { amm, trader });
      }
    });
    // Grouped by market: the viewer reads a market's shared figures once per run of its pairs.
    return [...this.#open.values()].sort((a, b) => (a.amm < b.amm ? -1 : a.amm > b.amm ? 1 : 0));
  }
}

export class LiquidationKeeper extends KeeperBase {
  readonly #viewer: IClearingHouseViewer;
  readonly #config: LiquidationKeeperOptions["config"];
  readonly #book: PositionBook;
  readonly #chEvents = IClearingHouse__factory.createInterface();
  /** Chain time until which a position is left alone, by "amm:trader". */
  readonly #cooldowns = new Map<string, number>();

  constructor(options: LiquidationKeeperOptions) {
    super(options);
    this.#config = options.config;
    this.#viewer = IClearingHouseViewer__factory.connect(options.config.viewer, this.provider);
    this.#book = new PositionBook(this.provider, { ...options.config, retry: this.retry });
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const { clearingHouse, viewer, markets, startBlock, batchSize, cooldownSeconds, slippageBps } = this.#config;
    const started = await this.checkStart();
    let reads: string;
    try {
      reads = await this.call("viewer clearingHouse()", () => this.#viewer.clearingHouse());
    } catch (error) {
      if (this.decoder.describe(error) === undefined) throw error;
      throw new ConfigError([`VIEWER: ${viewer} does not answer clearingHouse(): not a ClearingHouseViewer?`]);
    }
    if (getAddress(reads) !== clearingHouse) {
      throw new ConfigError([`VIEWER: ${viewer} reads the ClearingHouse ${reads}, not ${clearingHouse}`]);
    }
    if (started.paused) this.logger.warn("the ClearingHouse is paused: nothing can be liquidated until it resumes");
    this.logStarted(started, {
      contracts: `viewer ${viewer}`,
      settings: `batch ${batchSize}, cooldown ${cooldownSeconds} s, slippage ${slippageBps} bps`,
      markets: (markets ? `markets ${markets.join(", ")}` : "every market") + `, positions from block ${startBlock}`,
    });
  }

  /**
   * Reads the new PositionChanged events and every open position through the viewer, in batches:
   * one eth_blockNumber, one eth_getLogs per KEEPER_LOG_BLOCK_RANGE new blocks, one eth_call per
   * BATCH_SIZE positions, all at the same block.
   */
  async scan(): Promise<Scan> {
    const blockNumber = await this.call("eth_blockNumber", () => this.provider.getBlockNumber());
    const positions = await this.#book.refresh(blockNumber);
    const liquidatable: Scan["liquidatable"] = [];
    const { batchSize } = this.#config;
    let batches = 0;
    for (let i = 0; i < positions.length; i += batchSize) {
      const batch = positions.slice(i, i + batchSize);
      const views = await this.call(`viewer batch ${i}..${i + batch.length - 1} at block ${blockNumber}`, () =>
        this.#viewer.getPositions(
          batch.map((p) => p.amm),
          batch.map((p) => p.trader),
          { blockTag: blockNumber },
        ),
      );
      batches++;
      for (const [j, view] of views.entries()) {
        if (view.liquidatable) liquidatable.push({ ...batch[j], view });
      }
    }
    return { positions: positions.length, batches, blockNumber, liquidatable };
  }

  /** One scan, then each liquidatable position not cooling down, one after the other. */
  async tick(): Promise<{ scan: Scan; outcomes: LiquidationOutcome[] }> {
    const scan = await this.scan();
    const outcomes: LiquidationOutcome[] = [];
    if (scan.liquidatable.length > 0) {
      const now = await pendingTimestamp(this.provider, this.retry);
      // Re-read the nonce each tick, so anything sent from this account meanwhile is accounted for.
      this.tx.resync();
      for (const [key, until] of this.#cooldowns) if (until <= now) this.#cooldowns.delete(key);
      for (const position of scan.liquidatable) outcomes.push(await this.#serve(position, now));
    }
    this.logIdle(idleLine(scan, outcomes));
    return { scan, outcomes };
  }

  async #serve(position: Scan["liquidatable"][number], now: number): Promise<LiquidationOutcome> {
    const { amm, trader, view } = position;
    const key = keyOf(amm, trader);
    const until = this.#cooldowns.get(key);
    if (until !== undefined) return { amm, trader, status: "cooling", until };
    this.#cooldowns.set(key, now + this.#config.cooldownSeconds);
    const name = await this.names.of(amm);
    const what = `liquidateWithLimit(${name}, ${trader})`;
    try {
      // Long enough for the transaction to be mined; the quote bound is the real protection.
      const deadline = BigInt(now + this.#config.txTimeoutSeconds);
      // The preview is the liquidation itself, run without a bound: it returns exactly what it
      // would close now (the per-block cap and a second close of a rest left underwater included),
      // and the bound allows the slippage from there.
      let quoteClosed = 0n;
      const reason = await this.simulate(what, async () => {
        const preview = await this.clearingHouse.liquidateWithLimit.staticCall(amm, trader, 0n, deadline, {
          blockTag: "pending",
        });
        quoteClosed = preview.quoteClosed;
      });
      if (reason !== undefined) return this.#skip(position, name, reason);
      const quoteLimit = quoteLimitFor(view.size, quoteClosed, this.#config.slippageBps);
      const sent = await this.send(what, (nonce) =>
        this.clearingHouse.liquidateWithLimit(amm, trader, quoteLimit, deadline, { nonce }),
      );
      if ("reason" in sent) return this.#skip(position, name, sent.reason);
      const hash = sent.hash;
      const receipt = await this.tx.confirm(hash);
      const liquidation = this.#liquidated(receipt, amm, trader);
      this.logger.info(
        `liquidated ${trader} in ${name} tx=${hash} gas=${receipt.gasUsed} ` +
          `ratio=${formatWad(view.liquidationMarginRatio, 6)} quoteLimit=${formatWad(quoteLimit, 6)} ` +
          (liquidation
            ? `base=${formatWad(liquidation.baseClosed, 6)} quote=${formatWad(liquidation.quoteClosed, 6)} ` +
              `reward=${formatWad(liquidation.liquidatorReward, 6)} badDebt=${formatWad(liquidation.badDebt, 6)} ` +
              (liquidation.full ? "full" : "partial")
            : "(no PositionLiquidated event in the receipt)"),
      );
      return { amm, trader, status: "liquidated", txHash: hash, gasUsed: receipt.gasUsed, quoteLimit, liquidation };
    } catch (error) {
      return { amm, trader, status: "failed", error: this.logFailure(what, error) };
    }
  }

  #skip(position: PositionKey, name: string, reason: string): LiquidationOutcome {
    const { amm, trader } = position;
    this.logger.warn(`skipped ${trader} in ${name}: liquidateWithLimit would revert with ${reason}; not sent`);
    return { amm, trader, status: "skipped", reason };
  }

  #liquidated(receipt: TransactionReceipt, amm: string, trader: string): Liquidated | undefined {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.#config.clearingHouse.toLowerCase()) continue;
      const parsed = this.#chEvents.parseLog(log);
      if (parsed?.name !== "PositionLiquidated") continue;
      if (getAddress(parsed.args.amm as string) !== amm || getAddress(parsed.args.trader as string) !== trader)
        continue;
      const { baseClosed, quoteClosed, liquidatorReward, insurancePenalty, badDebt, shortfall, full } = parsed.args;
      return { baseClosed, quoteClosed, liquidatorReward, insurancePenalty, badDebt, shortfall, full } as Liquidated;
    }
    return undefined;
  }
}

/** The line of a scan with nothing to do (undefined: something was tried). */
function idleLine(scan: Scan, outcomes: readonly LiquidationOutcome[]): string | undefined {
  if (outcomes.some((o) => o.status !== "cooling")) return undefined;
  const cooling = outcomes.length > 0 ? `, ${outcomes.length} cooling down` : "";
  return `idle: ${scan.positions} position(s) in ${scan.batches} batch(es), none to liquidate${cooling}`;
}
