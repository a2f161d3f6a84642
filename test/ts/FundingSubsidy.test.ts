/**
 * The insurance fund's funding subsidy budget, end to end through the ClearingHouse, the Amm and the
 * Vault (issue 13, "the fund's funding subsidy is budgeted"): a heavily imbalanced market, ~110 base
 * long against ~1 base short, with the premium at its clamp and the longs receiving. The fund makes
 * up what the longs are owed beyond the short's payments with at most 1% of its balance per day,
 * pro rata: an hour's period may draw floor(fund / 2,400). Each period's expected figures are worked
 * out here from the rule with exact integer arithmetic, from the open interest, the premium and the
 * fund's balance read from the chain; the first budget also by hand.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionReceipt } from "ethers";
import { MAX_DEADLINE, Side, toFeedUnits } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { deployFixture, USDC, type Fx } from "./regression/setup.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const DAY = 86_400n;
const HOUR = 3_600n;
const ceilDiv = (a: bigint, b: bigint): bigint => (a === 0n ? 0n : (a - 1n) / b + 1n);

/** What a period of `seconds` at `premium` (< 0: shorts pay) should do, from the budget rule alone. */
function expectedPeriod(premium: bigint, seconds: bigint, longOI: bigint, shortOI: bigint, fund: bigint) {
  const magnitude = premium < 0n ? -premium : premium;
  const paidPerUnit = ceilDiv(magnitude * seconds, DAY);
  const payments = (shortOI * paidPerUnit) / WAD;
  const budget = (fund * toWad("0.01") * seconds) / (WAD * DAY);
  const fullReceipts = ceilDiv(longOI * ((magnitude * seconds) / DAY), WAD);
  const receivedPerUnit = ((payments + budget) * WAD) / longOI;
  const receipts = ceilDiv(longOI * receivedPerUnit, WAD);
  return { paidPerUnit, payments, budget, fullReceipts, receivedPerUnit, outflow: receipts - payments };
}

/** The index at 200 while the pool's mark is ~121: the premium is clamped to -10% of 200 = -20 a day. */
async function lopsidedMarket(): Promise<Fx> {
  const fx = await deployFixture(ethers, { oracle: true, stake: USDC(100_000) });
  // 100,000 notional long (~909 base), 1,000 short (~8.3 base): fees 100 + 1 to the fund.
  await (
    await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(10_000), toWad(10), 0n, MAX_DEADLINE)
  ).wait();
  await (
    await fx.ch.connect(fx.bob).openPosition(fx.market, Side.SHORT, toWad(1_000), toWad(1), 0n, MAX_DEADLINE)
  ).wait();
  return fx;
}

/** Publishes an index of 200 now and updates funding at `t`. */
async function updateAt(fx: Fx, t: bigint): Promise<ContractTransactionReceipt> {
  await (await fx.oracle!.aggregator.setAnswer(toFeedUnits(toWad(200), 8), t - 1n)).wait();
  await time.setNextBlockTimestamp(t);
  return (await (await fx.ch.updateFunding(fx.market)).wait())!;
}

function fundingUpdated(fx: Fx, receipt: ContractTransactionReceipt) {
  for (const log of receipt.logs) {
    const parsed = fx.amm.interface.parseLog(log);
    if (parsed?.name === "FundingUpdated") {
      const [premium, , , longIndex, shortIndex, insuranceFlow] = parsed.args as unknown as bigint[];
      return { premium, longIndex, shortIndex, insuranceFlow };
    }
  }
  throw new Error("no FundingUpdated");
}

async function insurance(fx: Fx): Promise<bigint> {
  return (await fx.vault.getPoolBalances())[1];
}

/**
 * Updates funding every `cadence` seconds `count` times from `start` (the premium -20 a day already
 * set), checking each period against the rule; returns what the fund paid in all.
 */
async function runPeriods(fx: Fx, start: bigint, cadence: bigint, count: number): Promise<bigint> {
  let { longIndex, shortIndex } = await fx.amm.getFundingIndices(0n);
  let paid = 0n;
  for (let k = 1; k <= count; k++) {
    const fundBefore = await insurance(fx);
    const [longOI, shortOI] = await fx.amm.getOpenInterest();
    const e = expectedPeriod(-toWad(20), cadence, longOI, shortOI, fundBefore);
    const u = fundingUpdated(fx, await updateAt(fx, start + cadence * BigInt(k)));
    expect(e.fullReceipts > e.payments + e.budget, "the longs are owed more than the budget covers").to.equal(true);
    expect(u.premium, "the premium stays at its clamp").to.equal(-toWad(20));
    expect(u.shortIndex - shortIndex, "the short pays in full").to.equal(-e.paidPerUnit);
    expect(u.longIndex - longIndex, "the longs get payments + budget").to.equal(-e.receivedPerUnit);
    expect(u.insuranceFlow).to.equal(-e.outflow);
    expect(fundBefore - (await insurance(fx)), "the fund's outflow").to.equal(e.outflow);
    // The budget, less under one wei per unit of long open interest (the longs' rounding down).
    expect(e.outflow <= e.budget && e.budget - e.outflow <= longOI / WAD, "outflow = budget - rounding").to.equal(true);
    ({ longIndex, shortIndex } = u);
    paid += e.outflow;
  }
  return paid;
}

