/**
 * Plumbing shared by the protocol's keepers (funding today, liquidations next): configuration read
 * from environment variables, one-line logs, retries of transient RPC failures with exponential
 * backoff, revert decoding, market discovery, the signer, start-up checks, the pending block's
 * time, sequential sends with self-managed nonces, and a poll loop that stops cleanly on
 * SIGINT/SIGTERM. Nothing here knows what a keeper does: see scripts/lib/funding-keeper.ts and
 * scripts/lib/liquidation-keeper.ts.
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import {
  getAddress,
  Interface,
  isAddress,
  isHexString,
  Wallet,
  ZeroAddress,
  type InterfaceAbi,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { IClearingHouse__factory, type IClearingHouse } from "../../typechain-types/index.js";

// ---------------------------------------------------------------- configuration

export type Env = Readonly<Record<string, string | undefined>>;

/** Every problem found in the configuration, so one run reports them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid keeper configuration (see .env.example):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Reads environment variables, collecting problems instead of stopping at the first. A blank value
 * counts as unset, as `NAME=` lines in a .env file mean. Call `finish()` before using the values:
 * a getter that found a problem returns a placeholder.
 */
export class EnvReader {
  readonly #env: Env;
  readonly #problems: string[] = [];

  constructor(env: Env) {
    this.#env = env;
  }

  raw(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === "" ? undefined : value;
  }

  problem(name: string, message: string): void {
    this.#problems.push(`${name}: ${message}`);
  }

  /** A checksummed non-zero address; undefined when unset and optional. */
  address(name: string, options: { required: true }): string;
  address(name: string, options?: { required?: boolean }): string | undefined;
  address(name: string, options: { required?: boolean } = {}): string | undefined {
    const value = this.raw(name);
    if (value === undefined) {
      if (options.required) this.problem(name, "required: the contract's address (0x followed by 40 hex digits)");
      return options.required ? ZeroAddress : undefined;
    }
    return this.#checkAddress(name, value) ?? ZeroAddress;
  }

  /** A comma-separated list of distinct addresses; undefined when unset. */
  addressList(name: string): string[] | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const items = value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
    const addresses = items.map((item) => this.#checkAddress(name, item)).filter((a) => a !== undefined);
    if (new Set(addresses).size !== addresses.length) this.problem(name, "lists an address twice");
    return addresses;
  }

  /** A whole number within [min, max]; `fallback` when unset. Units are named in messages. */
  integer(name: string, fallback: number, options: { min?: number; max?: number; unit?: string } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    // Strictly digits: "10m", "1e3", "-5" and "3.5" are all mistakes worth reporting.
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      this.problem(name, `not a whole number${options.unit ? ` of ${options.unit}` : ""}: "${value}"`);
      return fallback;
    }
    const n = Number(value);
    const unit = options.unit ? ` (${options.unit})` : "";
    if (options.min !== undefined && n < options.min) this.problem(name, `must be at least ${options.min}${unit}`);
    if (options.max !== undefined && n > options.max) this.problem(name, `must be at most ${options.max}${unit}`);
    return n;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["1", "true", "yes"].includes(value)) return true;
    if (["0", "false", "no"].includes(value)) return false;
    this.problem(name, `not a boolean (use true or false): "${value}"`);
    return fallback;
  }

  /** A 32-byte hex private key. Never echoed: messages must not leak a key that is merely malformed. */
  privateKey(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const hex = value.startsWith("0x") ? value : `0x${value}`;
    if (!isHexString(hex, 32)) {
      this.problem(name, `not a private key (expected 64 hex digits, got ${value.length} characters; value not shown)`);
      return undefined;
    }
    return hex;
  }

  finish(): void {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
  }

  #checkAddress(name: string, value: string): string | undefined {
    if (!/^0x[0-9a-fA-F]{40}$/.test(value)) {
      this.problem(name, `not an address: "${value}" (expected 0x followed by 40 hex digits)`);
      return undefined;
    }
    // Mixed case carries an EIP-55 checksum: a mismatch means a mistyped address.
    if (!isAddress(value)) {
      this.problem(name, `bad checksum in "${value}" (mistyped? write it all lower case to skip the check)`);
      return undefined;
    }
    if (value === ZeroAddress) {
      this.problem(name, "the zero address");
      return undefined;
    }
    return getAddress(value);
  }
}

