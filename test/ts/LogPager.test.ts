/**
 * The one log pager (scripts/lib/log-pager.ts): bounded ranges, chain order, and a resume from
 * the range that failed; against a provider stub that records each eth_getLogs request.
 */
import { expect } from "chai";
import type { Log, Provider } from "ethers";
import { LogPager } from "../../scripts/lib/log-pager.js";

/** A provider whose getLogs returns one fake log per block of the range, and fails on `failAt`. */
function stubProvider(failAt?: number) {
  const requests: Array<[number, number]> = [];
  let failures = 0;
  const provider = {
    getLogs: async (filter: { fromBlock: number; toBlock: number }) => {
      if (filter.fromBlock === failAt && failures++ === 0) throw new Error("boom");
      requests.push([filter.fromBlock, filter.toBlock]);
      const blocks = Array.from({ length: filter.toBlock - filter.fromBlock + 1 }, (_, i) => filter.fromBlock + i);
      return blocks.map((blockNumber) => ({ blockNumber }) as Log);
    },
  } as unknown as Provider;
  return { provider, requests };
}

describe("LogPager", function () {
  it("reads in ranges of at most blockRange blocks, in order, and resumes after the last block read", async function () {
    const { provider, requests } = stubProvider();
    const pager = new LogPager(provider, { address: "0x", startBlock: 3, blockRange: 4 });
    const seen: number[] = [];
    await pager.readTo(12, (logs) => seen.push(...logs.map((l) => l.blockNumber)));
    // Blocks 3..12 are ten blocks: 3..6, 7..10, 11..12.
    expect(requests).to.deep.equal([
      [3, 6],
      [7, 10],
      [11, 12],
    ]);
    expect(seen).to.deep.equal([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(pager.nextBlock).to.equal(13);
    await pager.readTo(12, () => expect.fail("nothing new to read"));
    await pager.readTo(14, (logs) => seen.push(...logs.map((l) => l.blockNumber)));
    expect(requests.at(-1)).to.deep.equal([13, 14]);
    expect(seen.slice(-2)).to.deep.equal([13, 14]);
  });

  it("after a failed read, starts again from the range that failed", async function () {
    const { provider, requests } = stubProvider(5);
    const pager = new LogPager(provider, { address: "0x", startBlock: 1, blockRange: 4 });
    let failed = false;
    await pager.readTo(10, () => {}).catch(() => (failed = true));
    expect(failed).to.equal(true);
    expect(pager.nextBlock, "blocks 1..4 were read").to.equal(5);
    await pager.readTo(10, () => {});
    expect(requests).to.deep.equal([
      [1, 4],
      [5, 8],
      [9, 10],
    ]);
  });

  it("refuses a range of no blocks", function () {
    const { provider } = stubProvider();
    expect(() => new LogPager(provider, { address: "0x", startBlock: 0, blockRange: 0 })).to.throw(RangeError);
  });
});
