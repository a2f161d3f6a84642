/**
 * Liquidation attacks (issue 4): each test runs an attack and asserts the safe outcome, either the
 * revert that stops it or that the attacker ends with less than it started with. Figures here are
 * outcomes (who ends richer), so they are compared with each other and with bounds worked out from
 * the parameters, not to the wei: the wei-exact liquidation figures are in Liquidation.test.ts.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { toWad, wMulDown } from "../../scripts/lib/fixed.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const FUNDING = 1_000_000n * 10n ** 6n;
const TWAP_WINDOW = 900;

async function fixture(limits: { fluctuationLimitRatio?: bigint; quoteReserve?: bigint } = {}) {
  const system = await deployCore(ethers);
  const quoteReserve = limits.quoteReserve ?? toWad(1_000_000);
  const amm = await deployMarket(ethers, system, {
    quoteReserve,
    baseReserve: quoteReserve / 100n, // price 100
    feeRatio: toWad("0.001"),
    fluctuationLimitRatio: limits.fluctuationLimitRatio ?? 0n,
  });
  const [, victim, attacker, accomplice, arbitrageur, staker] = await ethers.getSigners();
  for (const s of [victim, attacker, accomplice, arbitrageur]) await fund(system, s, FUNDING);
  // A staked insurance fund of 5,000.
  await (await system.usdc.mint(staker.address, 5_000n * 10n ** 6n)).wait();
  await (await system.usdc.connect(staker).approve(await system.insuranceFund.getAddress(), 2n ** 255n)).wait();
  await (await system.insuranceFund.connect(staker).deposit(5_000n * 10n ** 6n, staker.address)).wait();
  return {
    ...system,
    ch: system.clearingHouse,
    amm,
    market: await amm.getAddress(),
    victim,
    attacker,
    accomplice,
    arbitrageur,
  };
}

type Fx = Awaited<ReturnType<typeof fixture>>;

const free = (fx: Fx, who: { address: string }) => fx.vault.freeCollateral(who.address);

describe("Liquidation attacks", function () {
  it("a sandwich that pushes the mark to liquidate a healthy position fails: the TWAP holds, and the attacker pays the fees", async function () {
    const fx = await fixture();
    await (
      await fx.ch.connect(fx.victim).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(8), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    const before = (await free(fx, fx.attacker)) + (await free(fx, fx.accomplice));

    // Push the mark down ~19%: at spot, the victim's 8x long is far below maintenance.
    await (
      await fx.ch.connect(fx.attacker).openPosition(fx.market, Side.SHORT, toWad(25_000), toWad(4), 0n, MAX_DEADLINE)
    ).wait();
    const [mmr] = [(await fx.ch.getMarketParams(fx.market)).maintenanceMarginRatio];
    expect(await fx.ch.getMarginRatio(fx.market, fx.victim.address)).to.be.lessThan(mmr);
    // ... but the liquidation ratio takes the 15-minute TWAP, which one block barely moves.
    await expect(fx.ch.connect(fx.accomplice).liquidate(fx.market, fx.victim.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
    await (await fx.ch.connect(fx.attacker).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();

    const after = (await free(fx, fx.attacker)) + (await free(fx, fx.accomplice));
    expect(after, "the attack costs the attacker its fees").to.be.lessThan(before);
    // Fees both ways: at least 0.1% of 100,000 on the way in.
    expect(before - after).to.be.greaterThanOrEqual(toWad(100));
    expect((await fx.ch.getPosition(fx.market, fx.victim.address)).size).to.be.greaterThan(0n);
  });

  it("holding the mark down for the whole TWAP window is what liquidation needs, and the attacker carries the risk for it", async function () {
    const fx = await fixture();
    await (
      await fx.ch.connect(fx.victim).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(8), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    await (
      await fx.ch.connect(fx.attacker).openPosition(fx.market, Side.SHORT, toWad(25_000), toWad(4), 0n, MAX_DEADLINE)
    ).wait();
    // Half the window later the TWAP is still above the liquidation line.
    await time.increase(TWAP_WINDOW / 4);
    await expect(fx.ch.connect(fx.accomplice).liquidate(fx.market, fx.victim.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
    // An arbitrageur buys the dip back before the window is over: the victim is safe again.
    await (
      await fx.ch.connect(fx.arbitrageur).openPosition(fx.market, Side.LONG, toWad(25_000), toWad(4), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW);
    await expect(fx.ch.connect(fx.accomplice).liquidate(fx.market, fx.victim.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
  });

  it("liquidating yourself from a second account pays less than closing: half the penalty goes to the fund", async function () {
    const fx = await fixture();
    await (
      await fx.ch.connect(fx.attacker).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    // The market falls ~6% and stays there past the TWAP window.
    await (
      await fx.ch.connect(fx.arbitrageur).openPosition(fx.market, Side.SHORT, toWad(30_000), toWad(1), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    const ratio = await fx.ch.getLiquidationMarginRatio(fx.market, fx.attacker.address);
    expect(ratio).to.be.lessThan((await fx.ch.getMarketParams(fx.market)).maintenanceMarginRatio);
    expect(ratio, "still worth something: the split is the point").to.be.greaterThan(0n);

    const start = (await free(fx, fx.attacker)) + (await free(fx, fx.accomplice));
    const snapshot = await networkHelpers.takeSnapshot();
    await (await fx.ch.connect(fx.attacker).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    const byClosing = (await free(fx, fx.attacker)) + (await free(fx, fx.accomplice)) - start;
    await snapshot.restore();

    const fundBefore = await fx.vault.insuranceFundBalance();
    await (await fx.ch.connect(fx.accomplice).liquidate(fx.market, fx.attacker.address)).wait();
    // Whatever is left (a partial liquidation leaves a position), close it too.
    if ((await fx.ch.getPosition(fx.market, fx.attacker.address)).size !== 0n) {
      await (await fx.ch.connect(fx.attacker).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    }
    const bySelfLiquidation = (await free(fx, fx.attacker)) + (await free(fx, fx.accomplice)) - start;
    expect(bySelfLiquidation, "self-liquidation is worse than a close").to.be.lessThan(byClosing);
    expect(await fx.vault.insuranceFundBalance(), "the fund took its half").to.be.greaterThan(fundBefore);
  });

  it("a whale in a thin pool is liquidated within the fluctuation limit, block by block, and the fund survives", async function () {
    // A thin pool (100,000 quote) with a 5% per-block limit; the whale's 10x long is 20% of it.
    const fx = await fixture({ fluctuationLimitRatio: toWad("0.05"), quoteReserve: toWad(100_000) });
    // The whale builds a 10x long of 20,000 in ten blocks (each within the limit).
    for (let i = 0; i < 10; i++) {
      await (
        await fx.ch.connect(fx.victim).openPosition(fx.market, Side.LONG, toWad(200), toWad(10), 0n, MAX_DEADLINE)
      ).wait();
    }
    // The market slides, block by block within the limit, until the whale is below maintenance.
    const mmr = (await fx.ch.getMarketParams(fx.market)).maintenanceMarginRatio;
    while ((await fx.ch.getMarginRatio(fx.market, fx.victim.address)) >= mmr) {
      await (
        await fx.ch.connect(fx.arbitrageur).openPosition(fx.market, Side.SHORT, toWad(800), toWad(3), 0n, MAX_DEADLINE)
      ).wait();
    }
    await time.increase(TWAP_WINDOW + 100);
    const fundBefore = await fx.vault.insuranceFundBalance();

    let liquidations = 0;
    while ((await fx.ch.getPosition(fx.market, fx.victim.address)).size !== 0n) {
      const startPrice = await fx.amm.getSpotPrice();
      const allowed = await fx.amm.maxCloseBase(true);
      const sizeBefore = (await fx.ch.getPosition(fx.market, fx.victim.address)).size;
      // Each partial liquidation leaves the rest below maintenance (the arbitrage below buys back less
      // than the slide): the keeper can go on, block after block, and every liquidation must go through.
      expect(
        await fx.ch.getLiquidationMarginRatio(fx.market, fx.victim.address),
        "the rest is still below maintenance",
      ).to.be.lessThan(mmr);
      await (await fx.ch.connect(fx.accomplice).liquidate(fx.market, fx.victim.address)).wait();
      liquidations++;
      const closed = sizeBefore - (await fx.ch.getPosition(fx.market, fx.victim.address)).size;
      expect(closed, "each liquidation closes something").to.be.greaterThan(0n);
      expect(closed, "never more than the pool takes within the limit").to.be.lessThanOrEqual(allowed);
      const endPrice = await fx.amm.getSpotPrice();
      expect(endPrice, "the price moved at most the 5% limit in the block").to.be.greaterThanOrEqual(
        startPrice - wMulDown(startPrice, toWad("0.05")),
      );
      // Arbitrage buys back part of the move before the next block's liquidation.
      await (
        await fx.ch.connect(fx.arbitrageur).openPosition(fx.market, Side.LONG, toWad(300), toWad(3), 0n, MAX_DEADLINE)
      ).wait();
      expect(liquidations).to.be.lessThan(20);
    }
    // The end state: the whale is gone entirely, nothing left behind.
    const left = await fx.ch.getPosition(fx.market, fx.victim.address);
    expect([left.size, left.margin, left.openNotional], "the whale is fully liquidated").to.deep.equal([0n, 0n, 0n]);
    expect(liquidations, "more than one block").to.be.greaterThan(1);
    const fundAfter = await fx.vault.insuranceFundBalance();
    expect(fundAfter, "the insurance fund is not emptied").to.be.greaterThan(fundBefore / 2n);
    // Nothing was recorded as an uncovered shortfall.
    const [status, shortfall] = await fx.ch.getMarketStatus(fx.market);
    expect(status).to.equal(0n);
    expect(shortfall).to.equal(0n);
  });
});
