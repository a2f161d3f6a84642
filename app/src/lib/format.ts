/** Numbers in human units: 18-decimal amounts, prices and ratios; token amounts in token units. */
import { formatUnits, parseUnits } from "viem";

export const WAD = 10n ** 18n;

/** `value` (with `decimals` decimals) with at most `digits` digits after the point, grouped by thousands. */
export function fmt(value: bigint, decimals = 18, digits = 4): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const [whole, frac = ""] = formatUnits(abs, decimals).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cut = frac.slice(0, digits).replace(/0+$/, "");
  return `${negative ? "-" : ""}${grouped}${cut ? "." + cut : ""}`;
}

/** An 18-decimal ratio as a percentage. */
export function pct(value: bigint, digits = 2): string {
  return `${fmt(value * 100n, 18, digits)}%`;
}

/** A signed 18-decimal amount with its sign. */
export function signed(value: bigint, digits = 4): string {
  return `${value > 0n ? "+" : ""}${fmt(value, 18, digits)}`;
}

/** Parses a decimal input into `decimals` fixed point; undefined when it is not a number >= 0. */
export function parseAmount(text: string, decimals = 18): bigint | undefined {
  const t = text.trim();
  if (!/^\d+(\.\d*)?$|^\.\d+$/.test(t)) return undefined;
  const [whole, frac = ""] = t.split(".");
  try {
    return parseUnits(`${whole || "0"}.${frac.slice(0, decimals) || "0"}`, decimals);
  } catch {
    return undefined;
  }
}

/** Seconds as "1d 2h 3m 4s". */
export function duration(seconds: number): string {
  if (seconds <= 0) return "0s";
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, "d"],
    [3600, "h"],
    [60, "m"],
    [1, "s"],
  ];
  let rest = Math.floor(seconds);
  for (const [size, unit] of units) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(" ");
}

export const short = (address: string): string => `${address.slice(0, 6)}…${address.slice(-4)}`;
