/**
 * MockAggregator (every test's Chainlink aggregator, and the gas benchmark's behind its proxy):
 * it answers exactly what was set, whether the round packs into OCR2's one-slot transmission or
 * not, and a round-data read costs three cold storage reads, as an OCR2 aggregator's does (the
 * caller's access-list entry, the hot variables, the transmission), so the benchmark pays what a
 * live feed costs.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { MockAggregator } from "../../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();

async function deployed() {
  const aggregator = (await ethers.deployContract("MockAggregator", [8])) as unknown as MockAggregator;
  return { aggregator };
}

/** The cold storage reads a call makes when traced on its own (debug_traceCall at the latest block). */
async function coldReads(to: string, data: string): Promise<number> {
  const trace = (await ethers.provider.send("debug_traceCall", [{ to, data }, "latest", { disableStack: true }])) as {
    structLogs: { op: string; gasCost: number }[];
  };
  return trace.structLogs.filter((log) => log.op === "SLOAD" && log.gasCost >= 2_100).length;
}

describe("MockAggregator", function () {
  it("answers a round that packs as set", async function () {
    const { aggregator } = await networkHelpers.loadFixture(deployed);
    await (await aggregator.setRoundData(7n, -5n, 1_000n, 2_000n, 6n)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([7n, -5n, 1_000n, 2_000n, 6n]);
    expect(await aggregator.getRoundData(1n)).to.deep.equal([7n, -5n, 1_000n, 2_000n, 6n]);
  });

  it("answers a round wider than the packed transmission as set, and a packed one after it", async function () {
    const { aggregator } = await networkHelpers.loadFixture(deployed);
    const huge = 2n ** 200n;
    const late = 2n ** 40n;
    await (await aggregator.setRoundData(1n, huge, late, late + 1n, 1n)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([1n, huge, late, late + 1n, 1n]);
    await (await aggregator.setRoundData(2n, -(2n ** 191n), 3n, 4n, 2n)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([2n, -(2n ** 191n), 3n, 4n, 2n]);
    await (await aggregator.setRoundData(3n, 2n ** 191n, 3n, 4n, 3n)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([3n, 2n ** 191n, 3n, 4n, 3n]);
  });

  it("publishes the next round with setAnswer and keeps decimals and the revert switch apart", async function () {
    const { aggregator } = await networkHelpers.loadFixture(deployed);
    await (await aggregator.setAnswer(3_000_00000000n, 1_000n)).wait();
    await (await aggregator.setAnswer(3_001_00000000n, 1_100n)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([2n, 3_001_00000000n, 1_100n, 1_100n, 2n]);
    await (await aggregator.setDecimals(18)).wait();
    await (await aggregator.setReverting(true)).wait();
    expect(await aggregator.decimals()).to.equal(18n);
    expect(await aggregator.reverting()).to.equal(true);
    await expect(aggregator.latestRoundData()).to.be.revertedWithCustomError(aggregator, "MockAggregatorReverted");
    await (await aggregator.setReverting(false)).wait();
    expect(await aggregator.latestRoundData()).to.deep.equal([2n, 3_001_00000000n, 1_100n, 1_100n, 2n]);
  });

  it("with the access check on, answers only listed readers", async function () {
    const { aggregator } = await networkHelpers.loadFixture(deployed);
    const [, reader] = await ethers.getSigners();
    await (await aggregator.setAnswer(1n, 1n)).wait();
    await (await aggregator.setAccessCheck(true)).wait();
    await expect(aggregator.connect(reader).latestRoundData())
      .to.be.revertedWithCustomError(aggregator, "MockAggregatorNoAccess")
      .withArgs(reader.address);
    await (await aggregator.setReadAccess(reader.address, true)).wait();
    expect(await aggregator.connect(reader).latestRoundData()).to.deep.equal([1n, 1n, 1n, 1n, 1n]);
  });

  it("reads three cold slots for a round, as an OCR2 aggregator does", async function () {
    const { aggregator } = await networkHelpers.loadFixture(deployed);
    await (await aggregator.setAnswer(3_000_00000000n, 1_000n)).wait();
    const data = aggregator.interface.encodeFunctionData("latestRoundData");
    expect(await coldReads(await aggregator.getAddress(), data)).to.equal(3);
  });
});
