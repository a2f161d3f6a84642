/**
 * Review finding "the mark TWAP lags after an idle stretch" (issue: nothing drains the insurance
 * fund or traps a winner). A market at 3,060 sits idle for two hours, then a 10% sell-off takes it
 * to 2,752.16. Before the fix, getMarkTwap(900) started its window at the last observation before
 * the asked start (the deployment, two hours back) and read 3,048 / 3,037 / 3,028 at +300 / +600 /
 * +840 s, barely moving. The price is constant between the first observation of an idle bucket's
 * successor and the last record before it, so the cumulative at the asked start is now carried back
 * from the next observation with the price it stored, and the window is exactly the 900 s asked.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import type { Amm } from "../../../typechain-types/index.js";
import { AmmModel, SHORT } from "../helpers/model.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const NO_LIMITS = { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n };
const QUOTE = toWad(3_060_000);
const BASE = toWad(1_000);
/** Two hours and 100 s idle since the last observation (the deployment). */
const IDLE = 7_300n;
const SELL = toWad(158_000);
const WINDOW = 900n;

async function fixture() {
  const [owner, ch] = await ethers.getSigners();
  const curveModule = await (await ethers.deployContract("AmmCurveModule")).getAddress();
  const t0 = BigInt(Math.ceil(((await time.latest()) + 60) / 30) * 30);
  await time.setNextBlockTimestamp(t0);
  const amm = (await ethers.deployContract("Amm", [
    ch.address,
    QUOTE,
    BASE,
    NO_LIMITS,
    owner.address,
    curveModule,
  ])) as unknown as Amm;
  await amm.waitForDeployment();
  return { amm, asCh: amm.connect(ch), t0 };
}

describe("Regression: mark TWAP after an idle stretch", function () {
  it("getMarkTwap(900) after two idle hours and a 10% sell-off averages exactly the last 900 s", async function () {
    const { amm, asCh, t0 } = await networkHelpers.loadFixture(fixture);
    // Independent model of the pool: 3,060,000 / 1,000 = 3,060; a short of 158,000 quote leaves
    // 2,902,000 quote, 2,902,000^2 / 3.06e9 = 2,752.158...
    const m = new AmmModel(QUOTE, BASE);
    const p0 = m.spotPrice();
    expect(p0).to.equal(toWad(3_060));
    m.swapQuote(SHORT, SELL, 0n);
    const p1 = m.spotPrice();
    expect(p1 / 10n ** 16n).to.equal(275_215n); // 2,752.15

    const sellAt = t0 + IDLE;
    await time.setNextBlockTimestamp(sellAt);
    await (await asCh.swapQuote(Side.SHORT, SELL, 0n, 0n)).wait();
    expect(await amm.getSpotPrice()).to.equal(p1);

    const WHOLE = 10n ** 18n;
    const round = (x: bigint) => (x + WHOLE / 2n) / WHOLE;
    for (const [d, lagged] of [
      [300n, 3_048n],
      [600n, 3_037n],
      [840n, 3_028n],
    ]) {
      await time.increaseTo(sellAt + d);
      // Before the fix: from the deployment, (3,060 x 7,300 + p1 x d) / (7,300 + d).
      const before = (p0 * IDLE + p1 * d) / (IDLE + d);
      expect(round(before), `the finding's reading at +${d} s`).to.equal(lagged);
      // Now: the asked 900 s, (3,060 x (900 - d) + p1 x d) / 900.
      const exact = (p0 * (WINDOW - d) + p1 * d) / WINDOW;
      expect(await amm.getMarkTwap(WINDOW), `getMarkTwap(900) at +${d} s`).to.equal(exact);
      expect((await amm.getValuationPrices(WINDOW)).markTwap).to.equal(exact);
    }
    // By hand at +840 s: (3,060 x 60 + 2,752.158 x 840) / 900 = 2,772.68, against 3,028 before.
    expect(round(await amm.getMarkTwap(WINDOW))).to.equal(2_773n);
  });
});
