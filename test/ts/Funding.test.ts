/**
 * Funding, end to end: the premium set by ClearingHouse.updateFunding from the mark and index TWAPs,
 * the long and short indices, the insurance fund's share of every accrual, and each position's
 * settlement. Every expected figure comes from the independent bigint model in
 * helpers/funding-model.ts, fed the same inputs (trades, oracle answers, timestamps) as the chain;
 * nothing expected is read back from the contracts. Every transaction is mined at a scripted
 * timestamp (helpers/funding-scenario.ts), and after each one the test compares the whole state
 * (reserves, open interest, positions with their funding checkpoints, margin pool and insurance
 * fund, funding state) with the model, to the wei.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MAX_DEADLINE, toFeedUnits } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { DAY, FundingMarketModel, LONG, SHORT, type Accrual } from "./helpers/funding-model.js";
import { B0, deployFundingMarket, FEE, FEED_DECIMALS, GAS, Q0, Scenario, type Fx } from "./helpers/funding-scenario.js";
import { inOneBlock } from "./helpers/blocks.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const env = { ethers, time };
const withFee = () => deployFundingMarket(ethers, FEE);
const withoutFee = () => deployFundingMarket(ethers, 0n);

/** The revert data of a mined, failed transaction. */
async function revertDataOf(hash: string): Promise<string> {
  const trace = await ethers.provider.send("debug_traceTransaction", [
    hash,
    { disableStorage: true, disableMemory: true, disableStack: true },
  ]);
  expect(trace.failed, "the transaction failed").to.equal(true);
  return trace.returnValue.startsWith("0x") ? trace.returnValue : `0x${trace.returnValue}`;
}

const usd = (x: number | string) => toWad(x);
const ceilDiv = (a: bigint, b: bigint) => (a === 0n ? 0n : (a - 1n) / b + 1n);

// ---------------------------------------------------------------------- tests

