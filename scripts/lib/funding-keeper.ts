/**
 * The funding keeper: closes each market's funding window once its last funding update is older
 * than KEEPER_INTERVAL, by calling `ClearingHouse.updateFunding(amm)`, which anyone may call. Each
 * update is simulated first and not sent if it would revert; sends are sequential from one signer
 * with nonces the keeper assigns, so a resent transaction cannot be doubled.
 *
 * scripts/keepers/funding.ts runs it; tests drive `FundingKeeper.tick()` directly.
 */
import type { Provider, Signer, TransactionReceipt } from "ethers";
import { formatEther } from "ethers";
import {
  Amm__factory,
  ClearingHouse__factory,
  IAmm__factory,
  IClearingHouse__factory,
  IPriceFeed__factory,
  Vault__factory,
  type IClearingHouse,
} from "../../typechain-types/index.js";
import { formatWad, WAD } from "./fixed.js";
import {
  ConfigError,
  EnvReader,
  errorMessage,
  MarketList,
  readKeeperBaseConfig,
  readMarketsConfig,
  RevertDecoder,
  sleep,
  withRetry,
  type Env,
  type KeeperBaseConfig,
  type Logger,
  type MarketsConfig,
  type RetryOptions,
} from "./keeper.js";

export interface FundingKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** Update a market once its last funding update is this old (seconds). */
  intervalSeconds: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readFundingKeeperConfig(env: Env): FundingKeeperConfig {
  const reader = new EnvReader(env);
  const markets = readMarketsConfig(reader);
  // The Amm's own bounds on a funding window: 60 s to 1 day.
  const intervalSeconds = reader.integer("KEEPER_INTERVAL", 900, { min: 60, max: 86_400, unit: "seconds" });
  const config = { ...markets, intervalSeconds, ...readKeeperBaseConfig(reader) };
  reader.finish();
  return config;
}

/** The FundingUpdated event's fields. */
export interface FundingUpdate {
  premium: bigint;
  markTwap: bigint;
  indexTwap: bigint;
  longIndex: bigint;
  shortIndex: bigint;
  insuranceFlow: bigint;
}

/** What one tick did with one market. */
export type MarketOutcome =
  | { market: string; status: "not-due"; dueAt: number }
  | { market: string; status: "skipped"; reason: string }
  | { market: string; status: "updated"; txHash: string; gasUsed: bigint; funding?: FundingUpdate }
  | { market: string; status: "failed"; error: string };

export interface FundingKeeperOptions {
  signer: Signer;
  config: Omit<FundingKeeperConfig, "privateKey" | "once">;
  logger: Logger;
  /** Backoff sleep; tests make it instant. */
  sleep?: (ms: number) => Promise<void>;
}

/** The premium as a fraction of the index TWAP per day (18 decimals); undefined without an index. */
export function fundingRatePerDay(premium: bigint, indexTwap: bigint): bigint | undefined {
  return indexTwap === 0n ? undefined : (premium * WAD) / indexTwap;
}

function describeFunding(f: FundingUpdate): string {
  const rate = fundingRatePerDay(f.premium, f.indexTwap);
  // TWAPs of 0: no premium could be set (no valid index over the whole window, or paused).
  if (rate === undefined) return `premium=0 (no index over the window)`;
  const payer = f.premium > 0n ? "longs pay" : f.premium < 0n ? "shorts pay" : "none pays";
  return (
    `premium=${formatWad(f.premium, 6)} rate=${formatWad(rate * 100n, 4)}%/day (${payer}) ` +
    `markTwap=${formatWad(f.markTwap, 6)} indexTwap=${formatWad(f.indexTwap, 6)}`
  );
}

/** Nonce errors from a node that already has the transaction (an earlier attempt got through). */
const NONCE_USED = /nonce (is |has )?(too low|already been used)|already known|replacement transaction underpriced/i;

const RECEIPT_POLL_MS = 1_000;

/** Creation code that returns block.timestamp: TIMESTAMP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN. */
const TIMESTAMP_PROBE = "0x4260005260206000f3";

