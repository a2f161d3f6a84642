/**
 * The claims keeper: pays each market's queued claims (profit its pool could not pay when it was
 * realised) as soon as the pool holds money beyond its locked margin, by calling the permissionless
 * `Vault.payClaims(market, CLAIMS_PER_TX)`, which pays from the head of the market's queue, first
 * in, first out. A market is left alone while its queue is empty or its pool holds no more than
 * its locked margin (the margins of its open positions, which never pay a profit). Each payment is
 * simulated first and not sent if it would pay nothing or revert; sends are sequential from one
 * signer with nonces the keeper assigns.
 *
 * scripts/keepers/claims.ts runs it; tests and the demo drive `ClaimsKeeper.tick()` directly.
 */
import { formatEther, getAddress, type TransactionReceipt } from "ethers";
import { IVault__factory, type IVault } from "../../typechain-types/index.js";
import { marketMoney, spareForClaims, type MarketMoney } from "./claims.js";
import { formatUnits } from "./fixed.js";
import { KeeperBase, type KeeperBaseOptions } from "./keeper/base.js";
import {
  type Env,
  EnvReader,
  type KeeperBaseConfig,
  type MarketsConfig,
  readKeeperBaseConfig,
  readMarketsConfig,
} from "./keeper/config.js";
import { errorMessage } from "./keeper/errors.js";
import { MarketList } from "./keeper/markets.js";

