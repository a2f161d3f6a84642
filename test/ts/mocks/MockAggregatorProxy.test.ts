/**
 * MockAggregatorProxy (the gas benchmark's Chainlink-proxy-shaped feed): it forwards to its
 * aggregator, carries the phase in round ids as Chainlink's proxies do ((phaseId << 64) | the
 * aggregator's round id), keeps earlier phases readable, and the price feed reads an index through it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ChainlinkPriceFeed, MockAggregator, MockAggregatorProxy } from "../../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();

/** Phase 1, aggregator round 1: 2^64 + 1. */
const PHASE_1_ROUND_1 = 18_446_744_073_709_551_617n;
/** Phase 2, aggregator round 1: 2 x 2^64 + 1. */
const PHASE_2_ROUND_1 = 36_893_488_147_419_103_233n;

async function deployed() {
  const aggregator = (await ethers.deployContract("MockAggregator", [8])) as unknown as MockAggregator;
  const proxy = (await ethers.deployContract("MockAggregatorProxy", [
    await aggregator.getAddress(),
  ])) as unknown as MockAggregatorProxy;
  return { aggregator, proxy };
}

describe("MockAggregatorProxy", function () {
  it("forwards decimals and the latest round, the round ids carrying phase 1", async function () {
    const { aggregator, proxy } = await networkHelpers.loadFixture(deployed);
    await (await aggregator.setAnswer(3_000_00000000n, 1_000n)).wait();
    expect(await proxy.decimals()).to.equal(8n);
    expect(await proxy.phaseId()).to.equal(1n);
    expect(await proxy.aggregator()).to.equal(await aggregator.getAddress());
    const [roundId, answer, startedAt, updatedAt, answeredInRound] = await proxy.latestRoundData();
    expect([roundId, answer, startedAt, updatedAt, answeredInRound]).to.deep.equal([
      PHASE_1_ROUND_1,
      3_000_00000000n,
      1_000n,
      1_000n,
      PHASE_1_ROUND_1,
    ]);
  });

  it("a new aggregator starts phase 2; a phase-1 round id still reads the first aggregator", async function () {
    const { aggregator, proxy } = await networkHelpers.loadFixture(deployed);
    await (await aggregator.setAnswer(3_000_00000000n, 1_000n)).wait();
    const next = (await ethers.deployContract("MockAggregator", [8])) as unknown as MockAggregator;
    await (await next.setAnswer(3_100_00000000n, 2_000n)).wait();
    await expect(proxy.setAggregator(await next.getAddress()))
      .to.emit(proxy, "PhaseStarted")
      .withArgs(2n, await next.getAddress());
    const latest = await proxy.latestRoundData();
    expect([latest[0], latest[1]]).to.deep.equal([PHASE_2_ROUND_1, 3_100_00000000n]);
    const old = await proxy.getRoundData(PHASE_1_ROUND_1);
    expect([old[0], old[1], old[3]]).to.deep.equal([PHASE_1_ROUND_1, 3_000_00000000n, 1_000n]);
    await expect(proxy.getRoundData(3n << 64n))
      .to.be.revertedWithCustomError(proxy, "MockAggregatorProxyUnknownPhase")
      .withArgs(3n);
    await expect(proxy.setAggregator(ethers.ZeroAddress)).to.be.revertedWithCustomError(
      proxy,
      "MockAggregatorProxyZeroAggregator",
    );
  });

  it("refuses readers other than the access controller once one is set", async function () {
    const { proxy } = await networkHelpers.loadFixture(deployed);
    const [, controller, stranger] = await ethers.getSigners();
    await (await proxy.setAccessController(controller.address)).wait();
    await expect(proxy.connect(stranger).latestRoundData())
      .to.be.revertedWithCustomError(proxy, "MockAggregatorProxyNoAccess")
      .withArgs(stranger.address);
  });

  it("the price feed reads an index through it: 3,000 USD in 8 decimals is 3,000e18", async function () {
    const { aggregator, proxy } = await networkHelpers.loadFixture(deployed);
    const [owner] = await ethers.getSigners();
    const feed = (await ethers.deployContract("ChainlinkPriceFeed", [owner.address])) as unknown as ChainlinkPriceFeed;
    const asset = ethers.encodeBytes32String("ETH");
    await (await feed.setAsset(asset, await proxy.getAddress(), 3_600n, 1n, 10n ** 30n)).wait();
    const now = (await networkHelpers.time.latest()) + 1;
    await networkHelpers.time.setNextBlockTimestamp(now);
    await (await aggregator.setAnswer(3_000_00000000n, now)).wait();
    const [valid, price] = await feed.tryGetPrice(asset);
    expect([valid, price]).to.deep.equal([true, 3_000n * 10n ** 18n]);
  });
});
