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
