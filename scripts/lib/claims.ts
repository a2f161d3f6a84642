/**
 * Reading a market's claims: profit its pool could not pay when it was realised, queued in the
 * Vault and paid first in, first out by the permissionless `Vault.payClaims` from what the pool
 * holds beyond its locked margin. Shared by the CLI and the demo; the claims keeper pays them.
 */
import type { IVault } from "../../typechain-types/index.js";

/** A market's money in the Vault (18 decimals). */
export interface MarketMoney {
  /** Everything the market's pool holds. */
  pool: bigint;
  /** The margins of its open positions: never used to pay a profit. */
  lockedMargin: bigint;
  /** Every queued claim not yet paid. */
  claims: bigint;
  /** What the pool owes the insurance fund: paid before any claim. */
  fundReceivable: bigint;
  /** The queue's first unpaid entry and one past its last. */
  head: bigint;
  tail: bigint;
}

/**
 * What `payClaims` pays from now: what the market's pool holds beyond its locked margin (the fund's
 * receivable first, then the claims).
 */
export function spareForClaims(money: Pick<MarketMoney, "pool" | "lockedMargin">): bigint {
  return money.pool > money.lockedMargin ? money.pool - money.lockedMargin : 0n;
}

type VaultReader = Pick<IVault, "marketBalances" | "claimQueueBounds" | "claimAt">;

export async function marketMoney(vault: VaultReader, market: string): Promise<MarketMoney> {
  const [balances, [head, tail]] = await Promise.all([vault.marketBalances(market), vault.claimQueueBounds(market)]);
  return {
    pool: balances.pool,
    lockedMargin: balances.lockedMargin,
    claims: balances.claims,
    fundReceivable: balances.fundReceivable,
    head,
    tail,
  };
}

/** Where a trader's claim stands in its market's queue. */
export interface ClaimStanding {
  /** The queue index of the trader's first unpaid entry; undefined if not found within the scan. */
  index?: bigint;
  /** What the entries before it are owed (paid first); a lower bound when the scan stopped early. */
  ahead: bigint;
  /** Whether the scan stopped at `maxScan` entries before finding the trader's entry. */
  truncated: boolean;
}

/**
 * The trader's first unpaid entry in `market`'s queue and what is owed ahead of it, reading at most
 * `maxScan` entries from the head (one `claimAt` each).
 */
export async function claimStanding(
  vault: VaultReader,
  market: string,
  trader: string,
  money: Pick<MarketMoney, "head" | "tail">,
  maxScan = 500n,
): Promise<ClaimStanding> {
  let ahead = 0n;
  const end = money.tail < money.head + maxScan ? money.tail : money.head + maxScan;
  for (let i = money.head; i < end; i++) {
    const [who, amount] = await vault.claimAt(market, i);
    if (who.toLowerCase() === trader.toLowerCase() && amount > 0n) return { index: i, ahead, truncated: false };
    ahead += amount;
  }
  return { ahead, truncated: end < money.tail };
}
