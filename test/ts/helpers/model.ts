/**
 * Layer 2 of the test models (positions; pricing.ts below it): an off-chain bigint model of the protocol, written from the NatSpec in contracts/interfaces and
 * the documented rounding (every reserve the pool computes rounds up; fees, the reduced cost basis
 * of a long and reversed-leg margins round up; a short's reduced cost basis rounds down; margin
 * ratios round down, toward minus infinity). Tests compare the contracts with it to the wei.
 *
 * Two valuations of a position:
 * - the mark notional, |size| x spot price straight from the reserves (floor for a long, ceil for
 *   a short): it values getUnrealizedPnl and getMarginRatio, the margin check before an increase
 *   (initial ratio, the existing position, reserves BEFORE the trade; nothing is checked after it,
 *   the new leg meeting the initial ratio by its leverage) and the check after a reduce
 *   (maintenance ratio, remaining position, reserves after the trade);
 * - the exit value, what closing the whole position would realise (previewSwapBase): it values
 *   removeMargin, with unrealised profit left out.
 *
 * The model never reads contract state: it is fed the same inputs as the contracts and predicts
 * the outputs (and, through {@link ModelError}, the reverts with their arguments).
 *
 * Funding is not modelled: the markets under test have no oracle, so their premium is zero, the
 * funding indices stay at zero, and every trade settles a funding payment of zero (and moves
 * nothing between the insurance fund and the market's pool for funding).
 *
 * The money (issue 13, the Vault's and PositionMath's NatSpec): one pool per market with its locked
 * margin (the sum of its open positions' margins) and a first-in, first-out claim queue. A reduce's
 * or close's gain is paid only up to what the market's pool holds beyond its locked margin and its
 * queued claims (before the trade); the excess leaves the payout as the
 * trader's claim. A payout the pool cannot hold is paid as far as it goes, the rest queued too;
 * what the fund takes is capped at what the pool holds beyond its locked margin, the rest its
 * receivable. {@link SystemModel.payClaims} pays the receivable, then the queue, from what the pool
 * holds beyond its locked margin.
 */
import { WAD, abs, mulDivDown, mulDivUp, wDivDown, wDivUp, wMulDown, wMulUp } from "../../../scripts/lib/fixed.js";
import { AmmModel, floorDivSigned, LONG, ModelError, SHORT, type SideValue } from "./pricing.js";

export {
  AmmModel,
  floorDivSigned,
  LONG,
  ModelError,
  openInterestAfter,
  predictRevert,
  reservesAfterBase,
  reservesAfterQuote,
  SHORT,
  type SideValue,
} from "./pricing.js";

export interface Params {
  initialMarginRatio: bigint;
  maintenanceMarginRatio: bigint;
  feeRatio: bigint;
}

export interface Pos {
  size: bigint;
  margin: bigint;
  openNotional: bigint;
}

/** The PositionChanged event's data. */
export interface TradeResult {
  baseDelta: bigint;
  quoteAmount: bigint;
  realizedPnl: bigint;
  fee: bigint;
  /** Funding the trade settled (+ paid, - received): always 0 in this layer (no oracle, no premium; see funding-model.ts). */
  fundingPayment: bigint;
  freeCollateralDelta: bigint;
  size: bigint;
  margin: bigint;
  openNotional: bigint;
  /** What the trade queued as the trader's claim (not in the event: the Vault's ClaimQueued). */
  claim: bigint;
}

const ZERO_POS: Pos = { size: 0n, margin: 0n, openNotional: 0n };

/** PnL of a position valued at `quote`. */
export function pnlOf(p: Pos, quote: bigint): bigint {
  return p.size > 0n ? quote - p.openNotional : p.openNotional - quote;
}

// The trading formulas of the positions layer, shared by every model above it (funding, liquidation).

/** |size| x spot price straight from the reserves: floored for a long, rounded up for a short. */
export function markNotionalOf(size: bigint, quote: bigint, base: bigint): bigint {
  return size > 0n ? mulDivDown(size, quote, base) : mulDivUp(-size, quote, base);
}

/** A trade's fee: ceil(notional x feeRatio). */
export function feeOf(notional: bigint, feeRatio: bigint): bigint {
  return wMulUp(notional, feeRatio);
}

/** The margin of a reversal's new leg: ceil(rest / leverage). */
export function restMarginOf(rest: bigint, leverage: bigint): bigint {
  return wDivUp(rest, leverage);
}

