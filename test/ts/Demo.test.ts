/**
 * The demo's simulation (scripts/lib/sim/run.ts) with few steps: every position is closed or
 * liquidated, every account withdraws, and the solvency check holds (the Vault's tokens equal every
 * claim, the margin pool keeps only rounding dust); the same seed gives the same run. And the
 * arbitrage bot's planner (scripts/lib/arbitrage.ts): direction, fee band and limits.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { LONG, planTrade, SHORT, type MarketView } from "../../scripts/lib/arbitrage.js";
import { runSimulation, type SimResult } from "../../scripts/lib/sim/run.js";

async function simulate(seed: string): Promise<SimResult> {
  const { ethers, provider } = await network.create();
  return runSimulation(
    { ethers, provider: provider as Parameters<typeof runSimulation>[0]["provider"] },
    { seed, steps: 20, markets: 2, traders: 8 },
  );
}

const view = (over: Partial<MarketView> = {}): MarketView => ({
  quoteReserve: 2_000_000,
  baseReserve: 1_000,
  index: 2_000,
  feeRatio: 0.001,
  maxTradeRatio: 0,
  fluctuationLimitRatio: 0,
  maxOpenInterest: 0,
  longOpenInterest: 0,
  shortOpenInterest: 0,
  reduceOnly: false,
  premiumPerDay: 0,
  positionSize: 0,
  openNotional: 0,
  freeCollateral: 1_000_000,
  ...over,
});
const settings = { leverage: 2, maxPositionNotional: 1_000_000, minProfit: 1, horizonSeconds: 3_600 };

describe("Demo simulation", function () {
  it("closes everything, withdraws, and passes the solvency check; the same seed gives the same run", async function () {
    const a = await simulate("ci");
    expect(a.solvency.problems).to.deep.equal([]);
    expect(a.solvency.ok).to.equal(true);
    expect(a.solvency.vaultTokens * 10n ** 12n).to.equal(a.solvency.claims);
    expect(a.solvency.marginPool <= a.solvency.dustLimit).to.equal(true);
    expect(a.solvency.openPositions).to.equal(0);
    expect(a.samples).to.have.length(21);
    for (const m of a.markets) {
      expect(m.crashDepthPct).to.be.at.least(30);
      expect(m.trades).to.be.greaterThan(0);
    }
    expect(a.markets.reduce((n, m) => n + m.arbTrades, 0)).to.be.greaterThan(0);

    const b = await simulate("ci");
    expect(b.markets).to.deep.equal(a.markets);
    expect(b.solvency).to.deep.equal(a.solvency);
  });
});

describe("Arbitrage planner", function () {
  it("shorts a mark above the index, longs one below, and stays out of the fee band", function () {
    const above = planTrade(view({ baseReserve: 980 }), settings); // mark ~2,082
    expect(above.trade && above.side).to.equal(SHORT);
    const below = planTrade(view({ baseReserve: 1_020 }), settings); // mark ~1,922
    expect(below.trade && below.side).to.equal(LONG);
    const inside = planTrade(view({ baseReserve: 999.5 }), settings); // mark 0.1% above
    expect(inside.trade).to.equal(false);
  });

  it("aims at the index less the fee and never past it", function () {
    const plan = planTrade(view({ baseReserve: 980 }), settings);
    if (!plan.trade) throw new Error("expected a trade");
    const k = 2_000_000 * 980;
    const q = 2_000_000 - plan.quote;
    expect(Math.abs((q * q) / k - 2_000 * 1.001) < 0.01).to.equal(true);
    expect(plan.capped).to.equal("index");
  });

  it("respects maxTradeRatio, the fluctuation limit, the open-interest cap, collateral and reduce-only", function () {
    const far = { baseReserve: 900 }; // mark ~2,469, 23% above the index
    const byTrade = planTrade(view({ ...far, maxTradeRatio: 0.01 }), settings);
    expect(byTrade.trade && byTrade.capped).to.equal("maxTradeRatio");
    expect(byTrade.trade && byTrade.quote).to.be.at.most(0.01 * 2_000_000);
    const byFluctuation = planTrade(view({ ...far, fluctuationLimitRatio: 0.02 }), settings);
    if (!byFluctuation.trade) throw new Error("expected a trade");
    const q = 2_000_000 - byFluctuation.quote;
    expect(1 - (q * q) / 2_000_000 ** 2).to.be.below(0.02);
    const byOi = planTrade(view({ ...far, maxOpenInterest: 20, shortOpenInterest: 10 }), settings);
    expect(byOi.trade && byOi.capped).to.equal("open-interest cap");
    expect(byOi.trade && byOi.base).to.be.below(10);
    const byCollateral = planTrade(view({ ...far, freeCollateral: 1_000 }), settings);
    expect(byCollateral.trade && byCollateral.quote).to.be.below(2_000);
    expect(planTrade(view({ ...far, reduceOnly: true }), settings).trade).to.equal(false);
    const reduce = planTrade(view({ ...far, reduceOnly: true, positionSize: 5, openNotional: 10_000 }), settings);
    expect(reduce.trade && reduce.capped).to.equal("reduce-only");
  });

  it("counts expected funding: a short collects a positive premium, which can pay for the fees", function () {
    const small = view({ baseReserve: 997 }); // mark 0.6% above
    // The price gain alone does not beat the fees; a day of a 1%/day premium does.
    const without = planTrade(small, settings);
    expect(without.trade).to.equal(false);
    const withFunding = planTrade({ ...small, premiumPerDay: 20 }, { ...settings, horizonSeconds: 86_400 });
    if (!withFunding.trade) throw new Error("expected a trade");
    expect(withFunding.side).to.equal(SHORT);
    expect(withFunding.fundingGain).to.be.greaterThan(0);
  });
});