/** The lopsided market with its premium at -20 a day from the returned time on. */
async function atTheClamp(fx: Fx): Promise<bigint> {
  const t0 = BigInt(await time.latest());
  // The first update records the index (no premium yet); the second sets -20 a day.
  await updateAt(fx, t0 + 300n);
  const u = fundingUpdated(fx, await updateAt(fx, t0 + 300n + HOUR));
  expect([u.premium, u.insuranceFlow]).to.deep.equal([-toWad(20), 0n]);
  return t0 + 300n + HOUR;
}

describe("Funding subsidy budget (ClearingHouse, Amm, Vault)", function () {
  it("a lopsided market at the clamp: each hour the fund pays its budget, floor(fund / 2,400), less the longs' rounding", async function () {
    const fx = await lopsidedMarket();
    const start = await atTheClamp(fx);
    const [longOI, shortOI] = await fx.amm.getOpenInterest();
    expect(longOI / shortOI, "heavily imbalanced").to.be.greaterThanOrEqual(100n);
    // By hand, the first budgeted hour: the fund holds the 100,000 staked + 101 of fees; 1% a day of
    // it over an hour is 100,101 / 2,400 = 41.70875, exactly; the short pays ceil(20 / 24) =
    // 0.833333333333333334 a unit.
    expect(await insurance(fx)).to.equal(toWad(100_101));
    const first = expectedPeriod(-toWad(20), HOUR, longOI, shortOI, toWad(100_101));
    expect(first.budget).to.equal(41_708_750_000_000_000_000n);
    expect(first.paidPerUnit).to.equal(833_333_333_333_333_334n);
    await runPeriods(fx, start, HOUR, 3);
  });

  it("setFundingSubsidyRatio: 0 to 10% a day, an event, refused above with FundingSubsidyRatioOutOfRange", async function () {
    const fx = await deployFixture(ethers);
    expect(await fx.amm.getFundingSubsidyRatio(), "the default, 1% a day").to.equal(toWad("0.01"));
    expect(await fx.amm.MAX_FUNDING_SUBSIDY_RATIO()).to.equal(toWad("0.1"));
    await expect(fx.amm.setFundingSubsidyRatio(toWad("0.1") + 1n))
      .to.be.revertedWithCustomError(fx.amm, "FundingSubsidyRatioOutOfRange")
      .withArgs(toWad("0.1") + 1n);
    await expect(fx.amm.setFundingSubsidyRatio(toWad("0.1")))
      .to.emit(fx.amm, "FundingSubsidyRatioUpdated")
      .withArgs(toWad("0.1"));
    await expect(fx.amm.setFundingSubsidyRatio(0n)).to.emit(fx.amm, "FundingSubsidyRatioUpdated").withArgs(0n);
    expect(await fx.amm.getFundingSubsidyRatio()).to.equal(0n);
  });

  it("with no subsidy (0) the fund pays nothing: the longs get what the short pays", async function () {
    const fx = await lopsidedMarket();
    await (await fx.amm.setFundingSubsidyRatio(0n)).wait();
    // The ratio applies from the next period: the one opened by the second update.
    const start = await atTheClamp(fx);
    const fundBefore = await insurance(fx);
    const { longIndex } = await fx.amm.getFundingIndices(0n);
    const [longOI, shortOI] = await fx.amm.getOpenInterest();
    const u = fundingUpdated(fx, await updateAt(fx, start + HOUR));
    const payments = (shortOI * 833_333_333_333_333_334n) / WAD;
    expect(u.longIndex - longIndex).to.equal(-((payments * WAD) / longOI));
    expect(u.insuranceFlow >= 0n, "the fund keeps the rounding, pays nothing").to.equal(true);
    expect(await insurance(fx)).to.equal(fundBefore + u.insuranceFlow);
  });

  it("over a day the fund pays at most 1% of its balance, whether funding is updated hourly or every 5 minutes", async function () {
    for (const cadence of [HOUR, 300n]) {
      const fx = await lopsidedMarket();
      const start = await atTheClamp(fx);
      const fundAtStart = await insurance(fx);
      const paid = await runPeriods(fx, start, cadence, Number(DAY / cadence));
      expect(paid <= fundAtStart / 100n, `${cadence} s: at most 1% of ${fundAtStart}`).to.equal(true);
      // And close to it: every period's budget binds, the fund shrinking by under 1% over the day.
      expect(paid >= (fundAtStart * 99n) / 10_000n, `${cadence} s: the budget binds`).to.equal(true);
    }
  });
});
