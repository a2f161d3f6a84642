/**
 * The CurveAdjustment library (through CurveAdjustmentHarness) against numbers worked out by hand
 * in the comments, and against the exact-rational model of helpers/curve-model.ts over a seeded
 * random sweep, to the wei. The hand-worked cases check the model too, so the sweep compares the
 * library with a model that is itself pinned to arithmetic done on paper.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { toWad } from "../../scripts/lib/fixed.js";
import type { CurveAdjustmentHarness } from "../../typechain-types/index.js";
import * as model from "./helpers/curve-model.js";
import { NetPositionExceedsCurve, Seeded, WAD } from "./helpers/curve-model.js";
import { Rational } from "./helpers/rational.js";

const { ethers } = await network.create();

const E18 = WAD;
// The reference market of the hand-worked cases: 10,000 base at 3,000 (q = 30,000,000).
const Q = toWad(30_000_000);
const B = toWad(10_000);
const LONG_250 = toWad(250);

describe("CurveAdjustment", function () {
  let h: CurveAdjustmentHarness;

  before(async function () {
    h = (await ethers.deployContract("CurveAdjustmentHarness")) as unknown as CurveAdjustmentHarness;
  });

  /** The library and the model both give `expected`. */
  async function costIs(q0: bigint, b0: bigint, q1: bigint, b1: bigint, net: bigint, expected: bigint) {
    expect(model.adjustmentCost(q0, b0, q1, b1, net), "model").to.equal(expected);
    expect(await h.adjustmentCost(q0, b0, q1, b1, net), "library").to.equal(expected);
  }

  async function repegIs(
    q0: bigint,
    b: bigint,
    target: bigint,
    net: bigint,
    available: bigint,
    q1: bigint,
    cost: bigint,
  ) {
    expect(model.repegWithin(q0, b, target, net, available), "model").to.deep.equal({ q1, cost });
    const [libQ1, libCost] = await h.repegWithin(q0, b, target, net, available);
    expect({ q1: libQ1, cost: libCost }, "library").to.deep.equal({ q1, cost });
  }

  describe("adjustmentCost, worked by hand", function () {
    it("charges a repeg up that the net long gains from, rounded up", async function () {
      // V(q, b) = q x net / (b + net). Repeg to 3,300: q1 = 33,000,000, b unchanged, net +250:
      // cost = 250 x (33,000,000 - 30,000,000) / 10,250 = 3,000,000 / 41
      //      = 73,170.731707317073170731|7073... -> rounded up: 73,170.731707317073170732.
      await costIs(Q, B, toWad(33_000_000), B, LONG_250, 73170731707317073170732n);
    });

    it("credits a repeg down that the net long loses from, rounded toward zero", async function () {
      // Repeg to 2,700: cost = 250 x (-3,000,000) / 10,250 = -73,170.731707317073170731|70...
      // -> toward zero: -73,170.731707317073170731.
      await costIs(Q, B, toWad(27_000_000), B, LONG_250, -73170731707317073170731n);
    });

    it("credits a repeg up that the net short loses from", async function () {
      // net -250: cost = -250 x 3,000,000 / 9,750 = -3,000,000 / 39 = -76,923.076923076923076923|0769...
      // -> toward zero: -76,923.076923076923076923.
      await costIs(Q, B, toWad(33_000_000), B, -LONG_250, -76923076923076923076923n);
    });

    it("charges a deeper curve when the net long gains from it", async function () {
      // Depth x1.1: (33,000,000, 11,000). V1 = 33,000,000 x 250 / 11,250 = 2,200,000 / 3,
      // V0 = 30,000,000 x 250 / 10,250 = 30,000,000 / 41. cost = (90,200,000 - 90,000,000) / 123
      // = 200,000 / 123 = 1,626.016260162601626016|26... -> up: 1,626.016260162601626017.
      await costIs(Q, B, toWad(33_000_000), toWad(11_000), LONG_250, 1626016260162601626017n);
    });

    it("credits a shallower curve when the net long loses from it", async function () {
      // Depth x0.9: (27,000,000, 9,000). V1 = 27,000,000 x 250 / 9,250 = 27,000,000 / 37.
      // cost = 27,000,000 / 37 - 30,000,000 / 41 = (1,107,000,000 - 1,110,000,000) / 1,517
      // = -3,000,000 / 1,517 = -1,977.587343441001977587|34... -> toward zero.
      await costIs(Q, B, toWad(27_000_000), toWad(9_000), LONG_250, -1977587343441001977587n);
    });

    it("is zero when the net position is zero, whatever the move", async function () {
      await costIs(Q, B, toWad(99_000_000), toWad(1), 0n, 0n);
    });

    it("is zero when the curve does not move", async function () {
      await costIs(Q, B, Q, B, -toWad(9_999), 0n);
    });

    it("rounds a one-wei cost up and a minus-one-wei-fraction to zero", async function () {
      // net 1 wei, q +1 wei on b = 10,000e18: cost = 1 x 1 / (10,000e18 + 1), a sliver -> 1 wei.
      await costIs(Q, B, Q + 1n, B, 1n, 1n);
      // The same move down: -1 / (10,000e18 + 1) -> toward zero: 0.
      await costIs(Q, B, Q - 1n, B, 1n, 0n);
    });

    it("reverts when the net short would take the base reserve to zero", async function () {
      // b + net = 10,000 - 10,000 = 0: the net short cannot close on the curve.
      expect(() => model.adjustmentCost(Q, B, Q, B, -B)).to.throw(NetPositionExceedsCurve);
      await expect(h.adjustmentCost(Q, B, toWad(33_000_000), B, -B))
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(B, -B);
    });

    it("reverts on the new curve's base when a shallower curve cannot hold the net short", async function () {
      // From b0 = 10,000 to b1 = 9,000 with net -9,500: b0 + net = 500 > 0, b1 + net = -500.
      const net = -toWad(9_500);
      await expect(h.adjustmentCost(Q, B, toWad(27_000_000), toWad(9_000), net))
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(toWad(9_000), net);
    });

    it("prices a net short one wei inside the reserve exactly", async function () {
      // b + net = 1 wei: V = q x net / 1. cost = -(10,000e18 - 1) x 3,000,000e18 (toward zero: exact).
      const net = -(B - 1n);
      await costIs(Q, B, toWad(33_000_000), B, net, net * toWad(3_000_000));
    });
  });

  describe("terminalBase and quoteAtPrice", function () {
    it("is b + net, and reverts at b + net <= 0", async function () {
      expect(await h.terminalBase(B, LONG_250)).to.equal(toWad(10_250));
      expect(await h.terminalBase(B, -(B - 1n))).to.equal(1n);
      await expect(h.terminalBase(B, -B - 1n))
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(B, -B - 1n);
    });

    it("puts the quote reserve at price x base, rounded down", async function () {
      // 10,000 x 3,300 = 33,000,000 exactly.
      expect(await h.quoteAtPrice(B, toWad(3_300))).to.equal(toWad(33_000_000));
      // 3 wei of base at 0.5: 1.5 wei -> 1.
      expect(await h.quoteAtPrice(3n, E18 / 2n)).to.equal(1n);
      expect(model.quoteAtPrice(3n, E18 / 2n)).to.equal(1n);
    });
  });

  describe("repegWithin, worked by hand", function () {
    const Q3300 = toWad(33_000_000);

    it("moves all the way when the budget covers the cost", async function () {
      // Full cost 73,170.731707317073170732 (above); available exactly that: full move.
      await repegIs(Q, B, Q3300, LONG_250, 73170731707317073170732n, Q3300, 73170731707317073170732n);
    });

    it("stops short by the wei when the budget is one wei short", async function () {
      // available = full - 1 wei = 73,170.731707317073170731. The largest step s (wei) with
      // ceil(250 s / 10,250) = ceil(s / 41) <= available is s = available x 41
      // = 2,999,999.999999999999999971 (3,000,000 - 29 wei, as 3,000,000 / 41 = 73,170.731707317073170731
      // + 29/41 wei); its cost s / 41 = available exactly.
      const available = 73170731707317073170731n;
      await repegIs(Q, B, Q3300, LONG_250, available, Q + 2999999999999999999999971n, available);
    });

    it("moves as far as a short budget pays, with the cost at most the budget", async function () {
      // net +300: b + net = 10,300. available 50,000: s = floor(50,000 x 10,300 / 300)
      // = floor(5,150,000 / 3) = 1,716,666.666666666666666666 (in wei, rounded down).
      // cost = 300 s / 10,300 = 3 s / 103 = (5,150,000e18 - 2) / 103 = 50,000e18 - 2/103 -> up: 50,000.
      const s = 1716666666666666666666666n;
      await repegIs(Q, B, Q3300, toWad(300), toWad(50_000), Q + s, toWad(50_000));
      // One wei further would cost 50,000e18 + 1/103 -> 50,000e18 + 1 wei: more than the budget.
      expect(await h.adjustmentCost(Q, B, Q + s + 1n, B, toWad(300))).to.equal(toWad(50_000) + 1n);
    });

    it("moves down as far as a short budget pays when the net short gains", async function () {
      // net -250, target 2,700 (q 27,000,000): full cost = 250 x 3,000,000 / 9,750 = 76,923.07...
      // available 20,000: s = 20,000 x 9,750 / 250 = 780,000 exactly; cost = 250 x 780,000 / 9,750 = 20,000.
      await repegIs(Q, B, toWad(27_000_000), -LONG_250, toWad(20_000), toWad(29_220_000), toWad(20_000));
    });

    it("does not move when nothing is available and the move costs", async function () {
      await repegIs(Q, B, Q3300, LONG_250, 0n, Q, 0n);
    });

    it("moves all the way for free when the move is a gain, whatever is available", async function () {
      // Net short, repeg up: cost -76,923.076923076923076923 (above): the full move even with 0 available.
      await repegIs(Q, B, Q3300, -LONG_250, 0n, Q3300, -76923076923076923076923n);
      // Net long, repeg down: -73,170.731707317073170731.
      await repegIs(Q, B, toWad(27_000_000), LONG_250, 0n, toWad(27_000_000), -73170731707317073170731n);
    });

    it("moves all the way when the net position is zero", async function () {
      await repegIs(Q, B, Q3300, 0n, 0n, Q3300, 0n);
    });

    it("does nothing when the target is the current reserve", async function () {
      await repegIs(Q, B, Q, LONG_250, 0n, Q, 0n);
    });

    it("reverts when the net short exceeds the curve", async function () {
      await expect(h.repegWithin(Q, B, Q3300, -B, toWad(1)))
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(B, -B);
    });
  });

  describe("scaleDepth, spreadRatio, withinLeverage, worked by hand", function () {
    it("scales both reserves, each rounded down", async function () {
      // x1.1: 33,000,000 and 11,000 exactly.
      expect(await h.scaleDepth(Q, B, toWad("1.1"))).to.deep.equal([toWad(33_000_000), toWad(11_000)]);
      // 7 and 5 wei x 0.5: 3.5 -> 3, 2.5 -> 2.
      expect(await h.scaleDepth(7n, 5n, E18 / 2n)).to.deep.equal([3n, 2n]);
      expect(model.scaleDepth(7n, 5n, E18 / 2n)).to.deep.equal({ q1: 3n, b1: 2n });
    });

    const spread = (baseSpread: bigint, maxSpread: bigint, skew: bigint, gap: bigint, drawdown: bigint) => ({
      baseSpread,
      maxSpread,
      skew,
      gap,
      drawdown,
    });

    it("adds the skew, gap and drawdown terms to the base spread", async function () {
      // 0.1% + 10% skew x 0.05 (0.5%) + 0.2% gap + 0.1% x 50% drawdown (0.05%) = 0.85%, under the 1% cap.
      const inputs = spread(toWad("0.001"), toWad("0.01"), toWad("0.1"), toWad("0.002"), toWad("0.5"));
      expect(await h.spreadRatio(inputs)).to.equal(toWad("0.0085"));
      expect(model.spreadRatio(inputs)).to.equal(toWad("0.0085"));
      expect(await h.skewWeight()).to.equal(model.SKEW_WEIGHT);
    });

    it("caps the spread at the maximum", async function () {
      // 0.1% + 0.5% + 1% gap + 0.05% = 1.65% -> 1%.
      const inputs = spread(toWad("0.001"), toWad("0.01"), toWad("0.1"), toWad("0.01"), toWad("0.5"));
      expect(await h.spreadRatio(inputs)).to.equal(toWad("0.01"));
      expect(model.spreadRatio(inputs)).to.equal(toWad("0.01"));
    });

    it("rounds each weighted term up", async function () {
      // skew 1 wei x 0.05 = 0.05 wei -> 1; drawdown 1 wei x 0.1% base = 0.001 wei -> 1.
      const inputs = spread(toWad("0.001"), toWad("0.05"), 1n, 0n, 1n);
      expect(await h.spreadRatio(inputs)).to.equal(toWad("0.001") + 2n);
      expect(model.spreadRatio(inputs)).to.equal(toWad("0.001") + 2n);
    });

    it("bounds a growing net position by funds x leverage, exposure rounded up", async function () {
      // |net after| 100 x 3,000 = 300,000 = 30,000 funds x 10: within.
      expect(await h.withinLeverage(0n, toWad(100), toWad(3_000), toWad(30_000), toWad(10))).to.equal(true);
      // One wei less of funds: max exposure 300,000 - 10 wei: not within.
      expect(await h.withinLeverage(0n, toWad(100), toWad(3_000), toWad(30_000) - 1n, toWad(10))).to.equal(false);
      // Crossing from +50 to -60 grows |net|: checked; 60 x 3,000 = 180,000 > 100 x 1,000.
      expect(await h.withinLeverage(toWad(50), -toWad(60), toWad(3_000), toWad(100), toWad(1_000))).to.equal(false);
      // 1 wei at 1.5 -> exposure 2 wei (up); 3 wei x 0.5 -> 1 wei (down): not within, 2 wei funds x 1: within.
      expect(await h.withinLeverage(0n, 1n, toWad("1.5"), 3n, E18 / 2n)).to.equal(false);
      expect(model.withinLeverage(0n, 1n, toWad("1.5"), 3n, E18 / 2n)).to.equal(false);
      expect(await h.withinLeverage(0n, 1n, toWad("1.5"), 2n, E18)).to.equal(true);
    });

    it("always accepts a trade that does not grow |net|, and everything when the bound is off", async function () {
      expect(await h.withinLeverage(toWad(200), toWad(100), toWad(3_000), 0n, toWad(10))).to.equal(true);
      expect(await h.withinLeverage(-toWad(200), toWad(200), toWad(3_000), 0n, toWad(10))).to.equal(true);
      expect(await h.withinLeverage(0n, toWad(1_000_000), toWad(3_000), 0n, 0n)).to.equal(true);
    });
  });

  describe("depthRatioForCost, worked by hand", function () {
    // The reference market, net long 250: T = b + net = 10,250, V(q, b) = 30,000,000 x 250 / 10,250
    // = 731,707.317... Scaling both reserves by r gives V(r) = r q net / (r b + net); with
    // W = V(q, b) + room, V(r) = W at r = W net / (q net - W b) = 1 + room T^2 / (q net^2 - room b T).
    async function ratioIs(q: bigint, b: bigint, net: bigint, room: bigint, expected: bigint) {
      expect(model.depthRatioForCost(q, b, net, room), "model").to.equal(expected);
      expect(await h.depthRatioForCost(q, b, net, room), "library").to.equal(expected);
    }

    it("finds the ratio whose cost is the room for a net long, rounded down", async function () {
      // room 1,000: r - 1 = 1,000 x 10,250^2 / (30,000,000 x 250^2 - 1,000 x 10,000 x 10,250)
      //   = 105,062,500,000 / (1,875,000,000,000 - 102,500,000,000) = 105,062,500,000 / 1,772,500,000,000
      //   = 1,681 / 28,360 = 0.059273624823695345|557... -> 1.059273624823695345.
      await ratioIs(Q, B, LONG_250, toWad(1_000), 1_059273624823695345n);
      // The model's exact ratio costs the room exactly: V(r) - V(q, b) = 1,000.
      const r = model.exactDepthRatioForCost(Q, B, LONG_250, toWad(1_000))!;
      expect(r.eq(new Rational(30_041n, 28_360n)), "r = 30,041 / 28,360").to.equal(true);
      const vR = r.mul(new Rational(Q * LONG_250)).div(r.mul(new Rational(B)).add(new Rational(LONG_250)));
      expect(vR.sub(model.terminalValue(Q, B, LONG_250)).eq(new Rational(toWad(1_000))), "V(r) - V0").to.equal(true);
    });

    it("finds it for a net short, whose growth costs too", async function () {
      // net -250: T = 9,750; r - 1 = 1,000 x 9,750^2 / (30,000,000 x 250^2 - 1,000 x 10,000 x 9,750)
      //   = 95,062,500,000 / 1,777,500,000,000 = 169 / 3,160 = 0.053481012658227848|1... -> 1.053481012658227848.
      await ratioIs(Q, B, -LONG_250, toWad(1_000), 1_053481012658227848n);
      // The growth to that ratio costs the short side at most the room (reserves scaled, cost rounded up).
      const { cost } = model.depthChange(Q, B, 1_053481012658227848n, -LONG_250);
      expect(cost > 0n && cost <= toWad(1_000), `cost ${cost}`).to.equal(true);
    });

    it("costs less than the linear share of a larger step, which overshoots the room", async function () {
      // The full 10% step costs more than 1,000; its linear share (1 + 0.1 x 1,000 / cost) costs more
      // than the room, the exact ratio at most the room.
      const full = model.depthChange(Q, B, toWad("1.1"), LONG_250).cost;
      expect(full > toWad(1_000)).to.equal(true);
      const share = E18 + (toWad("0.1") * toWad(1_000)) / full;
      expect(model.depthChange(Q, B, share, LONG_250).cost > toWad(1_000), "the share overshoots").to.equal(true);
      const exact = await h.depthRatioForCost(Q, B, LONG_250, toWad(1_000));
      expect(exact < share, "the exact ratio is below the share").to.equal(true);
      expect(model.depthChange(Q, B, exact, LONG_250).cost <= toWad(1_000), "the exact ratio fits").to.equal(true);
    });

    it("answers every growth fits when the room reaches q net / b - V, and 1 for no room", async function () {
      // q net / b = 750,000; V = 731,707.317...: a room of 18,293 reaches it (any r fits), 18,292 does
      // not: r - 1 = 18,292 x 10,250^2 / (1,875,000,000,000 - 18,292 x 102,500,000) = 7,687,213 / 280.
      await ratioIs(Q, B, LONG_250, toWad(18_293), model.MAX_UINT256);
      await ratioIs(Q, B, LONG_250, toWad(18_292), 27_455_332142857142857142n);
      await ratioIs(Q, B, LONG_250, 0n, E18);
      // net 0: a depth change costs nothing, whatever the room.
      await ratioIs(Q, B, 0n, 0n, model.MAX_UINT256);
    });

    it("answers no growth when a product exceeds 256 bits, and reverts where the net short cannot close", async function () {
      // q x net^2 = 2^127 x 2^200: beyond 256 bits.
      expect(await h.depthRatioForCost(2n ** 127n, 2n ** 127n, 2n ** 100n, 1n)).to.equal(E18);
      await expect(h.depthRatioForCost(Q, B, -B, 1n))
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(B, -B);
    });

    it("agrees with the exact model to the wei on a seeded sweep of markets", async function () {
      this.timeout(300_000);
      const rng = new Seeded(0xdee9_0f_c057n);
      let limited = 0;
      let unlimited = 0;
      for (let i = 0; i < 120; i++) {
        // Within the formula's 256 bits: q < 2^110, b < 2^85, |net| < 2^70, room < 2^80.
        const b = rng.logBetween(10n ** 6n, 2n ** 85n - 1n);
        const q = rng.logBetween(1n, 2n ** 110n - 1n);
        const size = rng.logBetween(1n, (b < 2n ** 70n ? b : 2n ** 70n) - 1n || 1n);
        const net = rng.chance(50) ? size : -size;
        const room = rng.chance(10) ? 0n : rng.logBetween(1n, 2n ** 80n - 1n);
        const expected = model.depthRatioForCost(q, b, net, room);
        const tag = `q=${q} b=${b} net=${net} room=${room}`;
        expect(await h.depthRatioForCost(q, b, net, room), tag).to.equal(expected);
        if (expected === model.MAX_UINT256) unlimited++;
        else limited++;
      }
      console.log(`      depthRatioForCost sweep: ${limited} limited, ${unlimited} every growth fits`);
      expect(limited, "limited").to.be.greaterThanOrEqual(20);
      expect(unlimited, "unlimited").to.be.greaterThanOrEqual(5);
    });
  });

  describe("a seeded random sweep against the exact model", function () {
    const CASES = 300;
    const MAX_RESERVE = 2n ** 120n;
    const rng = new Seeded(0x5eed_c0de_14n);

    /** A reserve pair: base 1e6 wei .. 2^100, price 1e-9 .. 1e6 (q kept below 2^120, at least 1). */
    function reserves(): { q: bigint; b: bigint } {
      const b = rng.logBetween(10n ** 6n, 2n ** 100n);
      const price = rng.logBetween(10n ** 9n, 10n ** 24n);
      let q = (b * price) / E18;
      if (q === 0n) q = 1n;
      if (q >= MAX_RESERVE) q = MAX_RESERVE - 1n;
      return { q, b };
    }

    /** A net position for base reserve b: zero, long, short, a short near the reserve, or beyond it. */
    function netFor(b: bigint): bigint {
      const kind = rng.between(0n, 19n);
      if (kind === 0n) return 0n;
      if (kind === 1n) return -(b - rng.between(1n, 1000n)); // within a few wei of the reserve
      if (kind === 2n) return -b - rng.between(0n, 1000n); // cannot close
      if (kind < 11n) return rng.logBetween(1n, b * 3n);
      return b > 1n ? -rng.logBetween(1n, b - 1n) : 0n;
    }

    /** A WAD ratio around 1 (0.5 .. 2), or an extreme one now and then. */
    function ratio(): bigint {
      if (rng.chance(10)) return rng.logBetween(1n, 100n * E18);
      return rng.between(E18 / 2n, 2n * E18);
    }

    /** `fn` of the model, as a value or the error it throws. */
    function modelResult<T>(fn: () => T): T | NetPositionExceedsCurve {
      try {
        return fn();
      } catch (e) {
        if (e instanceof NetPositionExceedsCurve) return e;
        throw e;
      }
    }

    async function expectRevert(call: Promise<unknown>, err: NetPositionExceedsCurve, what: string) {
      seen.reverted++;
      await expect(call, what)
        .to.be.revertedWithCustomError(h, "NetPositionExceedsCurve")
        .withArgs(err.baseReserve, err.net);
    }

    // How often each kind of outcome came up: the sweep must reach every one of them.
    const seen = {
      compared: 0,
      reverted: 0,
      partialRepeg: 0,
      chargedFullRepeg: 0,
      creditedRepeg: 0,
      spreadCapped: 0,
      leverageWithin: 0,
      leverageBeyond: 0,
    };
    after(function () {
      console.log(`      sweep outcomes: ${JSON.stringify(seen)}`);
      expect(seen.compared).to.be.greaterThanOrEqual(CASES * 7);
      for (const [kind, count] of Object.entries(seen)) expect(count, kind).to.be.greaterThanOrEqual(10);
    });

    it(`agrees with the model to the wei on ${CASES} seeded cases of every function`, async function () {
      this.timeout(600_000);
      for (let i = 0; i < CASES; i++) {
        const { q, b } = reserves();
        const net = netFor(b);
        const tag = `case ${i}: q=${q} b=${b} net=${net}`;

        // terminalBase
        if (b + net > 0n) expect(await h.terminalBase(b, net), tag).to.equal(b + net);
        else await expectRevert(h.terminalBase(b, net), new NetPositionExceedsCurve(b, net), `${tag} terminalBase`);
        seen.compared++;

        // adjustmentCost to another curve: a new price, and half the time a new depth.
        const r = ratio();
        const q1 = (q * ratio()) / E18 + 1n;
        const b1 = rng.chance(50) ? b : (b * r) / E18 + 1n;
        const cost = modelResult(() => model.adjustmentCost(q, b, q1, b1, net));
        if (cost instanceof NetPositionExceedsCurve) await expectRevert(h.adjustmentCost(q, b, q1, b1, net), cost, tag);
        else expect(await h.adjustmentCost(q, b, q1, b1, net), `${tag} cost to (${q1}, ${b1})`).to.equal(cost);
        seen.compared++;

        // quoteAtPrice
        const price = rng.logBetween(1n, 10n ** 24n);
        expect(await h.quoteAtPrice(b, price), `${tag} quoteAtPrice ${price}`).to.equal(model.quoteAtPrice(b, price));
        seen.compared++;

        // repegWithin: the full cost, one wei less, none, a random share, plenty.
        const target = model.quoteAtPrice(b, (((q * E18) / b) * ratio()) / E18) || 1n;
        const full = modelResult(() => model.adjustmentCost(q, b, target, b, net));
        if (full instanceof NetPositionExceedsCurve) {
          await expectRevert(h.repegWithin(q, b, target, net, 0n), full, `${tag} repegWithin`);
          seen.compared++;
        } else {
          const positive = full > 0n ? full : 0n;
          const budgets = [positive, positive > 0n ? positive - 1n : 0n, 0n, rng.between(0n, positive), positive * 2n];
          for (const available of budgets) {
            const expected = model.repegWithin(q, b, target, net, available);
            const [libQ1, libCost] = await h.repegWithin(q, b, target, net, available);
            expect({ q1: libQ1, cost: libCost }, `${tag} repegWithin(${target}, ${available})`).to.deep.equal(expected);
            if (expected.cost > 0n) expect(expected.cost <= available, `${tag} within budget`).to.equal(true);
            if (expected.q1 !== target) seen.partialRepeg++;
            else if (expected.cost > 0n) seen.chargedFullRepeg++;
            else if (expected.cost < 0n) seen.creditedRepeg++;
            seen.compared++;
          }
        }

        // scaleDepth, and a depth change's cost.
        const depth = ratio();
        const scaled = model.scaleDepth(q, b, depth);
        const [libQ, libB] = await h.scaleDepth(q, b, depth);
        expect({ q1: libQ, b1: libB }, `${tag} scaleDepth ${depth}`).to.deep.equal(scaled);
        if (scaled.q1 > 0n && scaled.b1 > 0n) {
          const change = modelResult(() => model.depthChange(q, b, depth, net));
          if (change instanceof NetPositionExceedsCurve)
            await expectRevert(h.adjustmentCost(q, b, scaled.q1, scaled.b1, net), change, `${tag} depth cost`);
          else
            expect(await h.adjustmentCost(q, b, scaled.q1, scaled.b1, net), `${tag} depth cost`).to.equal(change.cost);
        }
        seen.compared++;

        // spreadRatio: terms up to 10%, the cap between the base spread and 5%.
        const baseSpread = rng.between(0n, E18 / 100n);
        const inputs = {
          baseSpread,
          maxSpread: rng.between(baseSpread, (5n * E18) / 100n),
          skew: rng.chance(30) ? 0n : rng.logBetween(1n, E18),
          gap: rng.chance(50) ? 0n : rng.logBetween(1n, E18 / 10n),
          drawdown: rng.chance(50) ? 0n : rng.between(0n, E18),
        };
        const expectedSpread = model.spreadRatio(inputs);
        expect(await h.spreadRatio(inputs), `${tag} spread ${JSON.stringify(inputs, (_, v) => String(v))}`).to.equal(
          expectedSpread,
        );
        if (expectedSpread === inputs.maxSpread) seen.spreadCapped++;
        seen.compared++;

        // withinLeverage: funds set around the exact boundary, so both answers occur.
        const netAfter = net + (rng.chance(50) ? 1n : -1n) * rng.logBetween(1n, b);
        const markPrice = rng.logBetween(10n ** 9n, 10n ** 24n);
        const leverage = rng.chance(10) ? 0n : rng.between(E18 / 2n, 50n * E18);
        const atBoundary = leverage === 0n ? 0n : (model.exposure(netAfter, markPrice) * E18) / leverage;
        const nudged = atBoundary + rng.between(0n, 2n) - 1n;
        const funds = nudged > 0n ? nudged : 0n;
        const within = model.withinLeverage(net, netAfter, markPrice, funds, leverage);
        expect(
          await h.withinLeverage(net, netAfter, markPrice, funds, leverage),
          `${tag} leverage ${netAfter} ${markPrice} ${funds} ${leverage}`,
        ).to.equal(within);
        if (within) seen.leverageWithin++;
        else seen.leverageBeyond++;
        seen.compared++;
      }
    });
  });
});
