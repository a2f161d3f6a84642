/** The base class every keeper extends. */
import type { Provider, Signer } from "ethers";
import { IClearingHouse__factory, type IClearingHouse } from "../../../typechain-types/index.js";
import { checkClearingHouse } from "./chain.js";
import { ErrorDecoder } from "../errors.js";
import type { Logger } from "./logger.js";
import { withRetry, type RetryOptions } from "./retry.js";
import { MarketNames } from "./markets.js";
import { TxSender } from "./transactions.js";

/** What every keeper is built from. */
export interface KeeperBaseOptions {
  signer: Signer;
  config: {
    clearingHouse: string;
    markets?: readonly string[];
    maxRetries: number;
    retryDelayMs: number;
    txTimeoutSeconds: number;
  };
  logger: Logger;
  /** Backoff sleep; tests make it instant. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * What the keepers share: the signer and its provider, retries, the ClearingHouse, revert
 * decoding, start-up checks, simulation and sequential sends.
 */
export abstract class KeeperBase {
  protected readonly signer: Signer;
  protected readonly provider: Provider;
  protected readonly logger: Logger;
  protected readonly retry: RetryOptions;
  protected readonly tx: TxSender;
  protected readonly clearingHouse: IClearingHouse;
  protected readonly decoder: ErrorDecoder;
  /** Markets by symbol, as the CLI names them, for the logs. */
  protected readonly names: MarketNames;
  readonly #base: KeeperBaseOptions["config"];

  constructor(options: KeeperBaseOptions) {
    if (!options.signer.provider) throw new Error("the keeper's signer has no provider");
    this.signer = options.signer;
    this.provider = options.signer.provider;
    this.logger = options.logger;
    this.#base = options.config;
    this.retry = {
      maxRetries: options.config.maxRetries,
      retryDelayMs: options.config.retryDelayMs,
      logger: options.logger,
      sleep: options.sleep,
    };
    this.decoder = new ErrorDecoder();
    this.names = new MarketNames(this.provider, this.retry);
    this.clearingHouse = IClearingHouse__factory.connect(options.config.clearingHouse, options.signer);
    this.tx = new TxSender(options.signer, { retry: this.retry, txTimeoutSeconds: options.config.txTimeoutSeconds });
  }

  /** The start-up checks of {checkClearingHouse}. */
  protected checkStart(): ReturnType<typeof checkClearingHouse> {
    return checkClearingHouse({
      signer: this.signer,
      clearingHouse: this.clearingHouse,
      address: this.#base.clearingHouse,
      markets: this.#base.markets,
      decoder: this.decoder,
      retry: this.retry,
    });
  }

  /** Why `call` (a staticCall on the pending block) would revert; undefined if it would not. */
  protected async simulate(what: string, call: () => Promise<unknown>): Promise<string | undefined> {
    try {
      await this.call(`simulate ${what}`, call);
      return undefined;
    } catch (error) {
      const reason = this.decoder.describe(error);
      if (reason === undefined) throw error;
      return reason;
    }
  }

  /** Sends through {TxSender}; a revert in gas estimation (the state changed since the simulation) comes back as a reason. */
  protected async send(
    what: string,
    send: (nonce: number) => Promise<{ hash: string }>,
  ): Promise<{ hash: string } | { reason: string }> {
    try {
      return { hash: await this.tx.send(what, send) };
    } catch (error) {
      const reason = this.decoder.describe(error);
      if (reason !== undefined) return { reason };
      throw error;
    }
  }

  protected call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(what, fn, this.retry);
  }
}
