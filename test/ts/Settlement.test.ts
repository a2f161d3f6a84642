/**
 * Global settlement (issue 4): settleMarket at the index TWAP, then settlePosition records every
 * position's claim and, once all are recorded, pays them, pro rata when the market's pool of value
 * is short; what it holds beyond the claims goes to the insurance fund. Expected figures come from
 * the bigint models (helpers/model.ts for trades, helpers/liquidation-model.ts for liquidations and
 * the settlement), never from the contracts. The index is recorded with Amm.pokeIndex at one price
 * and the market then idles for more than the 900 s window, so the index TWAP is that price.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import {
  deployCore,
  deployMarket,
  deployOracle,
  fund,
  MAX_DEADLINE,
  Side,
  toFeedUnits,
} from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import { expectMatchesModel, expectPositionChanged, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { liquidate, SettlementModel } from "./helpers/liquidation-model.js";
import {
  B0,
  deployLiquidationFixture,
  FEE,
  FUNDING,
  IDLE,
  IMR,
  MMR,
  modelOf,
  openModelled,
  PARAMS,
  Q0,
  type LiquidationFx,
  type Signer,
} from "./helpers/liquidation-fixture.js";
import { LONG, SHORT, SystemModel, type SideValue } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** The smallest step of the 8-decimal feed, in 18 decimals. */
const FEED_UNIT = 10n ** 10n;
const settlementFixture = () => deployLiquidationFixture(ethers, true);
type Fx = LiquidationFx;
const open = openModelled;

async function expectLedger(fx: Fx, model: SystemModel) {
  const traders = [fx.alice, fx.bob, fx.carol, fx.dave];
  for (const t of traders) {
    expect(await fx.vault.freeCollateral(t.address), `free collateral of ${t.address}`).to.equal(
      model.freeOf(t.address),
    );
  }
  const [marginPool, insurance] = await fx.vault.getPoolBalances();
  expect([marginPool, insurance], "margin pool, insurance").to.deep.equal([model.marginPool, model.insuranceFund]);
  const balance = (await fx.usdc.balanceOf(await fx.vault.getAddress())) * USDC_SCALE;
  let free = 0n;
  for (const a of [fx.owner, ...traders, fx.insurer]) free += await fx.vault.freeCollateral(a.address);
  expect(balance, "vault balance = every claim on it").to.equal(free + marginPool + insurance);
}

/**
 * After every position is paid the market's margin pool holds only the pool's rounding dust: every
 * swap rounds the reserve it computes up (in the pool's favour), by less than one wei of base
 * (worth about the price in wei of quote) plus one wei of quote. So at most `swaps` x (price + 1)
 * wei, with the price in whole quote units, rounded up; the chain holds exactly the model's figure.
 */
async function expectOnlyDust(fx: Fx, model: SystemModel, swaps: number) {
  await expectLedger(fx, model);
  const [marginPool] = await fx.vault.getPoolBalances();
  const priceUnits = (model.amm(fx.ammAddress).spotPrice() + 10n ** 18n - 1n) / 10n ** 18n;
  const bound = BigInt(swaps) * (priceUnits + 1n);
  expect(marginPool >= 0n && marginPool <= bound, `margin pool dust ${marginPool} within ${bound}`).to.equal(true);
}

/** Publishes `price` on the oracle and records it in the market (pokeIndex). */
async function recordIndex(fx: Fx, price: bigint) {
  const t = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(t);
  await (await fx.aggregator!.setAnswer(toFeedUnits(price, 8), t)).wait();
  await (await fx.amm.pokeIndex()).wait();
}

/** Owner settles the market; checks MarketSettled and getSettlement; returns the model. */
async function settle(fx: Fx, model: SystemModel, price: bigint): Promise<SettlementModel> {
  const pool = model.amm(fx.ammAddress);
  const s = SettlementModel.shutdown(model, fx.ammAddress, price);
  await expect(fx.ch.settleMarket(fx.ammAddress))
    .to.emit(fx.ch, "MarketSettled")
    .withArgs(fx.ammAddress, price, pool.longOI, pool.shortOI);
  if (s.complete()) s.completeEmpty(model);
  expect((await fx.ch.getMarketStatus(fx.ammAddress))[0]).to.equal(2n); // SETTLED
  await expectSettlement(fx, s);
  return s;
}

