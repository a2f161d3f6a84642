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
import { getAddress, type TransactionReceipt } from "ethers";
import type { IVault } from "../../typechain-types/index.js";
import { marketMoney, spareForClaims, type MarketMoney } from "./claims.js";
import { formatUnits } from "./fixed.js";
import { type Env, type KeeperBaseConfig, type MarketsConfig, readKeeperConfig } from "./keeper/config.js";
import {
  MarketKeeper,
  type MarketFailed,
  type MarketKeeperOptions,
  type MarketSkipped,
} from "./keeper/market-keeper.js";

export interface ClaimsKeeperConfig extends KeeperBaseConfig, MarketsConfig {
  /** Most queue entries one payClaims transaction pays (it bounds the transaction's gas). */
  claimsPerTx: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readClaimsKeeperConfig(env: Env): ClaimsKeeperConfig {
  return readKeeperConfig(env, (reader) => ({
    // Measured: 48,563 gas for a payClaims of one claim, 61,393 for two (about 13,000 a claim more):
    // 200 entries stay far below a block's gas limit.
    claimsPerTx: reader.integer("CLAIMS_PER_TX", 20, { min: 1, max: 200, unit: "claims" }),
  }));
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
  | MarketSkipped
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
  | MarketFailed;

export interface ClaimsKeeperOptions extends MarketKeeperOptions {
  config: Omit<ClaimsKeeperConfig, "privateKey" | "once">;
}

/** An 18-decimal quote amount for the logs: up to 6 decimals, trailing zeros dropped. */
const q = (v: bigint): string => formatUnits(v, 18);

export class ClaimsKeeper extends MarketKeeper<ClaimsOutcome> {
  readonly #config: ClaimsKeeperOptions["config"];

  constructor(options: ClaimsKeeperOptions) {
    super(options);
    this.#config = options.config;
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const started = await this.checkStart();
    const vault = await this.vault();
    this.logStarted(started, {
      contracts: `Vault ${await vault.getAddress()}`,
      settings: `up to ${this.#config.claimsPerTx} claims per transaction`,
      markets: this.marketsServed,
    });
  }

  #money(vault: IVault, market: string): Promise<MarketMoney> {
    return this.call(`marketBalances(${market}), claimQueueBounds(${market})`, () => marketMoney(vault, market));
  }

  /** Pays the market's queued claims if its pool has money for them. */
  protected async serve(market: string, name: string): Promise<ClaimsOutcome> {
    const vault = await this.vault();
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
    if (reason !== undefined) return this.skipped(market, name, "payClaims", reason);
    // The pool was spent between the read and the simulation: nothing to pay after all.
    if (wouldPay === 0n && money.fundReceivable === 0n) {
      return { market, status: "waiting", money: await this.#money(vault, market) };
    }
    return await this.#send(vault, market, name);
  }

  async #send(vault: IVault, market: string, name: string): Promise<ClaimsOutcome> {
    const n = this.#config.claimsPerTx;
    const sent = await this.send(`payClaims(${market}, ${n})`, (nonce) => vault.payClaims(market, n, { nonce }));
    if ("reason" in sent) return this.skipped(market, name, "payClaims", sent.reason);
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
   * The line when nothing was paid: the markets whose claims wait for their pool (it holds no more
   * than its locked margin until losers realise losses or the fund covers bad debt), with what each
   * is owed.
   */
  protected async idleLine(outcomes: readonly ClaimsOutcome[]): Promise<string | undefined> {
    if (outcomes.some((o) => o.status !== "no-claims" && o.status !== "waiting")) return undefined;
    const waiting: string[] = [];
    for (const o of outcomes) {
      if (o.status !== "waiting") continue;
      // Amounts owed, not the pool's figures, which move with every trade: the line changes only
      // when claims are queued or paid.
      waiting.push(`${await this.names.of(o.market)} ${q(o.money.claims)} in ${o.money.tail - o.money.head} claim(s)`);
    }
    return waiting.length === 0
      ? `idle: ${outcomes.length} market(s), no claims queued`
      : `idle: claims wait until their pool holds more than its open positions' margins: ${waiting.join("; ")}`;
  }
}