/** Settings every keeper shares. */
export interface KeeperBaseConfig {
  /** Seconds between two ticks. */
  pollSeconds: number;
  /** Retries of one RPC call that failed transiently, after the first attempt. */
  maxRetries: number;
  /** First backoff delay; it doubles on each retry, up to 30 s. */
  retryDelayMs: number;
  /** How long to wait for a sent transaction to be mined before giving up on it for this tick. */
  txTimeoutSeconds: number;
  /** Signs the keeper's transactions; without it, the network's first configured account. */
  privateKey?: string;
  /** Run one tick and exit (for cron jobs and smoke tests). */
  once: boolean;
}

export function readKeeperBaseConfig(reader: EnvReader): KeeperBaseConfig {
  return {
    pollSeconds: reader.integer("KEEPER_POLL", 30, { min: 1, max: 86_400, unit: "seconds" }),
    maxRetries: reader.integer("KEEPER_MAX_RETRIES", 5, { min: 0, max: 20 }),
    // At least 250 ms: ethers providers answer a request repeated within 250 ms from a cache,
    // failures included, so a quicker retry would not reach the endpoint.
    retryDelayMs: reader.integer("KEEPER_RETRY_DELAY_MS", 1_000, { min: 250, max: 60_000, unit: "ms" }),
    txTimeoutSeconds: reader.integer("KEEPER_TX_TIMEOUT", 180, { min: 1, unit: "seconds" }),
    privateKey: reader.privateKey("KEEPER_PRIVATE_KEY"),
    once: reader.boolean("KEEPER_ONCE", false),
  };
}

/** Where the keepers find the protocol and its markets. */
export interface MarketsConfig {
  clearingHouse: string;
  /** A fixed list; without it, every market listed from `startBlock` on, found from MarketAdded events. */
  markets?: string[];
  startBlock: number;
  /** Most blocks per eth_getLogs request. */
  logBlockRange: number;
}

export function readMarketsConfig(reader: EnvReader): MarketsConfig {
  const clearingHouse = reader.address("CLEARING_HOUSE", { required: true });
  const markets = reader.addressList("MARKETS");
  if (markets?.length === 0) {
    reader.problem("MARKETS", "lists no address (leave it unset to serve every listed market)");
  }
  return {
    clearingHouse,
    markets,
    startBlock: reader.integer("START_BLOCK", 0, { min: 0 }),
    logBlockRange: reader.integer("KEEPER_LOG_BLOCK_RANGE", 5_000, { min: 1, unit: "blocks" }),
  };
}

// ---------------------------------------------------------------- logging

/** One line per call; keepers log one line per action so logs grep well. */
export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

/** Timestamped lines on stdout (info) and stderr (warnings and errors). */
export function consoleLogger(name: string): Logger {
  const line = (level: string, text: string) => `${new Date().toISOString()} ${level} [${name}] ${text}`;
  return {
    info: (text) => console.log(line("INFO ", text)),
    warn: (text) => console.error(line("WARN ", text)),
    error: (text) => console.error(line("ERROR", text)),
  };
}

// ---------------------------------------------------------------- errors

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  data?: unknown;
  error?: unknown;
  info?: unknown;
  cause?: unknown;
}

/** The error and those it wraps: ethers nests the node's error under `info.error` or `error`, Node under `cause`. */
function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== "object" || depth > 6 || chain.includes(e as ErrorLike)) return;
    const x = e as ErrorLike;
    chain.push(x);
    visit(x.error, depth + 1);
    if (x.info !== null && typeof x.info === "object") visit((x.info as ErrorLike).error, depth + 1);
    visit(x.cause, depth + 1);
    // Some nodes nest the revert data one level deeper: { data: { data: "0x..." } }.
    visit(x.data, depth + 1);
  };
  visit(error, 0);
  return chain;
}

/** ethers codes for failures of the transport, not of the call. */
const TRANSIENT_CODES = new Set([
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);
/** 429: HTTP too many requests; -32005: JSON-RPC "limit exceeded", as hosted RPCs rate-limit. */
const TRANSIENT_RPC_CODES = new Set([429, -32005]);
const TRANSIENT_MESSAGE =
  /\btime ?out\b|timed out|socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT|fetch failed|network error|rate limit|too many requests|header not found|service unavailable|bad gateway|cannot connect to the network/i;

/** Revert data carried by the error: a selector at least. */
export function revertData(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    if (typeof e.data === "string" && isHexString(e.data) && e.data.length >= 10) return e.data;
  }
  return undefined;
}

/**
 * Whether retrying may succeed: the RPC endpoint failed (connection, timeout, rate limit, 5xx), not
 * the call. A revert is never transient, even when the node wraps it in a generic error.
 */
