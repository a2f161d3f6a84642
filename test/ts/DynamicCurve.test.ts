/**
 * The dynamic vAMM (issue 14): repeg, formulaic k, spread, vAMM leverage bound, the budget's money.
 * Every expected figure is worked out here from the documented formulas with exact bigint
 * arithmetic (the terminal value V(q, b) = q x net / (b + net); a repeg keeps b and sets
 * q1 = floor(b x index / 1e18); a depth change scales both reserves, each rounded down; the
 * pool's swap rounds its new reserve up), never read back from what the contracts computed.
 */
import { anyUint } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { network } from "hardhat";
import { STATIC_CURVE_PARAMS } from "../../deploy/defaults.js";
import { MAX_DEADLINE, Side, toFeedUnits } from "../../scripts/lib/deploy.js";
import { toWad, WAD, wDivDown, wDivUp, wMulDown, wMulUp } from "../../scripts/lib/fixed.js";
import { reservesAfterBase, reservesAfterQuote } from "./helpers/pricing.js";
import { deployFixture, FEE, type Fx, type FixtureOptions } from "./regression/setup.js";

const { ethers, networkHelpers } = await network.create();

/** Every dynamic feature off: the constructor's parameters. */
const OFF = STATIC_CURVE_PARAMS;
type CurveParams = typeof OFF;
const params = (p: Partial<CurveParams>): CurveParams => ({ ...OFF, ...p });

/** ceil(a / b) for a >= 0, b > 0. */
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/**
 * The exact signed change V(q1, b1) - V(q0, b0) of what closing `net` on the curve pays, as one
 * fraction net x (q1 (b0 + net) - q0 (b1 + net)) / ((b0 + net)(b1 + net)): a positive cost rounded
 * up, a negative one toward zero.
 */
function adjustmentCost(q0: bigint, b0: bigint, q1: bigint, b1: bigint, net: bigint): bigint {
  if (net === 0n) return 0n;
  const t0 = b0 + net;
  const t1 = b1 + net;
  const numerator = net * (q1 * t0 - q0 * t1);
  const denominator = t0 * t1;
  return numerator > 0n ? ceilDiv(numerator, denominator) : -(-numerator / denominator);
}

async function fixture(options: FixtureOptions = {}) {
  return deployFixture(ethers, { oracle: true, ...options });
}

async function marketFixture() {
  return fixture();
}

/** Sets the oracle's answer to `price` (18 decimals) and records it as the market's index. */
async function setIndex(fx: Fx, price: bigint) {
  const latest = await ethers.provider.getBlock("latest");
  await (await fx.oracle!.aggregator.setAnswer(toFeedUnits(price, 8), BigInt(latest!.timestamp))).wait();
  await (await fx.amm.pokeIndex()).wait();
}

async function open(fx: Fx, who: Fx["alice"], side: number, margin: bigint, leverage = toWad(10)) {
  return fx.ch.connect(who).openPosition(fx.market, side, margin, leverage, 0n, MAX_DEADLINE);
}

async function state(fx: Fx) {
  const [quote, base] = await fx.amm.getReserves();
  const [longSize, shortSize] = await fx.amm.getOpenInterest();
  const curve = await fx.amm.getCurveState();
  const balances = await fx.vault.marketBalances(fx.market);
  const [, insurance] = await fx.vault.getPoolBalances();
  return {
    quote,
    base,
    net: longSize - shortSize,
    budget: curve.budget,
    peg: curve.peg,
    depth: curve.depth,
    locked: balances.lockedMargin,
    pool: balances.pool,
    insurance,
  };
}

/** The PositionChanged event of a transaction, decoded. */
async function positionChanged(fx: Fx, tx: ContractTransactionResponse) {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = fx.ch.interface.parseLog(log);
    if (parsed?.name === "PositionChanged") return parsed.args;
  }
  throw new Error("no PositionChanged");
}

/** The fund's share of the funding accrual a transaction settled (FundingUpdated's insuranceFlow). */
async function insuranceFlow(fx: Fx, tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = fx.amm.interface.parseLog(log);
    if (parsed?.name === "FundingUpdated") return parsed.args.insuranceFlow;
  }
  throw new Error("no FundingUpdated");
}

/**
 * The budget's share of the funding a transaction accrued (its BudgetFundingFlow: + the paying
 * side's surplus it took, - the receiving side's excess it paid; 0 without one). Funding's own
 * split is tested to the wei in FundingBudget.test.ts; here it is the input the curve's figures
 * start from.
 */
async function budgetFundingFlow(fx: Fx, tx: ContractTransactionResponse): Promise<bigint> {
  const receipt = await tx.wait();
  let flow = 0n;
  for (const log of receipt!.logs) {
    const parsed = fx.amm.interface.parseLog(log);
    if (parsed?.name === "BudgetFundingFlow") flow += parsed.args.amount as bigint;
  }
  return flow;
}

/**
 * A funding update after a window with a valid index (a market's first window has none, so its
 * first update sets no premium and moves no curve).
 */
async function firstFundingUpdate(fx: Fx) {
  await networkHelpers.time.increase(600);
  await (await fx.ch.updateFunding(fx.market)).wait();
}

/**
 * A market with a long of 10,000 notional open (spot about 102.01), 10,000 in its budget, the
 * index at 100 and one funding update done (its premium 0: the next window accrues nothing).
 */
async function longMarket() {
  const fx = await fixture();
  await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(10_000))).wait();
  await (await open(fx, fx.alice, Side.LONG, toWad(1_000))).wait();
  await setIndex(fx, toWad(100));
  await firstFundingUpdate(fx);
  return fx;
}