export interface ClaimsKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** Most queue entries one payClaims transaction pays (it bounds the transaction's gas). */
  claimsPerTx: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readClaimsKeeperConfig(env: Env): ClaimsKeeperConfig {
  const reader = new EnvReader(env);
  const markets = readMarketsConfig(reader);
  // Measured: 48,563 gas for a payClaims of one claim, 61,393 for two (about 13,000 a claim more):
  // 200 entries stay far below a block's gas limit.
  const claimsPerTx = reader.integer("CLAIMS_PER_TX", 20, { min: 1, max: 200, unit: "claims" });
  const config = { ...markets, claimsPerTx, ...readKeeperBaseConfig(reader) };
  reader.finish();
  return config;
}

/** One ClaimPaid event: `amount` of `trader`'s claim paid to free collateral, `remaining` still owed. */
export interface ClaimPayment {
  trader: string;
  amount: bigint;
  remaining: bigint;
}

/** What one tick did with one market. */
export type ClaimsOutcome =
  | { market: string; status: "no-claims" }
  | { market: string; status: "waiting"; money: MarketMoney }
  | { market: string; status: "skipped"; reason: string }
  | {
      market: string;
      status: "paid";
      txHash: string;
      gasUsed: bigint;
      paid: bigint;
      payments: ClaimPayment[];
      /** What the market's queue still holds after the payment. */
      claimsLeft: bigint;
    }
  | { market: string; status: "failed"; error: string };

export interface ClaimsKeeperOptions extends KeeperBaseOptions {
  config: Omit<ClaimsKeeperConfig, "privateKey" | "once">;
}

/** An 18-decimal quote amount for the logs: up to 6 decimals, trailing zeros dropped. */
const q = (v: bigint): string => formatUnits(v, 18);

export class ClaimsKeeper extends KeeperBase {
  readonly #config: ClaimsKeeperOptions["config"];
  readonly #markets: MarketList;
  #vault: IVault | undefined;
  #lastIdle = "";

  constructor(options: ClaimsKeeperOptions) {
    super(options);
    this.#config = options.config;
    this.#markets = new MarketList(this.clearingHouse, { ...options.config, retry: this.retry, names: this.names });
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const { clearingHouse, markets, startBlock, claimsPerTx } = this.#config;
    const { chainId, from, balance } = await this.checkStart();
    const vault = await this.#vaultContract();
    this.logger.info(
      `started on chain ${chainId}: ClearingHouse ${clearingHouse}, Vault ${await vault.getAddress()}, signer ${from} ` +
        `(balance ${formatEther(balance)}), up to ${claimsPerTx} claims per transaction, ` +
        (markets ? `markets ${markets.join(", ")}` : `markets listed from block ${startBlock}`),
    );
  }

  /** Pays every market whose pool has money for its queued claims; returns what it did with each. */
  async tick(): Promise<ClaimsOutcome[]> {
    const markets = await this.#markets.refresh();
    // Re-read the nonce each tick, so anything sent from this account meanwhile is accounted for.
    this.tx.resync();
    const outcomes: ClaimsOutcome[] = [];
    for (const market of markets) outcomes.push(await this.#serve(market));
    await this.#logIdle(outcomes);
    return outcomes;
  }

  async #vaultContract(): Promise<IVault> {
    if (this.#vault === undefined) {
      const address = await this.call("vault()", () => this.clearingHouse.vault());
      this.#vault = IVault__factory.connect(address, this.signer);
    }
    return this.#vault;
  }

  #money(vault: IVault, market: string): Promise<MarketMoney> {
    return this.call(`marketBalances(${market}), claimQueueBounds(${market})`, () => marketMoney(vault, market));
  }

  async #serve(market: string): Promise<ClaimsOutcome> {
    const name = await this.names.of(market);
    try {
      const vault = await this.#vaultContract();
      const money = await this.#money(vault, market);
      // The fund's receivable is paid first, by the same call.
      if (money.head === money.tail && money.fundReceivable === 0n) return { market, status: "no-claims" };
      if (spareForClaims(money) === 0n) return { market, status: "waiting", money };

      // "pending": the state the transaction will meet, not the last block's.
      const n = this.#config.claimsPerTx;
      let wouldPay = 0n;
      const reason = await this.simulate(`payClaims(${market}, ${n})`, async () => {
        wouldPay = await vault.payClaims.staticCall(market, n, { blockTag: "pending" });
      });
      if (reason !== undefined) return this.#skip(market, name, reason);
      // The pool was spent between the read and the simulation: nothing to pay after all.
      if (wouldPay === 0n && money.fundReceivable === 0n) {
        return { market, status: "waiting", money: await this.#money(vault, market) };
      }
      return await this.#send(vault, market, name);
    } catch (error) {
      const message = errorMessage(error);
      this.logger.error(`failed ${name}: ${message}`);
      return { market, status: "failed", error: message };
    }
  }

  #skip(market: string, name: string, reason: string): ClaimsOutcome {
    this.logger.warn(`skipped ${name}: payClaims would revert with ${reason}; not sent`);
    return { market, status: "skipped", reason };
  }

  async #send(vault: IVault, market: string, name: string): Promise<ClaimsOutcome> {
    const n = this.#config.claimsPerTx;
    const sent = await this.send(`payClaims(${market}, ${n})`, (nonce) => vault.payClaims(market, n, { nonce }));
    if ("reason" in sent) return this.#skip(market, name, sent.reason);
    const receipt = await this.tx.confirm(sent.hash);
    const payments = this.#claimsPaid(vault, receipt, market);
    const paid = payments.reduce((sum, p) => sum + p.amount, 0n);
    const claimsLeft = (await this.call(`marketBalances(${market})`, () => vault.marketBalances(market))).claims;
    const each = payments.map(
      (p) => `${q(p.amount)} to ${p.trader}` + (p.remaining === 0n ? "" : ` (${q(p.remaining)} left)`),
    );
    this.logger.info(
      `paid ${payments.length} claim(s) in ${name}: ${q(paid)} in all tx=${sent.hash} gas=${receipt.gasUsed}; ` +
        `${each.join(", ")}; ${claimsLeft === 0n ? "queue empty" : `${q(claimsLeft)} still queued`}`,
    );
    return { market, status: "paid", txHash: sent.hash, gasUsed: receipt.gasUsed, paid, payments, claimsLeft };
  }

  #claimsPaid(vault: IVault, receipt: TransactionReceipt, market: string): ClaimPayment[] {
    const payments: ClaimPayment[] = [];
    const vaultAddress = (vault.target as string).toLowerCase();
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== vaultAddress) continue;
      const parsed = vault.interface.parseLog(log);
      if (parsed?.name !== "ClaimPaid" || getAddress(parsed.args.market as string) !== getAddress(market)) continue;
      payments.push({
        trader: getAddress(parsed.args.trader as string),
        amount: parsed.args.amount as bigint,
        remaining: parsed.args.remainingClaim as bigint,
      });
    }
    return payments;
  }

  /**
   * One line when nothing was paid, and only when it changed: the markets whose claims wait for
   * their pool (it holds no more than its locked margin until losers realise losses or the fund
   * covers bad debt), with what each is owed.
   */
  async #logIdle(outcomes: readonly ClaimsOutcome[]): Promise<void> {
    if (outcomes.some((o) => o.status !== "no-claims" && o.status !== "waiting")) {
      this.#lastIdle = "";
      return;
    }
    const waiting: string[] = [];
    for (const o of outcomes) {
      if (o.status !== "waiting") continue;
      // Amounts owed, not the pool's figures, which move with every trade: the line changes only
      // when claims are queued or paid.
      waiting.push(`${await this.names.of(o.market)} ${q(o.money.claims)} in ${o.money.tail - o.money.head} claim(s)`);
    }
    const line =
      waiting.length === 0
        ? `idle: ${outcomes.length} market(s), no claims queued`
        : `idle: claims wait until their pool holds more than its open positions' margins: ${waiting.join("; ")}`;
    if (line !== this.#lastIdle) this.logger.info(line);
    this.#lastIdle = line;
  }
}
