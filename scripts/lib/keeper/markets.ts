/** The markets a keeper serves: a fixed list, or every market the ClearingHouse lists. */
import { decodeBytes32String, getAddress, ZeroHash, type ContractRunner } from "ethers";
import { IAmm__factory, type IClearingHouse } from "../../../typechain-types/index.js";
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
  readonly #names: MarketNames;

  constructor(
    clearingHouse: IClearingHouse,
    options: {
      markets?: readonly string[];
      startBlock: number;
      logBlockRange: number;
      retry: RetryOptions;
      names?: MarketNames;
    },
  ) {
    const provider = clearingHouse.runner?.provider;
    if (!provider) throw new Error("the ClearingHouse contract has no provider");
    this.#clearingHouse = clearingHouse;
    this.#fixed = options.markets;
    this.#retry = options.retry;
    this.#names = options.names ?? new MarketNames(provider, options.retry);
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
    const found: [string, number][] = [];
    await this.#pager.readTo(latest, (logs) => {
      for (const log of logs) {
        const parsed = this.#clearingHouse.interface.parseLog(log);
        if (parsed?.name !== "MarketAdded") continue;
        const amm = getAddress(parsed.args.amm as string);
        if (this.#found.includes(amm)) continue;
        this.#found.push(amm);
        found.push([amm, log.blockNumber]);
      }
    });
    for (const [amm, block] of found)
      this.#retry.logger.info(`market found: ${await this.#names.of(amm)} at ${amm} (listed in block ${block})`);
    return this.#found;
  }
}

/**
 * Markets by the name the CLI gives them: the oracle's asset key ("ETH"), else the address (a market
 * without an oracle has no other name). Read once per market and cached.
 */
export class MarketNames {
  readonly #runner: ContractRunner;
  readonly #retry: RetryOptions;
  readonly #names = new Map<string, string>();

  constructor(runner: ContractRunner, retry: RetryOptions) {
    this.#runner = runner;
    this.#retry = retry;
  }

  async of(amm: string): Promise<string> {
    const cached = this.#names.get(amm);
    if (cached !== undefined) return cached;
    let name = amm;
    try {
      const [, asset] = await withRetry(
        `getOracle(${amm})`,
        () => IAmm__factory.connect(amm, this.#runner).getOracle(),
        this.#retry,
      );
      if (asset !== ZeroHash) name = decodeBytes32String(asset);
    } catch {
      return amm; // not cached: a failed read is retried next time
    }
    this.#names.set(amm, name);
    return name;
  }
}
