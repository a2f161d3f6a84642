/**
 * The dynamic curve on a deployed market, held to the exact model of helpers/curve-model.ts: a
 * seeded sequence of trades, closes, index moves, budget contributions and funding updates, with
 * every curve feature on. Before each transaction the test reads the reserves, the net position,
 * the budget, the peg and the depth; it then walks the transaction's Amm events in order and checks
 * - each Repegged against model.repegWithin (target quoteAtPrice(b, index), available budget -
 *   floor): new quote reserve, cost, peg x q1 / q0, budget after, to the wei; and that a repeg
 *   happened exactly when the spot (at a trade) or the window's TWAPs (at funding) were beyond the
 *   threshold and the model's move was not empty;
 * - each DepthChanged: reserves a scaleDepth of the ones before by one ratio, that ratio the
 *   design's step (1 +/- maxDepthChangeRatio, within [min, max] x launch) up to a wei, or, when
 *   the full growth costs more than budget - target, the partial growth of model.partialGrowth
 *   (the exact ratio whose cost is that room) to the wei; the cost model.adjustmentCost of the
 *   change; and that a step the design calls for (a shrink, or a growth that fits) did happen;
 * - the budget: spread in, positive costs out, never below the floor;
 * and after it: the reserves, budget, peg and depth equal the walk's, the positions' sizes sum to
 * the open interest's net and to the terminal base (launch base, then b1 + net after each depth
 * change) less the base reserve, exactly; a funding update moves the locked margin by minus the
 * fund's flow and the costs paid; the Vault's tokens equal free collateral + pools + fund.
 * A scripted end puts a large net long on a budget one quote above its target, where the design
 * asks for a growth "by as much as fits": the market must grow by the model's exact ratio.
 * Printed figures: the outcomes met, the tight room's numbers, and how far the terminal base
 * (b + net) has drifted from launch base x depth (a depth change scales b, not b + net).
 */
import { expect } from "chai";
import type { ContractTransactionResponse, Log } from "ethers";
import { network } from "hardhat";
import { MAX_DEADLINE, Side, toFeedUnits } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import * as model from "./helpers/curve-model.js";
import { Seeded, WAD } from "./helpers/curve-model.js";
import { Rational } from "./helpers/rational.js";
import { deployFixture, SCALE, type Fx } from "./regression/setup.js";

const { ethers, networkHelpers } = await network.create();

const LAUNCH_BASE = toWad(10_000); // the fixture's market: 1,000,000 / 10,000, spot 100
const CURVE = {
  repegThresholdRatio: toWad("0.01"),
  baseSpreadRatio: toWad("0.001"),
  maxSpreadRatio: toWad("0.01"),
  maxVammLeverage: 0n,
  fundShareRatio: 0n,
  budgetFloor: toWad(2_000),
  budgetTarget: toWad(2_600),
  maxDepthChangeRatio: toWad("0.05"),
  minDepthRatio: toWad("0.5"),
  maxDepthRatio: toWad(2),
};
const FRESH_INDEX_AGE = 3_600;
const STEPS = 120;

async function fixture() {
  const fx = await deployFixture(ethers, { oracle: true });
  await (await fx.amm.setCurveParams(CURVE)).wait();
  await (await fx.ch.connect(fx.erin).contributeToBudget(fx.market, toWad(2_300))).wait();
  return fx;
}

/** What the walk tracks of the market. */
interface Curve {
  quote: bigint;
  base: bigint;
  net: bigint;
  budget: bigint;
  peg: bigint;
  depth: bigint;
  budgetAtLastUpdate: bigint;
  locked: bigint;
}

async function read(fx: Fx): Promise<Curve> {
  const [quote, base] = await fx.amm.getReserves();
  const [longSize, shortSize] = await fx.amm.getOpenInterest();
  const s = await fx.amm.getCurveState();
  const locked = (await fx.vault.marketBalances(fx.market)).lockedMargin;
  return {
    quote,
    base,
    net: longSize - shortSize,
    budget: s.budget,
    peg: s.peg,
    depth: s.depth,
    budgetAtLastUpdate: s.budgetAtLastUpdate,
    locked,
  };
}

