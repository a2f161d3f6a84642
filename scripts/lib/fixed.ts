/**
 * bigint 18-decimal fixed-point helpers mirroring contracts/libraries/FixedPoint.sol, so off-chain
 * figures round exactly as the contracts do.
 */
export const WAD = 10n ** 18n;

export const mulDivDown = (x: bigint, y: bigint, d: bigint): bigint => (x * y) / d;
export const mulDivUp = (x: bigint, y: bigint, d: bigint): bigint => {
  const p = x * y;
  return p === 0n ? 0n : (p - 1n) / d + 1n;
};
export const wMulDown = (x: bigint, y: bigint): bigint => mulDivDown(x, y, WAD);
export const wMulUp = (x: bigint, y: bigint): bigint => mulDivUp(x, y, WAD);
export const wDivDown = (x: bigint, y: bigint): bigint => mulDivDown(x, WAD, y);
export const wDivUp = (x: bigint, y: bigint): bigint => mulDivUp(x, WAD, y);
export const abs = (x: bigint): bigint => (x < 0n ? -x : x);

/** Parses a decimal string ("480.5") into 18-decimal fixed point. */
export function toWad(value: string | number): bigint {
  const [whole, frac = ""] = String(value).split(".");
  const negative = whole.startsWith("-");
  const digits = BigInt(whole.replace("-", "") || "0") * WAD + BigInt((frac + "0".repeat(18)).slice(0, 18));
  return negative ? -digits : digits;
}

/** Formats 18-decimal fixed point with `decimals` digits after the point (truncated). */
export function formatWad(value: bigint, decimals = 6): string {
  const negative = value < 0n;
  const v = negative ? -value : value;
  const whole = v / WAD;
  const frac = (v % WAD).toString().padStart(18, "0").slice(0, decimals);
  return `${negative ? "-" : ""}${whole.toLocaleString("en-US")}${decimals > 0 ? "." + frac : ""}`;
}

// ---------------------------------------------------------------- units (added for the client library)

/** Signed a*b/d rounded toward zero, as Solidity's signed division does. */
export const mulDivSigned = (x: bigint, y: bigint, d: bigint): bigint => (x * y) / d;

/** 10^(18 - decimals): token units x scale = 18-decimal units, exactly (the Vault's `_scale`). */
export function tokenScale(decimals: number): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18)
    throw new RangeError(`unsupported decimals ${decimals}`);
  return 10n ** BigInt(18 - decimals);
}

/** Token units to 18 decimals, exact (the Vault's deposit). */
export const tokenToWad = (units: bigint, decimals: number): bigint => units * tokenScale(decimals);

/** 18 decimals to token units, rounded down as the Vault's `balanceOf` does (up when asked: what a debt needs). */
export function wadToToken(wad: bigint, decimals: number, rounding: "down" | "up" = "down"): bigint {
  const scale = tokenScale(decimals);
  return rounding === "up" ? mulDivUp(wad, 1n, scale) : wad / scale;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * Parses a human decimal string ("1,250.5", "1_000", "-3", "1e3", "2.5e-2") into an integer with
 * `decimals` digits after the point. Exact: more fractional digits than `decimals` is an error, never a silent cut.
 */
export function parseDecimal(value: string, decimals = 18): bigint {
  const text = shiftExponent(value.trim().replace(/[,_]/g, ""), value);
  const m = DECIMAL.exec(text);
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) throw new RangeError(`"${value}" is not a number`);
  const frac = m[3] ?? "";
  if (frac.length > decimals) throw new RangeError(`"${value}" has more than ${decimals} digits after the point`);
  const digits =
    BigInt(m[2] || "0") * 10n ** BigInt(decimals) + BigInt((frac + "0".repeat(decimals)).slice(0, decimals) || "0");
  return m[1] === "-" ? -digits : digits;
}

/**
 * Scientific notation written out exactly: "1e3" -> "1000", "2.5E-2" -> "0.025" (the point moved,
 * no floating point); anything without an exponent is returned as is.
 */
function shiftExponent(text: string, original: string): string {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?e([+-]?\d+)$/i.exec(text);
  if (m === null) return text;
  const [, sign, int, frac = "", expText] = m;
  if (int === "" && frac === "") throw new RangeError(`"${original}" is not a number`);
  const exp = Number(expText);
  if (Math.abs(exp) > 77) throw new RangeError(`"${original}": the exponent ${exp} is out of range`);
  const digits = int + frac;
  const point = int.length + exp; // where the point falls in `digits`
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** "0.5%" -> 0.005, "5bps" -> 0.0005, "0.1" -> 0.1 (a bare number is a fraction), in 18 decimals. */
export function parseRatio(value: string): bigint {
  const text = value.trim().toLowerCase();
  if (text.endsWith("%")) return parseDecimal(text.slice(0, -1), 18) / 100n;
  if (text.endsWith("bps")) return parseDecimal(text.slice(0, -3), 18) / 10_000n;
  return parseDecimal(text, 18);
}

/**
 * Formats an integer with `decimals` implied digits: at most `maxFraction` digits after the point
 * (truncated toward zero), trailing zeros dropped, thousands grouped.
 */
export function formatUnits(value: bigint, decimals = 18, maxFraction = 6): string {
  const negative = value < 0n;
  const v = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = (v / unit).toLocaleString("en-US");
  const frac = (v % unit).toString().padStart(decimals, "0").slice(0, maxFraction).replace(/0+$/, "");
  const text = frac === "" ? whole : `${whole}.${frac}`;
  return negative && text !== "0" ? `-${text}` : text;
}

/** An 18-decimal ratio as a percentage: 0.0625e18 -> "6.25%". */
export const formatPercent = (ratio: bigint, maxFraction = 4): string =>
  `${formatUnits(ratio * 100n, 18, maxFraction)}%`;
