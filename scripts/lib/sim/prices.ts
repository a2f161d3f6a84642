/**
 * Seeded index price paths: a geometric random walk per market, correlated through a common
 * factor, with a crash of at least 30% (over a few steps, from about 45% of the run) and a partial
 * recovery after it.
 */
import type { Random } from "./random.js";

export interface AssetSpec {
  symbol: string;
  /** Starting index price (quote per base). */
  price: number;
}

export const ASSETS: readonly AssetSpec[] = [
  { symbol: "ETH", price: 2_000 },
  { symbol: "BTC", price: 30_000 },
  { symbol: "SOL", price: 100 },
  { symbol: "LINK", price: 15 },
];

export interface PricePathOptions {
  steps: number;
  /** Volatility of one step (standard deviation of the log return). */
  stepVolatility?: number;
  /** Share of the volatility common to every market. */
  correlation?: number;
}

export interface PricePaths {
  /** prices[market][step], steps + 1 points (the first is the start price). */
  prices: number[][];
  crashStart: number;
  crashEnd: number;
  /** Peak-to-trough drop of each market across the crash (0.35 = 35%). */
  crashDepth: number[];
}

export function pricePaths(random: Random, assets: readonly AssetSpec[], options: PricePathOptions): PricePaths {
  const { steps } = options;
  const vol = options.stepVolatility ?? 0.005;
  const rho = options.correlation ?? 0.6;
  const crashStart = Math.max(1, Math.floor(steps * 0.45));
  const crashLength = Math.max(2, Math.min(6, Math.round(steps * 0.03)));
  const crashEnd = Math.min(steps, crashStart + crashLength);
  // The first market falls 38%, the others 32% to 45%: all at least 30%.
  const depths = assets.map((_, i) => (i === 0 ? 0.38 : random.uniform(0.32, 0.45)));
  const recoveryEnd = Math.min(steps, crashEnd + Math.max(1, Math.round(steps * 0.2)));
  const prices = assets.map((a) => [a.price]);
  for (let step = 1; step <= steps; step++) {
    const common = random.normal();
    for (let m = 0; m < assets.length; m++) {
      const last = prices[m][step - 1];
      let next: number;
      if (step > crashStart && step <= crashEnd) {
        // No noise within the crash, so its depth is exact.
        next = last * Math.pow(1 - depths[m], 1 / (crashEnd - crashStart));
      } else {
        const z = Math.sqrt(rho) * common + Math.sqrt(1 - rho) * random.normal();
        // A partial rebound (a third of the fall back) in the steps after the crash.
        const drift =
          step > crashEnd && step <= recoveryEnd ? Math.log(1 + depths[m] / 3) / (recoveryEnd - crashEnd) : 0;
        next = last * Math.exp(drift + vol * z - (vol * vol) / 2);
      }
      prices[m].push(next);
    }
  }
  const crashDepth = prices.map((p) => 1 - p[crashEnd] / p[crashStart]);
  return { prices, crashStart, crashEnd, crashDepth };
}
