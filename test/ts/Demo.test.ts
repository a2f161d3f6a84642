/**
 * The demo's simulation (scripts/lib/sim/run.ts) with few steps: every position is closed or
 * liquidated, every queued claim is paid, every account withdraws, and the solvency check holds (the
 * Vault's tokens equal free collateral + every market's pool + the fund to the wei, the pools keep
 * only rounding dust); the same seed gives the same run; the charts'
 * series are recorded for every market and agree with the summary, and the insurance fund's
 * reconciliation (last sample + wind-down flows = final) adds up to the wei. And the
 * arbitrage bot's planner (scripts/lib/arbitrage.ts): direction, fee band and limits.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { LONG, planTrade, SHORT, type MarketView } from "../../scripts/lib/arbitrage.js";
import { runSimulation, type SimResult } from "../../scripts/lib/sim/run.js";

async function simulate(seed: string, curve: "static" | "dynamic" = "static"): Promise<SimResult> {
  const { ethers, provider } = await network.create();
  return runSimulation(
    { ethers, provider: provider as Parameters<typeof runSimulation>[0]["provider"] },
    { seed, steps: 20, markets: 2, traders: 8, curve },
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
  it("with the dynamic curve: solvency holds with each budget left in its pool; peg, depth and budget sampled", async function () {
    const a = await simulate("ci", "dynamic");
    expect(a.solvency.problems).to.deep.equal([]);
    expect(a.solvency.vaultTokens * 10n ** 12n).to.equal(a.solvency.liabilities);
    for (const m of a.solvency.markets) {
      expect(m.budget >= 2_000n * 10n ** 18n).to.equal(true);
      expect(m.pool >= m.budget).to.equal(true);
    }
    for (const s of a.samples) for (const m of s.markets) expect(m.peg).to.be.greaterThan(0);
    expect(a.markets.reduce((n, m) => n + m.spread, 0)).to.be.greaterThan(0);
  });

  it("closes everything, withdraws, and passes the solvency check; the same seed gives the same run", async function () {
    const a = await simulate("ci");
    expect(a.solvency.problems).to.deep.equal([]);
    expect(a.solvency.ok).to.equal(true);
    expect(a.solvency.vaultTokens * 10n ** 12n).to.equal(a.solvency.liabilities);
    expect(a.solvency.marginPool <= a.solvency.dustLimit).to.equal(true);
    expect(a.solvency.openPositions).to.equal(0);
    checkMoney(a);
    expect(a.samples).to.have.length(21);
    for (const m of a.markets) {
      expect(m.crashDepthPct).to.be.at.least(30);
      expect(m.trades).to.be.greaterThan(0);
    }
    expect(a.markets.reduce((n, m) => n + m.arbTrades, 0)).to.be.greaterThan(0);

    checkSeries(a);
    checkReconciliation(a);

    const b = await simulate("ci");
    expect(b.markets).to.deep.equal(a.markets);
    expect(b.solvency).to.deep.equal(a.solvency);
    expect(b.insurance).to.deep.equal(a.insurance);
    expect(b.claims).to.deep.equal(a.claims);
    expect(b.samples).to.deep.equal(a.samples);
  });
});

/**
 * Money per market: the Vault's tokens are free collateral + each market's pool + the fund, the
 * pools add up to the Vault's total, no margin stays locked beyond the funding settlements' rounding
 * dust (the locked margin is net of pending funding; it stays inside the pool); the fund covered
 * every bad debt at the fair price (no shortfall), and every claim queued was paid but what the
 * bad debt charged to the market (the liquidations' own price impact) left its pool without, less
 * the pool's rounding dust; to the wei from the events; and the table's figures agree.
 */
function checkMoney(r: SimResult): void {
  const s = r.solvency;
  const pools = s.markets.map((m) => m.pool);
  expect(pools.reduce((a, b) => a + b, 0n)).to.equal(s.marginPool);
  expect(s.vaultTokens * 10n ** 12n).to.equal(s.freeCollateral + s.marginPool + s.insuranceFund);
  expect(s.markets.map((m) => m.symbol)).to.deep.equal(r.symbols);
  for (const [i, m] of s.markets.entries()) {
    expect(m.lockedMargin <= m.pool, "only dust stays locked, inside the pool").to.equal(true);
    expect(r.markets[i].shortfall).to.equal(0);
    const charged = r.chargedToMarket[i];
    near(r.markets[i].chargedToMarket, Number(charged) / 1e18, 1e-6);
    expect(m.claimsPending <= charged, `${m.symbol}: pending ${m.claimsPending}, charged ${charged}`).to.equal(true);
    // What the pool keeps beyond the locked dust is its rounding: under one token unit.
    expect(charged - m.claimsPending < 10n ** 12n, `${m.symbol}: ${charged - m.claimsPending}`).to.equal(true);
    expect(r.claims[i].queued - r.claims[i].paid).to.equal(m.claimsPending);
    expect(r.markets[i].claimsQueued).to.equal(r.claims[i].count);
    near(r.markets[i].claimsQueuedAmount, Number(r.claims[i].queued) / 1e18, 1e-6);
    near(r.markets[i].claimsPaidAmount, Number(r.claims[i].paid) / 1e18, 1e-6);
  }
  // The seed's run queues claims: a winner closed while the losers of its market were still open.
  expect(r.claims.reduce((n, c) => n + c.count, 0)).to.be.greaterThan(0);
}

/** |a - b| < tolerance (chai's closeTo takes bigints only under the Hardhat matchers). */
function near(a: number, b: number, tolerance: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).to.be.below(tolerance);
}

