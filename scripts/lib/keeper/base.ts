/** The base class every keeper extends. */
import { formatEther, type Provider, type Signer } from "ethers";
import {
  IClearingHouse__factory,
  IVault__factory,
  type IClearingHouse,
  type IVault,
} from "../../../typechain-types/index.js";
import { checkClearingHouse } from "./chain.js";
import { ErrorDecoder } from "../errors.js";
import { errorMessage } from "./errors.js";
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

/** What start-up found: the chain, the signer and its balance (see checkClearingHouse). */
export type StartCheck = Awaited<ReturnType<typeof checkClearingHouse>>;

/**
 * What the keepers share: the signer and its provider, retries, the ClearingHouse and its Vault,
 * revert decoding, start-up checks, simulation, sequential sends, and the start, failure and idle
 * lines of the logs.
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
  #vault: IVault | undefined;
  #lastIdle = "";

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
  protected checkStart(): Promise<StartCheck> {
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

  /** The ClearingHouse's Vault, read once, connected with the keeper's signer. */
  protected async vault(): Promise<IVault> {
    this.#vault ??= IVault__factory.connect(await this.call("vault()", () => this.clearingHouse.vault()), this.signer);
    return this.#vault;
  }

  /**
   * The first line of every keeper: "started on chain 1: ClearingHouse 0x.., [contracts, ]signer 0x..
   * (balance 1.0[, funds]), settings, markets".
   */
  protected logStarted(
    start: StartCheck,
    line: { contracts?: string; funds?: string; settings: string; markets: string },
  ): void {
    const contracts = line.contracts === undefined ? "" : `${line.contracts}, `;
    const funds = line.funds === undefined ? "" : `, ${line.funds}`;
    this.logger.info(
      `started on chain ${start.chainId}: ClearingHouse ${this.#base.clearingHouse}, ${contracts}signer ${start.from} ` +
        `(balance ${formatEther(start.balance)}${funds}), ${line.settings}, ${line.markets}`,
    );
  }

  /** Logs "failed <what>: <message>" for an error a tick passes over, and returns the message. */
  protected logFailure(what: string, error: unknown): string {
    const message = errorMessage(error);
    this.logger.error(`failed ${what}: ${message}`);
    return message;
  }

  /**
   * The idle line of a tick that did nothing (undefined: the tick did something), logged only when
   * it differs from the last one, so a quiet keeper does not repeat itself every poll.
   */
  protected logIdle(line: string | undefined): void {
    if (line !== undefined && line !== this.#lastIdle) this.logger.info(line);
    this.#lastIdle = line ?? "";
  }
}