const abs = (x: bigint) => (x < 0n ? -x : x);
const spotOf = (c: { quote: bigint; base: bigint }) => (c.quote * WAD) / c.base;
const available = (budget: bigint, floor: bigint) => (budget > floor ? budget - floor : 0n);

describe("Curve exactness: a deployed market's repegs and depth changes against the exact model", function () {
  it(`a seeded sequence of ${STEPS} steps: every Repegged and DepthChanged to the wei, conservation of base, the budget's floor, the Vault's tokens`, async function () {
    this.timeout(900_000);
    const fx = await networkHelpers.loadFixture(fixture);
    const rng = new Seeded(0xc0127e14n);
    const traders = [fx.alice, fx.bob, fx.carol, fx.dave];
    const everyone = await ethers.getSigners();
    const curve = { ...CURVE };
    const seen = {
      trades: 0,
      closes: 0,
      fundingUpdates: 0,
      repegsAtTrade: 0,
      repegsAtFunding: 0,
      partialRepegs: 0,
      chargedRepegs: 0,
      creditedRepegs: 0,
      depthGrowths: 0,
      partialGrowths: 0,
      depthShrinks: 0,
      spreads: 0,
    };

    // What the curve's moves gained (negative costs) and the budget has not collected yet.
    let gainsToCollect = 0n;
    let index = toWad(100);
    let indexAt = 0n;
    let terminalBase = LAUNCH_BASE;
    /** The last partial growth checkDepth saw: its WAD ratio and cost. */
    let lastPartial: { ratio: bigint; cost: bigint } | undefined;
    const now = async () => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);

    async function setIndex(price: bigint) {
      await (await fx.oracle!.aggregator.setAnswer(toFeedUnits(price, 8), await now())).wait();
      await (await fx.amm.pokeIndex()).wait();
      index = price;
      indexAt = await now();
    }

    /** Checks a Repegged event against the model from `c` (the curve just before it) and advances `c`. */
    function checkRepeg(c: Curve, args: Record<string, bigint>) {
      const target = model.quoteAtPrice(c.base, index);
      const expected = model.repegWithin(c.quote, c.base, target, c.net, available(c.budget, curve.budgetFloor));
      const paid = expected.cost > 0n ? expected.cost : 0n;
      const newPeg = (c.peg * expected.q1) / c.quote;
      expect(
        [args.oldPeg, args.newPeg, args.quoteReserve, args.baseReserve, args.cost, args.budgetAfter],
        "Repegged",
      ).to.deep.equal([c.peg, newPeg, expected.q1, c.base, expected.cost, c.budget - paid]);
      if (paid > 0n)
        expect(c.budget - paid >= curve.budgetFloor, "a repeg took the budget below its floor").to.equal(true);
      if (expected.q1 !== target) seen.partialRepegs++;
      if (expected.cost > 0n) seen.chargedRepegs++;
      if (expected.cost < 0n) seen.creditedRepegs++;
      Object.assign(c, { quote: expected.q1, peg: newPeg, budget: c.budget - paid });
      return paid;
    }

    /** Whether the model repegs `c` at all (a non-empty move) toward the index. */
    function repegMoves(c: Curve) {
      if (c.net < 0n && -c.net >= c.base) return false;
      const target = model.quoteAtPrice(c.base, index);
      return model.repegWithin(c.quote, c.base, target, c.net, available(c.budget, curve.budgetFloor)).q1 !== c.quote;
    }

    /** The module's step ratio from `c` (WAD): depth x (1 + step) rounded down, capped, over depth rounded down. */
    function moduleStepRatio(c: Curve) {
      const up = (c.depth * (WAD + curve.maxDepthChangeRatio)) / WAD;
      return ((up < curve.maxDepthRatio ? up : curve.maxDepthRatio) * WAD) / c.depth;
    }

    /** The design's depth step from `c`: the exact target ratio, its WAD floor and the room it may cost. */
    function depthStep(c: Curve) {
      const depth = new Rational(c.depth, WAD);
      const step = new Rational(curve.maxDepthChangeRatio, WAD);
      if (c.budget >= curve.budgetTarget) {
        const up = depth.mul(new Rational(1n).add(step));
        const max = new Rational(curve.maxDepthRatio, WAD);
        const to = up.cmp(max) < 0 ? up : max;
        if (to.cmp(depth) <= 0) return undefined;
        return { grow: true, ratio: to.div(depth), room: c.budget - curve.budgetTarget };
      }
      if (c.budget < c.budgetAtLastUpdate) {
        const down = depth.mul(new Rational(1n).sub(step));
        const min = new Rational(curve.minDepthRatio, WAD);
        const to = down.cmp(min) > 0 ? down : min;
        if (to.cmp(depth) >= 0) return undefined;
        return { grow: false, ratio: to.div(depth), room: available(c.budget, curve.budgetFloor) };
      }
      return undefined;
    }

    /** Checks a DepthChanged event from `c` and advances `c`. */
    function checkDepth(c: Curve, args: Record<string, bigint>) {
      const step = depthStep(c);
      expect(step, "a depth change the design does not call for").to.not.equal(undefined);
      const { q1, b1 } = { q1: args.quoteReserve, b1: args.baseReserve };
      // The one WAD ratio r with floor(b x r) = b1 (b is above 1e18, so r is unique), and q1 from it.
      const r = (b1 * WAD + c.base - 1n) / c.base;
      expect(model.scaleDepth(c.quote, c.base, r), "reserves scaled by one ratio").to.deep.equal({ q1, b1 });
      const cost = model.adjustmentCost(c.quote, c.base, q1, b1, c.net);
      const paid = cost > 0n ? cost : 0n;
      expect([args.oldDepth, args.cost, args.budgetAfter], "DepthChanged").to.deep.equal([
        c.depth,
        cost,
        c.budget - paid,
      ]);
      expect(paid <= step!.room, "the depth change cost more than its room").to.equal(true);
      // The recorded depth: the old one times r, to the wei of rounding.
      const newDepthExact = new Rational(c.depth * r, WAD * WAD);
      expect(abs(args.newDepth - model.floorOf(newDepthExact.mul(new Rational(WAD)))) <= 1n, "new depth").to.equal(
        true,
      );
      // The step's ratio is the design's up to the WAD roundings of depth x step and new / old depth:
      // at most 2 wei (the depth is at least 0.5).
      const rExact = step!.ratio.mul(new Rational(WAD));
      if (step!.grow) {
        expect(r > WAD, "a growth that shrinks").to.equal(true);
        const rFull = model.floorOf(rExact);
        if (abs(r - rFull) > 2n) {
          // Not the full step: allowed only when the full step's cost did not fit the room, and
          // then by the exact ratio whose cost is the room (model.partialGrowth), to the wei.
          expect(r < rFull, "a growth beyond the step").to.equal(true);
          expect(
            model.depthChange(c.quote, c.base, rFull, c.net).cost > step!.room,
            "a partial growth that fit",
          ).to.equal(true);
          const partial = model.partialGrowth(c.quote, c.base, c.net, step!.room, moduleStepRatio(c));
          expect(partial?.ratio, "the partial growth's ratio").to.equal(r);
          expect([partial?.q1, partial?.b1, partial?.cost], "the partial growth").to.deep.equal([q1, b1, cost]);
          lastPartial = { ratio: r, cost };
          seen.partialGrowths++;
        }
        seen.depthGrowths++;
      } else {
        expect(abs(r - model.floorOf(rExact)) <= 2n, "a shrink by the step").to.equal(true);
        expect(cost <= 0n, "a shrink that costs").to.equal(true);
        seen.depthShrinks++;
      }
      Object.assign(c, { quote: q1, base: b1, depth: args.newDepth, budget: c.budget - paid });
      terminalBase = b1 + c.net;
      return paid;
    }

    /** Whether a swap on `c` should first repeg: the spot beyond the threshold and a non-empty move. */
    function repegDueAtTrade(c: Curve) {
      return abs(spotOf(c) - index) > (index * curve.repegThresholdRatio) / WAD && repegMoves(c);
    }

    /**
     * Walks a transaction's Amm events in order from `before`. In a trade each swap (a reversal has
     * two) must be preceded by a Repegged exactly when the curve just before that swap was due one.
     */
    async function walk(tx: ContractTransactionResponse, before: Curve, kind: "trade" | "funding") {
      const receipt = await tx.wait();
      const c: Curve = { ...before };
      let paid = 0n;
      let collected = 0n;
      let repegged = false;
      let depthChanged = false;
      let flow = 0n;
      let expectRepeg: boolean | undefined; // funding: from the TWAPs; trade: for the next swap
      let depthFrom: Curve = { ...before };
      const ammAddress = fx.market.toLowerCase();
      for (const log of receipt!.logs as Log[]) {
        if (log.address.toLowerCase() !== ammAddress) continue;
        const parsed = fx.amm.interface.parseLog(log);
        if (parsed === null) continue;
        const args = parsed.args.toObject() as Record<string, bigint>;
        switch (parsed.name) {
          case "FundingUpdated": {
            flow = args.insuranceFlow;
            // The design: repeg when |markTwap - indexTwap| > threshold x indexTwap, if the model moves.
            const gap = abs(args.markTwap - args.indexTwap);
            const beyond = args.indexTwap !== 0n && gap > (args.indexTwap * curve.repegThresholdRatio) / WAD;
            expectRepeg = beyond && repegMoves(c);
            depthFrom = { ...c };
            break;
          }
          case "Repegged":
            if (kind === "trade") {
              expectRepeg ??= repegDueAtTrade(c);
              expect(expectRepeg, "a repeg at a trade the spot did not call for").to.equal(true);
              seen.repegsAtTrade++;
            } else {
              expect(expectRepeg, "a repeg at funding the TWAPs did not call for").to.equal(true);
              seen.repegsAtFunding++;
            }
            paid += checkRepeg(c, args);
            if (args.cost < 0n) gainsToCollect -= args.cost;
            repegged = true;
            depthFrom = { ...c };
            break;
          case "DepthChanged":
            paid += checkDepth(c, args);
            if (args.cost < 0n) gainsToCollect -= args.cost;
            depthChanged = true;
            break;
          case "Swapped":
            expectRepeg ??= repegDueAtTrade(c);
            expect(repegged, "a repeg the spot called for did not happen before the swap").to.equal(expectRepeg);
            expectRepeg = undefined;
            repegged = false;
            // The pool's base change is the traders' net change, with the sign reversed.
            Object.assign(c, { quote: args.quoteReserve, base: args.baseReserve, net: c.net - args.baseDelta });
            break;
          case "SpreadCharged":
            expect(args.budgetAfter, "SpreadCharged budget").to.equal(c.budget + args.spreadFee);
            c.budget += args.spreadFee;
            seen.spreads++;
            break;
          case "BudgetCredited":
            c.budget += args.amount;
            break;
          case "BudgetFundingFlow":
            // The budget's share of the funding accrued first (tested to the wei in
            // FundingBudget.test.ts): it moves the budget the curve's moves then spend from.
            expect(args.budgetAfter, "BudgetFundingFlow budget").to.equal(c.budget + args.amount);
            c.budget += args.amount;
            break;
          case "GainsCollected":
            // Only at a funding update, at most what the moves gained, into the budget.
            expect(kind, "GainsCollected outside a funding update").to.equal("funding");
            expect(args.amount <= gainsToCollect && args.amount > 0n, "collected beyond the gains").to.equal(true);
            expect([args.stillToCollect, args.budgetAfter], "GainsCollected").to.deep.equal([
              gainsToCollect - args.amount,
              c.budget + args.amount,
            ]);
            gainsToCollect -= args.amount;
            c.budget += args.amount;
            collected += args.amount;
            break;
        }
      }
      if (kind === "funding") expect(repegged, "a repeg the TWAPs called for").to.equal(expectRepeg ?? false);
      return { c, paid, collected, depthChanged, depthFrom, flow };
    }

    /** After a step: the chain equals the walk; conservation; floor; Vault. */
    async function checkAfter(walked: Curve) {
      const after = await read(fx);
      expect([after.quote, after.base, after.budget, after.peg, after.depth], "state = walk").to.deep.equal([
        walked.quote,
        walked.base,
        walked.budget,
        walked.peg,
        walked.depth,
      ]);
      let sizes = 0n;
      for (const t of traders) sizes += (await fx.ch.getPosition(fx.market, t.address)).size;
      expect(sizes, "positions' sizes = the open interest's net").to.equal(after.net);
      expect(sizes, "positions' sizes = terminal base - base reserve").to.equal(terminalBase - after.base);
      expect(after.budget >= curve.budgetFloor, "budget below its floor").to.equal(true);
      let free = 0n;
      for (const s of everyone) free += await fx.vault.freeCollateral(s.address);
      const [pools, insurance] = await fx.vault.getPoolBalances();
      const tokens = (await fx.usdc.balanceOf(await fx.vault.getAddress())) * SCALE;
      expect(tokens, "Vault tokens = free + pools + fund").to.equal(free + pools + insurance);
      return after;
    }

    /** A funding update after `wait` seconds, every adjustment checked. */
    async function fundingUpdate(wait: number, what: string) {
      await networkHelpers.time.increase(wait);
      const before = await read(fx);
      const tx = await fx.ch.updateFunding(fx.market);
      const w = await walk(tx, before, "funding");
      // The depth step the design calls for, from the curve after the repeg, must have happened
      // (a shrink always: its cost is never positive; a growth when its full step fits the room).
      const from = w.depthFrom;
      const step = depthStep(from);
      const rFull = step === undefined ? WAD : model.floorOf(step.ratio.mul(new Rational(WAD)));
      if (step !== undefined && rFull !== WAD && !w.depthChanged) {
        expect(step.grow, `${what}: a due shrink did not happen`).to.equal(true);
        const full = model.depthChange(from.quote, from.base, rFull, from.net);
        expect(full.cost > step.room, `${what}: a growth that fits did not happen`).to.equal(true);
        expect(
          model.partialGrowth(from.quote, from.base, from.net, step.room, moduleStepRatio(from)),
          `${what}: a partial growth that fits did not happen`,
        ).to.equal(undefined);
      }
      const after = await checkAfter(w.c);
      expect(after.locked - before.locked, `${what}: locked margin at funding`).to.equal(
        -w.flow - w.paid + w.collected,
      );
      // A gain left to collect means the pool had no realised surplus left to collect it from.
      if (gainsToCollect > 0n) {
        expect(await fx.vault.profitAvailable(fx.market), `${what}: surplus left uncollected`).to.equal(0n);
      }
      expect(after.budgetAtLastUpdate, `${what}: budget at last update`).to.equal(after.budget);
      indexAt = await now();
      seen.fundingUpdates++;
    }

    /** `t` opens (or adds to, or reverses) a position, every adjustment checked. */
    async function trade(t: (typeof traders)[number], side: number, margin: bigint, leverage: bigint) {
      if ((await now()) - indexAt > BigInt(FRESH_INDEX_AGE) / 2n) await setIndex(index);
      const before = await read(fx);
      const tx = await fx.ch.connect(t).openPosition(fx.market, side, margin, leverage, 0n, MAX_DEADLINE);
      seen.trades++;
      const w = await walk(tx, before, "trade");
      const after = await checkAfter(w.c);
      expect(after.net, "the walk's net position").to.equal(w.c.net);
    }

    async function close(t: (typeof traders)[number]) {
      if ((await now()) - indexAt > BigInt(FRESH_INDEX_AGE) / 2n) await setIndex(index);
      const before = await read(fx);
      const tx = await fx.ch.connect(t).closePosition(fx.market, 0n, MAX_DEADLINE);
      seen.closes++;
      const w = await walk(tx, before, "trade");
      const after = await checkAfter(w.c);
      expect(after.net, "the walk's net position").to.equal(w.c.net);
    }

    await setIndex(index);
    for (let i = 0; i < STEPS; i++) {
      const roll = rng.between(0n, 9n);
      if (roll <= 1n) {
        // The index moves by up to 6% either way, kept within [80, 125], 8 decimals.
        const move = rng.between(-600n, 600n);
        let next = (index * (10_000n + move)) / 10_000n;
        next = (next / 10n ** 10n) * 10n ** 10n;
        if (next < toWad(80)) next = toWad(80);
        if (next > toWad(125)) next = toWad(125);
        await setIndex(next);
      } else if (roll === 2n) {
        await (await fx.ch.connect(fx.erin).contributeToBudget(fx.market, rng.between(50n, 400n) * WAD)).wait();
      } else if (roll <= 4n) {
        await fundingUpdate(Number(rng.between(600n, 900n)), `step ${i}`);
      } else {
        const t = traders[Number(rng.between(0n, BigInt(traders.length - 1)))];
        const held = (await fx.ch.getPosition(fx.market, t.address)).size !== 0n;
        if (held && rng.chance(35)) await close(t);
        else {
          const side = rng.chance(50) ? Side.LONG : Side.SHORT;
          await trade(t, side, rng.between(500n, 5_000n) * WAD, rng.between(1n, 3n) * WAD);
        }
      }
    }

    // A scripted end: a large net long, the index on the spot for a whole window (no repeg), then a
    // target one quote under the budget: the growth's full step costs more than that room, so the
    // depth grows by the exact ratio whose cost is the room (checked by checkDepth to the wei).
    for (const t of traders) if ((await fx.ch.getPosition(fx.market, t.address)).size < 0n) await close(t);
    await trade(fx.alice, Side.LONG, toWad(30_000), toWad(3));
    await setIndex((spotOf(await read(fx)) / 10n ** 10n) * 10n ** 10n);
    await fundingUpdate(900, "settling window");
    await (await fx.ch.connect(fx.erin).contributeToBudget(fx.market, toWad(1_000))).wait();
    const tight = await read(fx);
    curve.budgetTarget = tight.budget - WAD;
    // Room for a whole step above the depth reached (the collected gains may have grown it to its cap).
    curve.maxDepthRatio = toWad(10);
    await (await fx.amm.setCurveParams(curve)).wait();
    await setIndex(index);
    // What the design asks here: the full 5% step costs more than the room (1 quote), so the depth
    // grows by as much as fits: the exact ratio whose cost is the room (model.partialGrowth).
    const tightStep = depthStep(tight);
    expect(tightStep?.grow, "a growth is due").to.equal(true);
    const rFull = model.floorOf(tightStep!.ratio.mul(new Rational(WAD)));
    const full = model.depthChange(tight.quote, tight.base, rFull, tight.net);
    expect(full.cost > WAD, "the full step does not fit the tight room").to.equal(true);
    const fits = model.depthWithin(tight.quote, tight.base, rFull, tight.net, WAD);
    expect(fits > WAD, "some growth fits the room").to.equal(true);
    const partialsBefore = seen.partialGrowths;
    await fundingUpdate(600, "tight room");
    // The cost is concave in the ratio (V(r) = q r n / (b r + n)): the linear share of the step,
    // 1 + (r - 1) x room / cost, would cost more than the room; the exact ratio fits it.
    const share = WAD + ((rFull - WAD) * WAD) / full.cost;
    const shareCost = model.depthChange(tight.quote, tight.base, share, tight.net).cost;
    expect(shareCost > WAD, "the linear share overshoots the room").to.equal(true);
    expect(seen.partialGrowths, "the tight room's partial growth").to.equal(partialsBefore + 1);
    console.log(
      `      tight room: full step cost ${full.cost}, the linear share ${share} costs ${shareCost} (room ${WAD}); ` +
        `largest ratio that fits (search) ${fits}, the market grew by the exact ratio ${lastPartial?.ratio} ` +
        `at cost ${lastPartial?.cost}`,
    );

    console.log(`      outcomes: ${JSON.stringify(seen)}`);
    const final = await read(fx);
    const launchTimesDepth = (LAUNCH_BASE * final.depth) / WAD;
    console.log(
      `      terminal base ${terminalBase}, launch base x depth ${launchTimesDepth} (differ by ${terminalBase - launchTimesDepth})`,
    );
    for (const kind of [
      "repegsAtTrade",
      "repegsAtFunding",
      "partialRepegs",
      "partialGrowths",
      "chargedRepegs",
      "depthGrowths",
      "depthShrinks",
    ])
      expect(seen[kind as keyof typeof seen], kind).to.be.greaterThan(0);
  });
});
