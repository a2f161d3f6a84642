/** The base of the keepers that serve one market after the other (funding, claims, arbitrage). */
import { KeeperBase, type KeeperBaseOptions } from "./base.js";
import type { MarketsConfig } from "./config.js";
import { MarketList } from "./markets.js";

/** A market whose transaction would revert: simulated (or estimated) and not sent. */
export type MarketSkipped = { market: string; status: "skipped"; reason: string };
/** A market whose serving threw (an RPC that failed beyond its retries, a reverted receipt). */
export type MarketFailed = { market: string; status: "failed"; error: string };

export interface MarketKeeperOptions extends KeeperBaseOptions {
  config: KeeperBaseOptions["config"] & Pick<MarketsConfig, "startBlock" | "logBlockRange">;
}

/**
 * A keeper whose tick serves every market it follows (a fixed list, or every market listed; see
 * MarketList), one after the other with nonces re-read each tick. A market that fails is logged
 * and passed over: the next market and the next tick go on. A tick that did nothing logs one idle
 * line, and only when it changed.
 *
 * `Outcome` is what serving one market returns; a tick returns it, or MarketFailed, per market.
 */
export abstract class MarketKeeper<Outcome extends { market: string; status: string }> extends KeeperBase {
  readonly #markets: MarketList;
  readonly #served: MarketKeeperOptions["config"];

  constructor(options: MarketKeeperOptions) {
    super(options);
    this.#served = options.config;
    this.#markets = new MarketList(this.clearingHouse, { ...options.config, retry: this.retry, names: this.names });
  }

  /** Serves every market, one after the other; returns what it did with each. */
  async tick(): Promise<Array<Outcome | MarketFailed>> {
    const markets = await this.#markets.refresh();
    await this.prepareTick();
    // Re-read the nonce each tick, so anything sent from this account meanwhile is accounted for.
    this.tx.resync();
    const outcomes: Array<Outcome | MarketFailed> = [];
    for (const market of markets) outcomes.push(await this.#serveOrFail(market));
    this.logIdle(await this.idleLine(outcomes));
    return outcomes;
  }

  /** What the keeper reads once per tick, before the markets (the pending block's time, say). */
  protected async prepareTick(): Promise<void> {}

  /** Serves one market (`name` is its symbol, for the logs); a throw becomes MarketFailed. */
  protected abstract serve(market: string, name: string): Promise<Outcome>;

  /** The tick's idle line, or undefined when it did something (see logIdle). */
  protected abstract idleLine(outcomes: ReadonlyArray<Outcome | MarketFailed>): Promise<string | undefined>;

  /** The markets, as the start-up line names them. */
  protected get marketsServed(): string {
    const { markets, startBlock } = this.#served;
    return markets ? `markets ${markets.join(", ")}` : `markets listed from block ${startBlock}`;
  }

  /** Logs a transaction `call` on `name` that would revert, not sent; the market's outcome. */
  protected skipped(market: string, name: string, call: string, reason: string): MarketSkipped {
    this.logger.warn(`skipped ${name}: ${call} would revert with ${reason}; not sent`);
    return { market, status: "skipped", reason };
  }

  async #serveOrFail(market: string): Promise<Outcome | MarketFailed> {
    const name = await this.names.of(market);
    try {
      return await this.serve(market, name);
    } catch (error) {
      return { market, status: "failed", error: this.logFailure(name, error) };
    }
  }
}
