/**
 * An exact model of the dynamic curve's arithmetic (docs: /work/notes/vamm.md, the NatSpec of
 * contracts/libraries/CurveAdjustment.sol), derived from the definitions, not from the Solidity:
 *
 * - terminal value V(q, b) = q x net / (b + net): what closing the traders' net position `net` on a
 *   curve with reserves (q, b) pays them in total (negative: they pay); b + net must be positive;
 * - the cost of moving the curve from (q0, b0) to (q1, b1) is V(q1, b1) - V(q0, b0), as an exact
 *   rational, then rounded in the market's favour: a positive cost (the market pays) up, a negative
 *   one (the traders lose) toward zero;
 * - a repeg keeps the base reserve and moves the quote reserve toward a target; when the full move
 *   costs more than the budget has available, it moves as far as it can with a cost <= available:
 *   found here by a search over the distance (the cost is monotonic in it), not by a formula;
 * - a depth change scales both reserves by a WAD ratio, each rounded down;
 * - the spread: base + skew x 5% + gap + base x drawdown, each product a WAD ratio rounded up (the
 *   trader pays), capped at the maximum;
 * - the leverage bound: a trade that does not grow |net| passes; one that does passes when its
 *   exposure |net after| x price (rounded up) is at most funds x maxLeverage (rounded down).
 *
 * Every quantity is in wei (18-decimal fixed point); ratios and prices are WAD.
 */
import { Rational } from "./rational.js";

export const WAD = 10n ** 18n;
export const SKEW_WEIGHT = 5n * 10n ** 16n; // 0.05

/** The model's counterpart of the library's NetPositionExceedsCurve(baseReserve, net). */
export class NetPositionExceedsCurve extends Error {
  constructor(
    readonly baseReserve: bigint,
    readonly net: bigint,
  ) {
    super(`NetPositionExceedsCurve(${baseReserve}, ${net})`);
  }
}

// ---------------------------------------------------------------------- rounding of exact values

/** The largest integer not above x. */
export function floorOf(x: Rational): bigint {
  const q = x.n / x.d; // truncates toward zero
  return x.n < 0n && q * x.d !== x.n ? q - 1n : q;
}

/** The smallest integer not below x. */
export function ceilOf(x: Rational): bigint {
  return -floorOf(x.neg());
}

/** x rounded in the market's favour as a cost: up when positive, toward zero when negative. */
export function roundCost(x: Rational): bigint {
  return x.n > 0n ? ceilOf(x) : -floorOf(x.neg());
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);
const wad = (x: bigint, y: bigint): Rational => new Rational(x * y, WAD);

// ---------------------------------------------------------------------- terminal value and cost

/** V(q, b) = q x net / (b + net), exact; throws when the net position cannot close on the curve. */
export function terminalValue(q: bigint, b: bigint, net: bigint): Rational {
  if (net === 0n) return new Rational(0n);
  if (b + net <= 0n) throw new NetPositionExceedsCurve(b, net);
  return new Rational(q * net, b + net);
}

/**
 * The exact, unrounded V(q1, b1) - V(q0, b0). The current curve is valued first, so a net position
 * that fits neither curve is reported against the current one (b0).
 */
export function exactAdjustmentCost(q0: bigint, b0: bigint, q1: bigint, b1: bigint, net: bigint): Rational {
  const before = terminalValue(q0, b0, net);
  return terminalValue(q1, b1, net).sub(before);
}

/** The cost the market pays (positive) or gains (negative) for moving (q0, b0) to (q1, b1). */
export function adjustmentCost(q0: bigint, b0: bigint, q1: bigint, b1: bigint, net: bigint): bigint {
  return roundCost(exactAdjustmentCost(q0, b0, q1, b1, net));
}

// ---------------------------------------------------------------------- repeg and depth

/** The quote reserve that puts a curve of base reserve b at `price` (WAD): b x price, rounded down. */
export function quoteAtPrice(b: bigint, price: bigint): bigint {
  return floorOf(wad(b, price));
}

/**
 * A repeg of (q0, b) toward targetQuote within `available`: the target itself when its cost is at
 * most `available` (or is not positive), else the farthest quote reserve toward the target whose
 * cost is at most `available`, found by a binary search on the distance moved.
 */
export function repegWithin(
  q0: bigint,
  b: bigint,
  targetQuote: bigint,
  net: bigint,
  available: bigint,
): { q1: bigint; cost: bigint } {
  const full = adjustmentCost(q0, b, targetQuote, b, net);
  if (full <= available) return { q1: targetQuote, cost: full };
  const direction = targetQuote > q0 ? 1n : -1n;
  const costAt = (distance: bigint) => adjustmentCost(q0, b, q0 + direction * distance, b, net);
  // Invariant: costAt(lo) <= available < costAt(hi).
  let lo = 0n;
  let hi = abs(targetQuote - q0);
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (costAt(mid) <= available) lo = mid;
    else hi = mid;
  }
  const q1 = q0 + direction * lo;
  return { q1, cost: costAt(lo) };
}

/** Both reserves scaled by a WAD ratio, each rounded down. */
export function scaleDepth(q: bigint, b: bigint, ratio: bigint): { q1: bigint; b1: bigint } {
  return { q1: floorOf(wad(q, ratio)), b1: floorOf(wad(b, ratio)) };
}

/** A depth change's reserves and cost: scaleDepth, then the adjustment cost of the change. */
export function depthChange(q: bigint, b: bigint, ratio: bigint, net: bigint) {
  const { q1, b1 } = scaleDepth(q, b, ratio);
  return { q1, b1, cost: adjustmentCost(q, b, q1, b1, net) };
}

