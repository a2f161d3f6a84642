/**
 * The main job: a seeded simulation of the protocol on the embedded Hardhat network. Two or more
 * markets with mock Chainlink feeds follow a random walk with a crash of at least 30%; a few dozen
 * traders trade at random with varied leverage; the arbitrage bot trades the mark toward the index;
 * the funding and liquidation keepers tick as time advances. At the end: a summary table, PNG
 * charts under reports/demo/, every position closed (or liquidated), every account withdrawn, and
 * the solvency check, which exits non-zero if it fails.
 *
 * Run: `npm run demo` or `npm run demo -- --seed 7 --steps 100 --markets 3 --traders 24`;
 * `--curve dynamic` turns on the dynamic curve (repeg, formulaic k, spread, a seeded AMM budget) and
 * adds reports/demo/curve.png (each market's peg, depth and budget over time)
 * (scripts/demo-cli.mjs turns the flags into DEMO_SEED, DEMO_STEPS, DEMO_MARKETS, DEMO_TRADERS and DEMO_CURVE,
 * as `hardhat run` does not pass arguments to scripts; setting those variables works too).
 * `npm run demo -- --update-readme-chart` (DEMO_UPDATE_README_CHART=1) also copies the overview
 * chart to README_CHART, the committed picture in the README (a run with `--curve dynamic`, the
 * curve the parameter files deploy); a plain run leaves the tree clean.
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { network } from "hardhat";
import { runSimulation } from "./lib/sim/run.js";
import { reconciliationLines, solvencyLines, summaryTable, windDownLine, writeReports } from "./lib/sim/summary.js";

/** Git-ignored: every run writes its charts, summary and bot log here. */
const OUT = "reports/demo";
/** Committed: the README's picture, rewritten only with `--update-readme-chart`. */
const README_CHART = "reports/demo-overview.png";

/** `--name value` or `--name=value` from the command line, else the environment variable. */
function setting(name: string, env: string, fallback: string): string {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  const value = process.env[env]?.trim();
  return value === undefined || value === "" ? fallback : value;
}

function wholeNumber(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    console.error(`demo: --${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    process.exit(2);
  }
  return n;
}

const seed = setting("seed", "DEMO_SEED", "42");
const steps = wholeNumber("steps", setting("steps", "DEMO_STEPS", "240"), 10, 100_000);
const markets = wholeNumber("markets", setting("markets", "DEMO_MARKETS", "2"), 2, 4);
const traders = wholeNumber("traders", setting("traders", "DEMO_TRADERS", "36"), 2, 500);
const curve = setting("curve", "DEMO_CURVE", "static");
if (curve !== "static" && curve !== "dynamic") {
  console.error(`demo: --curve must be static or dynamic, got "${curve}"`);
  process.exit(2);
}

/** A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise. */
function progress(step: number, total: number, note: string): void {
  const fraction = step / total;
  const width = 30;
  const filled = Math.round(fraction * width);
  const elapsed = (performance.now() - started) / 1000;
  const eta = step > 0 ? (elapsed / step) * (total - step) : 0;
  const text =
    `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ` +
    `step ${step}/${total}  ${note}  ${elapsed.toFixed(0)}s elapsed, ~${eta.toFixed(0)}s left`;
  if (process.stderr.isTTY) {
    process.stderr.write(`\r${text.slice(0, process.stderr.columns - 1)}`);
    if (step === total) process.stderr.write("\n");
  } else if (step === total || Math.floor((step * 10) / total) !== Math.floor(((step - 1) * 10) / total)) {
    process.stderr.write(`${text}\n`);
  }
}

const started = performance.now();
console.log(
  `vAMM perpetuals demo: seed ${seed}, ${steps} steps of 10 minutes, ${markets} markets, ${traders} traders, ` +
    `${curve} curve ` +
    `(embedded Hardhat network)`,
);
const { ethers, provider } = await network.create();
const logLines: string[] = [];
const result = await runSimulation(
  { ethers, provider: provider as Parameters<typeof runSimulation>[0]["provider"] },
  { seed, steps, markets, traders, curve, onStep: progress, log: (line) => logLines.push(line) },
);
const seconds = (performance.now() - started) / 1000;

console.log(
  `\nSummary (${result.options.steps} steps = ${((steps * 600) / 3600).toFixed(0)} simulated hours; index crash ` +
    `from hour ${result.crash.startHours.toFixed(1)} to ${result.crash.endHours.toFixed(1)})\n`,
);
console.log(summaryTable(result));
console.log(windDownLine(result));
console.log(
  `\ninsurance fund: ${result.insuranceStart.toLocaleString("en-US")} staked at the start, ` +
    `${result.insuranceEnd.toLocaleString("en-US", { maximumFractionDigits: 2 })} at the end`,
);
for (const line of reconciliationLines(result)) console.log(line);
const reasons = [...result.rejectedReasons.entries()].sort((a, b) => b[1] - a[1]);
if (reasons.length > 0) console.log(`rejected trades by reason: ${reasons.map(([r, n]) => `${r} ${n}`).join(", ")}`);
console.log(
  `wind-down: every position closed or liquidated in ${result.finalRounds} round(s); ` +
    `deposits ${result.deposits.toLocaleString("en-US")}, withdrawals ${result.withdrawals.toLocaleString("en-US", { maximumFractionDigits: 6 })}`,
);

const files = writeReports(result, OUT, { seconds: Math.round(seconds) });
const logFile = join(OUT, "bots.log");
writeFileSync(logFile, logLines.join("\n") + "\n");
console.log(`\nreports: ${[...files, logFile].join(", ")}`);

console.log("\nSolvency check");
for (const line of solvencyLines(result)) console.log(`    ${line}`);
console.log(`\ndone in ${seconds.toFixed(1)} s`);
if (!result.solvency.ok) {
  for (const problem of result.solvency.problems) console.error(`SOLVENCY CHECK FAILED: ${problem}`);
  process.exitCode = 1;
} else {
  const pending = result.solvency.markets.reduce((a, m) => a + m.claimsPending, 0n);
  console.log(
    `    OK: the vault's balance equals what it owes to the wei, the market pools hold ${curve === "dynamic" ? "their AMM budgets, what traders lost to repegs (uncredited) and" : "only"} rounding dust, and ` +
      (pending === 0n
        ? "every claim is paid"
        : `${pending} wei of claims stay unpaid, what the markets' uncovered shortfall and the bad debt charged to them (the liquidations' own price impact) left their pools without`),
  );
  if (process.env.DEMO_UPDATE_README_CHART === "1") {
    copyFileSync(join(OUT, "overview.png"), README_CHART);
    console.log(`\nREADME chart updated: ${README_CHART} (seed ${seed}, ${steps} steps, ${curve} curve): commit it`);
  }
}