describe("Funding", function () {
  describe("a scripted three-trader scenario", function () {
    it("matches the model to the wei at every step over three periods, and conserves value", async function () {
      const fx = await networkHelpers.loadFixture(withFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(5_000) });
      const { alice, bob, carol } = fx;

      // Window 1 [t0, t1]: mark pushed above the index (1,000 then 1,010 from t0+300).
      await s.open(s.at(10), alice, LONG, usd(10_000), 3);
      await s.open(s.at(60), bob, SHORT, usd(5_000), 2);
      await s.setIndex(s.at(299), usd(1010));
      await s.poke(s.at(300));
      const t1 = s.at(600);
      const u1 = await s.update(t1);
      expect(u1.premium > 0n && u1.premium < (u1.indexTwap * toWad("0.1")) / WAD, "unclamped premium > 0").to.equal(
        true,
      );
      expect(u1.indexTwap).to.equal(usd(1005)); // 300 s at 1,000 and 300 s at 1,010

      // Window 2 [t1, t2]: longs pay. First accrual on the heavier long side: the fund earns.
      await s.setIndex(t1 + 99n, usd(1150));
      await s.poke(t1 + 100n);
      const carolOpen = await s.open(t1 + 200n, carol, SHORT, usd(10_000), 4);
      expect(carolOpen.accrual.paidPerUnit > 0n && carolOpen.insuranceFlow > 0n, "longs heavier: fund earns").to.equal(
        true,
      );
      // Shorts are now the heavier side and receive: the fund pays the difference.
      await s.expectPendingAt(t1 + 700n, [alice, bob, carol]);
      const aliceReduce = await s.open(t1 + 800n, alice, SHORT, usd(1_000), 10);
      expect(aliceReduce.fundingPayment > 0n, "the long pays on its reducing trade").to.equal(true);
      expect(aliceReduce.insuranceFlow < 0n, "shorts heavier: fund pays").to.equal(true);

      // Window 2 closes with the index far above the mark: the premium is clamped to -10% of the index TWAP.
      const t2 = t1 + 1200n;
      const u2 = await s.update(t2);
      expect(u2.premium).to.equal(-((u2.indexTwap * toWad("0.1")) / WAD));
      expect(u2.markTwap - u2.indexTwap < u2.premium, "the raw premium was beyond the clamp").to.equal(true);

      // Window 3: shorts pay. Carol (heavier side, paying) closes: the fund earns.
      const carolClose = await s.close(t2 + 300n, carol);
      expect(carolClose.insuranceFlow > 0n, "shorts heavier: fund earns").to.equal(true);
      // Now the longs, who receive, are heavier: the fund pays. Funding stops at t2 + 3600.
      const atStop = await s.expectPendingAt(t2 + 3600n, [alice, bob]);
      const later = await s.expectPendingAt(t2 + 4000n, [alice, bob]);
      expect(later).to.deep.equal(atStop);
      const aliceClose = await s.close(t2 + 4100n, alice);
      expect(aliceClose.fundingPayment, "alice's settlement equals what was pending").to.equal(
        atStop.get(alice.address),
      );
      expect(aliceClose.insuranceFlow < 0n, "longs heavier and receiving: fund pays").to.equal(true);
      const bobClose = await s.close(t2 + 4110n, bob);
      expect(bobClose.fundingPayment).to.equal(atStop.get(bob.address));

      const dust = await s.expectConservation();
      expect(dust > 0n, "rounding left some dust in the margin pool").to.equal(true);
    });
  });

  describe("premium and direction", function () {
    it("premium > 0: longs pay, shorts receive, and the heavier long side's surplus goes to the fund", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(5), fx.alice, LONG, usd(6_000), 5); // ~29 base long, mark ~1,061
      await s.open(s.at(6), fx.bob, SHORT, usd(2_000), 5); // ~10 base short
      const u = await s.update(s.at(600));
      expect(u.premium > 0n).to.equal(true);
      const aliceClose = await s.close(s.at(1800), fx.alice);
      expect(aliceClose.fundingPayment > 0n, "the long pays").to.equal(true);
      expect(aliceClose.accrual.paidPerUnit).to.equal(ceilDiv(u.premium * 1200n, DAY));
      expect(aliceClose.accrual.receivedPerUnit).to.equal((u.premium * 1200n) / DAY);
      expect(aliceClose.insuranceFlow > 0n, "the fund earns").to.equal(true);
      const bobClose = await s.close(s.at(1801), fx.bob);
      expect(bobClose.fundingPayment < 0n, "the short receives").to.equal(true);
      await s.expectConservation();
    });

    it("premium < 0: shorts pay, longs receive, and the fund pays what the heavier long side receives beyond it", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      // 100,000 in the fund: 1% a day of it over the 1,200 s stretch is 13.88..., more than the
      // ~19 base of long excess is owed at ~20 a day (~5.3), so the longs are paid in full.
      const s = await Scenario.start(env, fx, { insurance: USDC(100_000) });
      await s.open(s.at(5), fx.alice, LONG, usd(6_000), 5);
      await s.open(s.at(6), fx.bob, SHORT, usd(2_000), 5);
      await s.setIndex(s.at(7), usd(1060)); // above the mark (~1,040)
      await s.poke(s.at(8));
      const u = await s.update(s.at(600));
      expect(u.premium < 0n).to.equal(true);
      const bobClose = await s.close(s.at(1800), fx.bob);
      expect(bobClose.fundingPayment > 0n, "the short pays").to.equal(true);
      expect(bobClose.insuranceFlow < 0n, "the fund pays the heavier receiving side").to.equal(true);
      expect(bobClose.accrual.reduced).to.equal(false);
      expect(bobClose.accrual.budget).to.equal((USDC(100_000) * USDC_SCALE * toWad("0.01") * 1200n) / (WAD * DAY));
      const aliceClose = await s.close(s.at(1801), fx.alice);
      expect(aliceClose.fundingPayment < 0n, "the long receives").to.equal(true);
      await s.expectConservation();
    });

    it("premium < 0 with 1,000 in the fund: the fund pays its budget, 1% a day pro rata, and the longs get less", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(5), fx.alice, LONG, usd(6_000), 5);
      await s.open(s.at(6), fx.bob, SHORT, usd(2_000), 5);
      await s.setIndex(s.at(7), usd(1060));
      await s.poke(s.at(8));
      const u = await s.update(s.at(600));
      expect(u.premium < 0n).to.equal(true);
      const fundBefore = await s.insurance();
      const bobClose = await s.close(s.at(1800), fx.bob);
      const a = bobClose.accrual;
      // 1,000 x 1% x 1,200 / 86,400 = 0.138888888888888888 (floored): the budget of the stretch.
      expect(a.budget).to.equal(138_888_888_888_888_888n);
      expect(a.reduced, "the longs are owed more than the shorts pay plus the budget").to.equal(true);
      expect(a.receivedPerUnit).to.equal(((a.payments + a.budget) * WAD) / s.model.longOI);
      const paid = fundBefore - (await s.insurance());
      expect(paid <= a.budget && paid >= a.budget - s.model.longOI / WAD - 1n, "the budget less the rounding").to.equal(
        true,
      );
      await s.close(s.at(1801), fx.alice);
      await s.expectConservation();
    });

    it("clamps the premium to +10% of the index TWAP when the mark runs far above it", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(40_000), 5); // mark ~1,440
      const u = await s.update(s.at(300));
      expect(u.markTwap > (u.indexTwap * 11n) / 10n, "raw premium above 10%").to.equal(true);
      expect(u.premium).to.equal((u.indexTwap * toWad("0.1")) / WAD);
      await s.close(s.at(900), fx.alice);
      await s.expectConservation();
    });

    it("sets a premium of zero when mark and index TWAPs are equal", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      const u = await s.update(s.at(300));
      expect([u.premium, u.markTwap, u.indexTwap]).to.deep.equal([0n, usd(1000), usd(1000)]);
    });
  });

  describe("beyond the insurance fund's subsidy budget", function () {
    /** A long of ~2 base pays a short of ~20 base: the fund (1 USDC) makes up the rest within its budget. */
    async function lopsided(fx: Fx) {
      const s = await Scenario.start(env, fx, { insurance: USDC(1) });
      await s.setIndex(s.at(1), usd(900));
      await s.poke(s.at(2));
      await s.open(s.at(10), fx.alice, LONG, usd(1_000), 2);
      await s.open(s.at(20), fx.bob, SHORT, usd(10_000), 2);
      const u = await s.update(s.at(600));
      expect(u.premium > 0n, "longs pay").to.equal(true);
      return s;
    }

    it("grows the receiving side's index by less, and the fund pays its budget less the rounding", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await lopsided(fx);
      const fundBefore = s.model.insurance;
      // The view already shows the reduced rate.
      await s.expectPendingAt(s.at(1800), [fx.alice, fx.bob]);
      const shortIndexBefore = s.model.shortIndex;
      const r = await s.close(s.at(2191), fx.alice);
      const a = r.accrual;
      // The period opened at t0 + 600 with 1% a day: over 1,591 s the fund (1 USDC) may pay
      // 1 x 1% x 1,591 / 86,400 = 0.000184143518518518 (floored), not all it has.
      expect(a.budget).to.equal(184_143_518_518_518n);
      expect(a.reduced, "the receiving side's rate was reduced").to.equal(true);
      expect(a.receivedPerUnit).to.equal(((a.payments + a.budget) * WAD) / s.model.shortOI);
      expect(a.receivedPerUnit < a.fullReceivedPerUnit).to.equal(true);
      expect(s.model.shortIndex - shortIndexBefore, "the short index grew by the reduced amount").to.equal(
        a.receivedPerUnit,
      );
      const paid = fundBefore - (await s.insurance());
      expect(-r.insuranceFlow).to.equal(paid);
      expect(
        paid <= a.budget && paid >= a.budget - s.model.shortOI / WAD - 1n,
        "the budget less the rounding",
      ).to.equal(true);

      // With no long left to pay, the shorts receive the fund's budget alone.
      const b = await s.close(s.at(2500), fx.bob);
      expect(b.fundingPayment < 0n).to.equal(true);
      expect(b.accrual.payments).to.equal(0n);
      expect(-b.insuranceFlow <= b.accrual.budget, "within the budget").to.equal(true);
      await s.expectConservation();
    });

    it("pays nothing with a subsidy ratio of 0: the shorts get what the long pays", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      await (await fx.amm.setFundingSubsidyRatio(0n)).wait();
      const s = await lopsided(fx);
      s.model.subsidyRatio = 0n;
      s.model.periodSubsidyRatio = 0n;
      const fundBefore = await s.insurance();
      const r = await s.close(s.at(2400), fx.alice);
      expect(r.accrual.budget).to.equal(0n);
      expect(r.accrual.reduced).to.equal(true);
      expect(r.accrual.receivedPerUnit).to.equal((r.accrual.payments * WAD) / s.model.shortOI);
      expect(await s.insurance(), "the fund keeps the rounding, pays nothing").to.be.greaterThanOrEqual(fundBefore);
      await s.close(s.at(3100), fx.bob);
      await s.expectConservation();
    });
  });

  describe("funding stops", function () {
    it("accrues nothing beyond maxAccrualPeriod after the last update", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.open(s.at(2), fx.bob, SHORT, usd(1_000), 4);
      const u = await s.update(s.at(600));
      const atStop = await s.expectPendingAt(s.at(600 + 3600), [fx.alice, fx.bob]);
      const dayLater = await s.expectPendingAt(s.at(600 + 3600 + 86_400), [fx.alice, fx.bob]);
      expect(dayLater).to.deep.equal(atStop);
      // A long that held the whole period paid exactly one hour at the premium, rounded up.
      const r = await s.close(s.at(600 + 3600 + 86_400 + 1), fx.alice);
      expect(r.accrual.paidPerUnit).to.equal(ceilDiv(u.premium * 3600n, DAY));
      expect(r.fundingPayment).to.equal(atStop.get(fx.alice.address));
      const r2 = await s.close(s.at(600 + 3600 + 86_400 + 2), fx.bob);
      expect(r2.accrual.paidPerUnit, "nothing left to accrue").to.equal(0n);
      expect(r2.insuranceFlow).to.equal(0n);
      await s.expectConservation();
    });

    it("sets the premium to 0 when the oracle answer is stale at the update (and records no index)", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.open(s.at(2), fx.bob, SHORT, usd(1_000), 4);
      const live = await s.update(s.at(600));
      expect(live.premium > 0n).to.equal(true);
      // Published at t0+700 but last updated more than the 1-day heartbeat before the next update.
      await s.setIndex(s.at(700), usd(1000), s.at(1200) - 86_401n);
      const stale = await s.update(s.at(1200));
      expect(stale.indexRecorded).to.equal(undefined);
      expect([stale.premium, stale.markTwap, stale.indexTwap]).to.deep.equal([0n, 0n, 0n]);
      expect(stale.insuranceFlow > 0n, "the old premium still accrued up to the update").to.equal(true);
      const before = await s.expectPendingAt(s.at(1500), [fx.alice, fx.bob]);
      const after = await s.expectPendingAt(s.at(2500), [fx.alice, fx.bob]);
      expect(after, "nothing accrues at premium 0").to.deep.equal(before);
      // An answer exactly a heartbeat old is still valid: funding resumes.
      await s.setIndex(s.at(2600), usd(1000), s.at(3000) - 86_400n);
      const resumed = await s.update(s.at(3000));
      expect(resumed.indexRecorded).to.equal(usd(1000));
      expect(resumed.premium > 0n).to.equal(true);
      await s.close(s.at(3100), fx.alice);
      await s.close(s.at(3101), fx.bob);
      await s.expectConservation();
    });

    it("sets the premium to 0 when the oracle reverts at the update", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.update(s.at(600));
      await s.setOracleReverting(s.at(601), true);
      expect(await s.poke(s.at(700))).to.equal(undefined);
      const u = await s.update(s.at(1200));
      expect([u.premium, u.markTwap, u.indexTwap, u.indexRecorded]).to.deep.equal([0n, 0n, 0n, undefined]);
    });

    it("sets the premium to 0 while the ClearingHouse is paused, and resumes after unpausing", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.open(s.at(2), fx.bob, SHORT, usd(1_000), 4);
      const live = await s.update(s.at(600));
      expect(live.premium > 0n).to.equal(true);
      await s.mineAt(s.at(650), () => fx.ch.connect(fx.owner).pause());
      s.model.paused = true;
      const paused = await s.update(s.at(1200));
      expect([paused.premium, paused.markTwap, paused.indexTwap]).to.deep.equal([0n, 0n, 0n]);
      expect(paused.indexRecorded, "the index is still recorded").to.equal(usd(1000));
      expect(paused.insuranceFlow > 0n, "the old premium accrued until the update").to.equal(true);
      await s.mineAt(s.at(1300), () => fx.ch.connect(fx.owner).unpause());
      s.model.paused = false;
      const resumed = await s.update(s.at(1800));
      expect(resumed.premium > 0n).to.equal(true);
      await s.close(s.at(1900), fx.alice);
      await s.close(s.at(1901), fx.bob);
      await s.expectConservation();
    });

    it("sets the premium to 0 for a window at whose start the index history had not begun", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      // The oracle reverts from before the first update: that update starts no history.
      const s0 = BigInt(await time.latest()) + 500n;
      await time.setNextBlockTimestamp(s0);
      await (await fx.aggregator.setReverting(true)).wait();
      await time.setNextBlockTimestamp(s0 + 400n);
      const first = fx.ch.updateFunding(fx.ammAddress);
      await expect(first).to.emit(fx.amm, "FundingUpdated").withArgs(0n, 0n, 0n, 0n, 0n, 0n);
      await expect(first).not.to.emit(fx.amm, "IndexRecorded");
      await expect(fx.amm.getIndexTwap(0)).to.be.revertedWithCustomError(fx.amm, "NoIndexPrice");

      // A poke inside the next window starts the history at 900; that window still gets no premium...
      await time.setNextBlockTimestamp(s0 + 450n);
      await (await fx.aggregator.setReverting(false)).wait();
      await time.setNextBlockTimestamp(s0 + 451n);
      await (await fx.aggregator.setAnswer(toFeedUnits(usd(900), FEED_DECIMALS), s0 + 451n)).wait();
      await time.setNextBlockTimestamp(s0 + 500n);
      await expect(fx.amm.pokeIndex()).to.emit(fx.amm, "IndexRecorded").withArgs(usd(900));
      await time.setNextBlockTimestamp(s0 + 800n);
      await expect(fx.ch.updateFunding(fx.ammAddress))
        .to.emit(fx.amm, "FundingUpdated")
        .withArgs(0n, 0n, 0n, 0n, 0n, 0n);
      // ...and the one after it does: mark 1,000 (no trades) against index 900, clamped to +90.
      await time.setNextBlockTimestamp(s0 + 1100n);
      await expect(fx.ch.updateFunding(fx.ammAddress))
        .to.emit(fx.amm, "FundingUpdated")
        .withArgs(usd(90), usd(1000), usd(900), 0n, 0n, 0n);
    });
  });

  describe("update timing", function () {
    it("reverts with FundingUpdateTooEarly(last + 300) before minUpdateInterval, and succeeds at it", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      expect(await s.expectUpdateTooEarly(s.at(299))).to.equal(s.at(300));
      await s.update(s.at(300));
      expect(await s.expectUpdateTooEarly(s.at(301))).to.equal(s.at(600));
    });

    it("reverts a second update in the same block with FundingUpdateTooEarly(now + 300)", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      const t = s.at(400);
      const u = s.model.updateFunding(t);
      const [first, second] = (
        await inOneBlock(
          ethers,
          [
            () => fx.ch.connect(fx.keeper).updateFunding(fx.ammAddress, GAS),
            () => fx.ch.connect(fx.alice).updateFunding(fx.ammAddress, GAS),
          ],
          { timestamp: t },
        )
      ).receipts;
      expect([first!.status, second!.status]).to.deep.equal([1, 0]);
      expect(s.fundingUpdatedIn(first!.logs)).to.deep.equal([
        [u.premium, u.markTwap, u.indexTwap, u.longIndex, u.shortIndex, u.insuranceFlow],
      ]);
      const error = fx.amm.interface.parseError(await revertDataOf(second!.hash));
      expect([error?.name, ...(error?.args ?? [])]).to.deep.equal(["FundingUpdateTooEarly", t + 300n]);
      await s.checkState();
    });
  });

  describe("TWAP manipulation", function () {
    it("a large trade and its reversal in one block change the next premium only by the pool's rounding", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 2);
      await s.setIndex(s.at(2), usd(990));
      await s.poke(s.at(3));
      const honest = s.model.clone();

      // Carol buys 200,000 of notional (the spot jumps ~45%) and sells it back in the same block.
      const t = s.at(100);
      const opened = s.model.open(fx.carol.address, t, LONG, usd(40_000), toWad(5));
      const closed = s.model.close(fx.carol.address, t);
      const fundBefore = await s.insurance();
      const [r1, r2] = (
        await inOneBlock(
          ethers,
          [
            () =>
              fx.ch.connect(fx.carol).openPosition(fx.ammAddress, LONG, usd(40_000), toWad(5), 0n, MAX_DEADLINE, GAS),
            () => fx.ch.connect(fx.carol).closePosition(fx.ammAddress, 0n, MAX_DEADLINE, GAS),
          ],
          { timestamp: t },
        )
      ).receipts;
      expect([r1!.status, r2!.status]).to.deep.equal([1, 1]);
      s.expectPositionChanged(r1!.logs, fx.carol, opened);
      s.expectPositionChanged(r2!.logs, fx.carol, closed);
      expect(closed.fundingPayment, "no time held, no funding").to.equal(0n);
      const moved = (await s.insurance()) - fundBefore;
      expect(moved).to.equal(opened.insuranceFlow + closed.insuranceFlow);
      s.chainInsuranceFlow += moved;
      await s.checkState();

      const u = await s.update(s.at(600));
      const baseline = honest.updateFunding(s.at(600));
      // The round trip leaves the spot a few wei up (every reserve the pool computes rounds up),
      // for the 500 s after the block out of the 600 s window.
      const left = s.model.spot() - honest.spot();
      expect(left >= 0n && left < 10n, "a few wei of rounding").to.equal(true);
      const shift = u.markTwap - baseline.markTwap;
      expect(shift >= (left * 500n) / 600n && shift <= ceilDiv(left * 500n, 600n), "500/600 of it").to.equal(true);
      expect(u.premium - baseline.premium).to.equal(shift);
      expect(u.indexTwap).to.equal(baseline.indexTwap);
      await s.close(s.at(700), fx.alice);
      await s.expectConservation();
    });

    it("a trade in the block of an update does not weigh in the window that update closes", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      const t = s.at(600);
      const honest = s.model.clone().updateFunding(t);
      const opened = s.model.open(fx.alice.address, t, LONG, usd(20_000), toWad(5));
      const u = s.model.updateFunding(t);
      const [r1, r2] = (
        await inOneBlock(
          ethers,
          [
            () =>
              fx.ch.connect(fx.alice).openPosition(fx.ammAddress, LONG, usd(20_000), toWad(5), 0n, MAX_DEADLINE, GAS),
            () => fx.ch.connect(fx.keeper).updateFunding(fx.ammAddress, GAS),
          ],
          { timestamp: t },
        )
      ).receipts;
      s.expectPositionChanged(r1!.logs, fx.alice, opened);
      expect(s.fundingUpdatedIn(r2!.logs)).to.deep.equal([
        [u.premium, u.markTwap, u.indexTwap, u.longIndex, u.shortIndex, u.insuranceFlow],
      ]);
      expect([u.premium, u.markTwap]).to.deep.equal([honest.premium, honest.markTwap]);
      await s.checkState();
    });
  });

  describe("events and index records", function () {
    it("emits FundingUpdated(premium, markTwap, indexTwap, longIndex, shortIndex, insuranceFlow) with a hand-worked window", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      // No trades: the mark stays 1,000. The index is 1,000 for 100 s, then 980 for 200 s.
      await s.setIndex(s.at(99), usd(980));
      await s.poke(s.at(100));
      const u = await s.update(s.at(300));
      // indexTwap = (1000 x 100 + 980 x 200) / 300 = 986.666...; premium 13.333... (bound 98.666...).
      const indexTwap = (usd(1000) * 100n + usd(980) * 200n) / 300n;
      expect([u.premium, u.markTwap, u.indexTwap]).to.deep.equal([usd(1000) - indexTwap, usd(1000), indexTwap]);
      expect(indexTwap).to.equal(986_666_666_666_666_666_666n);
    });

    it("pokeIndex returns and records a valid price, and records nothing while the oracle is invalid", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      await s.setIndex(s.at(10), usd("1234.5"));
      await time.setNextBlockTimestamp(s.at(11));
      expect(await fx.amm.pokeIndex.staticCall()).to.deep.equal([true, usd("1234.5")]);
      expect(await s.poke(s.at(11))).to.equal(usd("1234.5"));
      await s.setIndex(s.at(20), usd(1000), s.at(20) - 86_401n);
      expect(await fx.amm.pokeIndex.staticCall()).to.deep.equal([false, 0n]);
      expect(await s.poke(s.at(21))).to.equal(undefined);
      expect(await fx.amm.getIndexTwap(0), "the last valid record holds").to.equal(usd("1234.5"));
    });

    it("keeps the first index record of a second: a later poke in the same block does not change the price", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx);
      const t = s.at(100);
      const [, r2, , r4] = (
        await inOneBlock(
          ethers,
          [
            () => fx.aggregator.setAnswer(toFeedUnits(usd(1100), FEED_DECIMALS), t, GAS),
            () => fx.amm.connect(fx.keeper).pokeIndex(GAS),
            () => fx.aggregator.setAnswer(toFeedUnits(usd(1200), FEED_DECIMALS), t, GAS),
            () => fx.amm.connect(fx.keeper).pokeIndex(GAS),
          ],
          { timestamp: t },
        )
      ).receipts;
      s.model.oracle = { answer: toFeedUnits(usd(1100), FEED_DECIMALS), updatedAt: t, reverting: false };
      s.model.pokeIndex(t);
      s.model.oracle = { answer: toFeedUnits(usd(1200), FEED_DECIMALS), updatedAt: t, reverting: false };
      s.model.pokeIndex(t); // ignored: the second of the same second
      expect(s.indexRecordedIn(r2!.logs)).to.deep.equal([usd(1100)]);
      expect(r4!.status).to.equal(1);
      const u = await s.update(s.at(400));
      expect(u.indexTwap).to.equal((usd(1000) * 100n + usd(1100) * 300n) / 400n);
    });
  });

  describe("settlement", function () {
    it("settles funding on an increase, a reduce and a reversal, each at its own index", async function () {
      const fx = await networkHelpers.loadFixture(withFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.open(s.at(2), fx.bob, SHORT, usd(2_000), 3);
      await s.update(s.at(600));
      const inc = await s.open(s.at(900), fx.alice, LONG, usd(1_000), 2);
      expect(inc.fundingPayment > 0n).to.equal(true);
      const red = await s.open(s.at(1200), fx.bob, LONG, usd(500), 2);
      expect(red.fundingPayment < 0n).to.equal(true);
      // Alice sells more than her position is worth: she closes and opens a short.
      const rev = await s.open(s.at(1500), fx.alice, SHORT, usd(10_000), 4);
      expect(rev.size < 0n && rev.fundingPayment > 0n).to.equal(true);
      await s.update(s.at(2000));
      await s.close(s.at(2300), fx.alice);
      await s.close(s.at(2301), fx.bob);
      await s.expectConservation();
    });

    it("does not settle funding on addMargin: the checkpoint and the pending amount stay", async function () {
      const fx = await networkHelpers.loadFixture(withoutFee);
      const s = await Scenario.start(env, fx, { insurance: USDC(1_000) });
      await s.open(s.at(1), fx.alice, LONG, usd(5_000), 4);
      await s.update(s.at(600));
      const before = await s.expectPendingAt(s.at(1200), [fx.alice]);
      expect(before.get(fx.alice.address)! > 0n).to.equal(true);
      await s.mineAt(s.at(1200) + 1n, () => fx.ch.connect(fx.alice).addMargin(fx.ammAddress, usd(100)));
      s.model.addMargin(fx.alice.address, usd(100));
      await s.checkState();
      await s.expectPendingAt(s.at(1300), [fx.alice]);
      const r = await s.close(s.at(1400), fx.alice);
      expect(r.fundingPayment > before.get(fx.alice.address)!).to.equal(true);
      await s.expectConservation();
    });
  });

  describe("the model on a hand-worked accrual", function () {
    it("splits a stretch by hand: longs pay 10 per day for 1 hour on 3 base, shorts receive on 1 base", function () {
      // premium 10 quote/base/day, 3,600 s: paid = ceil(10e18 x 3600 / 86400) = 416666666666666667,
      // received = 416666666666666666.
      const m = new FundingMarketModel(0n, Q0, B0);
      m.premium = usd(10);
      m.longOI = usd(3);
      m.shortOI = usd(1);
      const a: Accrual = m.accrue(3600n, 0n);
      expect([a.paidPerUnit, a.receivedPerUnit]).to.deep.equal([416_666_666_666_666_667n, 416_666_666_666_666_666n]);
      expect([a.payments, a.receipts, a.flow]).to.deep.equal([
        1_250_000_000_000_000_001n,
        416_666_666_666_666_666n,
        833_333_333_333_333_335n,
      ]);
      expect(FundingMarketModel.owed(usd(3), a.longIndex)).to.equal(1_250_000_000_000_000_001n);
      expect(FundingMarketModel.owed(-usd(1), a.shortIndex)).to.equal(-416_666_666_666_666_666n);
    });
  });
});
