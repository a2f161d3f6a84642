/** The markets a keeper serves: a fixed list, or every market the ClearingHouse lists. */
import { getAddress } from "ethers";
import type { IClearingHouse } from "../../../typechain-types/index.js";
import { withRetry, type RetryOptions } from "./retry.js";

/**
 * The markets to serve: a fixed list, or every market the ClearingHouse has listed, found from its
 * MarketAdded events and followed as new ones are listed. Logs are read in bounded block ranges,
 * as hosted RPCs cap eth_getLogs, and resume where the last successful read stopped.
 */
export class MarketList {
  readonly #clearingHouse: IClearingHouse;
  readonly #fixed?: readonly string[];
  readonly #blockRange: number;
  readonly #retry: RetryOptions;
  readonly #found: string[] = [];
  #nextBlock: number;

  constructor(
    clearingHouse: IClearingHouse,
    options: { markets?: readonly string[]; startBlock: number; logBlockRange: number; retry: RetryOptions },
  ) {
    this.#clearingHouse = clearingHouse;
    this.#fixed = options.markets;
    this.#nextBlock = options.startBlock;
    this.#blockRange = options.logBlockRange;
    this.#retry = options.retry;
  }

  /** The markets as of now; newly found ones are logged. */
  async refresh(): Promise<readonly string[]> {
    if (this.#fixed !== undefined) return this.#fixed;
    const provider = this.#clearingHouse.runner?.provider;
    if (!provider) throw new Error("the ClearingHouse contract has no provider");
    const latest = await withRetry("eth_blockNumber", () => provider.getBlockNumber(), this.#retry);
    while (this.#nextBlock <= latest) {
      const from = this.#nextBlock;
      const to = Math.min(from + this.#blockRange - 1, latest);
      const events = await withRetry(
        `MarketAdded logs ${from}..${to}`,
        () => this.#clearingHouse.queryFilter(this.#clearingHouse.filters.MarketAdded(), from, to),
        this.#retry,
      );
      for (const event of events) {
        const amm = getAddress(event.args.amm);
        if (this.#found.includes(amm)) continue;
        this.#found.push(amm);
        this.#retry.logger.info(`market found: ${amm} (listed in block ${event.blockNumber})`);
      }
      this.#nextBlock = to + 1;
    }
    return this.#found;
  }
}