/**
 * The largest growth toward `maxRatio` (> 1, WAD) whose cost is at most `available`: "as much as
 * fits", by a binary search on the ratio (the cost of a growth rises with it). 1 (WAD) when even
 * one wei of ratio costs too much.
 */
export function depthWithin(q: bigint, b: bigint, maxRatio: bigint, net: bigint, available: bigint) {
  const fits = (ratio: bigint) => depthChange(q, b, ratio, net).cost <= available;
  if (fits(maxRatio)) return maxRatio;
  let lo = WAD; // fits: no change
  let hi = maxRatio; // does not fit
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The exact ratio at which growing the depth of (q, b) costs `room`: scaled by r the terminal value
 * is V(r) = r q net / (r b + net), so with W = V(q, b) + room, V(r) = W at r = W net / (q net - W b).
 * Undefined when no ratio reaches W: V(r) only approaches q net / b, so when W >= q net / b
 * (q net - W b <= 0; always for net 0) every growth costs less than the room.
 */
export function exactDepthRatioForCost(q: bigint, b: bigint, net: bigint, room: bigint): Rational | undefined {
  const w = terminalValue(q, b, net).add(new Rational(room));
  const denominator = new Rational(q * net).sub(w.mul(new Rational(b)));
  if (denominator.cmp(new Rational(0n)) <= 0) return undefined;
  return w.mul(new Rational(net)).div(denominator);
}

/** The largest uint256, the library's answer for "every growth fits". */
export const MAX_UINT256 = 2n ** 256n - 1n;

/** floor(WAD x the exact ratio), or MAX_UINT256 when every growth fits (the library's depthRatioForCost). */
export function depthRatioForCost(q: bigint, b: bigint, net: bigint, room: bigint): bigint {
  const r = exactDepthRatioForCost(q, b, net, room);
  return r === undefined ? MAX_UINT256 : floorOf(r.mul(new Rational(WAD)));
}

/**
 * The module's growth when the full step to `rFull` (WAD) costs more than `room`: the exact ratio
 * floor(WAD r), at most rFull; one wei less when the rounded cost at it is above the room; no growth
 * (undefined) when even that costs more, or the ratio is 1.
 */
export function partialGrowth(q: bigint, b: bigint, net: bigint, room: bigint, rFull: bigint) {
  const exact = depthRatioForCost(q, b, net, room);
  let ratio = exact < rFull ? exact : rFull;
  let change = depthChange(q, b, ratio, net);
  if (change.cost > room && ratio > WAD) change = depthChange(q, b, --ratio, net);
  if (change.cost > room || ratio === WAD) return undefined;
  return { ratio, ...change };
}

// ---------------------------------------------------------------------- spread and leverage

export interface SpreadInputs {
  baseSpread: bigint;
  maxSpread: bigint;
  skew: bigint;
  gap: bigint;
  drawdown: bigint;
}

/** min(max, base + ceil(skew x 0.05) + gap + ceil(base x drawdown)), all WAD ratios. */
export function spreadRatio(i: SpreadInputs): bigint {
  const spread = i.baseSpread + ceilOf(wad(i.skew, SKEW_WEIGHT)) + i.gap + ceilOf(wad(i.baseSpread, i.drawdown));
  return spread < i.maxSpread ? spread : i.maxSpread;
}

/** The exposure a net position carries at a WAD price: |net| x price, rounded up. */
export function exposure(net: bigint, price: bigint): bigint {
  return ceilOf(wad(abs(net), price));
}

/** The largest exposure the funds carry at a WAD leverage: funds x leverage, rounded down. */
export function maxExposure(funds: bigint, maxLeverage: bigint): bigint {
  return floorOf(wad(funds, maxLeverage));
}

/** Whether a trade from netBefore to netAfter stays within the leverage bound (0: no bound). */
export function withinLeverage(
  netBefore: bigint,
  netAfter: bigint,
  price: bigint,
  funds: bigint,
  maxLeverage: bigint,
): boolean {
  if (maxLeverage === 0n || abs(netAfter) <= abs(netBefore)) return true;
  return exposure(netAfter, price) <= maxExposure(funds, maxLeverage);
}

// ---------------------------------------------------------------------- a seeded generator

/** A small deterministic generator (xorshift64*), so a random sweep explores the same cases each run. */
export class Seeded {
  private state: bigint;
  constructor(seed: bigint) {
    this.state = seed & 0xffffffffffffffffn || 1n;
  }
  /** 64 random bits. */
  next(): bigint {
    let x = this.state;
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    this.state = x;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  }
  /** A uniform integer in [lo, hi]. */
  between(lo: bigint, hi: bigint): bigint {
    const span = hi - lo + 1n;
    let r = 0n;
    for (let bits = 0n; 1n << bits < span * 2n ** 64n; bits += 64n) r = (r << 64n) | this.next();
    return lo + (r % span);
  }
  /** An integer in [lo, hi] (lo > 0) spread evenly over the orders of magnitude. */
  logBetween(lo: bigint, hi: bigint): bigint {
    const digits = (x: bigint) => BigInt(x.toString().length);
    const d = this.between(digits(lo), digits(hi));
    const start = 10n ** (d - 1n) > lo ? 10n ** (d - 1n) : lo;
    const end = 10n ** d - 1n < hi ? 10n ** d - 1n : hi;
    return this.between(start, end);
  }
  chance(percent: number): boolean {
    return this.between(0n, 99n) < BigInt(percent);
  }
}