/**
 * A reduce of `base` out of a position `p` by a trade of `notional`: the cost basis it closes
 * (ceil(openNotional x base / size) for a long, floor for a short: average-entry accounting, rounded
 * in the protocol's favour), the PnL it realises and the size's change.
 */
export function reduceOf(
  p: Pos,
  base: bigint,
  notional: bigint,
): { closedBasis: bigint; realizedPnl: bigint; baseDelta: bigint } {
  if (p.size > 0n) {
    const closedBasis = mulDivUp(p.openNotional, base, p.size);
    return { closedBasis, realizedPnl: notional - closedBasis, baseDelta: -base };
  }
  const closedBasis = mulDivDown(p.openNotional, base, -p.size);
  return { closedBasis, realizedPnl: closedBasis - notional, baseDelta: base };
}

/** A market's money in the Vault: its pool and the margins of its open positions within it. */
export interface MarketMoney {
  pool: bigint;
  lockedMargin: bigint;
}

/** One entry of a market's claim queue. */
export interface QueuedClaim {
  trader: string;
  amount: bigint;
}

/** What one Vault.settle did: paid to the trader, and queued as the trader's claim. */
export interface Settled {
  paid: bigint;
  claim: bigint;
}

/**
 * The part of a reduce's or close's realised profit its market cannot pay: what the profit
 * exceeds the market's profitAvailable by. Funding is never deferred: the locked margin follows
 * every accrual (it is the positions' margins net of their pending funding), so funding moves
 * nothing that pays profit. It comes out of the close's payout or the rest's margin, never below
 * zero. 0 without a profit.
 */
export function deferredGain(realizedPnl: bigint, profitAvailable: bigint, from: bigint): bigint {
  if (realizedPnl <= 0n) return 0n;
  const excess = realizedPnl - profitAvailable;
  if (excess <= 0n) return 0n;
  return excess < from ? excess : from;
}

/**
 * A partial reduce's profit beyond profitAvailable stays unrealised in the rest: the closed part's
 * cost basis takes it, so the rest's basis gives it up (a long's falls, a short's rises), as far as
 * the rest's margin (`margin`, after the reduce) carries it and, for a long, as far as its basis
 * (`restBasis`) does; what is left over is queued as a claim out of the margin that remains.
 */
export function carriedGain(
  realizedPnl: bigint,
  profitAvailable: bigint,
  long: boolean,
  margin: bigint,
  restBasis: bigint,
): { carried: bigint; claim: bigint } {
  const excess = realizedPnl > profitAvailable ? realizedPnl - profitAvailable : 0n;
  let carried = excess < margin ? excess : margin;
  if (long && carried > restBasis) carried = restBasis;
  const left = margin - carried;
  const over = excess - carried;
  return { carried, claim: over < left ? over : left };
}

/**
 * The Vault ledger, the ClearingHouse positions and the money of each market, all 18-decimal.
 *
 * The money rules (issue 13), as the Vault's NatSpec states them: each market has its own pool
 * (its positions' margins, what its losers realised, the fund's cover, less what its winners were
 * paid) and its locked margin (the sum of its open positions' margins). A payout is paid from the
 * market's pool as far as it holds, the rest is queued as the trader's claim; a trade's gain is
 * paid only up to what the pool holds beyond its locked margin and queued claims (less the fund's
 * funding share of the trade), the excess deferred into a claim. The fund's take (fees, penalties,
 * its funding share) is capped at what the pool holds beyond its locked margin, the rest booked as
 * the fund's receivable against that pool. What the pool holds beyond its locked margin pays the
 * fund's receivable first, then the claims first in, first out, a partly paid claim staying at the head.
 */
export class SystemModel {
  free = new Map<string, bigint>();
  insuranceFund = 0n;
  amms = new Map<string, AmmModel>();
  params = new Map<string, Params>();
  positions = new Map<string, Pos>();
  markets = new Map<string, MarketMoney>();
  claimQueues = new Map<string, { head: number; entries: QueuedClaim[] }>();
  /** What each market's pool owes the insurance fund (Vault's fundReceivable). */
  receivables = new Map<string, bigint>();

  addMarket(amm: string, quote: bigint, base: bigint, params: Params): AmmModel {
    const m = new AmmModel(quote, base);
    this.amms.set(amm, m);
    this.params.set(amm, { ...params });
    return m;
  }