describe("Dynamic curve (issue 14)", function () {
  describe("contributeToBudget", function () {
    it("moves free collateral into the market's pool, locked, and credits the budget", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      const amount = toWad(2_500);
      const freeBefore = await fx.vault.freeCollateral(fx.bob.address);
      const before = await state(fx);
      const tx = fx.ch.connect(fx.bob).contributeToBudget(fx.market, amount);
      await expect(tx).to.emit(fx.ch, "BudgetContributed").withArgs(fx.bob.address, fx.market, amount);
      await expect(tx).to.emit(fx.amm, "BudgetCredited").withArgs(amount, amount);
      const after = await state(fx);
      expect(await fx.vault.freeCollateral(fx.bob.address)).to.equal(freeBefore - amount);
      expect(after.pool).to.equal(before.pool + amount);
      expect(after.locked).to.equal(before.locked + amount);
      expect(after.budget).to.equal(amount);
      // Locked money pays no profit.
      expect(await fx.vault.profitAvailable(fx.market)).to.equal(0n);
    });

    it("refuses a zero amount, an unlisted market and more than the caller's free collateral", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await expect(fx.ch.connect(fx.bob).contributeToBudget(fx.market, 0n)).to.be.revertedWithCustomError(
        fx.ch,
        "ZeroAmount",
      );
      await expect(
        fx.ch.connect(fx.bob).contributeToBudget(fx.stranger.address, toWad(1)),
      ).to.be.revertedWithCustomError(fx.ch, "MarketNotListed");
      await expect(fx.ch.connect(fx.stranger).contributeToBudget(fx.market, toWad(1))).to.be.revertedWithCustomError(
        fx.vault,
        "InsufficientFreeCollateral",
      );
    });
  });

  describe("parameters", function () {
    it("stores the parameters, emits CurveParamsUpdated and defaults to a static curve", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      expect(await fx.amm.getCurveParams()).to.deep.equal(Object.values(OFF));
      const p = params({
        repegThresholdRatio: toWad("0.01"),
        baseSpreadRatio: toWad("0.001"),
        maxSpreadRatio: toWad("0.01"),
        maxVammLeverage: toWad(5),
        fundShareRatio: toWad("0.5"),
        budgetFloor: toWad(100),
        budgetTarget: toWad(1_000),
        maxDepthChangeRatio: toWad("0.05"),
        minDepthRatio: toWad("0.5"),
        maxDepthRatio: toWad(2),
      });
      await expect(fx.amm.setCurveParams(p)).to.emit(fx.amm, "CurveParamsUpdated");
      expect(await fx.amm.getCurveParams()).to.deep.equal(Object.values(p));
      const s = await fx.amm.getCurveState();
      expect([s.peg, s.depth, s.budget, s.netPosition, s.terminalValue]).to.deep.equal([WAD, WAD, 0n, 0n, 0n]);
    });

    it("refuses each parameter out of its bounds with its named error", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      const cases: Array<[Partial<CurveParams>, string]> = [
        [{ repegThresholdRatio: toWad("0.0009") }, "RepegThresholdOutOfRange"],
        [{ repegThresholdRatio: toWad("0.2") + 1n }, "RepegThresholdOutOfRange"],
        [{ baseSpreadRatio: toWad("0.01") + 1n, maxSpreadRatio: toWad("0.02") }, "SpreadOutOfRange"],
        [{ baseSpreadRatio: toWad("0.002"), maxSpreadRatio: toWad("0.001") }, "SpreadOutOfRange"],
        [{ maxSpreadRatio: toWad("0.05") + 1n }, "SpreadOutOfRange"],
        [{ maxVammLeverage: toWad("0.5") - 1n }, "VammLeverageOutOfRange"],
        [{ maxVammLeverage: toWad(50) + 1n }, "VammLeverageOutOfRange"],
        [{ fundShareRatio: WAD + 1n }, "FundShareOutOfRange"],
        [{ budgetFloor: toWad(2), budgetTarget: toWad(1) }, "BudgetBoundsInvalid"],
        // The target's field in the budget slot holds 88 bits.
        [{ budgetTarget: 2n ** 88n }, "BudgetBoundsInvalid"],
        // The threshold and the spread's bounds are kept in whole millionths (1e12 in WAD).
        [{ repegThresholdRatio: toWad("0.005") + 1n }, "CurveRatioNotWholeStep"],
        [{ baseSpreadRatio: toWad("0.001") + 10n ** 11n, maxSpreadRatio: toWad("0.002") }, "CurveRatioNotWholeStep"],
        [{ maxSpreadRatio: toWad("0.03") - 1n }, "CurveRatioNotWholeStep"],
        [{ maxDepthChangeRatio: toWad("0.1") + 1n }, "DepthBoundsOutOfRange"],
        [{ minDepthRatio: toWad("0.1") - 1n }, "DepthBoundsOutOfRange"],
        [{ minDepthRatio: WAD + 1n, maxDepthRatio: toWad(2) }, "DepthBoundsOutOfRange"],
        [{ maxDepthRatio: WAD - 1n }, "DepthBoundsOutOfRange"],
        [{ maxDepthRatio: toWad(10) + 1n }, "DepthBoundsOutOfRange"],
      ];
      for (const [p, error] of cases) {
        await expect(fx.amm.setCurveParams(params(p)), error).to.be.revertedWithCustomError(fx.amm, error);
      }
      // The bounds themselves are accepted, and read back as set (one millionth is a whole step;
      // the largest target fits its 88 bits).
      const bounds = params({
        repegThresholdRatio: toWad("0.2"),
        baseSpreadRatio: toWad("0.01"),
        maxSpreadRatio: toWad("0.05"),
        maxVammLeverage: toWad(50),
        fundShareRatio: WAD,
        maxDepthChangeRatio: toWad("0.1"),
        minDepthRatio: toWad("0.1"),
        maxDepthRatio: toWad(10),
      });
      await (await fx.amm.setCurveParams(bounds)).wait();
      expect(await fx.amm.getCurveParams()).to.deep.equal(Object.values(bounds));
      const fine = params({
        repegThresholdRatio: toWad("0.001001"),
        baseSpreadRatio: toWad("0.000001"),
        maxSpreadRatio: toWad("0.000001"),
        budgetTarget: 2n ** 88n - 1n,
      });
      await (await fx.amm.setCurveParams(fine)).wait();
      expect(await fx.amm.getCurveParams()).to.deep.equal(Object.values(fine));
      await expect(fx.amm.connect(fx.stranger).setCurveParams(OFF)).to.be.revertedWithCustomError(
        fx.amm,
        "OwnableUnauthorizedAccount",
      );
    });

    it("the curve and view modules refuse direct calls with NotDelegated", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      const module = await ethers.getContractAt("AmmCurveModule", await fx.amm.curveModule());
      await expect(module.setCurveParams(OFF)).to.be.revertedWithCustomError(module, "NotDelegated");
      await expect(module.repeg(toWad(100))).to.be.revertedWithCustomError(module, "NotDelegated");
      const views = await ethers.getContractAt("AmmViewModule", await module.viewModule());
      await expect(views.getCurveState()).to.be.revertedWithCustomError(views, "NotDelegated");
      await expect(views.getMarkTwap(900)).to.be.revertedWithCustomError(views, "NotDelegated");
      // Through the Amm the same views answer from the market's storage.
      expect((await fx.amm.getCurveState()).peg).to.equal(WAD);
      expect(await fx.amm.getMarkTwap(0)).to.equal(await fx.amm.getSpotPrice());
    });
  });

  describe("repeg", function () {
    it("at a trade: moves the quote reserve to the index first, cost = V(q1,b) - V(q0,b) from the budget", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ repegThresholdRatio: toWad("0.01") }))).wait();
      await setIndex(fx, toWad(110));
      const s0 = await state(fx);
      const q1 = (s0.base * toWad(110)) / WAD;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      expect(cost).to.be.greaterThan(0n);
      const margin = toWad(100);
      const tx = await open(fx, fx.carol, Side.LONG, margin);
      await expect(tx)
        .to.emit(fx.amm, "Repegged")
        .withArgs(WAD, (WAD * q1) / s0.quote, q1, s0.base, cost, s0.budget - cost);
      const s1 = await state(fx);
      expect(s1.budget).to.equal(s0.budget - cost);
      // The trade ran on the repegged curve.
      const swap = reservesAfterQuote(q1, s0.base, Side.LONG, toWad(1_000));
      expect([s1.quote, s1.base]).to.deep.equal([swap.newQuote, swap.newBase]);
      expect((await fx.ch.getPosition(fx.market, fx.carol.address)).size).to.equal(swap.base);
      // The budget's cost left the locked margin; the new position's margin joined it.
      expect(s1.locked).to.equal(s0.locked + margin - cost);
      expect(s1.peg).to.equal((WAD * q1) / s0.quote);
    });

    it("the liquidation views judge a position on the curve liquidate repegs to first, as liquidate does", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ repegThresholdRatio: toWad("0.01") }))).wait();
      const { maintenanceMarginRatio: mmr } = await fx.ch.getMarketParams(fx.market);
      const { markTwapInterval } = await fx.ch.getLiquidationParams();
      /** The views against liquidate, with the index at `index` and the curve not yet repegged to it. */
      const judge = async (index: bigint) => {
        const s = await state(fx);
        const q1 = (s.base * index) / WAD;
        expect(s.quote).to.not.equal(q1, "not repegged yet");
        const inputs = await fx.amm.getLiquidationInputs(markTwapInterval, true, 0n);
        expect(inputs.quoteReserve).to.equal(q1);
        expect(inputs.baseReserve).to.equal(s.base);
        expect(inputs.spotPrice).to.equal((q1 * WAD) / s.base);
        // The mark TWAP does not move with the repeg (its price has held for no time yet).
        const [, markTwap] = await fx.amm.getValuationPrices(markTwapInterval);
        expect(inputs.markTwap).to.equal(markTwap);
        // What the view says is what liquidate judges: it runs, or refuses with the same ratio.
        const ratio = await fx.ch.getLiquidationMarginRatio(fx.market, fx.alice.address);
        const liquidation = fx.ch.connect(fx.carol).liquidate.staticCall(fx.market, fx.alice.address);
        if (ratio < mmr) await liquidation;
        else await expect(liquidation).to.be.revertedWithCustomError(fx.ch, "NotLiquidatable").withArgs(ratio, mmr);
        return ratio < mmr;
      };
      // The index falls 3% under the long's curve and nothing trades: the spot is beyond the 1%
      // threshold, so a liquidation would repeg first; the mark TWAP keeps the long safe.
      await setIndex(fx, toWad(99));
      expect(await judge(toWad(99))).to.equal(false);
      // The index falls to 95, a trade repegs the curve there and the mark holds it for the TWAP
      // window; then a buy lifts the spot about 3% above the index. At that spot the long is above
      // maintenance, but liquidate repegs to 95 first and judges it there, under: so does the view.
      await setIndex(fx, toWad(95));
      await (await open(fx, fx.bob, Side.SHORT, toWad(10), toWad(1))).wait();
      await networkHelpers.time.increase(markTwapInterval);
      await (await open(fx, fx.bob, Side.LONG, toWad(1_500), toWad(10))).wait();
      await setIndex(fx, toWad(95));
      expect(await fx.ch.getMarginRatio(fx.market, fx.alice.address)).to.be.greaterThan(mmr);
      expect(await judge(toWad(95))).to.equal(true);
    });

    it("previewRepeg and the viewer's previews show the curve a trade that repegs first trades on, to the wei", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (
        await fx.amm.setCurveParams(
          params({
            repegThresholdRatio: toWad("0.01"),
            baseSpreadRatio: toWad("0.001"),
            maxSpreadRatio: toWad("0.01"),
          }),
        )
      ).wait();
      await setIndex(fx, toWad(110));
      const s0 = await state(fx);
      const q1 = (s0.base * toWad(110)) / WAD;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      const [quoteReserve, baseReserve, budget, previewCost] = await fx.amm.previewRepeg();
      expect([quoteReserve, baseReserve, budget, previewCost]).to.deep.equal([q1, s0.base, s0.budget - cost, cost]);

      // Alice reduces her long by 2,000 notional: on the repegged curve (the trade repegs first).
      const preview = await fx.viewer.previewOpen(fx.market, fx.alice.address, Side.SHORT, toWad(200), toWad(10));
      expect(preview.kind).to.equal(2n); // REDUCE
      const swap = reservesAfterQuote(q1, s0.base, Side.SHORT, toWad(2_000));
      expect(preview.baseDelta).to.equal(-swap.base);
      // On the curve as it stands the same notional would sell less base: the preview can tell.
      expect(reservesAfterQuote(s0.quote, s0.base, Side.SHORT, toWad(2_000)).base).to.not.equal(swap.base);
      const tx = await open(fx, fx.alice, Side.SHORT, toWad(200));
      await expect(tx).to.emit(fx.amm, "Repegged");
      const changed = await positionChanged(fx, tx);
      expect(changed.baseDelta).to.equal(preview.baseDelta);
      expect(changed.fee, "fee and the spread on the repegged curve").to.equal(preview.fee);
      expect(changed.realizedPnl).to.equal(preview.realizedPnl);
      expect(changed.freeCollateralDelta).to.equal(preview.freeCollateralDelta);
      // No repeg is due any more: the view answers the curve as it is.
      const s1 = await state(fx);
      expect(await fx.amm.previewRepeg()).to.deep.equal([s1.quote, s1.base, s1.budget, 0n]);
    });

    it("a valuation's repeg runs in a swap's order: funding accrued first, its fund share reaches the fund", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ repegThresholdRatio: toWad("0.01") }))).wait();
      // The window's mark (about 102) above the index (100) sets a premium the longs pay; an hour
      // of it is pending, and the index then moves 10% so the next trade repegs first.
      await networkHelpers.time.increase(600);
      await (await fx.ch.updateFunding(fx.market)).wait();
      await networkHelpers.time.increase(3_600);
      await setIndex(fx, toWad(110));
      const s0 = await state(fx);
      const pending = await fx.amm.getFundingIndices(s0.insurance);
      expect(pending.insuranceFlow + pending.budgetFlow, "the longs' payments, shared").to.be.greaterThan(0n);
      const [q1, , budgetFound, cost] = await fx.amm.previewRepeg();
      expect(q1).to.equal((s0.base * toWad(110)) / WAD);
      // The repeg's cost is valued on the curve, paid from the budget after its funding share.
      expect(budgetFound).to.equal(s0.budget + pending.budgetFlow - cost);

      const preview = await fx.viewer.previewOpen(fx.market, fx.alice.address, Side.SHORT, toWad(100), toWad(10));
      const tx = await open(fx, fx.alice, Side.SHORT, toWad(100));
      const changed = await positionChanged(fx, tx);
      expect(changed.fee).to.equal(preview.fee);
      expect(changed.fundingPayment).to.equal(preview.fundingPayment);
      expect(changed.freeCollateralDelta).to.equal(preview.freeCollateralDelta);
      const s1 = await state(fx);
      // The fund receives the exchange fee and its funding share (which the valuation accrued).
      const fee = wMulUp(toWad(1_000), FEE);
      expect(s1.insurance - s0.insurance).to.equal(fee + pending.insuranceFlow);
      expect(s1.budget).to.equal(budgetFound);
    });

    it("at updateFunding: repegs when the window's TWAPs part by more than the threshold", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ repegThresholdRatio: toWad("0.01") }))).wait();
      await setIndex(fx, toWad(110));
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      const q1 = (s0.base * toWad(110)) / WAD;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      const tx = fx.ch.updateFunding(fx.market);
      await expect(tx)
        .to.emit(fx.amm, "Repegged")
        .withArgs(WAD, (WAD * q1) / s0.quote, q1, s0.base, cost, s0.budget - cost);
      const s1 = await state(fx);
      expect([s1.quote, s1.base]).to.deep.equal([q1, s0.base]);
      expect(s1.budget).to.equal(s0.budget - cost);
      // The first window had no premium: the locked margin moves by the repeg's cost alone.
      expect(s1.locked).to.equal(s0.locked - cost);
      expect(s1.pool).to.equal(s0.pool);
    });

    it("a repeg the net position loses costs nothing; the budget collects the gain once the traders realise it", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ repegThresholdRatio: toWad("0.01") }))).wait();
      // The index falls to 95: the repeg moves the curve against the net long.
      await setIndex(fx, toWad(95));
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      const q1 = (s0.base * toWad(95)) / WAD;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      expect(cost < 0n).to.equal(true);
      const gain = -cost;
      // Nothing realised yet: the pool holds the margin and the budget, both locked, so nothing is
      // collected, and the repeg credits nothing at once.
      const first = fx.ch.updateFunding(fx.market);
      await expect(first)
        .to.emit(fx.amm, "Repegged")
        .withArgs(WAD, (WAD * q1) / s0.quote, q1, s0.base, cost, s0.budget);
      await expect(first).not.to.emit(fx.amm, "GainsCollected");
      const s1 = await state(fx);
      expect(s1.budget).to.equal(s0.budget);

      // Alice closes at a loss: her loss (the repeg's gain and the round trip's) is realised into the pool.
      const closed = await positionChanged(
        fx,
        await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE),
      );
      expect(-closed.realizedPnl > gain).to.equal(true);
      const available = await fx.vault.profitAvailable(fx.market);
      expect(available >= gain).to.equal(true);

      // The next update collects the whole gain out of that realised surplus, and locks it.
      await networkHelpers.time.increase(600);
      const s2 = await state(fx);
      expect(s2.net).to.equal(0n);
      const second = fx.ch.updateFunding(fx.market);
      await expect(second)
        .to.emit(fx.amm, "GainsCollected")
        .withArgs(gain, 0n, s2.budget + gain);
      const s3 = await state(fx);
      expect(s3.budget).to.equal(s2.budget + gain);
      // No open interest since the close (no funding flow) and no net position (a repeg costs 0).
      expect(s3.locked).to.equal(s2.locked + gain);
      expect(s3.pool).to.equal(s2.pool);
      expect(await fx.vault.profitAvailable(fx.market)).to.equal(available - gain);
      // Nothing is left to collect: a later update collects nothing.
      await networkHelpers.time.increase(600);
      await expect(fx.ch.updateFunding(fx.market)).not.to.emit(fx.amm, "GainsCollected");
    });

    it("a budget short of the cost pays a partial repeg, never below its floor", async function () {
      const fx = await fixture();
      await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(1_000))).wait();
      await (await open(fx, fx.alice, Side.LONG, toWad(1_000))).wait();
      await setIndex(fx, toWad(100));
      await firstFundingUpdate(fx);
      const floor = toWad(900);
      await (
        await fx.amm.setCurveParams(
          params({ repegThresholdRatio: toWad("0.01"), budgetFloor: floor, budgetTarget: floor }),
        )
      ).wait();
      await setIndex(fx, toWad(110));
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      const available = s0.budget - floor;
      const full = adjustmentCost(s0.quote, s0.base, (s0.base * toWad(110)) / WAD, s0.base, s0.net);
      expect(full).to.be.greaterThan(available);
      // cost = net x (q1 - q0) / (b + net) is linear in q1: move as far as `available` pays.
      const q1 = s0.quote + (available * (s0.base + s0.net)) / s0.net;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      expect(cost).to.be.lessThanOrEqual(available);
      await expect(fx.ch.updateFunding(fx.market))
        .to.emit(fx.amm, "Repegged")
        .withArgs(WAD, (WAD * q1) / s0.quote, q1, s0.base, cost, s0.budget - cost);
      const s1 = await state(fx);
      expect(s1.quote).to.equal(q1);
      expect(s1.budget).to.equal(s0.budget - cost);
      expect(s1.budget).to.be.greaterThanOrEqual(floor);
      expect(s1.locked).to.equal(s0.locked - cost);
    });

    it("no repeg with the threshold at 0, at a trade or at updateFunding", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      await (await fx.amm.setCurveParams(params({ baseSpreadRatio: 0n, maxSpreadRatio: toWad("0.01") }))).wait();
      await setIndex(fx, toWad(110));
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      await expect(fx.ch.updateFunding(fx.market)).not.to.emit(fx.amm, "Repegged");
      const s1 = await state(fx);
      expect([s1.quote, s1.base, s1.budget]).to.deep.equal([s0.quote, s0.base, s0.budget]);
      const tx = await open(fx, fx.carol, Side.SHORT, toWad(100));
      await expect(tx).not.to.emit(fx.amm, "Repegged");
      const swap = reservesAfterQuote(s0.quote, s0.base, Side.SHORT, toWad(1_000));
      const s2 = await state(fx);
      expect([s2.quote, s2.base, s2.peg]).to.deep.equal([swap.newQuote, swap.newBase, WAD]);
    });
  });

  describe("formulaic k", function () {
    it("grows the depth while the budget is above its target and shrinks it when the budget fell", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      const depthParams = {
        maxDepthChangeRatio: toWad("0.05"),
        minDepthRatio: toWad("0.5"),
        maxDepthRatio: toWad(2),
      };
      await (await fx.amm.setCurveParams(params({ ...depthParams, budgetTarget: toWad(1_000) }))).wait();
      await networkHelpers.time.increase(600);
      // Growth: both reserves x 1.05, cost = V(1.05 q, 1.05 b) - V(q, b) > 0 for a net long.
      const s0 = await state(fx);
      const ratio = toWad("1.05");
      const q1 = wMulDown(s0.quote, ratio);
      const b1 = wMulDown(s0.base, ratio);
      const growCost = adjustmentCost(s0.quote, s0.base, q1, b1, s0.net);
      expect(growCost).to.be.greaterThan(0n);
      expect(growCost).to.be.lessThanOrEqual(s0.budget - toWad(1_000));
      const grow = await fx.ch.updateFunding(fx.market);
      // The window's funding accrues first; the budget takes or pays its share of the imbalance.
      const flow1 = await budgetFundingFlow(fx, grow);
      await expect(grow)
        .to.emit(fx.amm, "DepthChanged")
        .withArgs(WAD, ratio, q1, b1, growCost, s0.budget + flow1 - growCost);
      const s1 = await state(fx);
      expect([s1.quote, s1.base, s1.depth, s1.budget]).to.deep.equal([q1, b1, ratio, s0.budget + flow1 - growCost]);
      expect(s1.locked).to.equal(s0.locked - (await insuranceFlow(fx, grow)) - growCost);

      // A repeg that costs the budget, below a target now out of reach: the depth shrinks by 5%.
      await (
        await fx.amm.setCurveParams(
          params({ ...depthParams, repegThresholdRatio: toWad("0.01"), budgetTarget: toWad(1_000_000) }),
        )
      ).wait();
      await setIndex(fx, toWad(110));
      await networkHelpers.time.increase(600);
      const q2 = (b1 * toWad(110)) / WAD;
      const repegCost = adjustmentCost(q1, b1, q2, b1, s1.net);
      const shrunkDepth = wMulUp(ratio, toWad("0.95"));
      const shrink = wDivDown(shrunkDepth, ratio);
      expect(shrink).to.equal(toWad("0.95"));
      const q3 = wMulDown(q2, shrink);
      const b3 = wMulDown(b1, shrink);
      const shrinkCost = adjustmentCost(q2, b1, q3, b3, s1.net);
      // Shrinking a net long's curve lowers what it can take: a gain, collected from the pool's surplus.
      expect(shrinkCost).to.be.lessThan(0n);
      const tx = await fx.ch.updateFunding(fx.market);
      const flow2 = await budgetFundingFlow(fx, tx);
      await expect(tx).to.emit(fx.amm, "Repegged");
      await expect(tx)
        .to.emit(fx.amm, "DepthChanged")
        .withArgs(ratio, wMulDown(ratio, shrink), q3, b3, shrinkCost, s1.budget + flow2 - repegCost);
      // The shrink's gain is collected at once: the repeg's cost, just released to back the net
      // long's gain, is more than the shrink took back from that gain.
      expect(-shrinkCost).to.be.lessThan(repegCost);
      await expect(tx)
        .to.emit(fx.amm, "GainsCollected")
        .withArgs(-shrinkCost, 0n, s1.budget + flow2 - repegCost - shrinkCost);
      const s2 = await state(fx);
      expect([s2.quote, s2.base, s2.budget]).to.deep.equal([q3, b3, s1.budget + flow2 - repegCost - shrinkCost]);
      // The window's funding moved the locked margin by minus the fund's share, the repeg by its
      // cost, and the collected gain back up.
      expect(s2.locked).to.equal(s1.locked - (await insuranceFlow(fx, tx)) - repegCost - shrinkCost);
    });

    it("stays within [minDepthRatio, maxDepthRatio] and pays a growth only from budget - target", async function () {
      const fx = await networkHelpers.loadFixture(longMarket);
      // A 10% step capped at 1.04x the launch depth.
      await (
        await fx.amm.setCurveParams(
          params({ maxDepthChangeRatio: toWad("0.1"), minDepthRatio: toWad("0.5"), maxDepthRatio: toWad("1.04") }),
        )
      ).wait();
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      const ratio = toWad("1.04");
      const q1 = wMulDown(s0.quote, ratio);
      const b1 = wMulDown(s0.base, ratio);
      await expect(fx.ch.updateFunding(fx.market))
        .to.emit(fx.amm, "DepthChanged")
        .withArgs(WAD, ratio, q1, b1, adjustmentCost(s0.quote, s0.base, q1, b1, s0.net), anyUint);
      await networkHelpers.time.increase(600);
      // At the bound: nothing more.
      await expect(fx.ch.updateFunding(fx.market)).not.to.emit(fx.amm, "DepthChanged");
      expect((await fx.amm.getCurveState()).depth).to.equal(ratio);

      // A target that leaves no room: the growth's share that fits, here none.
      const fx2 = await networkHelpers.loadFixture(longMarket);
      const budget = (await fx2.amm.getCurveState()).budget;
      await (
        await fx2.amm.setCurveParams(
          params({
            maxDepthChangeRatio: toWad("0.05"),
            minDepthRatio: toWad("0.5"),
            maxDepthRatio: toWad(2),
            budgetTarget: budget,
          }),
        )
      ).wait();
      await networkHelpers.time.increase(600);
      await expect(fx2.ch.updateFunding(fx2.market)).not.to.emit(fx2.amm, "DepthChanged");
    });
  });

  describe("spread", function () {
    const SPREAD = params({ baseSpreadRatio: toWad("0.001"), maxSpreadRatio: toWad("0.005") });

    it("charges notional x (base + skew x 5%) on a trade growing the net position, credited to the budget", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await (await fx.amm.setCurveParams(SPREAD)).wait();
      const s0 = await state(fx);
      const notional = toWad(10_000);
      const margin = toWad(1_000);
      const swap = reservesAfterQuote(s0.quote, s0.base, Side.LONG, notional);
      // No index recorded: no gap term; no target: no drawdown.
      const ratio = toWad("0.001") + wMulUp(wDivUp(swap.base, s0.base), toWad("0.05"));
      const spread = wMulUp(notional, ratio);
      const fee = wMulUp(notional, FEE);
      const free0 = await fx.vault.freeCollateral(fx.alice.address);
      const tx = await open(fx, fx.alice, Side.LONG, margin);
      await expect(tx).to.emit(fx.amm, "SpreadCharged").withArgs(ratio, spread, spread);
      const event = await positionChanged(fx, tx);
      expect(event.fee).to.equal(fee + spread);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(free0 - margin - fee - spread);
      const s1 = await state(fx);
      expect(s1.budget).to.equal(spread);
      expect(s1.insurance).to.equal(s0.insurance + fee);
      expect(s1.locked).to.equal(s0.locked + margin + spread);
      // The bid and the ask around the new spot (skew ahead for a buyer, none for a seller).
      const spot = wDivDown(s1.quote, s1.base);
      const skew = wDivUp(s1.net + 1n, s1.base);
      const [bid, ask] = await fx.amm.getBidAsk();
      expect(bid).to.equal(wMulDown(spot, WAD - toWad("0.001")));
      expect(ask).to.equal(wMulUp(spot, WAD + toWad("0.001") + wMulUp(skew, toWad("0.05"))));
    });

    it("caps at maxSpreadRatio, charges only the base spread on a reducing close, and the viewer previews it", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await (await fx.amm.setCurveParams(SPREAD)).wait();
      await (await open(fx, fx.alice, Side.LONG, toWad(1_000))).wait();
      const s0 = await state(fx);
      const notional = toWad(100_000);
      const swap = reservesAfterQuote(s0.quote, s0.base, Side.LONG, notional);
      const uncapped = toWad("0.001") + wMulUp(wDivUp(s0.net + swap.base, s0.base), toWad("0.05"));
      expect(uncapped).to.be.greaterThan(toWad("0.005"));
      const viewer = fx.viewer;
      const preview = await viewer.previewOpen(fx.market, fx.bob.address, Side.LONG, toWad(10_000), toWad(10));
      const capped = wMulUp(notional, toWad("0.005"));
      expect(preview.fee).to.equal(wMulUp(notional, FEE) + capped);
      const tx = await open(fx, fx.bob, Side.LONG, toWad(10_000));
      await expect(tx)
        .to.emit(fx.amm, "SpreadCharged")
        .withArgs(toWad("0.005"), capped, s0.budget + capped);
      expect((await positionChanged(fx, tx)).fee).to.equal(preview.fee);

      // Alice's close reduces the net long: the base spread only, out of her payout.
      const s1 = await state(fx);
      const position = await fx.ch.getPosition(fx.market, fx.alice.address);
      const out = reservesAfterBase(s1.quote, s1.base, position.size, position.size);
      const closeSpread = wMulUp(out.quote, toWad("0.001"));
      const closePreview = await viewer.previewClose(fx.market, fx.alice.address);
      expect(closePreview.fee).to.equal(wMulUp(out.quote, FEE) + closeSpread);
      const closeTx = await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE);
      await expect(closeTx)
        .to.emit(fx.amm, "SpreadCharged")
        .withArgs(toWad("0.001"), closeSpread, s1.budget + closeSpread);
      const closed = await positionChanged(fx, closeTx);
      expect(closed.fee).to.equal(closePreview.fee);
      expect(closed.freeCollateralDelta).to.equal(closePreview.payout);
    });

    it("previews a reversal's opening leg on the curve its close leaves, to the wei of the trade", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await (await fx.amm.setCurveParams(SPREAD)).wait();
      await setIndex(fx, toWad(100));
      await (await open(fx, fx.alice, Side.LONG, toWad(1_000))).wait();
      await (await open(fx, fx.carol, Side.LONG, toWad(100))).wait();
      // Carol reverses into a short of about 29,000: her close shrinks the net long, her opening
      // leg takes the net short beyond the long it leaves, so its skew term depends on the close.
      const s0 = await state(fx);
      const carol = await fx.ch.getPosition(fx.market, fx.carol.address);
      const afterClose = reservesAfterBase(s0.quote, s0.base, carol.size, carol.size);
      const exit = afterClose.quote;
      const legQuote = toWad(30_000) - exit;
      const leg = reservesAfterQuote(afterClose.newQuote, afterClose.newBase, Side.SHORT, legQuote);
      const netAfterClose = s0.net - carol.size;
      expect(leg.base > 2n * netAfterClose, "the leg grows |net| beyond what the close left").to.equal(true);
      const preview = await fx.viewer.previewOpen(fx.market, fx.carol.address, Side.SHORT, toWad(3_000), toWad(10));
      expect(preview.kind).to.equal(3n); // REVERSE
      // The opening leg's spread on the pre-trade curve differs from the one it pays.
      const onPreTradeCurve = await fx.amm.previewSpreadFee(-leg.base, legQuote);
      const tx = await open(fx, fx.carol, Side.SHORT, toWad(3_000));
      const receipt = await tx.wait();
      const spreads = receipt!.logs
        .map((log) => fx.amm.interface.parseLog(log))
        .filter((parsed) => parsed?.name === "SpreadCharged")
        .map((parsed) => parsed!.args.spreadFee as bigint);
      expect(spreads.length, "two legs, two spreads").to.equal(2);
      expect(spreads[1]).to.not.equal(onPreTradeCurve);
      const changed = await positionChanged(fx, tx);
      expect(changed.fee, "fee and both spreads").to.equal(preview.fee);
      expect(changed.freeCollateralDelta).to.equal(preview.freeCollateralDelta);
      expect(changed.baseDelta).to.equal(preview.baseDelta);
    });

    it("adds the index gap a trade widens and the budget's drawdown", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(500))).wait();
      await (
        await fx.amm.setCurveParams(
          params({ baseSpreadRatio: toWad("0.001"), maxSpreadRatio: toWad("0.05"), budgetTarget: toWad(2_000) }),
        )
      ).wait();
      await setIndex(fx, toWad(99));
      const s0 = await state(fx);
      const notional = toWad(1_000);
      const swap = reservesAfterQuote(s0.quote, s0.base, Side.LONG, notional);
      const spot = wDivDown(s0.quote, s0.base);
      const skew = wDivUp(swap.base, s0.base);
      const gap = wDivUp(spot - toWad(99), toWad(99));
      const drawdown = wDivUp(toWad(2_000) - toWad(500), toWad(2_000));
      const ratio = toWad("0.001") + wMulUp(skew, toWad("0.05")) + gap + wMulUp(toWad("0.001"), drawdown);
      const spread = wMulUp(notional, ratio);
      await expect(open(fx, fx.alice, Side.LONG, toWad(100)))
        .to.emit(fx.amm, "SpreadCharged")
        .withArgs(ratio, spread, toWad(500) + spread);
      // A short narrows the gap and the net long: base and drawdown only.
      const s1 = await state(fx);
      const shortNotional = toWad(500);
      const budgetNow = toWad(500) + spread;
      const shortRatio = toWad("0.001") + wMulUp(toWad("0.001"), wDivUp(toWad(2_000) - budgetNow, toWad(2_000)));
      await expect(open(fx, fx.carol, Side.SHORT, toWad(50)))
        .to.emit(fx.amm, "SpreadCharged")
        .withArgs(shortRatio, wMulUp(shortNotional, shortRatio), budgetNow + wMulUp(shortNotional, shortRatio));
      expect(s1.net).to.be.greaterThan(0n);
    });
  });

  describe("vAMM leverage bound", function () {
    it("reverts VammLeverageExceeded for a trade growing |net| beyond the bound and accepts reducing ones", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await setIndex(fx, toWad(100));
      await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(1_000))).wait();
      await (await open(fx, fx.alice, Side.LONG, toWad(50))).wait();
      await (await open(fx, fx.bob, Side.LONG, toWad(80))).wait();
      // 1x of (budget 1,000 + 2% of the fund's 5,000).
      await (await fx.amm.setCurveParams(params({ maxVammLeverage: WAD, fundShareRatio: toWad("0.02") }))).wait();
      const s0 = await state(fx);
      const maxExposure = toWad(1_000) + wMulDown(s0.insurance, toWad("0.02"));
      const swap = reservesAfterQuote(s0.quote, s0.base, Side.LONG, toWad(100));
      const exposure = wMulUp(s0.net + swap.base, toWad(100));
      expect(exposure).to.be.greaterThan(maxExposure);
      await expect(open(fx, fx.carol, Side.LONG, toWad(10)))
        .to.be.revertedWithCustomError(fx.amm, "VammLeverageExceeded")
        .withArgs(exposure, maxExposure);
      // Reducing the imbalance is always accepted, even beyond the bound.
      expect(wMulUp(s0.net, toWad(100))).to.be.greaterThan(maxExposure);
      await (await open(fx, fx.carol, Side.SHORT, toWad(10))).wait();
      await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
      // Within the bound again: a small long passes.
      const s1 = await state(fx);
      const small = reservesAfterQuote(s1.quote, s1.base, Side.LONG, toWad(10));
      expect(wMulUp(s1.net + small.base, toWad(100))).to.be.lessThanOrEqual(maxExposure);
      await (await open(fx, fx.dave, Side.LONG, toWad(1))).wait();
    });

    it("a reversal's opening leg counts the fund's share like any trade (not the budget alone)", async function () {
      const fx = await networkHelpers.loadFixture(marketFixture);
      await setIndex(fx, toWad(100));
      await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(1_000))).wait();
      await (await fx.amm.setCurveParams(params({ maxVammLeverage: WAD, fundShareRatio: toWad("0.02") }))).wait();
      // Carol's short of 100 notional, then a long of 1,150 notional: the close of the short and
      // a rest of about 1,050 long, about 10.5 base, at the index 100: more than the budget alone
      // allows at 1x (1,000), within budget + 2% of the fund.
      await (await open(fx, fx.carol, Side.SHORT, toWad(10))).wait();
      await (await open(fx, fx.carol, Side.LONG, toWad(115))).wait();
      const s = await state(fx);
      const position = await fx.ch.getPosition(fx.market, fx.carol.address);
      expect(position.size, "reversed into a long").to.be.greaterThan(0n);
      expect(s.net).to.equal(position.size);
      const exposure = wMulUp(s.net, toWad(100));
      expect(exposure, "beyond the budget alone").to.be.greaterThan(toWad(1_000));
      expect(exposure, "within budget + the fund's share").to.be.lessThanOrEqual(
        toWad(1_000) + wMulDown(s.insurance, toWad("0.02")),
      );
    });
  });

  describe("a market with every limit on", function () {
    it("a trader closes after a repeg and is paid margin - funding + PnL - fee - spread; settlement counts the budget", async function () {
      const fx = await fixture({
        maxTradeRatio: toWad("0.1"),
        fluctuationLimitRatio: toWad("0.05"),
        maxOpenInterest: toWad(2_000),
      });
      await (await fx.amm.setIndexBand(toWad("0.1"))).wait();
      await (
        await fx.amm.setFundingParams({ maxPremiumRatio: toWad("0.1"), minUpdateInterval: 300, maxAccrualPeriod: 3600 })
      ).wait();
      const curve = params({
        repegThresholdRatio: toWad("0.01"),
        baseSpreadRatio: toWad("0.001"),
        maxSpreadRatio: toWad("0.01"),
        maxVammLeverage: toWad(10),
        fundShareRatio: toWad("0.5"),
        budgetFloor: toWad(100),
        budgetTarget: toWad(2_000),
      });
      await (await fx.amm.setCurveParams(curve)).wait();
      await setIndex(fx, toWad(100));
      await (await fx.ch.connect(fx.bob).contributeToBudget(fx.market, toWad(3_000))).wait();
      const margin = toWad(1_000);
      await (await open(fx, fx.alice, Side.LONG, margin)).wait();
      const openNotional = (await fx.ch.getPosition(fx.market, fx.alice.address)).openNotional;
      await firstFundingUpdate(fx);

      // The index rises 4%; the funding update repegs to it.
      await setIndex(fx, toWad(104));
      await networkHelpers.time.increase(600);
      const s0 = await state(fx);
      const q1 = (s0.base * toWad(104)) / WAD;
      const cost = adjustmentCost(s0.quote, s0.base, q1, s0.base, s0.net);
      expect(cost).to.be.lessThanOrEqual(s0.budget - toWad(100));
      await expect(fx.ch.updateFunding(fx.market))
        .to.emit(fx.amm, "Repegged")
        .withArgs(WAD, (WAD * q1) / s0.quote, q1, s0.base, cost, s0.budget - cost);

      // Alice closes on the repegged curve.
      const s1 = await state(fx);
      const position = await fx.ch.getPosition(fx.market, fx.alice.address);
      const out = reservesAfterBase(q1, s0.base, position.size, position.size);
      const spot = wDivDown(q1, s0.base);
      // The close sells, toward the index from a spot at or a wei under it.
      const gap = spot < toWad(104) ? wDivUp(toWad(104) - spot, toWad(104)) : 0n;
      const fee = wMulUp(out.quote, FEE);
      const pnl = out.quote - openNotional;
      expect(pnl).to.be.greaterThan(0n);
      const free0 = await fx.vault.freeCollateral(fx.alice.address);
      const tx = await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE);
      // The close accrues funding first (alice, alone and long, is owed it: the budget pays), then
      // pays its spread on the budget that leaves.
      const flow = await budgetFundingFlow(fx, tx);
      const budget = s1.budget + flow;
      const drawdown = budget < toWad(2_000) ? wDivUp(toWad(2_000) - budget, toWad(2_000)) : 0n;
      const ratio = toWad("0.001") + gap + wMulUp(toWad("0.001"), drawdown);
      const spread = wMulUp(out.quote, ratio);
      await expect(tx)
        .to.emit(fx.amm, "SpreadCharged")
        .withArgs(ratio, spread, budget + spread);
      const closed = await positionChanged(fx, tx);
      const payout = position.margin - closed.fundingPayment + pnl - fee - spread;
      expect(closed.realizedPnl).to.equal(pnl);
      expect(closed.fee).to.equal(fee + spread);
      expect(closed.freeCollateralDelta).to.equal(payout);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(free0 + payout);

      // Settlement: the budget is the pool's money; its locked part is released and, with no
      // position left, the surplus (the budget included) goes to the fund.
      await setIndex(fx, toWad(104));
      await networkHelpers.time.increase(900);
      await setIndex(fx, toWad(104));
      const s2 = await state(fx);
      expect(s2.budget).to.equal(budget + spread);
      // The locked margin is the budget and the funding rounding's few wei (in the pool's favour).
      const dust = s2.locked - s2.budget;
      expect(dust >= 0n && dust <= 10n).to.equal(true);
      await expect(fx.ch.settleMarket(fx.market)).to.emit(fx.amm, "BudgetReleased").withArgs(s2.budget);
      const s3 = await state(fx);
      expect(s3.budget).to.equal(0n);
      // Settlement's completion releases the funding rounding's dust with the fund's surplus too.
      expect(s3.locked).to.equal(0n);
      // No position was left: the pool (the budget included) went to the fund with the surplus.
      expect(s3.pool).to.equal(0n);
      expect(s3.insurance).to.equal(s2.insurance + s2.pool);
    });
  });
});