export function isTransientError(error: unknown): boolean {
  if (revertData(error) !== undefined) return false;
  return errorChain(error).some(
    (e) =>
      (typeof e.code === "string" && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("UND_ERR_"))) ||
      (typeof e.code === "number" && TRANSIENT_RPC_CODES.has(e.code)) ||
      (typeof e.message === "string" && TRANSIENT_MESSAGE.test(e.message)),
  );
}

/** A short readable message: the error's and the one it wraps, first lines only. */
export function errorMessage(error: unknown): string {
  const messages: string[] = [];
  for (const e of errorChain(error)) {
    const text = typeof e.shortMessage === "string" ? e.shortMessage : e.message;
    if (typeof text !== "string") continue;
    const first = text.split("\n")[0].trim();
    if (first !== "" && !messages.includes(first)) messages.push(first);
  }
  const text = messages.slice(0, 2).join(": ") || String(error);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/**
 * Names the custom error a call reverted with. Built from the error fragments of every contract the
 * call may reach: a revert raised in a callee (the Amm under the ClearingHouse) bubbles up with the
 * callee's selector, which the caller's ABI does not list.
 */
export class RevertDecoder {
  readonly #iface: Interface;

  constructor(abis: readonly InterfaceAbi[]) {
    // ethers drops duplicate signatures (errors declared by several contracts).
    this.#iface = new Interface(abis.flatMap((abi) => Interface.from(abi).fragments.filter((f) => f.type === "error")));
  }

  /** "Name(arg=value, ...)" if `error` is a revert; undefined if it is not (an RPC failure). */
  describe(error: unknown): string | undefined {
    const data = revertData(error);
    if (data === undefined) {
      if (isTransientError(error)) return undefined;
      const reverted = errorChain(error).some(
        (e) => e.code === "CALL_EXCEPTION" || (typeof e.message === "string" && /revert/i.test(e.message)),
      );
      return reverted ? "a revert without data" : undefined;
    }
    const parsed = this.#iface.parseError(data);
    if (parsed === null) return `an unknown error (selector ${data.slice(0, 10)})`;
    const args = parsed.fragment.inputs.map((input, i) => `${input.name || `arg${i}`}=${String(parsed.args[i])}`);
    return `${parsed.name}(${args.join(", ")})`;
  }
}

// ---------------------------------------------------------------- retries

export interface RetryOptions {
  maxRetries: number;
  retryDelayMs: number;
  /** Cap of the doubling delay. */
  maxDelayMs?: number;
  logger: Logger;
  /** Which errors to retry; transient RPC failures by default. */
  retryIf?: (error: unknown) => boolean;
  /** Injected by tests. */
  sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, retrying transient failures up to `maxRetries` times with
 * exponential backoff (delay, 2 x delay, 4 x delay... capped). Any other error is thrown at once.
 * `fn` gets the attempt number (0 first), for calls whose retry differs (a resent transaction).
 */
export async function withRetry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const retryIf = options.retryIf ?? isTransientError;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.maxRetries || !retryIf(error)) throw error;
      const delay = Math.min(options.retryDelayMs * 2 ** attempt, options.maxDelayMs ?? 30_000);
      options.logger.warn(
        `retry ${attempt + 1}/${options.maxRetries} of ${what} in ${delay} ms: ${errorMessage(error)}`,
      );
      await (options.sleep ?? sleep)(delay);
    }
  }
}

// ---------------------------------------------------------------- shutdown and the loop

type Signal = "SIGINT" | "SIGTERM";

/** What signals arrive on: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: Signal, listener: () => void): unknown;
  off(signal: Signal, listener: () => void): unknown;
}

/**
 * Turns the first SIGINT/SIGTERM into a request to stop after the current tick (a transaction half
 * way through is waited for, so the next start finds a clean nonce), and a second one into an
 * immediate exit, for an operator who will not wait.
 */
export class Shutdown {
  #requested = false;
  readonly #wakers = new Set<() => void>();
  readonly #listeners: Array<[Signal, () => void]>;