  /** A deep copy, for "what would happen" predictions. */
  clone(): SystemModel {
    const c = new SystemModel();
    c.free = new Map(this.free);
    c.insuranceFund = this.insuranceFund;
    for (const [k, v] of this.amms) c.amms.set(k, v.clone());
    for (const [k, v] of this.params) c.params.set(k, { ...v });
    for (const [k, v] of this.positions) c.positions.set(k, { ...v });
    for (const [k, v] of this.markets) c.markets.set(k, { ...v });
    for (const [k, v] of this.claimQueues) {
      c.claimQueues.set(k, { head: v.head, entries: v.entries.map((e) => ({ ...e })) });
    }
    c.receivables = new Map(this.receivables);
    return c;
  }

  amm(amm: string): AmmModel {
    const m = this.amms.get(amm);
    if (!m) throw new Error(`model: unknown market ${amm}`);
    return m;
  }

  freeOf(trader: string): bigint {
    return this.free.get(trader) ?? 0n;
  }

  /** A market's pool and locked margin (zero for a market that never moved money). */
  money(amm: string): MarketMoney {
    return { ...(this.markets.get(amm) ?? { pool: 0n, lockedMargin: 0n }) };
  }

  /** The sum of every market's pool (Vault.getPoolBalances' first value). */
  get marginPool(): bigint {
    let total = 0n;
    for (const m of this.markets.values()) total += m.pool;
    return total;
  }

  private queue(amm: string): { head: number; entries: QueuedClaim[] } {
    let q = this.claimQueues.get(amm);
    if (!q) {
      q = { head: 0, entries: [] };
      this.claimQueues.set(amm, q);
    }
    return q;
  }

  /** What a market's queued claims still owe in total. */
  claims(amm: string): bigint {
    const q = this.claimQueues.get(amm);
    if (!q) return 0n;
    return q.entries.slice(q.head).reduce((sum, e) => sum + e.amount, 0n);
  }

  /** What `trader` is still owed by a market's queued claims. */
  claimOf(amm: string, trader: string): bigint {
    const q = this.claimQueues.get(amm);
    if (!q) return 0n;
    return q.entries
      .slice(q.head)
      .filter((e) => e.trader === trader)
      .reduce((sum, e) => sum + e.amount, 0n);
  }

  /** What a market's pool owes the insurance fund. */
  fundReceivable(amm: string): bigint {
    return this.receivables.get(amm) ?? 0n;
  }

  /** What a market can pay toward a new profit: pool - locked margin - fund's receivable - claims, at least 0. */
  profitAvailable(amm: string): bigint {
    const m = this.money(amm);
    const left = m.pool - m.lockedMargin - this.fundReceivable(amm) - this.claims(amm);
    return left > 0n ? left : 0n;
  }

  deposit(trader: string, amount18: bigint): void {
    this.free.set(trader, this.freeOf(trader) + amount18);
  }

  withdraw(trader: string, amount18: bigint): void {
    const available = this.freeOf(trader);
    if (amount18 > available) throw new ModelError("InsufficientFreeCollateral", [trader, available, amount18]);
    this.free.set(trader, available - amount18);
  }

  position(amm: string, trader: string): Pos {
    return { ...(this.positions.get(`${amm}:${trader}`) ?? ZERO_POS) };
  }

  private setPosition(amm: string, trader: string, p: Pos): void {
    if (p.size === 0n) this.positions.delete(`${amm}:${trader}`);
    else this.positions.set(`${amm}:${trader}`, { ...p });
  }

