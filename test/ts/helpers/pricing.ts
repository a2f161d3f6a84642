/**
 * Layer 1 of the test models (pricing): the sides, the model's revert, and one x*y=k pool with the
 * documented rounding (every reserve the pool computes rounds up). Written from the NatSpec in
 * contracts/interfaces, never from contract code or artifacts.
 *
 * The stack, each layer importing the one below and adding its own concern; every trading formula
 * (swap, fee, reduce basis and PnL, reversal margin, mark notional, margin ratio) is written once:
 *   pricing.ts (this file) -> model.ts (positions, margin, fees, the Vault ledger) ->
 *   funding-model.ts (one market with funding); liquidation-model.ts (liquidation, settlement) builds
 *   on model.ts and takes funding as an input.
 */
import { abs, mulDivUp, wDivDown } from "../../../scripts/lib/fixed.js";

export const LONG = 0;
export const SHORT = 1;
export type SideValue = 0 | 1;

/** Reserves after a trade of `amount` quote on `side` (no checks): the base given (LONG) or owed (SHORT). */
export function reservesAfterQuote(
  quote: bigint,
  base: bigint,
  side: SideValue,
  amount: bigint,
): { base: bigint; newQuote: bigint; newBase: bigint } {
  const newQuote = side === LONG ? quote + amount : quote - amount;
  const newBase = mulDivUp(quote, base, newQuote); // ceil(q*b / (q +- Q))
  return { base: side === LONG ? base - newBase : newBase - base, newQuote, newBase };
}

/** Reserves after closing `amount` of base of a position of `sizeBefore` (no checks), and the quote paid / owed. */
export function reservesAfterBase(
  quote: bigint,
  base: bigint,
  sizeBefore: bigint,
  amount: bigint,
): { quote: bigint; newQuote: bigint; newBase: bigint } {
  const newBase = sizeBefore > 0n ? base + amount : base - amount;
  const newQuote = mulDivUp(quote, base, newBase); // ceil(q*b / (b +- s))
  return { quote: sizeBefore > 0n ? quote - newQuote : newQuote - quote, newQuote, newBase };
}

/** Long and short open interest after a position moved from `before` to `after`. */
export function openInterestAfter(
  longOI: bigint,
  shortOI: bigint,
  before: bigint,
  after: bigint,
): { longOI: bigint; shortOI: bigint } {
  const longPart = (s: bigint) => (s > 0n ? s : 0n);
  const shortPart = (s: bigint) => (s < 0n ? -s : 0n);
  return {
    longOI: longOI - longPart(before) + longPart(after),
    shortOI: shortOI - shortPart(before) + shortPart(after),
  };
}

/** A revert the model predicts: the custom error's name and arguments. */
export class ModelError extends Error {
  constructor(
    readonly errorName: string,
    readonly args: unknown[],
  ) {
    super(`${errorName}(${args.map(String).join(", ")})`);
  }
}

/** Runs `fn`, which must throw a {@link ModelError}, and returns it. */
export function predictRevert(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error("the model expected this action to succeed");
}

/** Signed division rounded toward minus infinity (what "rounded down" means for a signed ratio). */
export function floorDivSigned(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** One x*y=k pool with the documented rounding. Amounts are 18-decimal. */
export class AmmModel {
  longOI = 0n;
  shortOI = 0n;

  constructor(
    public quote: bigint,
    public base: bigint,
  ) {}

  clone(): AmmModel {
    const c = new AmmModel(this.quote, this.base);
    c.longOI = this.longOI;
    c.shortOI = this.shortOI;
    return c;
  }

  get k(): bigint {
    return this.quote * this.base;
  }

  /** floor(quote * 1e18 / base). */
  spotPrice(): bigint {
    return wDivDown(this.quote, this.base);
  }

  /** Reserves after a trade of `quoteAmount` quote, and the base given (LONG) or owed (SHORT). */
  quoteSwap(side: SideValue, quoteAmount: bigint): { base: bigint; newQuote: bigint; newBase: bigint } {
    if (quoteAmount === 0n) throw new ModelError("ZeroSwapAmount", []);
    if (side === SHORT && quoteAmount >= this.quote) {
      throw new ModelError("InsufficientReserve", [this.quote, quoteAmount]);
    }
    return reservesAfterQuote(this.quote, this.base, side, quoteAmount);
  }

  /** Reserves after closing `baseAmount` of a position of `sizeBefore`, and the quote paid / owed. */
  baseSwap(sizeBefore: bigint, baseAmount: bigint): { quote: bigint; newQuote: bigint; newBase: bigint } {
    if (baseAmount === 0n) throw new ModelError("ZeroSwapAmount", []);
    if (baseAmount > abs(sizeBefore)) throw new ModelError("CloseExceedsPosition", [baseAmount, abs(sizeBefore)]);
    if (sizeBefore < 0n && baseAmount >= this.base) {
      throw new ModelError("InsufficientReserve", [this.base, baseAmount]);
    }
    return reservesAfterBase(this.quote, this.base, sizeBefore, baseAmount);
  }

  previewSwapQuote(side: SideValue, quoteAmount: bigint): bigint {
    return this.quoteSwap(side, quoteAmount).base;
  }

  previewSwapBase(sizeBefore: bigint, baseAmount: bigint): bigint {
    return this.baseSwap(sizeBefore, baseAmount).quote;
  }

  /** Applies a quote trade (limits are not modelled) and returns the base amount. */
  swapQuote(side: SideValue, quoteAmount: bigint, sizeBefore: bigint): bigint {
    const r = this.quoteSwap(side, quoteAmount);
    if (side === LONG && r.base === 0n) throw new ModelError("ZeroSwapAmount", []);
    this.quote = r.newQuote;
    this.base = r.newBase;
    this.moveOpenInterest(sizeBefore, side === LONG ? sizeBefore + r.base : sizeBefore - r.base);
    return r.base;
  }

  /** Applies a closing base trade and returns the quote amount. */
  swapBase(sizeBefore: bigint, baseAmount: bigint): bigint {
    const r = this.baseSwap(sizeBefore, baseAmount);
    this.quote = r.newQuote;
    this.base = r.newBase;
    this.moveOpenInterest(sizeBefore, sizeBefore > 0n ? sizeBefore - baseAmount : sizeBefore + baseAmount);
    return r.quote;
  }

  moveOpenInterest(before: bigint, after: bigint): void {
    ({ longOI: this.longOI, shortOI: this.shortOI } = openInterestAfter(this.longOI, this.shortOI, before, after));
  }
}