  constructor(
    private readonly logger: Logger,
    private readonly source: SignalSource = process,
    private readonly forceExit: () => void = () => process.exit(130),
  ) {
    this.#listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => [signal, () => this.#onSignal(signal)]);
    for (const [signal, listener] of this.#listeners) source.on(signal, listener);
  }

  get requested(): boolean {
    return this.#requested;
  }

  request(reason: string): void {
    if (this.#requested) return;
    this.#requested = true;
    this.logger.info(`stopping (${reason}): finishing the current tick`);
    for (const wake of this.#wakers) wake();
  }

  /** Waits `ms`, or less if a stop is requested meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.#requested) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  dispose(): void {
    for (const [signal, listener] of this.#listeners) this.source.off(signal, listener);
  }

  #onSignal(signal: Signal): void {
    if (!this.#requested) return this.request(signal);
    this.logger.warn(`${signal} again: exiting now`);
    this.forceExit();
  }
}

/**
 * Ticks every `pollSeconds` until a stop is requested (or once). A failed tick is logged and the
 * loop goes on: the next tick starts from the chain's state. Returns whether the last tick succeeded.
 */
export async function runLoop(options: {
  tick: () => Promise<unknown>;
  pollSeconds: number;
  shutdown: Shutdown;
  logger: Logger;
  once?: boolean;
}): Promise<boolean> {
  let ok = true;
  while (!options.shutdown.requested) {
    try {
      await options.tick();
      ok = true;
    } catch (error) {
      ok = false;
      options.logger.error(`tick failed: ${errorMessage(error)}`);
    }
    if (options.once) break;
    await options.shutdown.sleep(options.pollSeconds * 1000);
  }
  return ok;
}

// ---------------------------------------------------------------- the chain

/** The keeper's signer: KEEPER_PRIVATE_KEY, or else the network's first configured account. */
export async function keeperSigner(ethers: HardhatEthers, privateKey?: string): Promise<Signer> {
  if (privateKey !== undefined) return new Wallet(privateKey, ethers.provider);
  const [first] = await ethers.getSigners();
  if (first === undefined) throw new Error("no signer: set KEEPER_PRIVATE_KEY or configure accounts for this network");
  return first;
}

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

// ---------------------------------------------------------------- start-up and transactions

/**
 * Start-up checks every keeper makes, so a wrong address or network fails at once with a clear
 * message: code at the ClearingHouse, an answer to paused(), every configured market listed.
 * Returns what the keeper logs in its first line.
 */
export async function checkClearingHouse(options: {
  signer: Signer;
  clearingHouse: IClearingHouse;
  address: string;
  markets?: readonly string[];
  decoder: RevertDecoder;
  retry: RetryOptions;
}): Promise<{ chainId: bigint; from: string; balance: bigint; paused: boolean }> {
  const { signer, clearingHouse, address, decoder, retry } = options;
  const provider = signer.provider;
  if (!provider) throw new Error("the keeper's signer has no provider");
  const call = <T>(what: string, fn: () => Promise<T>) => withRetry(what, fn, retry);
  const [network, code] = await Promise.all([
    call("eth_chainId", () => provider.getNetwork()),
    call("eth_getCode", () => provider.getCode(address)),
  ]);
  if (code === "0x") {
    throw new ConfigError([
      `CLEARING_HOUSE: no contract at ${address} on chain ${network.chainId} (wrong address or --network?)`,
    ]);
  }
  let paused: boolean;
  try {
    paused = await call("paused()", () => clearingHouse.paused());
  } catch (error) {
    if (decoder.describe(error) === undefined) throw error;
    throw new ConfigError([`CLEARING_HOUSE: ${address} does not answer paused(): not a ClearingHouse?`]);
  }
  const unlisted: string[] = [];
  for (const market of options.markets ?? []) {
    if (!(await call("isMarketListed", () => clearingHouse.isMarketListed(market)))) {
      unlisted.push(`MARKETS: ${market} is not listed on the ClearingHouse ${address}`);
    }
  }
  if (unlisted.length > 0) throw new ConfigError(unlisted);
  const from = await signer.getAddress();
  const balance = await call("eth_getBalance", () => provider.getBalance(from));
  if (balance === 0n) retry.logger.warn(`signer ${from} has no balance to pay gas`);
  return { chainId: network.chainId, from, balance, paused };
}

/** Creation code that returns block.timestamp: TIMESTAMP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN. */
const TIMESTAMP_PROBE = "0x4260005260206000f3";

/**
 * The time the next transaction will meet: block.timestamp on the pending block. Not the latest
 * block's timestamp, which lags on a dev node (it mines only on transactions, and applies
 * evm_increaseTime only then); and ethers cannot parse the pending block Hardhat's node returns.
 */
export async function pendingTimestamp(provider: Provider, retry: RetryOptions): Promise<number> {
  const timestamp = await withRetry(
    "eth_call block.timestamp",
    () => provider.call({ data: TIMESTAMP_PROBE, blockTag: "pending" }),
    retry,
  );
  return Number(BigInt(timestamp));
}

/** Nonce errors from a node that already has the transaction (an earlier attempt got through). */
const NONCE_USED = /nonce (is |has )?(too low|already been used)|already known|replacement transaction underpriced/i;

const RECEIPT_POLL_MS = 1_000;

/**
 * Sends a keeper's transactions from one signer, one at a time, with nonces it assigns itself, so
 * a resent transaction cannot be doubled; transient send failures are retried with the same nonce.
 */
export class TxSender {
  readonly #signer: Signer;
  readonly #provider: Provider;
  readonly #retry: RetryOptions;
  readonly #txTimeoutSeconds: number;
  /** The next nonce to use; undefined: read it from the chain before the next send. */
  #nonce: number | undefined;

  constructor(signer: Signer, options: { retry: RetryOptions; txTimeoutSeconds: number }) {
    if (!signer.provider) throw new Error("the keeper's signer has no provider");
    this.#signer = signer;
    this.#provider = signer.provider;
    this.#retry = options.retry;
    this.#txTimeoutSeconds = options.txTimeoutSeconds;
  }

  /** Forgets the nonce: the next send reads it from the chain (each tick, and after any doubt). */
  resync(): void {
    this.#nonce = undefined;
  }

  /**
   * Sends with the next nonce (`send` builds the transaction with it) and returns its hash. On
   * failure the nonce is re-read before the next send, and the error is thrown: a revert in gas
   * estimation (the state changed since the simulation) for the caller to decode.
   */
  async send(what: string, send: (nonce: number) => Promise<{ hash: string }>): Promise<string> {
    const nonce = await this.#nextNonce();
    try {
      const tx = await withRetry(
        `send ${what} nonce ${nonce}`,
        async (attempt) => {
          try {
            return await send(nonce);
          } catch (error) {
            // The same nonce again: if the node already has it, an earlier attempt got through
            // despite its error. Do not guess: the next tick reads the state afresh.
            if (attempt > 0 && NONCE_USED.test(errorMessage(error))) {
              throw new Error(`nonce ${nonce} is taken: an earlier attempt may have been sent; rechecking next tick`);
            }
            throw error;
          }
        },
        this.#retry,
      );
      this.#nonce = nonce + 1;
      return tx.hash;
    } catch (error) {
      this.#nonce = undefined;
      throw error;
    }
  }

  /** The successful receipt of `hash`; throws if it is not mined within KEEPER_TX_TIMEOUT or reverted. */
  async confirm(hash: string): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.#txTimeoutSeconds * 1000;
    let receipt: TransactionReceipt | null;
    for (;;) {
      receipt = await withRetry(`receipt of ${hash}`, () => this.#provider.getTransactionReceipt(hash), this.#retry);
      if (receipt !== null || Date.now() >= deadline) break;
      await sleep(RECEIPT_POLL_MS);
    }
    if (receipt === null) {
      this.#nonce = undefined;
      throw new Error(`tx ${hash} not mined within ${this.#txTimeoutSeconds} s; later ticks send nothing until it is`);
    }
    if (receipt.status !== 1) throw new Error(`tx ${hash} reverted on-chain (gas ${receipt.gasUsed})`);
    return receipt;
  }

  /**
   * The nonce for the next send. The keeper waits for each transaction before the next, so it
   * counts them itself; it sends nothing while an earlier transaction of its account is pending
   * (stuck for want of gas, say), as a new one would only queue behind it.
   */
  async #nextNonce(): Promise<number> {
    if (this.#nonce !== undefined) return this.#nonce;
    const from = await this.#signer.getAddress();
    const count = (tag: string) =>
      withRetry("eth_getTransactionCount", () => this.#provider.getTransactionCount(from, tag), this.#retry);
    const [mined, pending] = await Promise.all([count("latest"), count("pending")]);
    if (pending > mined) {
      throw new Error(`${pending - mined} earlier transaction(s) from ${from} still pending; not sending behind them`);
    }
    this.#nonce = mined;
    return mined;
  }
}

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
  protected readonly decoder: RevertDecoder;
  readonly #base: KeeperBaseOptions["config"];

  /** `abis`: every contract the keeper's calls may reach, to name their custom errors. */
  constructor(options: KeeperBaseOptions, abis: readonly InterfaceAbi[]) {
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
    this.decoder = new RevertDecoder(abis);
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
