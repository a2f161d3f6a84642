/**
 * The Amm's mark-price TWAP (getMarkTwap) and the fluctuation limit it shares its head with, on real
 * blocks at scripted timestamps. Expected values come from two independent models: AmmModel (the
 * pool's reserves and spot price) and MarkModel below (the block-end spot price path and its
 * sum of price x seconds, segment by segment), never from the contract's own figures.
 */
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { network } from "hardhat";
import { Side } from "../../scripts/lib/deploy.js";
import { abs, toWad, wMulDown } from "../../scripts/lib/fixed.js";
import type { Amm } from "../../typechain-types/index.js";
import { prng } from "./helpers/fixtures.js";
import { AmmModel, LONG, SHORT, type SideValue } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const SPACING = 30;
const CARDINALITY = 64;
const NO_LIMITS = { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n };
/** Price 10 with k = 100,000: every scripted trade below lands on an exact price. */
const Q0 = toWad(1000);
const B0 = toWad(100);
const GAS = { gasLimit: 1_000_000n };

/**
 * The documented mark TWAP, written from IAmm's NatSpec: each block with swaps counts with the spot
 * price it ended on, from its own timestamp until the next such block; observations are the first
 * such block of each 30 s bucket (and the deployment), the newest 64 kept; a window starts exactly
 * at its target, except when the newest observation at or before the target is in the target's own
 * bucket (then it starts there) and when all kept observations are newer (then at the oldest kept
 * one); interval 0, or a window inside the stretch since the last block with swaps, gives the spot
 * price.
 */
class MarkModel {
  readonly blocks: { t: number; price: bigint }[];
  readonly observations: number[];

  constructor(t0: number, p0: bigint) {
    this.blocks = [{ t: t0, price: p0 }];
    this.observations = [t0];
  }

  get head(): { t: number; price: bigint } {
    return this.blocks[this.blocks.length - 1];
  }

  /** A block at `t` whose swaps left the spot price at `price`. */
  endBlock(t: number, price: bigint): void {
    const head = this.head;
    if (t < head.t) throw new Error("model: time went backwards");
    if (t === head.t) {
      head.price = price;
      return;
    }
    if (Math.floor(t / SPACING) !== Math.floor(head.t / SPACING)) this.observations.push(t);
    this.blocks.push({ t, price });
  }

  /** Sum of price x seconds over [s, e). */
  sum(s: number, e: number): bigint {
    let total = 0n;
    for (let i = 0; i < this.blocks.length; i++) {
      const a = Math.max(this.blocks[i].t, s);
      const b = Math.min(i + 1 < this.blocks.length ? this.blocks[i + 1].t : Infinity, e);
      if (b > a) total += this.blocks[i].price * BigInt(b - a);
    }
    return total;
  }

  /** The exact time-weighted average over [s, e), rounded down. */
  average(s: number, e: number): bigint {
    return this.sum(s, e) / BigInt(e - s);
  }

  ruleStart(target: number): number {
    const kept = this.observations.slice(-CARDINALITY);
    for (let j = kept.length - 1; j >= 0; j--) {
      if (kept[j] > target) continue;
      return Math.floor(kept[j] / SPACING) === Math.floor(target / SPACING) ? kept[j] : target;
    }
    return kept[0];
  }

  twap(now: number, interval: number): bigint {
    if (now < this.head.t) throw new Error("model: query before the last block");
    if (interval === 0) return this.head.price;
    const target = interval >= now ? 0 : now - interval;
    if (target >= this.head.t) return this.head.price;
    return this.average(this.ruleStart(target), now);
  }
}

type Op =
  { kind: "quote"; side: SideValue; amount: bigint; size: bigint } | { kind: "base"; size: bigint; amount: bigint };

const long = (amount: string | number): Op => ({ kind: "quote", side: LONG, amount: toWad(amount), size: 0n });
const short = (amount: string | number): Op => ({ kind: "quote", side: SHORT, amount: toWad(amount), size: 0n });
const close = (size: bigint): Op => ({ kind: "base", size, amount: abs(size) });

function send(asCh: Amm, op: Op): Promise<ContractTransactionResponse> {
  return op.kind === "quote"
    ? asCh.swapQuote(op.side === LONG ? Side.LONG : Side.SHORT, op.amount, op.size, 0n, GAS)
    : asCh.swapBase(op.size, op.amount, 0n, GAS);
}

