/**
 * Regression (issue 6): oracle and sequencer attacks. A bad answer must never become an index price:
 * the feed names the failed check, the market records nothing, and funding keeps working.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, deployOracle, fund, MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import type { ChainlinkPriceFeed, MockAggregator } from "../../../typechain-types/index.js";
import { deployFixture, USDC } from "./setup.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const P100 = 100n * 10n ** 8n;

describe("Regression: oracle attacks", function () {
  it("stale, zero, negative, future-dated and out-of-bounds oracle answers", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    const { priceFeed, aggregator, asset } = fx.oracle!;
    // Bounds 1 .. 1,000,000 for this test.
    await (await priceFeed.setAsset(asset, await aggregator.getAddress(), 3_600, toWad(1), toWad(1_000_000))).wait();
    await (await aggregator.setAnswer(P100, await time.latest())).wait();
    await (await fx.amm.pokeIndex()).wait();
    expect(await fx.amm.getIndexTwap(0)).to.equal(toWad(100));
    const now = async () => BigInt(await time.latest());
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["StalePrice", async () => aggregator.setAnswer(200n * 10n ** 8n, (await now()) - 3_700n)],
      ["NonPositiveAnswer", async () => aggregator.setAnswer(0n, await now())],
      ["NonPositiveAnswer", async () => aggregator.setAnswer(-P100, await now())],
      ["UpdatedAtInFuture", async () => aggregator.setAnswer(200n * 10n ** 8n, (await now()) + 3_600n)],
      ["PriceOutOfBounds", async () => aggregator.setAnswer(2_000_000n * 10n ** 8n, await now())],
      ["PriceOutOfBounds", async () => aggregator.setAnswer(10n ** 7n, await now())], // 0.1
      ["ZeroRoundId", async () => aggregator.setRoundData(0n, 200n * 10n ** 8n, await now(), await now(), 0n)],
      ["IncompleteRound", async () => aggregator.setRoundData(9n, 200n * 10n ** 8n, 0n, 0n, 9n)],
    ];
    for (const [error, set] of cases) {
      await ((await set()) as { wait: () => Promise<unknown> }).wait();
      await expect(priceFeed.getPrice(asset), error).to.be.revertedWithCustomError(priceFeed, error);
      expect(await priceFeed.tryGetPrice(asset)).to.deep.equal([false, 0n]);
      await time.increase(10);
      // The market pokes without reverting and records nothing: the index stays at 100.
      await expect(fx.amm.pokeIndex(), error).not.to.emit(fx.amm, "IndexRecorded");
      expect(await fx.amm.getIndexTwap(0), error).to.equal(toWad(100));
    }
  });

  it("an aggregator that reverts", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    const { priceFeed, aggregator, asset } = fx.oracle!;
    await (await fx.amm.pokeIndex()).wait();
    await (await aggregator.setReverting(true)).wait();
    await expect(priceFeed.getPrice(asset)).to.be.revertedWithCustomError(priceFeed, "FeedCallFailed");
    expect(await priceFeed.tryGetPrice(asset)).to.deep.equal([false, 0n]);
    await expect(fx.amm.pokeIndex()).not.to.emit(fx.amm, "IndexRecorded");
    // Funding and trading keep working; a window without a valid index sets no premium.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(600);
    await expect(fx.ch.updateFunding(fx.market)).to.emit(fx.amm, "FundingUpdated");
    const [premium] = await fx.amm.getFundingState();
    expect(premium).to.equal(0n);
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
  });

  it("decimals 6, 8 and 18", async function () {
    const [owner, trader] = await ethers.getSigners();
    // Feeds: the same price in 6, 8 and 18 decimals reads as the same 18-decimal price.
    const feed = (await ethers.deployContract("ChainlinkPriceFeed", [owner.address])) as unknown as ChainlinkPriceFeed;
    for (const d of [6n, 8n, 18n]) {
      const agg = (await ethers.deployContract("MockAggregator", [d])) as unknown as MockAggregator;
      await (await agg.setAnswer(1234n * 10n ** d + 5n * 10n ** (d - 1n), await time.latest())).wait();
      const key = ethers.encodeBytes32String(`ETH${d}`);
      await (await feed.setAsset(key, await agg.getAddress(), 3_600, 1n, 2n ** 127n)).wait();
      expect(await feed.getPrice(key), `feed with ${d} decimals`).to.equal(toWad("1234.5"));
    }
    // Collateral: 6, 8 and 18 decimals convert exactly to the 18-decimal ledger and back.
    for (const d of [6, 8, 18]) {
      const system = await deployCore(ethers, d);
      const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000_000), baseReserve: toWad(10_000) });
      await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(100), decimals: d });
      const one = 10n ** BigInt(d);
      await fund(system, trader, 1_000n * one + 1n);
      expect(await system.vault.freeCollateral(trader.address)).to.equal(toWad(1_000) + 10n ** BigInt(18 - d));
      await (
        await system.clearingHouse
          .connect(trader)
          .openPosition(await amm.getAddress(), Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE)
      ).wait();
      await (await system.clearingHouse.connect(trader).closePosition(await amm.getAddress(), 0n, MAX_DEADLINE)).wait();
      const units = await system.vault.balanceOf(trader.address);
      expect(units, `collateral with ${d} decimals: a round trip returns no more`).to.be.lessThanOrEqual(
        1_000n * one + 1n,
      );
      await (await system.vault.connect(trader).withdraw(units)).wait();
      expect(await system.usdc.balanceOf(trader.address)).to.equal(units);
    }
    // Outside 6..18 the Vault refuses the token.
    for (const d of [5, 19]) {
      const token = await ethers.deployContract("MockERC20", ["T", "T", d]);
      const vaultFactory = await ethers.getContractFactory("Vault");
      await expect(ethers.deployContract("Vault", [await token.getAddress(), owner.address]))
        .to.be.revertedWithCustomError(vaultFactory, "UnsupportedDecimals")
        .withArgs(d);
    }
    // A feed with more than 18 decimals is refused.
    const agg19 = await ethers.deployContract("MockAggregator", [19]);
    await expect(
      feed.setAsset(ethers.encodeBytes32String("X"), await agg19.getAddress(), 3_600, 1n, 2n),
    ).to.be.revertedWithCustomError(feed, "UnsupportedFeedDecimals");
  });

  it("sequencer down and grace period", async function () {
    const sequencer = (await ethers.deployContract("MockAggregator", [0])) as unknown as MockAggregator;
    await (await sequencer.setSequencerStatus(false, BigInt(await time.latest()) - 7_200n)).wait();
    const fx = await deployFixture(ethers, { sequencerFeed: await sequencer.getAddress() });
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await (
      await fx.ch.connect(fx.carol).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    // The market falls and stays down: Alice's 10x long becomes liquidatable.
    await (
      await fx.ch.connect(fx.bob).openPosition(fx.market, Side.SHORT, toWad(5_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(1_000);
    expect(await fx.ch.getLiquidationMarginRatio(fx.market, fx.alice.address)).to.be.lessThan(toWad("0.0625"));

    // The sequencer goes down.
    await (await sequencer.setSequencerStatus(true, await time.latest())).wait();
    const blocked = [
      fx.ch.connect(fx.dave).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE),
      fx.ch.connect(fx.carol).removeMargin(fx.market, 1n),
      fx.ch.connect(fx.dave).liquidate(fx.market, fx.alice.address),
    ];
    for (const tx of blocked) await expect(tx).to.be.revertedWithCustomError(fx.ch, "SequencerDown");
    // Reducing risk stays open: add margin, reduce, deposit, withdraw.
    await (await fx.ch.connect(fx.alice).addMargin(fx.market, toWad(10))).wait();
    await (
      await fx.ch.connect(fx.carol).openPosition(fx.market, Side.SHORT, toWad(100), toWad(1), 0n, MAX_DEADLINE)
    ).wait();
    await (await fx.vault.connect(fx.erin).withdraw(USDC(1))).wait();

    // Back up: the grace period still blocks risk and liquidations, so the trader can react.
    const upAt = BigInt(await time.latest()) + 1n;
    await (await sequencer.setSequencerStatus(false, upAt)).wait();
    await expect(fx.ch.connect(fx.dave).liquidate(fx.market, fx.alice.address)).to.be.revertedWithCustomError(
      fx.ch,
      "GracePeriodNotOver",
    );
    await expect(
      fx.ch.connect(fx.dave).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.ch, "GracePeriodNotOver");
    // After the grace period, everything resumes.
    await time.increaseTo(upAt + 3_601n);
    await (
      await fx.ch.connect(fx.dave).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await expect(fx.ch.connect(fx.dave).liquidate(fx.market, fx.alice.address)).to.emit(fx.ch, "PositionLiquidated");
  });
});
