/**
 * How many storage slots a TWAP reads (PriceHistory's window-start search), counted in a trace of
 * the harness's `twap`: a market that trades in every 30-second bucket needs the head, the oldest
 * observation and two more, where a bisection of the 64-observation ring read six more; an uneven
 * ring (long idle gaps) still stays within the bound of a gallop plus a bisection. The values
 * themselves are checked against an exact model in test/solidity/PriceHistory.t.sol.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { PriceHistoryHarness } from "../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();

const START = 1_900_000_000n;
const PRICE = 3_000n * 10n ** 18n;

/** The distinct storage slots a call reads (SLOADs costing a cold access), traced at the latest block. */
async function coldReads(to: string, data: string): Promise<number> {
  const trace = (await ethers.provider.send("debug_traceCall", [{ to, data }, "latest", { disableStack: true }])) as {
    structLogs: { op: string; gasCost: number }[];
  };
  return trace.structLogs.filter((log) => log.op === "SLOAD" && log.gasCost >= 2_100).length;
}

/** A history recorded at `START + times[i]`, the price moving by one wei each record. */
async function historyAt(times: bigint[]): Promise<PriceHistoryHarness> {
  const h = (await ethers.deployContract("PriceHistoryHarness")) as unknown as PriceHistoryHarness;
  await (await h.initialize(START, PRICE)).wait();
  let price = PRICE;
  for (const t of times) {
    await (await h.record(START + t, price, price + 1n)).wait();
    price += 1n;
  }
  return h;
}

async function twapReads(h: PriceHistoryHarness, now: bigint, interval: bigint): Promise<number> {
  const data = h.interface.encodeFunctionData("twap", [now, PRICE, interval]);
  return coldReads(await h.getAddress(), data);
}

describe("PriceHistory: slots a TWAP reads", function () {
  it("a market trading in every bucket (ring wrapped): the head, the oldest and two observations", async function () {
    const busy = async () => historyAt(Array.from({ length: 100 }, (_, i) => BigInt(30 * (i + 1))));
    const h = await networkHelpers.loadFixture(busy);
    const head = await h.head();
    // A 15-minute window (the liquidation TWAP), and windows starting in other buckets.
    for (const interval of [900n, 600n, 1_234n, 1_800n]) {
      expect(await twapReads(h, head.timestamp + 5n, interval), `interval ${interval}`).to.equal(4);
    }
  });

  it("a ring with a long idle gap: within a gallop's and a bisection's reads", async function () {
    // 40 records every 30 s, a day idle, 40 more: the even-spread estimate lands far from the answer.
    const gapped = async () =>
      historyAt([
        ...Array.from({ length: 40 }, (_, i) => BigInt(30 * (i + 1))),
        ...Array.from({ length: 40 }, (_, i) => BigInt(86_400 + 30 * (i + 1))),
      ]);
    const h = await networkHelpers.loadFixture(gapped);
    const head = await h.head();
    for (const interval of [900n, 3_000n, 86_400n]) {
      // head + oldest + at most log2(64) gallop steps + log2(64) bisection steps.
      expect(await twapReads(h, head.timestamp + 5n, interval), `interval ${interval}`).to.be.at.most(2 + 6 + 6);
    }
  });
});
