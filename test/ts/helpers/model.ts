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
 * nothing between the insurance fund and the margin pool for funding).
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
  /** Funding the trade settled (+ paid, - received): always 0 in the model (no oracle, no premium). */
  fundingPayment: bigint;
  freeCollateralDelta: bigint;
  size: bigint;
  margin: bigint;
  openNotional: bigint;
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

/** The Vault ledger, the ClearingHouse positions and the pools, all 18-decimal. */
export class SystemModel {
  free = new Map<string, bigint>();
  marginPool = 0n;
  insuranceFund = 0n;
  amms = new Map<string, AmmModel>();
  params = new Map<string, Params>();
  positions = new Map<string, Pos>();

  addMarket(amm: string, quote: bigint, base: bigint, params: Params): AmmModel {
    const m = new AmmModel(quote, base);
    this.amms.set(amm, m);
    this.params.set(amm, { ...params });
    return m;
  }

  amm(amm: string): AmmModel {
    const m = this.amms.get(amm);
    if (!m) throw new Error(`model: unknown market ${amm}`);
    return m;
  }

  freeOf(trader: string): bigint {
    return this.free.get(trader) ?? 0n;
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
   * The documented Vault.settle, on a copy of the ledger; returns the new ledger values. In order:
   * the trader's payment into the margin pool (delta < 0), the insurance movement (+ the pool pays
   * the fund, - the fund pays the pool), then the payout to the trader (delta > 0).
   */
  private settled(trader: string, delta: bigint, insuranceDelta: bigint) {
    let free = this.freeOf(trader);
    let pool = this.marginPool;
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
    } else if (insuranceDelta > 0n) {
      if (insuranceDelta > pool) throw new ModelError("InsufficientMarginPool", [pool, insuranceDelta]);
      pool -= insuranceDelta;
      fund += insuranceDelta;
    }
    if (delta > 0n) {
      if (delta > pool) throw new ModelError("InsufficientMarginPool", [pool, delta]);
      pool -= delta;
      free += delta;
    }
    return { free, marginPool: pool, insuranceFund: fund };
  }

  private commitLedger(trader: string, l: { free: bigint; marginPool: bigint; insuranceFund: bigint }) {
    this.free.set(trader, l.free);
    this.marginPool = l.marginPool;
    this.insuranceFund = l.insuranceFund;
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
        let freeCollateralDelta = 0n;
        if (size === 0n) {
          next = { ...ZERO_POS };
          freeCollateralDelta = remaining;
        } else {
          next = { size, margin: remaining, openNotional: p.openNotional - closedBasis };
          SystemModel.requireMarkMarginRatio(pool, next, params.maintenanceMarginRatio);
        }
        result = {
          baseDelta,
          quoteAmount: notional,
          realizedPnl,
          fee,
          fundingPayment: 0n,
          freeCollateralDelta,
          ...next,
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
        let freeCollateralDelta = payout;
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
        };
      }
    }
    const ledger = this.settled(trader, result.freeCollateralDelta, result.fee);
    this.amms.set(amm, pool);
    this.setPosition(amm, trader, next);
    this.commitLedger(trader, ledger);
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
    const ledger = this.settled(trader, payout, fee);
    this.amms.set(amm, pool);
    this.setPosition(amm, trader, ZERO_POS);
    this.commitLedger(trader, ledger);
    return {
      baseDelta: -p.size,
      quoteAmount: quote,
      realizedPnl,
      fee,
      fundingPayment: 0n,
      freeCollateralDelta: payout,
      size: 0n,
      margin: 0n,
      openNotional: 0n,
    };
  }

  addMargin(trader: string, amm: string, amount: bigint): bigint {
    if (amount === 0n) throw new ModelError("ZeroAmount", []);
    const p = this.position(amm, trader);
    if (p.size === 0n) throw new ModelError("NoPosition", [trader, amm]);
    const ledger = this.settled(trader, -amount, 0n);
    p.margin += amount;
    this.setPosition(amm, trader, p);
    this.commitLedger(trader, ledger);
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
    const ledger = this.settled(trader, amount, 0n);
    this.setPosition(amm, trader, p);
    this.commitLedger(trader, ledger);
    return p.margin;
  }

  /** Sum of every ledger account (18 decimals). */
  ledgerTotal(): bigint {
    let total = this.marginPool + this.insuranceFund;
    for (const v of this.free.values()) total += v;
    return total;
  }
}
