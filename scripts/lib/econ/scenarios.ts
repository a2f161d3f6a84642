/**
 * The benchmark's seeded index paths, one market (ETH at 2,000): the demo's crash (a fall of 38%
 * over a few steps from about 45% of the run, a third of it recovered after) and a rally (+30%
 * in equal steps over a fifth of the run, from about 30% of it, then the random walk again). Both
 * keep the demo's random walk outside the move, so the traders see noise as well as the trend.
 */
import { ASSETS, pricePaths, type PricePaths } from "../sim/prices.js";
import type { Random } from "../sim/random.js";

export type ScenarioName = "crash" | "rally";

export const SCENARIOS: readonly ScenarioName[] = ["crash", "rally"];

/** Human labels for the table and the charts. */
export const SCENARIO_LABELS: Record<ScenarioName, string> = {
  crash: "crash -38%",
  rally: "rally +30%",
};

/** The market the benchmark trades: the demo's first asset (ETH, 2,000). */
export const BENCH_ASSET = ASSETS[0];

const STEP_VOLATILITY = 0.004;
const RALLY = 0.3;

/**
 * The index path of `scenario` over `steps` steps. The crash is the demo's own path (its first
 * market always falls 38%); the rally climbs `RALLY` in equal log steps without noise (so its size
 * is exact, as the crash's is) and walks like the crash path outside it. The
 * move's window is returned as crashStart/crashEnd (the charts shade it) and crashDepth is the
 * move (negative for a rise).
 */
export function scenarioPath(scenario: ScenarioName, random: Random, steps: number): PricePaths {
  if (scenario === "crash") return pricePaths(random, [BENCH_ASSET], { steps, stepVolatility: STEP_VOLATILITY });
  const start = Math.max(1, Math.floor(steps * 0.3));
  const end = Math.min(steps, start + Math.max(2, Math.round(steps * 0.2)));
  const drift = Math.log(1 + RALLY) / (end - start);
  const prices = [BENCH_ASSET.price];
  for (let step = 1; step <= steps; step++) {
    const z = random.normal();
    const move = step > start && step <= end ? drift : STEP_VOLATILITY * z - (STEP_VOLATILITY * STEP_VOLATILITY) / 2;
    prices.push(prices[step - 1] * Math.exp(move));
  }
  return { prices: [prices], crashStart: start, crashEnd: end, crashDepth: [1 - prices[end] / prices[start]] };
}
