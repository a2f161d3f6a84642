/**
 * The one reader of event logs over block ranges, for the keepers, the CLI and the demo: hosted
 * RPCs cap eth_getLogs, so logs are read in bounded ranges, each handed over before the next is
 * read, and a later call resumes after the last range read successfully.
 */
import type { Log, Provider } from "ethers";
import { withRetry, type RetryOptions } from "./keeper/retry.js";

export interface LogPagerOptions {
  /** The contract (or contracts) whose logs to read. */
  address: string | string[];
  /** The topic filter: `[topicHash]` for one event, `[[a, b]]` for either; all of the contracts' events without. */
  topics?: Array<string | string[] | null>;
  /** The first block to read. */
  startBlock: number;
  /** Most blocks per eth_getLogs request. */
  blockRange: number;
  /** Names the requests in retry warnings ("MarketAdded logs"). */
  what?: string;
  /** Retries of transient RPC failures; without it a failure is thrown at once. */
  retry?: RetryOptions;
}

export class LogPager {
  readonly #provider: Provider;
  readonly #options: LogPagerOptions;
  #nextBlock: number;

  constructor(provider: Provider, options: LogPagerOptions) {
    if (!Number.isSafeInteger(options.blockRange) || options.blockRange < 1) {
      throw new RangeError(`the log block range must be a whole number of blocks, at least 1: ${options.blockRange}`);
    }
    this.#provider = provider;
    this.#options = options;
    this.#nextBlock = options.startBlock;
  }

  /** The next block to read. */
  get nextBlock(): number {
    return this.#nextBlock;
  }

  /**
   * Reads the logs of the blocks not yet read, up to `latest`, and hands each range's logs (in
   * chain order) to `handle` before reading the next. A failed read throws; the next call starts
   * again from the range that failed.
   */
  async readTo(latest: number, handle: (logs: Log[]) => void): Promise<void> {
    const { address, topics, blockRange, what = "logs", retry } = this.#options;
    while (this.#nextBlock <= latest) {
      const fromBlock = this.#nextBlock;
      const toBlock = Math.min(fromBlock + blockRange - 1, latest);
      const read = () => this.#provider.getLogs({ address, topics, fromBlock, toBlock });
      const logs = retry ? await withRetry(`${what} ${fromBlock}..${toBlock}`, read, retry) : await read();
      handle(logs);
      this.#nextBlock = toBlock + 1;
    }
  }
}