export class FundingKeeper {
  readonly #signer: Signer;
  readonly #provider: Provider;
  readonly #clearingHouse: IClearingHouse;
  readonly #config: FundingKeeperOptions["config"];
  readonly #logger: Logger;
  readonly #retry: RetryOptions;
  readonly #markets: MarketList;
  readonly #ammEvents = IAmm__factory.createInterface();
  readonly #decoder = new RevertDecoder([
    ClearingHouse__factory.abi,
    Amm__factory.abi,
    Vault__factory.abi,
    IPriceFeed__factory.abi,
  ]);
  /** Markets whose parameters were checked against the configuration. */
  readonly #checked = new Set<string>();
  /** The next nonce to use; undefined: read it from the chain before the next send. */
  #nonce: number | undefined;
  #lastIdle = "";

  constructor(options: FundingKeeperOptions) {
    if (!options.signer.provider) throw new Error("the keeper's signer has no provider");
    this.#signer = options.signer;
    this.#provider = options.signer.provider;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#retry = {
      maxRetries: options.config.maxRetries,
      retryDelayMs: options.config.retryDelayMs,
      logger: options.logger,
      sleep: options.sleep,
    };
    this.#clearingHouse = IClearingHouse__factory.connect(options.config.clearingHouse, options.signer);
    this.#markets = new MarketList(this.#clearingHouse, { ...options.config, retry: this.#retry });
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const { clearingHouse, markets, intervalSeconds, startBlock } = this.#config;
    const [network, code] = await Promise.all([
      this.#call("eth_chainId", () => this.#provider.getNetwork()),
      this.#call("eth_getCode", () => this.#provider.getCode(clearingHouse)),
    ]);
    if (code === "0x") {
      throw new ConfigError([
        `CLEARING_HOUSE: no contract at ${clearingHouse} on chain ${network.chainId} (wrong address or --network?)`,
      ]);
    }
    let paused: boolean;
    try {
      paused = await this.#call("paused()", () => this.#clearingHouse.paused());
    } catch (error) {
      if (this.#decoder.describe(error) === undefined) throw error;
      throw new ConfigError([`CLEARING_HOUSE: ${clearingHouse} does not answer paused(): not a ClearingHouse?`]);
    }
    if (paused) this.#logger.warn("the ClearingHouse is paused: funding updates set a zero premium");
    const unlisted: string[] = [];
    for (const market of markets ?? []) {
      if (!(await this.#call("isMarketListed", () => this.#clearingHouse.isMarketListed(market)))) {
        unlisted.push(`MARKETS: ${market} is not listed on the ClearingHouse ${clearingHouse}`);
      }
    }
    if (unlisted.length > 0) throw new ConfigError(unlisted);

    const from = await this.#signer.getAddress();
    const balance = await this.#call("eth_getBalance", () => this.#provider.getBalance(from));
    this.#logger.info(
      `started on chain ${network.chainId}: ClearingHouse ${clearingHouse}, signer ${from} ` +
        `(balance ${formatEther(balance)}), interval ${intervalSeconds} s, ` +
        (markets ? `markets ${markets.join(", ")}` : `markets listed from block ${startBlock}`),
    );
    if (balance === 0n) this.#logger.warn(`signer ${from} has no balance to pay gas`);
  }

  /** Updates every market that is due, one after the other; returns what it did with each. */
  async tick(): Promise<MarketOutcome[]> {
    const markets = await this.#markets.refresh();
    const now = await this.#now();
    // Re-read the nonce each tick, so anything sent from this account meanwhile is accounted for.
    this.#nonce = undefined;
    const outcomes: MarketOutcome[] = [];
    for (const market of markets) outcomes.push(await this.#serve(market, now));
    this.#logIdle(outcomes);
    return outcomes;
  }

  async #serve(market: string, now: number): Promise<MarketOutcome> {
    try {
      const amm = IAmm__factory.connect(market, this.#provider);
      const state = await this.#call(`getFundingState(${market})`, () => amm.getFundingState());
      this.#checkParams(market, state.params);
      const dueAt = Number(state.updatedAt) + this.#config.intervalSeconds;
      if (now < dueAt) return { market, status: "not-due", dueAt };

      const reason = await this.#simulate(market);
      if (reason !== undefined) return this.#skip(market, reason);
      return await this.#send(market);
    } catch (error) {
      const message = errorMessage(error);
      this.#logger.error(`failed ${market}: ${message}`);
      return { market, status: "failed", error: message };
    }
  }

  /** Why updateFunding would revert now; undefined if it would not. */
  async #simulate(market: string): Promise<string | undefined> {
    try {
      // "pending": the state and timestamp the transaction will meet, not the last block's.
      await this.#call(`simulate updateFunding(${market})`, () =>
        this.#clearingHouse.updateFunding.staticCall(market, { blockTag: "pending" }),
      );
      return undefined;
    } catch (error) {
      const reason = this.#decoder.describe(error);
      if (reason === undefined) throw error;
      return reason;
    }
  }

  #skip(market: string, reason: string): MarketOutcome {
    this.#logger.warn(`skipped ${market}: updateFunding would revert with ${reason}; not sent`);
    return { market, status: "skipped", reason };
  }

  async #send(market: string): Promise<MarketOutcome> {
    const nonce = await this.#nextNonce();
    let hash: string;
    try {
      const tx = await withRetry(
        `send updateFunding(${market}) nonce ${nonce}`,
        async (attempt) => {
          try {
            return await this.#clearingHouse.updateFunding(market, { nonce });
          } catch (error) {
            // The same nonce again: if the node already has it, an earlier attempt got through
            // despite its error. Do not guess: the next tick reads the market's state afresh.
            if (attempt > 0 && NONCE_USED.test(errorMessage(error))) {
              throw new Error(`nonce ${nonce} is taken: an earlier attempt may have been sent; rechecking next tick`);
            }
            throw error;
          }
        },
        this.#retry,
      );
      hash = tx.hash;
    } catch (error) {
      this.#nonce = undefined;
      // Gas estimation runs the call again: the state may have changed since the simulation.
      const reason = this.#decoder.describe(error);
      if (reason !== undefined) return this.#skip(market, reason);
      throw error;
    }
    this.#nonce = nonce + 1;

    const receipt = await this.#waitForReceipt(hash);
    if (receipt === null) {
      this.#nonce = undefined;
      throw new Error(
        `tx ${hash} not mined within ${this.#config.txTimeoutSeconds} s; later ticks send nothing until it is`,
      );
    }
    if (receipt.status !== 1) throw new Error(`tx ${hash} reverted on-chain (gas ${receipt.gasUsed})`);
    const funding = this.#fundingUpdated(receipt, market);
    this.#logger.info(
      `updated ${market} tx=${hash} gas=${receipt.gasUsed} ` +
        (funding ? describeFunding(funding) : "(no FundingUpdated event in the receipt)"),
    );
    return { market, status: "updated", txHash: hash, gasUsed: receipt.gasUsed, funding };
  }

  /**
   * The nonce for the next send. The keeper waits for each transaction before the next, so it
   * counts them itself; it sends nothing while an earlier transaction of its account is pending
   * (stuck for want of gas, say), as a new one would only queue behind it.
   */
  async #nextNonce(): Promise<number> {
    if (this.#nonce !== undefined) return this.#nonce;
    const from = await this.#signer.getAddress();
    const [mined, pending] = await Promise.all([
      this.#call("eth_getTransactionCount", () => this.#provider.getTransactionCount(from, "latest")),
      this.#call("eth_getTransactionCount", () => this.#provider.getTransactionCount(from, "pending")),
    ]);
    if (pending > mined) {
      throw new Error(`${pending - mined} earlier transaction(s) from ${from} still pending; not sending behind them`);
    }
    this.#nonce = mined;
    return mined;
  }

  /** The receipt, or null if the transaction is not mined within KEEPER_TX_TIMEOUT. */
  async #waitForReceipt(hash: string): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + this.#config.txTimeoutSeconds * 1000;
    for (;;) {
      const receipt = await this.#call(`receipt of ${hash}`, () => this.#provider.getTransactionReceipt(hash));
      if (receipt !== null || Date.now() >= deadline) return receipt;
      await sleep(RECEIPT_POLL_MS);
    }
  }

  #fundingUpdated(receipt: TransactionReceipt, market: string): FundingUpdate | undefined {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== market.toLowerCase()) continue;
      const parsed = this.#ammEvents.parseLog(log);
      if (parsed?.name !== "FundingUpdated") continue;
      const [premium, markTwap, indexTwap, longIndex, shortIndex, insuranceFlow] = parsed.args as unknown as bigint[];
      return { premium, markTwap, indexTwap, longIndex, shortIndex, insuranceFlow };
    }
    return undefined;
  }

  /** Warns, once per market, about settings that cannot work with its funding parameters. */
  #checkParams(market: string, params: { minUpdateInterval: bigint; maxAccrualPeriod: bigint }): void {
    if (this.#checked.has(market)) return;
    this.#checked.add(market);
    const { intervalSeconds, pollSeconds } = this.#config;
    if (intervalSeconds < params.minUpdateInterval) {
      this.#logger.warn(
        `${market}: KEEPER_INTERVAL ${intervalSeconds} s is below its minUpdateInterval ` +
          `${params.minUpdateInterval} s: earlier updates revert, and are simulated and skipped`,
      );
    }
    // Funding accrues for at most maxAccrualPeriod after an update: a slower keeper stops it.
    if (intervalSeconds + pollSeconds > params.maxAccrualPeriod) {
      this.#logger.warn(
        `${market}: KEEPER_INTERVAL + KEEPER_POLL (${intervalSeconds + pollSeconds} s) exceed its ` +
          `maxAccrualPeriod ${params.maxAccrualPeriod} s: funding will stop between updates`,
      );
    }
  }

  /** One line when nothing was due, and only when the next due market or time changed. */
  #logIdle(outcomes: readonly MarketOutcome[]): void {
    if (outcomes.some((o) => o.status !== "not-due")) {
      this.#lastIdle = "";
      return;
    }
    const next = outcomes
      .flatMap((o) => (o.status === "not-due" ? [o] : []))
      .reduce<{ market: string; dueAt: number } | undefined>((a, o) => (a && a.dueAt <= o.dueAt ? a : o), undefined);
    const line = next
      ? `idle: ${outcomes.length} market(s); next due: ${next.market} at ${new Date(next.dueAt * 1000).toISOString()}`
      : "idle: no markets";
    if (line !== this.#lastIdle) this.#logger.info(line);
    this.#lastIdle = line;
  }

  /**
   * The time the next transaction will meet: block.timestamp on the pending block. Not the latest
   * block's timestamp, which lags on a dev node (it mines only on transactions, and applies
   * evm_increaseTime only then); and ethers cannot parse the pending block Hardhat's node returns.
   */
  async #now(): Promise<number> {
    const timestamp = await this.#call("eth_call block.timestamp", () =>
      this.#provider.call({ data: TIMESTAMP_PROBE, blockTag: "pending" }),
    );
    return Number(BigInt(timestamp));
  }

  #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(what, fn, this.#retry);
  }
}
