/**
 * The funding imbalance on a dynamic curve (issue 14, seed 004: the vAMM holds the long-short
 * imbalance): the market's own AMM budget pays the receiving side's excess from what it holds above
 * its floor before the insurance fund, and takes the paying side's surplus up to its target, the fund
 * the rest. End to end through the ClearingHouse, the Amm and the Vault, against the independent
 * bigint model (helpers/funding-model.ts) step by step (helpers/funding-scenario.ts): the indices,
 * the fund's and the budget's shares (FundingUpdated, BudgetFundingFlow, getFundingIndices), the
 * positions, and the market's pool and locked margin, which the budget's share does not move
 * (the budget and the positions' margins are both the pool's locked margin). The curve has only its
 * leverage bound on (50x, never binding here), so it prices as the static model does.
 */
import { expect } from "chai";
import type { ContractTransactionReceipt } from "ethers";
import { network } from "hardhat";
import { contributeToBudget, MAX_DEADLINE, toFeedUnits } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { USDC } from "./helpers/fixtures.js";
import { LONG, SHORT, type TradeResult, type UpdateResult } from "./helpers/funding-model.js";
import {
  deployFundingMarket,
  FEE,
  LEVERAGE_ONLY,
  Scenario,
  type BudgetOptions,
  type Fx,
} from "./helpers/funding-scenario.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const env = { ethers, time };
const withFee = () => deployFundingMarket(ethers, FEE);
const usd = (x: number | string) => toWad(x);

/** What one run saw: each funding share of the fund and of the budget, in order, and the dust. */
interface Run {
  fund: bigint[];
  budget: bigint[];
  dust: bigint;
  s: Scenario;
}

/**
 * Funding.test.ts's three-trader scenario over three periods (both signs of premium, both sides
 * heavier in turn, a clamp, funding stopping), every step checked against the model, then
 * conservation once all is closed.
 */
async function threeTraders(budget?: BudgetOptions): Promise<Run> {
  const fx = await networkHelpers.loadFixture(withFee);
  const s = await Scenario.start(env, fx, { insurance: USDC(5_000), budget });
  const { alice, bob, carol } = fx;
  const fund: bigint[] = [];
  const budgetFlows: bigint[] = [];
  const trade = (r: TradeResult) => {
    fund.push(r.insuranceFlow);
    budgetFlows.push(r.accrual.budgetFlow);
  };
  const update = (u: UpdateResult) => {
    fund.push(u.insuranceFlow);
    budgetFlows.push(u.accrual.budgetFlow);
  };

  trade(await s.open(s.at(10), alice, LONG, usd(10_000), 3));
  trade(await s.open(s.at(60), bob, SHORT, usd(5_000), 2));
  await s.setIndex(s.at(299), usd(1010));
  await s.poke(s.at(300));
  const t1 = s.at(600);
  update(await s.update(t1));
  await s.setIndex(t1 + 99n, usd(1150));
  await s.poke(t1 + 100n);
  // Longs pay and are heavier: a surplus. Then shorts are heavier and receive: a shortfall.
  trade(await s.open(t1 + 200n, carol, SHORT, usd(10_000), 4));
  await s.expectPendingAt(t1 + 700n, [alice, bob, carol]);
  trade(await s.open(t1 + 800n, alice, SHORT, usd(1_000), 10));
  const t2 = t1 + 1200n;
  update(await s.update(t2));
  // Shorts pay (clamped premium): carol, heavier, closes; then the longs, heavier, receive.
  trade(await s.close(t2 + 300n, carol));
  await s.expectPendingAt(t2 + 3600n, [alice, bob]);
  trade(await s.close(t2 + 4100n, alice));
  trade(await s.close(t2 + 4110n, bob));
  const dust = await s.expectConservation();
  return { fund, budget: budgetFlows, dust, s };
}

