/** The markets a keeper serves: a fixed list, or every market the ClearingHouse lists. */
import { getAddress } from "ethers";
import type { IClearingHouse } from "../../../typechain-types/index.js";
import { LogPager } from "../log-pager.js";
import { withRetry, type RetryOptions } from "./retry.js";

/**
 * The markets to serve: a fixed list, or every market the ClearingHouse has listed, found from its
 * MarketAdded events and followed as new ones are listed. Logs are read in bounded block ranges,
 * as hosted RPCs cap eth_getLogs, and resume where the last successful read stopped.
 */
export class MarketList {
  readonly #clearingHouse: IClearingHouse;
  readonly #fixed?: readonly string[];
  readonly #pager: LogPager;
  readonly #retry: RetryOptions;
  readonly #found: string[] = [];

  constructor(
    clearingHouse: IClearingHouse,
    options: { markets?: readonly string[]; startBlock: number; logBlockRange: number; retry: RetryOptions },
  ) {
    const provider = clearingHouse.runner?.provider;
    if (!provider) throw new Error("the ClearingHouse contract has no provider");
    this.#clearingHouse = clearingHouse;
    this.#fixed = options.markets;
    this.#retry = options.retry;
    this.#pager = new LogPager(provider, {
      address: clearingHouse.target as string,
      topics: [clearingHouse.interface.getEvent("MarketAdded").topicHash],
      startBlock: options.startBlock,
      blockRange: options.logBlockRange,
      what: "MarketAdded logs",
      retry: options.retry,
    });
  }

  /** The markets as of now; newly found ones are logged. */
  async refresh(): Promise<readonly string[]> {
    if (this.#fixed !== undefined) return this.#fixed;
    const provider = this.#clearingHouse.runner!.provider!;
    const latest = await withRetry("eth_blockNumber", () => provider.getBlockNumber(), this.#retry);
    await this.#pager.readTo(latest, (logs) => {
      for (const log of logs) {
        const parsed = this.#clearingHouse.interface.parseLog(log);
        if (parsed?.name !== "MarketAdded") continue;
        const amm = getAddress(parsed.args.amm as string);
        if (this.#found.includes(amm)) continue;
        this.#found.push(amm);
        this.#retry.logger.info(`market found: ${amm} (listed in block ${log.blockNumber})`);
      }
    });
    return this.#found;
  }
}