/** Applies a trade to the pool model; returns the trader's new size. */
function apply(m: AmmModel, op: Op): bigint {
  if (op.kind === "quote") {
    const base = m.swapQuote(op.side, op.amount, op.size);
    return op.side === LONG ? op.size + base : op.size - base;
  }
  m.swapBase(op.size, op.amount);
  return op.size > 0n ? op.size - op.amount : op.size + op.amount;
}

/** Mines `ops` into one block at timestamp `t` (automine off), in order; returns the receipts' statuses. */
async function block(asCh: Amm, t: number, ops: Op[]) {
  await time.setNextBlockTimestamp(t);
  await ethers.provider.send("evm_setAutomine", [false]);
  const txs: ContractTransactionResponse[] = [];
  try {
    for (const op of ops) txs.push(await send(asCh, op));
    await ethers.provider.send("evm_mine", []);
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
  const receipts = await Promise.all(txs.map((tx) => ethers.provider.getTransactionReceipt(tx.hash)));
  for (const r of receipts) {
    expect((await ethers.provider.getBlock(r!.blockNumber))!.timestamp, "block timestamp").to.equal(t);
  }
  expect(new Set(receipts.map((r) => r!.blockNumber)).size, "all in one block").to.equal(1);
  return { txs, receipts: receipts.map((r) => r!), statuses: receipts.map((r) => r!.status) };
}

/** A block at `t` whose every trade succeeds; both models follow. */
async function tradeBlock(asCh: Amm, m: AmmModel, mark: MarkModel, t: number, ops: Op[]) {
  const { statuses, receipts } = await block(asCh, t, ops);
  expect(statuses, `block at ${t}`).to.deep.equal(ops.map(() => 1));
  for (const op of ops) apply(m, op);
  mark.endBlock(t, m.spotPrice());
  expect(await asCh.getReserves(), "reserves").to.deep.equal([m.quote, m.base]);
  return receipts;
}

const range = (from: number, to: number, step = 1): number[] => {
  const out: number[] = [];
  for (let i = from; i <= to; i += step) out.push(i);
  return out;
};

async function twaps(amm: Amm, intervals: number[]): Promise<bigint[]> {
  return Promise.all(intervals.map((i) => amm.getMarkTwap(i)));
}

/** Asserts getMarkTwap equals the model for every interval, at the latest block's timestamp. */
async function expectTwapsMatchModel(amm: Amm, mark: MarkModel, intervals: number[]) {
  const now = await time.latest();
  const got = await twaps(amm, intervals);
  const expected = intervals.map((i) => mark.twap(now, i));
  for (let k = 0; k < intervals.length; k++) {
    expect(got[k], `getMarkTwap(${intervals[k]}) at ${now}`).to.equal(expected[k]);
  }
}

async function deployAt(quote: bigint, base: bigint, limits = NO_LIMITS) {
  const [owner, ch] = await ethers.getSigners();
  // A 30 s boundary, so that bucket arithmetic in the tests reads as offsets from t0.
  const curveModule = await (await ethers.deployContract("AmmCurveModule")).getAddress();
  const t0 = Math.ceil(((await time.latest()) + 60) / SPACING) * SPACING;
  await time.setNextBlockTimestamp(t0);
  const amm = (await ethers.deployContract("Amm", [
    ch.address,
    quote,
    base,
    limits,
    owner.address,
    curveModule,
  ])) as unknown as Amm;
  const receipt = await amm.deploymentTransaction()!.wait();
  expect((await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp).to.equal(t0);
  return { amm, asCh: amm.connect(ch), t0 };
}

/**
 * The scripted path, one opening trade per block, each the first of its 30 s bucket:
 *   t0       deployment          10
 *   t0 + 30  long 250  -> 1250 / 80   15.625
 *   t0 + 90  long 750  -> 2000 / 50   40
 *   t0 + 150 short 1500 -> 500 / 200   2.5
 *   t0 + 240 long 500  -> 1000 / 100  10
 */
const SCRIPT: Array<{ dt: number; op: Op; price: string }> = [
  { dt: 30, op: long(250), price: "15.625" },
  { dt: 90, op: long(750), price: "40" },
  { dt: 150, op: short(1500), price: "2.5" },
  { dt: 240, op: long(500), price: "10" },
];

async function plainFixture() {
  return deployAt(Q0, B0);
}

async function scriptedFixture() {
  const d = await deployAt(Q0, B0);
  for (const { dt, op } of SCRIPT) {
    await time.setNextBlockTimestamp(d.t0 + dt);
    await (await send(d.asCh, op)).wait();
  }
  return d;
}

/** Fresh models of the scripted path (the fixture's chain state is shared, the models must not be). */
function scriptedModels(t0: number) {
  const m = new AmmModel(Q0, B0);
  const mark = new MarkModel(t0, m.spotPrice());
  for (const { dt, op, price } of SCRIPT) {
    apply(m, op);
    expect(m.spotPrice(), `scripted price at t0 + ${dt}`).to.equal(toWad(price));
    mark.endBlock(t0 + dt, m.spotPrice());
  }
  return { m, mark };
}

describe("Amm mark TWAP", function () {
  describe("getMarkTwap(0)", function () {
    it("is the spot price: in the deployment block, in trade blocks and in later blocks", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(plainFixture);
      const m = new AmmModel(Q0, B0);
      const mark = new MarkModel(t0, m.spotPrice());
      expect(await amm.getMarkTwap(0)).to.equal(toWad(10));
      expect(await amm.getMarkTwap(0)).to.equal(await amm.getSpotPrice());
      const r = prng(7n);
      let t = t0;
      for (let i = 0; i < 12; i++) {
        t += 1 + Number(r(50n));
        const op = r(2n) === 0n ? long(Number(1n + r(90n))) : short(Number(1n + r(90n)));
        await tradeBlock(asCh, m, mark, t, [op, long("0.5")]);
        expect(await amm.getMarkTwap(0), "in the trade's block").to.equal(m.spotPrice());
        expect(await amm.getSpotPrice()).to.equal(m.spotPrice());
        if (i % 3 === 0) {
          t += 5;
          await time.increaseTo(t);
          expect(await amm.getMarkTwap(0), "in a later empty block").to.equal(m.spotPrice());
        }
      }
    });

    it("a window inside the stretch since the last trade block is the spot price too", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(plainFixture);
      await time.setNextBlockTimestamp(t0 + 100);
      await (await send(asCh, long(100))).wait();
      const spot = await amm.getSpotPrice();
      await time.increaseTo(t0 + 160);
      for (const i of [1, 30, 59, 60]) expect(await amm.getMarkTwap(i), `interval ${i}`).to.equal(spot);
      // One second more reaches back before the trade block: the average moves off the spot price.
      expect(await amm.getMarkTwap(61)).to.not.equal(spot);
    });
  });

  describe("a scripted sequence of trades", function () {
    it("gives the hand-computed time-weighted average of the block-end spot prices", async function () {
      const { amm, t0 } = await networkHelpers.loadFixture(scriptedFixture);
      const { m, mark } = scriptedModels(t0);
      expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
      await time.increaseTo(t0 + 300);
      // Seconds x price: [t0, 30) 10 x 30 = 300; [30, 90) 15.625 x 60 = 937.5; [90, 150) 40 x 60 =
      // 2400; [150, 240) 2.5 x 90 = 225; [240, 300) 10 x 60 = 600. Total 4462.5 over 300 s.
      const hand: Array<[number, bigint, string]> = [
        [0, toWad(10), "interval 0: the spot price"],
        [60, toWad(10), "from t0 + 240 (the last trade block): 600 / 60"],
        [150, toWad("5.5"), "from t0 + 150: (225 + 600) / 150"],
        [210, toWad(3225) / 210n, "from t0 + 90: (2400 + 225 + 600) / 210"],
        [270, toWad("4162.5") / 270n, "from t0 + 30: (937.5 + 3225) / 270"],
        [300, toWad("14.875"), "from t0: 4462.5 / 300"],
        [1000, toWad("14.875"), "longer than the history: from t0"],
        [1e12, toWad("14.875"), "interval above the timestamp: from t0"],
        // Between observations, in a bucket of its own: the exact window. Target t0 + 200 (the market
        // idle since t0 + 150): (2.5 x 40 + 10 x 60) / 100 = 7.
        [100, toWad(7), "target t0 + 200: exact"],
        [61, toWad("602.5") / 61n, "target t0 + 239: (2.5 x 1 + 600) / 61"],
        [151, toWad(865) / 151n, "target t0 + 149: (40 x 1 + 225 + 600) / 151"],
        // In the bucket of the observation before it, from that observation: target t0 + 170 is
        // in t0 + 150's bucket, so the window starts there (20 s early).
        [130, toWad("5.5"), "target t0 + 170 starts at t0 + 150"],
      ];
      for (const [interval, expected, what] of hand) {
        expect(await amm.getMarkTwap(interval), what).to.equal(expected);
        expect(mark.twap(t0 + 300, interval), `model: ${what}`).to.equal(expected);
      }
      expect(mark.average(t0 + 200, t0 + 300)).to.equal(toWad(7));
      expect(mark.average(t0 + 150, t0 + 300)).to.equal(toWad("5.5"));
      await expectTwapsMatchModel(amm, mark, range(0, 420));

      // 700 s later, without trades: the last price has weighed in for 760 s.
      await time.increaseTo(t0 + 1000);
      expect(await amm.getMarkTwap(1000), "(4462.5 + 10 x 700) / 1000").to.equal(toWad("11.4625"));
      expect(await amm.getMarkTwap(760), "from t0 + 240: the spot price").to.equal(toWad(10));
      await expectTwapsMatchModel(amm, mark, range(0, 1100, 3));
    });

    it("more than 64 observations: the ring keeps the newest 64 and every window matches the model", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(plainFixture);
      const m = new AmmModel(Q0, B0);
      const mark = new MarkModel(t0, m.spotPrice());
      const r = prng(2024n);
      let t = t0;
      for (let i = 0; i < 110; i++) {
        t += 1 + Number(r(70n)); // some blocks share a bucket, some skip one
        const amount = `${1n + r(40n)}.${r(1000n)}`;
        await tradeBlock(asCh, m, mark, t, [i % 3 === 2 ? short(amount) : long(amount)]);
      }
      expect(mark.observations.length).to.be.greaterThan(CARDINALITY + 10);
      const now = t + 11;
      await time.increaseTo(now);
      const kept = mark.observations.slice(-CARDINALITY);
      const intervals = new Set<number>(range(0, now - t0 + 5, 17));
      for (const o of kept) for (const d of [-1, 0, 1]) if (now - o + d >= 0) intervals.add(now - o + d);
      await expectTwapsMatchModel(amm, mark, [...intervals]);
      // From a kept observation the value is the exact average; before the oldest kept one, the
      // window starts at the oldest kept one (older observations are gone).
      const oldest = kept[0];
      expect(await amm.getMarkTwap(now - kept[10])).to.equal(mark.average(kept[10], now));
      expect(await amm.getMarkTwap(now - t0)).to.equal(mark.average(oldest, now));
      expect(oldest).to.be.greaterThan(t0);
    });
  });

  describe("manipulation resistance", function () {
    const INTERVALS = range(0, 460);

    it("a large trade and its full reversal in the same block leave every window unchanged, exactly", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(scriptedFixture);
      const snapshot = await networkHelpers.takeSnapshot();
      // Control: no manipulation.
      await time.increaseTo(t0 + 400);
      const control = await twaps(amm, INTERVALS);
      await snapshot.restore();

      // Long 3000 (1000 / 100 -> 4000 / 25: price 10 -> 160) and its close, in one block at t0 + 330.
      // 4000 x 25 = 100,000 exactly, so the close returns the pool to 1000 / 100 to the wei: the block
      // ends on the price it started with and the tolerance is 0.
      const { m, mark } = scriptedModels(t0);
      const size = m.clone().swapQuote(LONG, toWad(3000), 0n);
      expect(size).to.equal(toWad(75));
      const receipts = await tradeBlock(asCh, m, mark, t0 + 330, [long(3000), close(size)]);
      const swapped = receipts[0].logs.map((l) => amm.interface.parseLog(l)).find((e) => e?.name === "Swapped");
      expect([swapped!.args.quoteReserve, swapped!.args.baseReserve], "mid-block reserves").to.deep.equal([
        toWad(4000),
        toWad(25),
      ]);
      expect(await amm.getReserves()).to.deep.equal([Q0, B0]);

      await time.increaseTo(t0 + 400);
      const after = await twaps(amm, INTERVALS);
      for (let k = 0; k < INTERVALS.length; k++) {
        expect(after[k], `getMarkTwap(${INTERVALS[k]})`).to.equal(control[k]);
      }
      await expectTwapsMatchModel(amm, mark, INTERVALS);
    });

    it("with pool rounding, the reversal moves every window by at most the end price's rounding", async function () {
      // Awkward reserves, so the round trip leaves the quote reserve a few wei up (each reserve the
      // pool computes rounds up) and the spot price moves by delta wei. Every window is a weighted
      // average in which only the seconds after the block see end = start + delta, so it moves by at
      // most delta (rounding down the average cannot add more, delta being whole wei).
      const quote = toWad("1000.000000000000000007");
      const base = 3n * 10n ** 15n + 1n;
      const { amm, asCh, t0 } = await deployAt(quote, base);
      const m = new AmmModel(quote, base);
      const mark = new MarkModel(t0, m.spotPrice());
      await tradeBlock(asCh, m, mark, t0 + 30, [long("123.456")]);
      await tradeBlock(asCh, m, mark, t0 + 95, [short("77.7")]);
      const snapshot = await networkHelpers.takeSnapshot();
      await time.increaseTo(t0 + 200);
      const control = await twaps(amm, range(0, 250));
      await snapshot.restore();

      const start = m.spotPrice();
      const size = m.clone().swapQuote(LONG, toWad("987.654321"), 0n);
      await tradeBlock(asCh, m, mark, t0 + 150, [long("987.654321"), close(size)]);
      const delta = abs(m.spotPrice() - start);
      expect(delta, "the round trip does move the price by rounding").to.be.greaterThan(0n);
      expect(delta, "by a few parts in 1e15 at most").to.be.lessThan(start / 10n ** 15n);

      await time.increaseTo(t0 + 200);
      const after = await twaps(amm, range(0, 250));
      for (let k = 0; k <= 250; k++) {
        expect(abs(after[k] - control[k]) <= delta, `getMarkTwap(${k}) within ${delta} wei`).to.equal(true);
      }
      await expectTwapsMatchModel(amm, mark, range(0, 250));
    });

    for (const N of [1, 12, 45]) {
      it(`the same two trades in blocks ${N} s apart move every window by the time-weighted amount`, async function () {
        const { amm, asCh, t0 } = await networkHelpers.loadFixture(scriptedFixture);
        const snapshot = await networkHelpers.takeSnapshot();
        await time.increaseTo(t0 + 400);
        const control = await twaps(amm, INTERVALS);
        await snapshot.restore();

        const { m, mark } = scriptedModels(t0);
        await tradeBlock(asCh, m, mark, t0 + 330, [long(3000)]); // 160
        await tradeBlock(asCh, m, mark, t0 + 330 + N, [close(toWad(75))]); // back to 10
        expect(await amm.getReserves()).to.deep.equal([Q0, B0]);
        await time.increaseTo(t0 + 400);
        await expectTwapsMatchModel(amm, mark, INTERVALS);

        // From t0 + 240 (an observation) the window is 160 s long in both runs, and 160 replaced 10
        // for N seconds: the average moves by exactly 150 x N / 160.
        const got = await amm.getMarkTwap(160);
        expect(control[160]).to.equal(toWad(10));
        expect(got - control[160]).to.equal((toWad(150) * BigInt(N)) / 160n);
        if (N === 12) {
          // By hand: (10 x 90 + 160 x 12 + 10 x 58) / 160 = 21.25; from t0 + 330: (160 x 12 + 10 x 58) / 70.
          expect(got).to.equal(toWad("21.25"));
          expect(await amm.getMarkTwap(70)).to.equal(toWad(2500) / 70n);
          // Target t0 + 300, in an idle bucket: exactly (10 x 30 + 160 x 12 + 10 x 58) / 100 = 28.
          expect(await amm.getMarkTwap(100)).to.equal(toWad(28));
        }
        // Every window reaching back before the close (target < t0 + 330 + N) is pulled up; the
        // others, inside the stretch since the close, are the spot price in both runs.
        const after = await twaps(amm, INTERVALS);
        for (let k = 0; k < INTERVALS.length; k++) {
          const reachesBack = k > 0 && 400 - k < 330 + N;
          if (reachesBack) expect(after[k] > control[k], `getMarkTwap(${k}) moved up`).to.equal(true);
          else expect(after[k], `getMarkTwap(${k}) unchanged`).to.equal(control[k]);
        }
      });
    }

    // Reading in the block that wrote the head (any read after a swap, in the same transaction or
    // block, and every eth_call at "latest" right after such a block): the block does not count yet.
    it("read in the block of a large trade, getMarkTwap(interval > 0) does not count that block yet", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(scriptedFixture);
      const { m, mark } = scriptedModels(t0);
      await tradeBlock(asCh, m, mark, t0 + 330, [long(3000)]);
      expect(await time.latest()).to.equal(t0 + 330);
      expect(await amm.getSpotPrice()).to.equal(toWad(160));
      // [t0 + 240, t0 + 330) at 10; the block at t0 + 330 weighs 0 s so far.
      expect(await amm.getMarkTwap(90)).to.equal(toWad(10));
      expect(await amm.getMarkTwap(330)).to.equal(toWad("4762.5") / 330n);
      await expectTwapsMatchModel(amm, mark, range(1, 400));
    });
  });

  describe("the fluctuation limit measures against the head (the spot price at the block's start)", function () {
    const LIMIT = toWad("0.05");

    async function limitedFixture() {
      return deployAt(Q0, B0, { ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
    }

    /** The spot price after `ops` from `m`, on a copy. */
    const priceAfter = (m: AmmModel, ops: Op[]) => {
      const c = m.clone();
      for (const op of ops) apply(c, op);
      return c.spotPrice();
    };
    const move = (from: bigint, to: bigint) => abs(to - from);

    it("in one block, each trade is measured from the first trade's pre-trade price; reverted trades leave no trace", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(limitedFixture);
      const m = new AmmModel(Q0, B0);
      const mark = new MarkModel(t0, m.spotPrice());

      // Block 1: +3.0% then another +3%: +6.1% from the block's start (10) reverts.
      {
        const start = m.spotPrice();
        const p1 = priceAfter(m, [long(15)]);
        const p2 = priceAfter(m, [long(15), long(15)]);
        expect(move(start, p1) <= wMulDown(start, LIMIT)).to.equal(true);
        expect(move(p1, p2) <= wMulDown(p1, LIMIT), "inside the limit from the first trade's price").to.equal(true);
        expect(move(start, p2) > wMulDown(start, LIMIT), "beyond it from the block's start").to.equal(true);
        const { txs, statuses } = await block(asCh, t0 + 30, [long(15), long(15)]);
        expect(statuses).to.deep.equal([1, 0]);
        await expect(txs[1]).to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded").withArgs(start, p2);
        apply(m, long(15));
        mark.endBlock(t0 + 30, m.spotPrice());
        expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
      }

      // Block 2 (a new bucket): +4%, then down to -3.9% (a -7.6% move from the first trade's price,
      // but inside the limit from the block's start) passes; a further -2% (-5.8% from the start)
      // reverts, naming the block's start price.
      {
        const start = m.spotPrice();
        const a = [long(20)];
        const ab = [long(20), short(40)];
        const abc = [long(20), short(40), short(10)];
        const [pa, pab, pabc] = [priceAfter(m, a), priceAfter(m, ab), priceAfter(m, abc)];
        expect(move(pa, pab) > wMulDown(pa, LIMIT), "beyond the limit from the previous trade's price").to.equal(true);
        expect(move(start, pab) <= wMulDown(start, LIMIT), "inside it from the block's start").to.equal(true);
        expect(move(pab, pabc) <= wMulDown(pab, LIMIT)).to.equal(true);
        expect(move(start, pabc) > wMulDown(start, LIMIT)).to.equal(true);
        const { txs, statuses } = await block(asCh, t0 + 60, abc);
        expect(statuses).to.deep.equal([1, 1, 0]);
        await expect(txs[2]).to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded").withArgs(start, pabc);
        for (const op of ab) apply(m, op);
        mark.endBlock(t0 + 60, m.spotPrice());
        expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
      }

      // Block 3, one second later (same bucket: no observation, but a new head): the refused trade is
      // measured from the new start and passes.
      {
        const start = m.spotPrice();
        expect(move(start, priceAfter(m, [short(10)])) <= wMulDown(start, LIMIT)).to.equal(true);
        await tradeBlock(asCh, m, mark, t0 + 61, [short(10)]);
      }

      // The TWAP saw only the block-end prices: the reverted trades never counted.
      await time.increaseTo(t0 + 150);
      await expectTwapsMatchModel(amm, mark, range(0, 200));
    });

    it("the first swap after an idle stretch is measured from the price the last block ended on", async function () {
      const { amm, asCh, t0 } = await networkHelpers.loadFixture(limitedFixture);
      const m = new AmmModel(Q0, B0);
      const mark = new MarkModel(t0, m.spotPrice());
      await tradeBlock(asCh, m, mark, t0 + 5, [long(20)]); // +4%
      await time.increaseTo(t0 + 500);
      // Another +4% from 10.4: +8.2% from the deployment price, inside the limit from the block's start.
      const start = m.spotPrice();
      const ops = [long(20)];
      expect(move(toWad(10), priceAfter(m, ops)) > wMulDown(toWad(10), LIMIT)).to.equal(true);
      await tradeBlock(asCh, m, mark, t0 + 1000, ops);
      expect(start).to.not.equal(m.spotPrice());
      await time.increaseTo(t0 + 1100);
      await expectTwapsMatchModel(amm, mark, range(0, 1200, 7));
    });
  });
});
