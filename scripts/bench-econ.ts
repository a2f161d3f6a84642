/**
 * The economics benchmark (`npm run bench:econ`): the seeded scenarios (a 38% crash of the index,
 * a +30% rally) on the embedded Hardhat network, each with the static curve and with the dynamic
 * one (budgeted repeg, formulaic k, spread, vAMM leverage bound), each with and without the
 * arbitrage bot, trend-following traders and the funding, liquidation and claims keepers in every
 * run. Prints one table and the goals' checks, writes reports/econ/summary.json and the charts
 * reports/econ/mark-index.png and reports/econ/curve.png.
 *
 * Settings: ECON_SEED (default 14), ECON_STEPS (72 steps of 30 minutes), ECON_TRADERS (24),
 * ECON_PARALLEL (2 runs at a time, each on its own network).
 */
import { network } from "hardhat";
import { DYNAMIC_CURVE_AVAILABLE, type CurveName } from "./lib/sim/curve.js";
import { goalChecks, goalLines, resultsTable, writeEconReports } from "./lib/econ/report.js";
import { runBenchmark, type RunOptions, type RunResult } from "./lib/econ/run.js";
import { SCENARIOS } from "./lib/econ/scenarios.js";

const OUT = "reports/econ";

function wholeNumber(env: string, fallback: number, min: number, max: number): number {
  const value = process.env[env]?.trim();
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    console.error(`bench:econ: ${env} must be a whole number from ${min} to ${max}, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const seed = process.env.ECON_SEED?.trim() || "14";
const steps = wholeNumber("ECON_STEPS", 72, 20, 10_000);
const traders = wholeNumber("ECON_TRADERS", 24, 2, 500);
const parallel = wholeNumber("ECON_PARALLEL", 2, 1, 8);
const stepSeconds = 1_800;

const curves: CurveName[] = DYNAMIC_CURVE_AVAILABLE ? ["static", "dynamic"] : ["static"];
const plan: RunOptions[] = SCENARIOS.flatMap((scenario) =>
  curves.flatMap((curve) =>
    [false, true].map((arbitrage) => ({ scenario, curve, arbitrage, seed, steps, traders, stepSeconds })),
  ),
);

const started = performance.now();
console.log(
  `economics benchmark: seed ${seed}, ${steps} steps of ${stepSeconds / 60} minutes, ${traders} traders, ` +
    `${plan.length} runs, ${parallel} at a time (embedded Hardhat network)`,
);
if (!DYNAMIC_CURVE_AVAILABLE) console.log("the contracts of this checkout have no dynamic curve: static runs only");

const results: RunResult[] = new Array(plan.length);
let next = 0;
async function worker(): Promise<void> {
  while (next < plan.length) {
    const i = next++;
    const { ethers, provider } = await network.create();
    const r = await runBenchmark(
      { ethers, provider: provider as Parameters<typeof runBenchmark>[0]["provider"] },
      plan[i],
    );
    results[i] = r;
    const o = r.options;
    process.stderr.write(
      `  ${o.scenario} ${o.curve} ${o.arbitrage ? "arb" : "no-arb"}: ${r.seconds.toFixed(1)} s, mean gap ${r.meanGapPct.toFixed(3)}%\n`,
    );
  }
}
await Promise.all(Array.from({ length: Math.min(parallel, plan.length) }, worker));
const seconds = (performance.now() - started) / 1000;

console.log("");
console.log(resultsTable(results));
console.log(
  "\ngap: |mark / index - 1| sampled after each step's trades and keepers; fund drawdown: its largest peak-to-trough " +
    "fall (50,000 staked at the start; sampled each step and after the wind-down); fund funding paid: its net share of funding (+ paid); budget funding paid: the AMM budget's, which pays and takes the imbalance before the fund on a dynamic curve; subsidy " +
    "budget: the Amm's maxFundingSubsidyRatio x the fund x the run's days; repeg and k costs: the Amm's events " +
    "(paid by the AMM budget); traders' PnL: withdrawn less deposited after every position closed.",
);
const checks = goalChecks(results);
console.log("\nGoals");
for (const line of goalLines(checks)) console.log(`  ${line}`);
const unbalanced = results.filter((r) => !r.vaultBalanced);
const files = writeEconReports(results, checks, OUT, {
  seed,
  steps,
  stepSeconds,
  traders,
  seconds: Math.round(seconds),
});
console.log(`\nreports: ${files.join(", ")}`);
console.log(`done in ${seconds.toFixed(1)} s`);
if (unbalanced.length > 0) {
  console.error(`the Vault's balance differs from what it owes after ${unbalanced.length} run(s)`);
  process.exitCode = 1;
}