  /**
   * The documented Vault.settle in `amm`'s pool. In order: the trader pays in (delta < 0), the
   * fund pays in (insuranceDelta < 0), the trader is paid (delta > 0) as far as the pool holds and
   * the rest is added to `claim`; the locked margin moves by `lockedDelta`; the fund takes
   * (insuranceDelta > 0) as far as the pool holds beyond that locked margin, the rest booked as its
   * receivable; a non-zero claim is queued. Throws (changing nothing) when the trader's free
   * collateral or the fund cannot pay in.
   */
  settle(trader: string, amm: string, delta: bigint, insuranceDelta: bigint, lockedDelta = 0n, claim = 0n): Settled {
    let free = this.freeOf(trader);
    const money = this.money(amm);
    let pool = money.pool;
    let fund = this.insuranceFund;
    if (delta < 0n) {
      const amount = -delta;
      if (amount > free) throw new ModelError("InsufficientFreeCollateral", [trader, free, amount]);
      free -= amount;
      pool += amount;
    }
    if (insuranceDelta < 0n) {
      const amount = -insuranceDelta;
      if (amount > fund) throw new ModelError("InsufficientInsuranceFund", [fund, amount]);
      fund -= amount;
      pool += amount;
    }
    let paid = 0n;
    if (delta > 0n) {
      paid = delta < pool ? delta : pool;
      pool -= paid;
      free += paid;
      claim += delta - paid;
    }
    const lockedMargin = money.lockedMargin + lockedDelta;
    if (lockedMargin < 0n) throw new Error("model: locked margin would go negative");
    if (insuranceDelta > 0n) {
      const beyond = pool > lockedMargin ? pool - lockedMargin : 0n;
      const take = insuranceDelta < beyond ? insuranceDelta : beyond;
      pool -= take;
      fund += take;
      if (take < insuranceDelta) this.receivables.set(amm, this.fundReceivable(amm) + insuranceDelta - take);
    }
    this.free.set(trader, free);
    this.insuranceFund = fund;
    this.markets.set(amm, { pool, lockedMargin });
    if (claim !== 0n) this.queue(amm).entries.push({ trader, amount: claim });
    return { paid, claim };
  }

  /**
   * Vault.payClaims: with what a market's pool holds beyond its locked margin, pays the fund's
   * receivable first, then the queue from its head, at most `maxClaims` entries; a partly paid
   * claim stays at the head. Returns the payments to claimants in order.
   */
  payClaims(amm: string, maxClaims = Number.MAX_SAFE_INTEGER): { trader: string; amount: bigint; remaining: bigint }[] {
    const money = this.money(amm);
    let spare = money.pool > money.lockedMargin ? money.pool - money.lockedMargin : 0n;
    const receivable = this.fundReceivable(amm);
    const toFund = receivable < spare ? receivable : spare;
    spare -= toFund;
    this.receivables.set(amm, receivable - toFund);
    this.insuranceFund += toFund;
    const q = this.queue(amm);
    const end = Math.min(q.entries.length, q.head + maxClaims);
    const payments: { trader: string; amount: bigint; remaining: bigint }[] = [];
    let paid = 0n;
    while (q.head < end && spare !== 0n) {
      const entry = q.entries[q.head];
      const amount = entry.amount < spare ? entry.amount : spare;
      spare -= amount;
      paid += amount;
      entry.amount -= amount;
      this.free.set(entry.trader, this.freeOf(entry.trader) + amount);
      payments.push({ trader: entry.trader, amount, remaining: this.claimOf(amm, entry.trader) });
      if (entry.amount !== 0n) break;
      q.head += 1;
    }
    this.markets.set(amm, { pool: money.pool - paid - toFund, lockedMargin: money.lockedMargin });
    return payments;
  }

  /**
   * equity / notional in 18 decimals, rounded toward minus infinity; a zero notional gives an
   * unbounded ratio of the sign of the equity: int256 min if equity < 0, int256 max otherwise.
   */
  static ratio(equity: bigint, notional: bigint): bigint {
    if (notional === 0n) return equity < 0n ? -(2n ** 255n) : 2n ** 255n - 1n;
    return floorDivSigned(equity * WAD, notional);
  }

  /** |size| x spot price from the reserves: floor(|s| q / b) for a long, ceil(|s| q / b) for a short. */
  static markNotional(pool: AmmModel, size: bigint): bigint {
    return markNotionalOf(size, pool.quote, pool.base);
  }

  /** Reverts with MarginRatioTooLow unless equity >= ceil(notional x ratio). */
  static requireEquity(equity: bigint, notional: bigint, ratio: bigint): void {
    if (equity < wMulUp(notional, ratio)) {
      throw new ModelError("MarginRatioTooLow", [SystemModel.ratio(equity, notional), ratio]);
    }
  }

  /**
   * The check before an increase (initial ratio, existing position, reserves before the trade) and
   * after a reduce (maintenance ratio, remaining position, reserves after the trade): margin + PnL
   * at the mark against ceil(mark x ratio).
   */
  static requireMarkMarginRatio(pool: AmmModel, p: Pos, ratio: bigint): void {
    const notional = SystemModel.markNotional(pool, p.size);
    SystemModel.requireEquity(p.margin + pnlOf(p, notional), notional, ratio);
  }

