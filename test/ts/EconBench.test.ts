/**
 * The economics benchmark (scripts/bench-econ.ts, scripts/lib/econ): its index paths, its traders'
 * trend bias, its figures (drawdown, subsidy allowance) on worked examples, and a short run on the
 * embedded network: the money adds up (what the traders and the bot made, the fund's change and
 * what the market's pool keeps sum to what the run put in from outside), the gap figures agree with
 * the samples, the same seed gives the same run.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { peakToTrough, subsidyAllowance } from "../../scripts/lib/econ/metrics.js";
import { runBenchmark, type RunOptions, type RunResult } from "../../scripts/lib/econ/run.js";
import { scenarioPath } from "../../scripts/lib/econ/scenarios.js";
import { longChance } from "../../scripts/lib/econ/traders.js";
import { Random } from "../../scripts/lib/sim/random.js";

async function run(over: Partial<RunOptions> = {}): Promise<RunResult> {
  const { ethers, provider } = await network.create();
  return runBenchmark(
    { ethers, provider: provider as Parameters<typeof runBenchmark>[0]["provider"] },
    {
      scenario: "rally",
      curve: "static",
      arbitrage: false,
      seed: "ci",
      steps: 20,
      traders: 8,
      stepSeconds: 1_800,
      ...over,
    },
  );
}

/** `actual` equals `expected` to `tolerance` (chai's closeTo is the bigint matcher's here). */
function near(actual: number, expected: number, tolerance = 1e-9): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).to.be.at.most(tolerance);
}

/**
 * Traders' and the bot's PnL + the liquidator's rewards + the fund's change + what the pool keeps =
 * the budget seeded from outside (quote, to a cent): no money from nowhere.
 */
function checkMoney(r: RunResult): void {
  expect(r.vaultBalanced).to.equal(true);
  const total = r.tradersPnl + r.arbitragePnl + r.liquidatorRewards + (r.fundEnd - r.fundStart) + r.poolEnd;
  near(total, r.budgetSeed, 0.01);
}

describe("Economics benchmark", function () {
  it("crash path: the index falls exactly 38% over the crash window; the same seed gives the same path", function () {
    const a = scenarioPath("crash", new Random("x"), 72);
    const b = scenarioPath("crash", new Random("x"), 72);
    expect(a).to.deep.equal(b);
    expect(a.prices[0]).to.have.length(73);
    expect(a.prices[0][0]).to.equal(2_000);
    const p = a.prices[0];
    near(p[a.crashEnd] / p[a.crashStart], 0.62, 1e-12);
  });

  it("rally path: the index rises exactly 30% in equal steps over a fifth of the run, from 30% of it", function () {
    const { prices, crashStart, crashEnd, crashDepth } = scenarioPath("rally", new Random("x"), 100);
    const p = prices[0];
    expect([crashStart, crashEnd]).to.deep.equal([30, 50]);
    near(p[crashEnd] / p[crashStart], 1.3, 1e-12);
    near(crashDepth[0], -0.3, 1e-12);
    // Equal log steps: each step of the window is 1.3^(1/20).
    near(p[41] / p[40], Math.pow(1.3, 1 / 20), 1e-12);
  });

  it("traders' long chance: 0.5 flat, 0.5 + 0.4 tanh(trend / 2%) with a trend over 3 steps, within [0.1, 0.9]", function () {
    expect(longChance([100, 100, 100, 100], 3)).to.equal(0.5);
    // +2% over the last three steps: 0.5 + 0.4 tanh(1) = 0.80464...
    near(longChance([100, 101, 101.5, 102], 3), 0.5 + 0.4 * Math.tanh(1), 1e-9);
    near(longChance([100, 99, 98.5, 98], 3), 0.5 - 0.4 * Math.tanh(1), 1e-9);
    // At the start the trend is measured from the first price.
    near(longChance([100, 102], 1), 0.5 + 0.4 * Math.tanh(1), 1e-9);
    // A large trend saturates at 0.9 or 0.1 (to the float).
    near(longChance([100, 200, 300, 1000], 3), 0.9, 1e-12);
    near(longChance([100, 50, 20, 1], 3), 0.1, 1e-12);
  });

  it("drawdown is the largest fall from a running peak; the subsidy allowance is ratio x fund x days per step", function () {
    expect(peakToTrough([100, 120, 90, 130, 95])).to.equal(35);
    expect(peakToTrough([100, 101, 102])).to.equal(0);
    expect(peakToTrough([100, 80, 90, 70])).to.equal(30);
    // 1% per day on 50,000 then 40,000, two steps of 12 hours: 250 + 200 (the last balance starts no step).
    near(subsidyAllowance(0.01, [50_000, 40_000, 10], 43_200), 450, 1e-9);
  });

  it("a short static run: money adds up, the gap figures match the samples, the same seed repeats", async function () {
    const a = await run();
    checkMoney(a);
    expect(a.samples).to.have.length(21);
    expect(a.trades).to.be.greaterThan(0);
    expect(a.repegs.count).to.equal(0);
    expect(a.depthChanges.count).to.equal(0);
    expect(a.samples[0].peg).to.equal(undefined);
    const gaps = a.samples.slice(1).map((s) => Math.abs(s.gapPct));
    near(a.meanGapPct, gaps.reduce((x, y) => x + y, 0) / gaps.length);
    expect(a.maxGapPct).to.equal(Math.max(...gaps));
    for (const s of a.samples) near(s.gapPct, (s.mark / s.index - 1) * 100);
    expect(a.fundDrawdown).to.equal(peakToTrough([...a.samples.map((s) => s.fund), a.fundEnd]));
    const b = await run();
    expect(b.samples).to.deep.equal(a.samples);
    expect(b.tradersPnl).to.equal(a.tradersPnl);
  });

  it("a short dynamic run: the budget moves by the spread in and the curve's costs out; money adds up", async function () {
    const r = await run({ curve: "dynamic" });
    checkMoney(r);
    expect(r.budgetSeed).to.equal(20_000);
    expect(r.budgetStart).to.equal(20_000);
    expect(r.repegs.count).to.be.greaterThan(0);
    expect(r.spread).to.be.greaterThan(0);
    // In: the seed, the spread and the gains funding updates collected once realised; out: every
    // positive repeg and depth-change cost and the bad debt the budget paid before the fund; both
    // ways its share of funding (net paid). What was collected never exceeds what the moves gained.
    near(
      r.budgetEnd!,
      20_000 +
        r.spread -
        r.repegs.paid -
        r.depthChanges.paid +
        r.gainsCollected -
        r.badDebtFromBudget -
        r.budgetFundingPaid,
      1e-6,
    );
    expect(r.gainsCollected).to.be.at.most(r.repegs.gained + r.depthChanges.gained + 1e-6);
    // The pool keeps the budget and what the traders lost to repegs beyond it; never less than the budget.
    expect(r.poolEnd).to.be.at.least(r.budgetEnd!);
    for (const s of r.samples) {
      expect(s.peg).to.be.greaterThan(0);
      expect(s.depth).to.be.within(0.5, 2);
      expect(s.budget).to.be.at.least(2_000);
    }
  });
});