/** The charts' series: one per market, cumulative where they should be, ending at the summary's figures. */
function checkSeries(r: SimResult): void {
  const last = r.samples[r.samples.length - 1];
  for (const s of r.samples) {
    expect(s.markets).to.have.length(r.symbols.length);
    for (const m of s.markets) {
      near(m.gapPct, (m.mark / m.index - 1) * 100, 1e-9);
      // The bot holds one side at a time, and its open interest is part of the market's.
      expect(m.arbLongOI === 0 || m.arbShortOI === 0).to.equal(true);
      expect(m.arbLongOI).to.be.at.most(m.longOI + 1e-9);
      expect(m.arbShortOI).to.be.at.most(m.shortOI + 1e-9);
      expect(m.claimsPending).to.be.at.least(0);
    }
  }
  for (let i = 1; i < r.samples.length; i++) {
    for (const [k, m] of r.samples[i].markets.entries()) {
      const before = r.samples[i - 1].markets[k];
      expect(m.liquidations).to.be.at.least(before.liquidations);
      expect(m.badDebt).to.be.at.least(before.badDebt);
      expect(m.fundingPaid).to.be.at.least(before.fundingPaid);
      expect(m.fundingReceived).to.be.at.least(before.fundingReceived);
    }
  }
  for (const [k, m] of last.markets.entries()) {
    const before = r.beforeWindDown[k];
    expect(m.badDebt).to.equal(before.badDebt);
    expect(m.liquidations).to.equal(before.liquidations);
    expect(m.fundingPaid).to.equal(before.fundingPaid);
    expect(m.fundingReceived).to.equal(before.fundingReceived);
    // The table's totals are the last sample's plus what the wind-down added.
    expect(r.markets[k].badDebt).to.be.at.least(before.badDebt);
    expect(r.markets[k].liquidations).to.be.at.least(before.liquidations);
    expect(r.markets[k].fees).to.be.greaterThan(before.fees);
  }
  // With no position open at the start, nothing is liquidated or settled at hour 0.
  expect(
    r.samples[0].markets.every(
      (m) => m.liquidations === 0 && m.longOI === 0 && m.fundingPaid === 0 && m.claimsPending === 0,
    ),
  ).to.equal(true);
}

/** The insurance fund from the charts' last point to its final figure, to the wei. */
function checkReconciliation(r: SimResult): void {
  const { lastSample, windDown: f, final } = r.insurance;
  // The staker put 50,000 USDC in the fund before the first sample.
  expect(r.samples[0].insuranceFundWei).to.equal(50_000n * 10n ** 18n);
  expect(lastSample).to.equal(r.samples[r.samples.length - 1].insuranceFundWei);
  expect(final).to.equal(r.solvency.insuranceFund);
  expect(lastSample + f.fees + f.penalties - f.badDebtCovered - f.rewards + f.funding).to.equal(final);
  // The wind-down's fees, from the Vault-side flows, match the table's fees less those at the last sample.
  const sum = (ms: SimResult["markets"], g: (m: SimResult["markets"][number]) => number) =>
    ms.reduce((a, m) => a + g(m), 0);
  const fees = sum(r.markets, (m) => m.fees) - sum(r.beforeWindDown, (m) => m.fees);
  near(Number(f.fees) / 1e18, fees, 1e-6);
  expect(f.fees > 0n).to.equal(true);
  // The fund takes what payers pay beyond what receivers get: once every position is closed (all
  // funding settled), its share over the whole run equals what positions paid less what they received.
  const fundShare = r.samples[r.samples.length - 1].insuranceFunding + Number(f.funding) / 1e18;
  const net = sum(r.markets, (m) => m.fundingPaid - m.fundingReceived);
  near(fundShare, net, 1e-6);
}

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

  it("on a dynamic curve, widens the band by the spreads, aims short of them, and counts them as costs", function () {
    // A sell pays 0.025% now, a buy 0.05%; the close is expected at the base 0.025%.
    const spreads = { askSpread: 0.0005, bidSpread: 0.00025, baseSpread: 0.00025 };
    // The mark 0.24% above the index (2,000,000 / 997.606): beyond the fees' 0.2% band, inside the
    // fees' and the two spreads' 0.25%.
    const inside = planTrade(view({ baseReserve: 997.606, ...spreads }), settings);
    expect(!inside.trade && inside.reason).to.equal("mark within the fee and spread band");
    const staticCurve = planTrade(view({ baseReserve: 997.606 }), settings);
    expect(!staticCurve.trade && staticCurve.reason).to.equal("expected gain below the fees");
    // A short sells at the bid: it aims at the index x (1 + fee + the bid's spread), and pays the
    // bid's spread in and the base spread out.
    const plan = planTrade(view({ baseReserve: 980, ...spreads }), settings);
    if (!plan.trade) throw new Error("expected a trade");
    const q = 2_000_000 - plan.quote;
    expect(Math.abs((q * q) / (2_000_000 * 980) - 2_000 * 1.00125) < 0.01).to.equal(true);
    expect(Math.abs(plan.fees - plan.quote * (0.002 + 0.00025 + 0.00025)) < 1e-6).to.equal(true);
  });

  it("leaves a due repeg to the curve: no trade pays for a move the curve makes first", function () {
    const plan = planTrade(view({ baseReserve: 980, repegDue: true }), settings);
    expect(plan.trade).to.equal(false);
    expect(!plan.trade && plan.reason).to.equal("the curve repegs toward the index at the next trade");
  });
});