  /** The check of removeMargin: margin + min(PnL, 0) at the exit value, against the exit value. */
  static requireExitMarginRatioWithoutProfit(pool: AmmModel, p: Pos, ratio: bigint): void {
    const exitValue = pool.previewSwapBase(p.size, abs(p.size));
    let pnl = pnlOf(p, exitValue);
    if (pnl > 0n) pnl = 0n;
    SystemModel.requireEquity(p.margin + pnl, exitValue, ratio);
  }

  /** PnL at the mark: floor(|s| q / b) - openNotional for a long, openNotional - ceil(|s| q / b) for a short. */
  unrealizedPnl(amm: string, trader: string): bigint {
    const p = this.position(amm, trader);
    if (p.size === 0n) return 0n;
    return pnlOf(p, SystemModel.markNotional(this.amm(amm), p.size));
  }

  /** (margin + PnL at the mark) / mark notional, rounded toward minus infinity. */
  marginRatio(amm: string, trader: string): bigint {
    const p = this.position(amm, trader);
    if (p.size === 0n) throw new ModelError("NoPosition", [trader, amm]);
    const notional = SystemModel.markNotional(this.amm(amm), p.size);
    return SystemModel.ratio(p.margin + pnlOf(p, notional), notional);
  }

  /** openPosition: increase, reduce or reverse as documented. Limits and deadlines are not modelled. */
  open(trader: string, amm: string, side: SideValue, margin: bigint, leverage: bigint): TradeResult {
    const params = this.params.get(amm);
    if (!params) throw new ModelError("MarketNotListed", [amm]);
    if (margin === 0n) throw new ModelError("ZeroAmount", []);
    const maxLeverage = wDivDown(WAD, params.initialMarginRatio);
    if (leverage > maxLeverage) throw new ModelError("LeverageTooHigh", [leverage, maxLeverage]);
    const notional = wMulDown(margin, leverage);
    if (notional === 0n) throw new ModelError("ZeroNotional", []);

    const p = this.position(amm, trader);
    const pool = this.amm(amm).clone();
    let result: TradeResult;
    let next: Pos;
    if (p.size === 0n || p.size > 0n === (side === LONG)) {
      // increase (or open): an existing position must meet the initial ratio by itself, at the mark,
      // at the reserves BEFORE the trade (so the trade's own price impact cannot carry it); the new
      // leg meets it by its leverage, and nothing is checked after the trade.
      if (p.size !== 0n) SystemModel.requireMarkMarginRatio(pool, p, params.initialMarginRatio);
      const base = pool.swapQuote(side, notional, p.size);
      const baseDelta = side === LONG ? base : -base;
      const fee = feeOf(notional, params.feeRatio);
      next = { size: p.size + baseDelta, margin: p.margin + margin, openNotional: p.openNotional + notional };
      result = {
        baseDelta,
        quoteAmount: notional,
        realizedPnl: 0n,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: -(margin + fee),
        ...next,
        claim: 0n,
      };
    } else {
      const exitValue = pool.previewSwapBase(p.size, abs(p.size));
      if (notional < exitValue) {
        // reduce: average-entry accounting
        const base = pool.swapQuote(side, notional, p.size);
        const { closedBasis, realizedPnl, baseDelta } = reduceOf(p, base, notional);
        const fee = feeOf(notional, params.feeRatio);
        const remaining = p.margin + realizedPnl - fee;
        if (remaining < 0n) throw new ModelError("PositionUnderwater", [remaining]);
        const size = p.size + baseDelta;
        // The profit the market cannot pay now leaves a close's payout as a claim, or stays
        // unrealised in the rest of a partial reduce (see carriedGain).
        let deferred = 0n;
        let realized = realizedPnl;
        let freeCollateralDelta = 0n;
        if (size === 0n) {
          deferred = deferredGain(realizedPnl, this.profitAvailable(amm), remaining);
          next = { ...ZERO_POS };
          freeCollateralDelta = remaining - deferred;
        } else {
          const restBasis = p.openNotional - closedBasis;
          const long = p.size > 0n;
          const c = carriedGain(realizedPnl, this.profitAvailable(amm), long, remaining, restBasis);
          deferred = c.claim;
          realized = realizedPnl - c.carried;
          next = {
            size,
            margin: remaining - c.carried - c.claim,
            openNotional: long ? restBasis - c.carried : restBasis + c.carried,
          };
          SystemModel.requireMarkMarginRatio(pool, next, params.maintenanceMarginRatio);
        }
        result = {
          baseDelta,
          quoteAmount: notional,
          realizedPnl: realized,
          fee,
          fundingPayment: 0n,
          freeCollateralDelta,
          ...next,
          claim: deferred,
        };
      } else {
        // reverse: close all, then open the rest with margin ceil(rest / leverage) -- unless the
        // rest is zero, or is a long too small to buy one wei of base: then it is a plain close,
        // and the event's quote amount is the exit value actually traded, not the notional asked.
        const quote = pool.swapBase(p.size, abs(p.size));
        const realizedPnl = pnlOf(p, quote);
        let fee = feeOf(quote, params.feeRatio);
        const payout = p.margin + realizedPnl - fee;
        if (payout < 0n) throw new ModelError("PositionUnderwater", [payout]);
        const deferred = deferredGain(realizedPnl, this.profitAvailable(amm), payout);
        let freeCollateralDelta = payout - deferred;
        next = { ...ZERO_POS };
        let quoteAmount = quote;
        const rest = notional - quote;
        if (rest !== 0n && (side === SHORT || pool.previewSwapQuote(side, rest) !== 0n)) {
          const base = pool.swapQuote(side, rest, 0n);
          const restMargin = restMarginOf(rest, leverage);
          const restFee = feeOf(rest, params.feeRatio);
          next = { size: side === LONG ? base : -base, margin: restMargin, openNotional: rest };
          fee += restFee;
          freeCollateralDelta -= restMargin + restFee;
          quoteAmount = notional;
        }
        result = {
          baseDelta: next.size - p.size,
          quoteAmount,
          realizedPnl,
          fee,
          fundingPayment: 0n,
          freeCollateralDelta,
          ...next,
          claim: deferred,
        };
      }
    }
    const settled = this.settle(
      trader,
      amm,
      result.freeCollateralDelta,
      result.fee,
      next.margin - p.margin,
      result.claim,
    );
    result.claim = settled.claim;
    this.amms.set(amm, pool);
    this.setPosition(amm, trader, next);
    return result;
  }

