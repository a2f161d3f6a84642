/**
 * Amm.getLiquidationInputs: one call that answers what a liquidation reads from the market. Every
 * field must equal the separate view it stands for (getFundingIndices, getValuationPrices,
 * maxCloseBase, getReserves), read at the same block, in a market with every limit on and funding
 * running, with the insurance fund able to pay and not.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import { deployLimitedMarket } from "./helpers/running-market.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** Spot 2,000 with every limit on; the index 1% above it, so shorts pay longs. */
async function runningMarket() {
  const [, alice, bob] = await ethers.getSigners();
  const { amm, market, ch } = await deployLimitedMarket(ethers, [alice, bob]);
  // Longs are the heavier side: the fund pays what they receive beyond what the shorts pay.
  await (await ch.connect(alice).openPosition(market, Side.LONG, toWad(20_000), toWad(3), 0n, MAX_DEADLINE)).wait();
  await (await ch.connect(bob).openPosition(market, Side.SHORT, toWad(5_000), toWad(3), 0n, MAX_DEADLINE)).wait();
  // Two funding windows: the first starts the index history, the second sets the premium.
  await time.increase(330);
  await (await ch.updateFunding(market)).wait();
  await time.increase(330);
  await (await ch.updateFunding(market)).wait();
  await time.increase(600);
  return { amm, ch, market, alice, bob };
}

describe("Amm.getLiquidationInputs", function () {
  it("equals the four separate views, field by field, with funding running and limits on", async function () {
    const { amm, ch, market, alice } = await networkHelpers.loadFixture(runningMarket);
    const [premium] = await amm.getFundingState();
    expect(premium).to.be.lessThan(0n, "shorts pay");

    // Twice: after time passed with no trade in the block, and right after a trade, when the
    // fluctuation limit measures from the block's start.
    for (const trade of [false, true]) {
      if (trade) {
        await (
          await ch.connect(alice).openPosition(market, Side.LONG, toWad(50_000), toWad(3), 0n, MAX_DEADLINE)
        ).wait();
      }
      const blockTag = await ethers.provider.getBlockNumber();
      const [quoteReserve, baseReserve] = await amm.getReserves({ blockTag });
      for (const insuranceAvailable of [0n, toWad(1_000_000)]) {
        const funding = await amm.getFundingIndices(insuranceAvailable, { blockTag });
        for (const twapInterval of [0n, 900n]) {
          const [spotPrice, markTwap, indexPrice] = await amm.getValuationPrices(twapInterval, { blockTag });
          for (const closingLong of [true, false]) {
            const maxCloseBase = await amm.maxCloseBase(closingLong, { blockTag });
            const inputs = await amm.getLiquidationInputs(twapInterval, closingLong, insuranceAvailable, { blockTag });
            expect(inputs.funding.longIndex).to.equal(funding.longIndex);
            expect(inputs.funding.shortIndex).to.equal(funding.shortIndex);
            expect(inputs.funding.insuranceFlow).to.equal(funding.insuranceFlow);
            expect(inputs.spotPrice).to.equal(spotPrice);
            expect(inputs.markTwap).to.equal(markTwap);
            expect(inputs.indexPrice).to.equal(indexPrice);
            expect(inputs.maxCloseBase).to.equal(maxCloseBase);
            expect(inputs.quoteReserve).to.equal(quoteReserve);
            expect(inputs.baseReserve).to.equal(baseReserve);
          }
        }
      }
    }
  });

  it("compares figures that are not trivial: funding accrued, the fund short, the limit binding", async function () {
    const { amm } = await networkHelpers.loadFixture(runningMarket);
    const blockTag = await ethers.provider.getBlockNumber();
    const broke = await amm.getLiquidationInputs(900n, true, 0n, { blockTag });
    const funded = await amm.getLiquidationInputs(900n, true, toWad(1_000_000), { blockTag });
    // Longs receive (index below zero); with an empty fund they receive less and the fund pays
    // nothing (it may keep rounding dust).
    expect(funded.funding.longIndex).to.be.lessThan(0n);
    expect(funded.funding.insuranceFlow).to.be.lessThan(0n);
    expect(broke.funding.insuranceFlow >= 0n).to.equal(true);
    expect(broke.funding.longIndex).to.be.greaterThan(funded.funding.longIndex);
    expect(broke.funding.shortIndex).to.equal(funded.funding.shortIndex);
    // Spot, TWAP and a recorded index; a fluctuation limit that bounds a close.
    expect(broke.spotPrice).to.be.greaterThan(toWad(2_000));
    expect(broke.markTwap).to.be.greaterThan(0n);
    expect(broke.indexPrice).to.equal(toWad(2_020));
    expect(broke.maxCloseBase).to.be.greaterThan(0n);
    expect(broke.maxCloseBase).to.be.lessThan(2n ** 256n - 1n);
  });
});