/** The fund's share of a transaction's funding (FundingUpdated) and the budget's (BudgetFundingFlow). */
function flowsIn(fx: Fx, receipt: ContractTransactionReceipt) {
  let budget = 0n;
  let budgetAfter: bigint | undefined;
  let spread: bigint[] | undefined;
  for (const log of receipt.logs) {
    const parsed = fx.amm.interface.parseLog(log);
    if (parsed?.name === "BudgetFundingFlow") [budget, budgetAfter] = [parsed.args[0], parsed.args[1]];
    if (parsed?.name === "SpreadCharged") spread = parsed.args.toArray() as bigint[];
  }
  return { budget, budgetAfter, spread };
}

describe("Funding on a dynamic curve: the market's AMM budget answers for the imbalance first", function () {
  it("with room above its floor and below its target, the budget pays and takes every imbalance: the fund gets only the fees", async function () {
    const { fund, budget, s } = await threeTraders({ amount: usd(4_000), floor: usd(1_000), target: usd(6_000) });
    expect(
      fund.every((f) => f === 0n),
      `the fund's funding shares ${fund}`,
    ).to.equal(true);
    expect(budget.some((b) => b > 0n) && budget.some((b) => b < 0n), "the budget both took and paid").to.equal(true);
    // The model's budget (which the chain's equals at every step) moved by exactly its flows.
    expect(s.model.budget).to.equal(usd(4_000) + budget.reduce((a, b) => a + b, 0n));
    expect(s.model.totalInsuranceFlow, "the fund's whole funding share").to.equal(0n);
  });

  it("with the budget at its floor and its target, the fund pays and takes exactly what it does on a static curve", async function () {
    const staticRun = await threeTraders();
    const atFloor = await threeTraders({ amount: usd(1_000), floor: usd(1_000), target: usd(1_000) });
    expect(atFloor.fund, "the fund's share at every step").to.deep.equal(staticRun.fund);
    expect(staticRun.fund.some((f) => f < 0n) && staticRun.fund.some((f) => f > 0n), "both signs").to.equal(true);
    expect(
      atFloor.budget.every((b) => b === 0n),
      "the budget never moves",
    ).to.equal(true);
    expect(atFloor.dust, "the same dust").to.equal(staticRun.dust);
    expect(atFloor.s.model.budget).to.equal(usd(1_000));
  });

  it("a budget 3 above its floor and 2 below its target pays and takes up to those limits, the fund the rest", async function () {
    const floor = usd(1_000);
    const run = await threeTraders({ amount: floor + usd(3), floor, target: floor + usd(5) });
    // Every step's shares against the rule's limits, the budget tracked here from its flows.
    let budget = floor + usd(3);
    let both = 0;
    for (let i = 0; i < run.fund.length; i++) {
      const [f, b] = [run.fund[i], run.budget[i]];
      if (b < 0n) expect(-b <= budget - floor, "the budget pays only above its floor").to.equal(true);
      if (b > 0n) expect(b <= floor + usd(5) - budget, "the budget takes only up to its target").to.equal(true);
      // The fund pays only once the budget is at its floor, and takes only once it is at its target.
      if (f < 0n) expect(budget + b, "the budget at its floor when the fund pays").to.equal(floor);
      if (f > 0n && b > 0n) expect(budget + b, "the budget at its target when the fund takes").to.equal(floor + usd(5));
      if (f !== 0n && b !== 0n) both++;
      budget += b;
    }
    expect(both, "some stretches were shared between the budget and the fund").to.be.greaterThan(0);
    expect(run.s.model.budget).to.equal(budget);
  });

  it("a trade accrues first: previewOpen, previewSpreadFee and getBidAsk charge the spread on the budget after its funding share", async function () {
    const fx = await networkHelpers.loadFixture(withFee);
    const { alice, bob, carol } = fx;
    // Spread on (0.1% base, 1% cap), the budget 1,000 of a 10,000 target: a 90% drawdown widens it.
    await (
      await fx.amm.setCurveParams({
        ...LEVERAGE_ONLY,
        maxVammLeverage: 0n,
        baseSpreadRatio: usd("0.001"),
        maxSpreadRatio: usd("0.01"),
        budgetFloor: usd(100),
        budgetTarget: usd(10_000),
      })
    ).wait();
    await contributeToBudget(fx, fx.amm, fx.owner, usd(1_000));
    // The longs are the larger side and the mark runs above the index (1,000): they pay, and the
    // budget takes their surplus, up to its target.
    await (await fx.ch.connect(alice).openPosition(fx.ammAddress, LONG, usd(10_000), usd(3), 0n, MAX_DEADLINE)).wait();
    await (await fx.ch.connect(bob).openPosition(fx.ammAddress, SHORT, usd(1_000), usd(1), 0n, MAX_DEADLINE)).wait();
    await time.increase(600);
    await (await fx.aggregator.setAnswer(toFeedUnits(usd(1000), 8), BigInt(await time.latest()))).wait();
    await (await fx.ch.updateFunding(fx.ammAddress)).wait();
    await time.increase(600);
    await (await fx.aggregator.setAnswer(toFeedUnits(usd(1000), 8), BigInt(await time.latest()))).wait();
    await (await fx.ch.updateFunding(fx.ammAddress)).wait();
    // Past the accrual end (an hour after the update) the pending accrual no longer grows: the
    // views now and the trade a block later see the same one.
    await time.increase(3_700);
    await (await fx.aggregator.setAnswer(toFeedUnits(usd(1000), 8), BigInt(await time.latest()))).wait();
    const stored = (await fx.amm.getCurveState()).budget;
    const pending = (await fx.amm.getFundingIndices(0n)).budgetFlow;
    expect(pending > 0n, "the budget has a surplus to take").to.equal(true);
    const margin = usd(2_000);
    const preview = await fx.viewer.previewOpen(fx.ammAddress, carol.address, SHORT, margin, usd(2));
    const fromAmm = await fx.amm.previewSpreadFee(preview.baseDelta, preview.quoteAmount);
    const [bid] = await fx.amm.getBidAsk();
    const [q, b] = await fx.amm.getReserves();
    const receipt = (await (
      await fx.ch.connect(carol).openPosition(fx.ammAddress, SHORT, margin, usd(2), 0n, MAX_DEADLINE)
    ).wait())!;
    const flows = flowsIn(fx, receipt);
    expect([flows.budget, flows.budgetAfter], "the trade's funding share, booked first").to.deep.equal([
      pending,
      stored + pending,
    ]);
    // By the spread's rule: the sell shrinks the long skew and moves the spot (above the index)
    // toward it, so its half-spread is the base plus the base x the budget's drawdown, on the
    // budget after the funding share: 0.1% + 0.1% x ceil((10,000 - budget) / 10,000).
    const ceilDiv = (x: bigint, y: bigint) => (x + y - 1n) / y;
    const ratioOn = (budget: bigint) =>
      usd("0.001") + ceilDiv(usd("0.001") * ceilDiv((usd(10_000) - budget) * WAD, usd(10_000)), WAD);
    const ratio = ratioOn(stored + pending);
    expect(ratio, "the drawdown the stored budget alone would give differs").to.not.equal(ratioOn(stored));
    const spread = ceilDiv(preview.quoteAmount * ratio, WAD);
    expect(flows.spread, "SpreadCharged(ratio, fee, budget after)").to.deep.equal([
      ratio,
      spread,
      stored + pending + spread,
    ]);
    expect(fromAmm, "previewSpreadFee").to.equal(spread);
    expect(preview.fee, "previewOpen's fee = exchange fee + spread").to.equal(
      ceilDiv(preview.quoteAmount * FEE, WAD) + spread,
    );
    // The marginal bid: spot x (1 - the ratio of a one-wei sell), the same ratio here.
    expect(bid, "getBidAsk's bid").to.equal((((q * WAD) / b) * (WAD - ratio)) / WAD);
  });
});