  /** closePosition. */
  close(trader: string, amm: string): TradeResult {
    const params = this.params.get(amm);
    if (!params) throw new ModelError("MarketNotListed", [amm]);
    const p = this.position(amm, trader);
    if (p.size === 0n) throw new ModelError("NoPosition", [trader, amm]);
    const pool = this.amm(amm).clone();
    const quote = pool.swapBase(p.size, abs(p.size));
    const realizedPnl = pnlOf(p, quote);
    const fee = feeOf(quote, params.feeRatio);
    const payout = p.margin + realizedPnl - fee;
    if (payout < 0n) throw new ModelError("PositionUnderwater", [payout]);
    const deferred = deferredGain(realizedPnl, this.profitAvailable(amm), payout);
    const settled = this.settle(trader, amm, payout - deferred, fee, -p.margin, deferred);
    this.amms.set(amm, pool);
    this.setPosition(amm, trader, ZERO_POS);
    return {
      baseDelta: -p.size,
      quoteAmount: quote,
      realizedPnl,
      fee,
      fundingPayment: 0n,
      freeCollateralDelta: payout - deferred,
      size: 0n,
      margin: 0n,
      openNotional: 0n,
      claim: settled.claim,
    };
  }

  addMargin(trader: string, amm: string, amount: bigint): bigint {
    if (amount === 0n) throw new ModelError("ZeroAmount", []);
    const p = this.position(amm, trader);
    if (p.size === 0n) throw new ModelError("NoPosition", [trader, amm]);
    this.settle(trader, amm, -amount, 0n, amount);
    p.margin += amount;
    this.setPosition(amm, trader, p);
    return p.margin;
  }

  removeMargin(trader: string, amm: string, amount: bigint): bigint {
    if (amount === 0n) throw new ModelError("ZeroAmount", []);
    const p = this.position(amm, trader);
    if (p.size === 0n) throw new ModelError("NoPosition", [trader, amm]);
    if (amount > p.margin) throw new ModelError("InsufficientMargin", [p.margin, amount]);
    p.margin -= amount;
    const params = this.params.get(amm)!;
    SystemModel.requireExitMarginRatioWithoutProfit(this.amm(amm), p, params.initialMarginRatio);
    this.settle(trader, amm, amount, 0n, -amount);
    this.setPosition(amm, trader, p);
    return p.margin;
  }

  /** Sum of every ledger account (18 decimals). */
  ledgerTotal(): bigint {
    let total = this.marginPool + this.insuranceFund;
    for (const v of this.free.values()) total += v;
    return total;
  }
}
