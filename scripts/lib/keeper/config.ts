/** Keeper configuration: environment variables read and checked at start-up, every problem reported at once. */
import { getAddress, isAddress, isHexString, ZeroAddress } from "ethers";

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
  /** Signs the keeper's transactions; required on a live network; without it on a local one, a dev account of the keeper's own (see keeperSigner). */
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

/**
 * A keeper's whole configuration: where the protocol and its markets are, the keeper's own
 * settings (`own`, read from the same reader so every problem is reported at once), then the
 * settings every keeper shares. Throws a ConfigError listing every problem.
 */
export function readKeeperConfig<T extends object>(
  env: Env,
  own: (reader: EnvReader) => T,
): MarketsConfig & T & KeeperBaseConfig {
  const reader = new EnvReader(env);
  const markets = readMarketsConfig(reader);
  const config = { ...markets, ...own(reader), ...readKeeperBaseConfig(reader) };
  reader.finish();
  return config;
}