async function expectSettlement(fx: Fx, s: SettlementModel) {
  const got = await fx.ch.getSettlement(fx.ammAddress);
  expect([
    got.price,
    got.openLong,
    got.openShort,
    got.recordedLong,
    got.recordedShort,
    got.poolValue,
    got.claims,
  ]).to.deep.equal([s.price, s.openLong, s.openShort, s.recordedLong, s.recordedShort, s.poolValue, s.claims]);
}

async function record(fx: Fx, model: SystemModel, s: SettlementModel, trader: Signer, caller: Signer = fx.carol) {
  const fundBefore = model.insuranceFund;
  const claim = s.record(model, trader.address);
  const tx = fx.ch.connect(caller).settlePosition(fx.ammAddress, trader.address);
  await expect(tx).to.emit(fx.ch, "SettlementRecorded").withArgs(trader.address, fx.ammAddress, claim);
  if (s.complete()) {
    // the call that records the last position completes the settlement and pays its own claim
    if (claim > 0n) {
      const payout = s.pay(model, trader.address);
      await expect(tx).to.emit(fx.ch, "SettlementPaid").withArgs(trader.address, fx.ammAddress, payout);
    } else {
      s.paid.add(trader.address);
      await expect(tx).not.to.emit(fx.ch, "SettlementPaid");
    }
  } else {
    await expect(tx).not.to.emit(fx.ch, "SettlementPaid");
  }
  await expectSettlement(fx, s);
  await expectLedger(fx, model);
  if (!s.complete()) expect(model.insuranceFund).to.equal(fundBefore);
  return claim;
}

async function pay(fx: Fx, model: SystemModel, s: SettlementModel, trader: Signer, caller: Signer = fx.carol) {
  if (s.paid.has(trader.address) || s.claimOf.get(trader.address) === 0n) {
    // paid when its record completed the settlement, or worth nothing: nothing left to claim
    await expect(fx.ch.connect(caller).settlePosition(fx.ammAddress, trader.address))
      .to.be.revertedWithCustomError(fx.ch, "NoPosition")
      .withArgs(trader.address, fx.ammAddress);
    s.paid.add(trader.address);
    return s.claimOf.get(trader.address)! === 0n ? 0n : s.payoutOf(trader.address);
  }
  const payout = s.pay(model, trader.address);
  await expect(fx.ch.connect(caller).settlePosition(fx.ammAddress, trader.address))
    .to.emit(fx.ch, "SettlementPaid")
    .withArgs(trader.address, fx.ammAddress, payout);
  await expectLedger(fx, model);
  return payout;
}

/** Alice and Dave long, Bob short; the index is recorded at `price` and the market idles. */
async function threePositions(fx: Fx, model: SystemModel, price: bigint) {
  await open(fx, model, fx.alice, LONG, 1000, 10);
  await open(fx, model, fx.dave, LONG, 500, 4);
  await open(fx, model, fx.bob, SHORT, 2000, 5);
  await recordIndex(fx, price);
  await time.increase(IDLE);
}

