/** The benchmark's figures from a run's series: plain functions, tested on worked examples. */

/** The largest fall from a running peak to a later value (>= 0): the classic drawdown. */
export function peakToTrough(path: readonly number[]): number {
  let peak = -Infinity;
  let drawdown = 0;
  for (const value of path) {
    peak = Math.max(peak, value);
    drawdown = Math.max(drawdown, peak - value);
  }
  return drawdown;
}

/**
 * The funding subsidy the Amm allows the insurance fund to pay over a run: `ratio` of the fund per
 * day of funding, on the fund's balance at the start of each step of `stepSeconds` (`funds` holds
 * the balance at every sample, the first at the start; the last one starts no step).
 */
export function subsidyAllowance(ratio: number, funds: readonly number[], stepSeconds: number): number {
  let total = 0;
  for (let i = 0; i + 1 < funds.length; i++) total += (ratio * funds[i] * stepSeconds) / 86_400;
  return total;
}