describe("Settlement", function () {
  it("settles at the index TWAP; claims paid in full, the surplus goes to the insurance fund", async function () {
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await threePositions(fx, model, toWad(100));
    expect(await fx.amm.getIndexTwap(900)).to.equal(toWad(100));
    const s = await settle(fx, model, toWad(100));
    await record(fx, model, s, fx.alice);
    await record(fx, model, s, fx.dave);
    // a recorded position asking to be paid before the others are recorded
    await expect(fx.ch.settlePosition(fx.ammAddress, fx.alice.address))
      .to.be.revertedWithCustomError(fx.ch, "SettlementIncomplete")
      .withArgs(s.recordedLong, s.openLong, s.recordedShort, s.openShort);
    const fundBefore = model.insuranceFund;
    await record(fx, model, s, fx.bob);
    expect(s.claims <= s.poolValue, "not short").to.equal(true);
    expect(model.insuranceFund - fundBefore, "surplus to the fund").to.equal(s.poolValue - s.claims);
    expect(s.poolValue - s.claims > 0n).to.equal(true);
    for (const t of [fx.alice, fx.dave, fx.bob]) {
      const payout = await pay(fx, model, s, t);
      expect(payout).to.equal(s.claimOf.get(t.address));
    }
    // paid once
    await expect(fx.ch.settlePosition(fx.ammAddress, fx.alice.address))
      .to.be.revertedWithCustomError(fx.ch, "NoPosition")
      .withArgs(fx.alice.address, fx.ammAddress);
    // three swaps (the opens): only their rounding stays in the margin pool
    await expectOnlyDust(fx, model, 3);
  });

  it("pays pro rata when the claims exceed the pool (settlement price far from the curve)", async function () {
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await threePositions(fx, model, toWad(150));
    const s = await settle(fx, model, toWad(150));
    for (const t of [fx.bob, fx.alice, fx.dave]) await record(fx, model, s, t);
    expect(s.claimOf.get(fx.bob.address), "the short is worth less than nothing").to.equal(0n);
    expect(s.claims > s.poolValue, "short").to.equal(true);
    let paid = 0n;
    for (const t of [fx.alice, fx.dave, fx.bob]) paid += await pay(fx, model, s, t);
    expect(s.poolValue - paid >= 0n && s.poolValue - paid < 3n, "only rounding dust stays").to.equal(true);
    await expectOnlyDust(fx, model, 3);
  });

  it("nothing stays stuck when a loser closed before the settlement", async function () {
    // Alice's loss is realised into the margin pool before the shutdown: it backs Bob's unrealised
    // profit, so after every position is settled the margin pool should hold only dust.
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await open(fx, model, fx.alice, LONG, 1000, 10);
    await open(fx, model, fx.bob, SHORT, 3000, 10);
    const close = model.close(fx.alice.address, fx.ammAddress);
    await expectPositionChanged(
      fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE),
      fx.ch,
      fx.alice.address,
      fx.ammAddress,
      close,
    );
    const spot = model.amm(fx.ammAddress).spotPrice();
    const price = (spot / 10n ** 10n) * 10n ** 10n; // the spot, in the feed's 8 decimals
    await recordIndex(fx, price);
    await time.increase(IDLE);
    const s = await settle(fx, model, price);
    await record(fx, model, s, fx.bob);
    await pay(fx, model, s, fx.bob);
    // Alice's two swaps and Bob's open: nothing but their rounding stays
    await expectOnlyDust(fx, model, 3);
  });

  it("after a shortfall: the pool value is what the market's pool holds, the winners share it", async function () {
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await open(fx, model, fx.alice, LONG, 1000, 10);
    await open(fx, model, fx.bob, SHORT, 8000, 10);
    await open(fx, model, fx.dave, SHORT, 100, 2);
    await recordIndex(fx, toWad(86)); // within 10% of the spot (~86.4): not used
    await time.increase(IDLE);
    const spot = model.amm(fx.ammAddress).spotPrice();
    const r = liquidate(model, {
      amm: fx.ammAddress,
      trader: fx.alice.address,
      liquidator: fx.carol.address,
      mmr: MMR,
      markTwap: spot,
      index: toWad(86),
    });
    expect(r.shortfall > 0n).to.equal(true);
    await expect(fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address))
      .to.emit(fx.ch, "ShortfallRecorded")
      .withArgs(fx.ammAddress, r.shortfall, r.shortfall);
    await recordIndex(fx, toWad(86));
    await time.increase(IDLE);
    const s = await settle(fx, model, toWad(86));
    // The market's pool holds the three margins (the fees went to the fund) and the fund's cover;
    // the liquidator's reward passed through it. Alice's loss beyond her margin and the cover is
    // the shortfall: the pool value is the winners' margins plus their gain less the shortfall.
    expect(r.covered > 0n).to.equal(true);
    expect(s.poolValue).to.equal(toWad(1000 + 8000 + 100) + r.covered);
    await record(fx, model, s, fx.bob);
    await record(fx, model, s, fx.dave);
    let paid = 0n;
    for (const t of [fx.bob, fx.dave]) paid += await pay(fx, model, s, t);
    expect(paid <= s.poolValue).to.equal(true);
    // Everything the market's margin pool held has gone out but dust (three opens, the liquidation's swaps).
    await expectOnlyDust(fx, model, 3 + (r.restClosed > 0n ? 2 : 1));
  });

  it("a claim queued before the shutdown is paid in full; the recorded positions share what is left", async function () {
    // Alice buys first, Bob after her at a higher price; Alice closes before the shutdown. Bob's loss
    // is not realised, so her whole gain waits as a claim against the market's pool.
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await open(fx, model, fx.alice, LONG, 1000, 10);
    await open(fx, model, fx.bob, LONG, 2000, 5);
    const bobMargin = model.position(fx.ammAddress, fx.bob.address).margin;
    const close = model.close(fx.alice.address, fx.ammAddress);
    expect(close.claim).to.equal(close.realizedPnl);
    await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE))
      .to.emit(fx.vault, "ClaimQueued")
      .withArgs(fx.ammAddress, fx.alice.address, 0n, close.claim, close.claim);
    const spot = model.amm(fx.ammAddress).spotPrice();
    const price = (spot / FEED_UNIT) * FEED_UNIT;
    await recordIndex(fx, price);
    await time.increase(IDLE);
    // The pool holds Bob's margin (Alice took hers home, the fees went to the fund); her claim is owed first.
    const s = await settle(fx, model, price);
    expect(s.poolValue).to.equal(bobMargin - close.claim);
    await record(fx, model, s, fx.bob);
    // Valued at the price, Bob's loss is less than the curve made Alice's gain: the claims exceed the
    // pool value and Bob is paid pro rata, which leaves Alice's claim whole.
    expect(s.claims > s.poolValue, "pro rata").to.equal(true);
    expect(model.payClaims(fx.ammAddress)).to.deep.equal([
      { trader: fx.alice.address, amount: close.claim, remaining: 0n },
    ]);
    await expect(fx.vault.payClaims(fx.ammAddress, 1n))
      .to.emit(fx.vault, "ClaimPaid")
      .withArgs(fx.ammAddress, fx.alice.address, close.claim, 0n);
    // Three swaps (two opens and Alice's close) and the pro-rata division: only dust stays.
    await expectOnlyDust(fx, model, 4);
  });

  it("a market with no open position settles complete at once", async function () {
    const fx = await networkHelpers.loadFixture(settlementFixture);
    const model = modelOf(fx);
    await recordIndex(fx, toWad(100));
    await time.increase(IDLE);
    const s = await settle(fx, model, toWad(100));
    expect(s.complete()).to.equal(true);
    await expect(fx.ch.settlePosition(fx.ammAddress, fx.alice.address))
      .to.be.revertedWithCustomError(fx.ch, "NoPosition")
      .withArgs(fx.alice.address, fx.ammAddress);
  });

  describe("reverts", function () {
    it("settleMarket: owner only; no recorded index; settled twice", async function () {
      const fx = await networkHelpers.loadFixture(settlementFixture);
      await expect(fx.ch.connect(fx.alice).settleMarket(fx.ammAddress))
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.alice.address);
      // the oracle is set but no index was recorded yet: the Amm has no TWAP to give
      await expect(fx.ch.settleMarket(fx.ammAddress)).to.be.revertedWithCustomError(fx.amm, "NoIndexPrice");
      // a market without an oracle cannot be settled either
      const other = await deployMarket(ethers, fx, { quoteReserve: Q0, baseReserve: B0 });
      await expect(fx.ch.settleMarket(await other.getAddress())).to.be.revert(ethers);
      await recordIndex(fx, toWad(100));
      await time.increase(IDLE);
      await (await fx.ch.settleMarket(fx.ammAddress)).wait();
      await expect(fx.ch.settleMarket(fx.ammAddress))
        .to.be.revertedWithCustomError(fx.ch, "MarketIsSettled")
        .withArgs(fx.ammAddress);
    });

    it("settleMarket refreshes the index first and refuses a TWAP the index no longer backs", async function () {
      const fx = await networkHelpers.loadFixture(settlementFixture);
      // The last record says 3,100; two hours on, the oracle says 2,850 and nobody recorded it.
      await recordIndex(fx, toWad(3_100));
      await time.increase(7_200);
      let now = BigInt(await time.latest()) + 1n;
      await (await fx.aggregator!.setAnswer(toFeedUnits(toWad(2_850), 8), now)).wait();
      // 3,100 - 2,850 = 250 is more than 2% of 2,850 (57): refused, and the refresh is undone with it.
      await expect(fx.ch.settleMarket(fx.ammAddress))
        .to.be.revertedWithCustomError(fx.ch, "SettlementIndexStale")
        .withArgs(fx.ammAddress, toWad(3_100), toWad(2_850));
      expect(await fx.amm.getIndexTwap(0)).to.equal(toWad(3_100));
      // A TWAP exactly 2% away (2,907 against 2,850) is accepted; one feed unit (1e-8) more is not.
      await recordIndex(fx, toWad(2_907) + FEED_UNIT);
      await time.increase(IDLE);
      now = BigInt(await time.latest()) + 1n;
      await (await fx.aggregator!.setAnswer(toFeedUnits(toWad(2_850), 8), now)).wait();
      await expect(fx.ch.settleMarket(fx.ammAddress))
        .to.be.revertedWithCustomError(fx.ch, "SettlementIndexStale")
        .withArgs(fx.ammAddress, toWad(2_907) + FEED_UNIT, toWad(2_850));
      // An oracle with no valid price (its answer older than the one-day heartbeat): indexPrice 0.
      now = BigInt(await time.latest()) + 1n;
      await (await fx.aggregator!.setAnswer(toFeedUnits(toWad(2_850), 8), now - 2n * 86_400n)).wait();
      await expect(fx.ch.settleMarket(fx.ammAddress))
        .to.be.revertedWithCustomError(fx.ch, "SettlementIndexStale")
        .withArgs(fx.ammAddress, toWad(2_907) + FEED_UNIT, 0n);
      await recordIndex(fx, toWad(2_907));
      await time.increase(IDLE);
      now = BigInt(await time.latest()) + 1n;
      await (await fx.aggregator!.setAnswer(toFeedUnits(toWad(2_850), 8), now)).wait();
      await expect(fx.ch.settleMarket(fx.ammAddress))
        .to.emit(fx.ch, "MarketSettled")
        .withArgs(fx.ammAddress, toWad(2_907), 0n, 0n);
      // The settlement recorded the index it checked: 2,850 in the settling block.
      expect(await fx.amm.getIndexTwap(0)).to.equal(toWad(2_850));
    });

    it("settlePosition before settlement: MarketNotSettled", async function () {
      const fx = await networkHelpers.loadFixture(settlementFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, 1000, 10);
      await expect(fx.ch.settlePosition(fx.ammAddress, fx.alice.address))
        .to.be.revertedWithCustomError(fx.ch, "MarketNotSettled")
        .withArgs(fx.ammAddress);
    });

    it("after settlement: trading, funding, margin and liquidation revert MarketIsSettled", async function () {
      const fx = await networkHelpers.loadFixture(settlementFixture);
      const model = modelOf(fx);
      await threePositions(fx, model, toWad(100));
      await settle(fx, model, toWad(100));
      const a = fx.ammAddress;
      const calls: [string, () => Promise<ContractTransactionResponse>][] = [
        ["open", () => fx.ch.connect(fx.carol).openPosition(a, Side.LONG, toWad(10), toWad(2), 0n, MAX_DEADLINE)],
        ["increase", () => fx.ch.connect(fx.alice).openPosition(a, Side.LONG, toWad(10), toWad(2), 0n, MAX_DEADLINE)],
        ["reduce", () => fx.ch.connect(fx.alice).openPosition(a, Side.SHORT, toWad(10), toWad(2), 0n, MAX_DEADLINE)],
        ["close", () => fx.ch.connect(fx.alice).closePosition(a, 0n, MAX_DEADLINE)],
        ["updateFunding", () => fx.ch.connect(fx.carol).updateFunding(a)],
        ["addMargin", () => fx.ch.connect(fx.alice).addMargin(a, toWad(1))],
        // The market is checked before the trader's free collateral.
        ["addMargin beyond free collateral", () => fx.ch.connect(fx.alice).addMargin(a, toWad(1_000_000_000))],
        ["removeMargin", () => fx.ch.connect(fx.alice).removeMargin(a, toWad(1))],
        ["liquidate", () => fx.ch.connect(fx.carol).liquidate(a, fx.alice.address)],
        ["liquidateWithLimit", () => fx.ch.connect(fx.carol).liquidateWithLimit(a, fx.alice.address, 0n, MAX_DEADLINE)],
      ];
      for (const [name, call] of calls) {
        await expect(call(), name).to.be.revertedWithCustomError(fx.ch, "MarketIsSettled").withArgs(a);
      }
      await expect(fx.ch.settlePosition(a, fx.carol.address))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.carol.address, a);
    });
  });
});
