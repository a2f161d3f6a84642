/**
 * The trader API's previews (ClearingHouseViewer.previewOpen / previewClose / maxRemovableMargin)
 * and reducePosition, in a market with every limit on (max trade, per-block band, open-interest
 * cap) and funding running. A preview must equal, field by field, what the trade it previews does
 * when it runs in the same state at the same timestamp; the reversal's dust rule is checked on Perp
 * v1's "open position - one long and two shorts" case with figures worked out by hand.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { deployCore, deployMarket, deployOracle, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { USDC } from "./helpers/fixtures.js";
import { deployLimitedMarket } from "./helpers/running-market.js";

const { ethers, networkHelpers } = await network.create();

/** ceil(a / b) for positive bigints. */
const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

const TradeKind = { OPEN: 0n, INCREASE: 1n, REDUCE: 2n, REVERSE: 3n, CLOSE: 4n } as const;

async function liveMarket() {
  const [, alice, bob, carol] = await ethers.getSigners();
  const { system, amm, market, ch } = await deployLimitedMarket(ethers, [alice, bob, carol]);
  await (await ch.connect(carol).openPosition(market, Side.SHORT, toWad(5_000), toWad(3), 0n, MAX_DEADLINE)).wait();
  await networkHelpers.time.increase(400);
  await (await ch.updateFunding(market)).wait();
  await networkHelpers.time.increase(400);
  await (await ch.updateFunding(market)).wait();
  await networkHelpers.time.increase(120);
  return { system, ch, viewer: system.viewer, amm, market, alice, bob, carol };
}

/** The PositionChanged event of a mined trade. */
async function positionChanged(ch: Awaited<ReturnType<typeof liveMarket>>["ch"], tx: ContractTransactionResponse) {
  const receipt = await tx.wait();
  for (const log of receipt!.logs) {
    const parsed = ch.interface.parseLog(log);
    if (parsed?.name === "PositionChanged") return parsed.args;
  }
  throw new Error("no PositionChanged");
}

/** Pins the next block's timestamp, so a `pending` preview and the trade see the same clock. */
async function pinNextBlock(): Promise<number> {
  const next = (await networkHelpers.time.latest()) + 7;
  await networkHelpers.time.setNextBlockTimestamp(next);
  return next;
}

describe("Previews and reducePosition (every limit on, funding running)", function () {
  for (const c of [
    {
      name: "an open",
      setup: [] as [number, number, number][],
      side: Side.LONG,
      margin: 1_000,
      lev: 5,
      kind: TradeKind.OPEN,
    },
    {
      name: "an increase",
      setup: [[Side.LONG, 1_000, 5]],
      side: Side.LONG,
      margin: 500,
      lev: 3,
      kind: TradeKind.INCREASE,
    },
    {
      name: "a reduce",
      setup: [[Side.LONG, 1_000, 5]],
      side: Side.SHORT,
      margin: 200,
      lev: 10,
      kind: TradeKind.REDUCE,
    },
    {
      name: "a reversal",
      setup: [[Side.SHORT, 1_000, 5]],
      side: Side.LONG,
      margin: 1_000,
      lev: 8,
      kind: TradeKind.REVERSE,
    },
  ]) {
    it(`previewOpen of ${c.name} equals the trade, field by field`, async function () {
      const fx = await liveMarket();
      for (const [side, margin, lev] of c.setup) {
        await (
          await fx.ch.connect(fx.alice).openPosition(fx.market, side, toWad(margin), toWad(lev), 0n, MAX_DEADLINE)
        ).wait();
        await networkHelpers.time.increase(300);
      }
      await pinNextBlock();
      const pv = await fx.viewer.previewOpen(fx.market, fx.alice.address, c.side, toWad(c.margin), toWad(c.lev), {
        blockTag: "pending",
      });
      expect(pv.kind).to.equal(c.kind);
      const before = await fx.ch.getPosition(fx.market, fx.alice.address);
      const claimBefore = await fx.system.vault.claimOf(fx.market, fx.alice.address);
      const e = await positionChanged(
        fx.ch,
        await fx.ch.connect(fx.alice).openPosition(fx.market, c.side, toWad(c.margin), toWad(c.lev), 0n, MAX_DEADLINE),
      );
      expect([
        pv.baseDelta,
        pv.quoteAmount,
        pv.fee,
        pv.fundingPayment,
        pv.realizedPnl,
        pv.freeCollateralDelta,
      ]).to.deep.equal([e.baseDelta, e.quoteAmount, e.fee, e.fundingPayment, e.realizedPnl, e.freeCollateralDelta]);
      expect([pv.size, pv.margin, pv.openNotional]).to.deep.equal([e.size, e.margin, e.openNotional]);
      expect(pv.size - before.size).to.equal(pv.baseDelta);
      // The claim the preview foresees is the one the trade queued.
      const claimAfter = await fx.system.vault.claimOf(fx.market, fx.alice.address);
      expect(pv.claim, "claim").to.equal(claimAfter - claimBefore);
      // The margin ratio after, at the spot the trade left, is the ClearingHouse's own figure.
      expect(pv.marginRatio).to.equal(await fx.ch.getMarginRatio(fx.market, fx.alice.address));
      expect(pv.spotPriceAfter).to.equal(await fx.amm.getSpotPrice());
      expect(pv.liquidationPrice).to.equal(await fx.viewer.getLiquidationPrice(fx.market, fx.alice.address));
      if (c.kind === TradeKind.OPEN) {
        // A fresh open, worked out by hand: notional 5,000, fee 5 (0.1%), margin 1,000.
        expect([pv.quoteAmount, pv.fee, pv.margin, pv.freeCollateralDelta]).to.deep.equal([
          toWad(5_000),
          toWad(5),
          toWad(1_000),
          -toWad(1_005),
        ]);
        expect(pv.entryPrice).to.equal((toWad(5_000) * WAD) / pv.baseDelta);
      }
    });
  }

  it("previewClose and closePosition agree; an empty position previews zeros", async function () {
    const fx = await liveMarket();
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(4), 0n, MAX_DEADLINE)
    ).wait();
    await networkHelpers.time.increase(600);
    await pinNextBlock();
    const pv = await fx.viewer.previewClose(fx.market, fx.alice.address, { blockTag: "pending" });
    const e = await positionChanged(fx.ch, await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE));
    expect([pv.quoteAmount, pv.fee, pv.fundingPayment, pv.realizedPnl, pv.payout]).to.deep.equal([
      e.quoteAmount,
      e.fee,
      e.fundingPayment,
      e.realizedPnl,
      e.freeCollateralDelta,
    ]);
    expect(pv.claim, "claim").to.equal(await fx.system.vault.claimOf(fx.market, fx.alice.address));
    const empty = await fx.viewer.previewClose(fx.market, fx.alice.address);
    expect([
      empty.quoteAmount,
      empty.fee,
      empty.fundingPayment,
      empty.realizedPnl,
      empty.payout,
      empty.claim,
    ]).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n]);
    expect(await fx.viewer.maxRemovableMargin(fx.market, fx.alice.address)).to.equal(0n);
  });

  it("maxRemovableMargin is exactly what removeMargin accepts: the maximum passes, one wei more reverts", async function () {
    const fx = await liveMarket();
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(4), 0n, MAX_DEADLINE)
    ).wait();
    await networkHelpers.time.increase(600);
    await pinNextBlock();
    const max = await fx.viewer.maxRemovableMargin(fx.market, fx.alice.address, { blockTag: "pending" });
    // 4x at 10% initial margin: margin 1,000 less 10% of the ~4,000 exit value can go, less the
    // close's loss to price impact (~3) plus the funding the long has received (~4).
    const exit = await fx.amm.previewSwapBase(
      (await fx.ch.getPosition(fx.market, fx.alice.address)).size,
      (await fx.ch.getPosition(fx.market, fx.alice.address)).size,
    );
    expect(max > toWad(595) && max < toWad(605), `${max}`).to.equal(true);
    expect(max < toWad(1_000) - (exit + WAD - 1n) / 10n + toWad(10)).to.equal(true);
    const snapshot = await networkHelpers.takeSnapshot();
    await expect(fx.ch.connect(fx.alice).removeMargin(fx.market, max + 1n)).to.be.revertedWithCustomError(
      fx.ch,
      "MarginRatioTooLow",
    );
    await snapshot.restore();
    await networkHelpers.time.setNextBlockTimestamp((await networkHelpers.time.latest()) + 7);
    await expect(fx.ch.connect(fx.alice).removeMargin(fx.market, max)).to.emit(fx.ch, "MarginChanged");
  });

  it("bad input is refused by the preview with the trade's own error", async function () {
    const fx = await liveMarket();
    await expect(fx.viewer.previewOpen(fx.market, fx.alice.address, Side.LONG, toWad(100), toWad(11)))
      .to.be.revertedWithCustomError(fx.ch, "LeverageTooHigh")
      .withArgs(toWad(11), toWad(10));
    await expect(
      fx.viewer.previewOpen(fx.market, fx.alice.address, Side.LONG, toWad(2_000_000), toWad(2)),
    ).to.be.revertedWithCustomError(fx.system.vault, "InsufficientFreeCollateral");
    await expect(
      fx.viewer.previewOpen(fx.market, fx.alice.address, Side.LONG, 0n, toWad(2)),
    ).to.be.revertedWithCustomError(fx.ch, "ZeroAmount");
    await expect(
      fx.viewer.previewOpen(fx.alice.address, fx.alice.address, Side.LONG, toWad(1), toWad(2)),
    ).to.be.revertedWithCustomError(fx.ch, "MarketNotListed");
  });

  it("reducePosition closes part of a position at the pool's price, to the wei", async function () {
    const fx = await liveMarket();
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    const p = await fx.ch.getPosition(fx.market, fx.alice.address);
    const half = p.size / 2n;
    const [q, b] = await fx.amm.getReserves();
    // Closing `half` of a long puts it back: newQuote = ceil(q*b / (b + half)).
    const quote = q - ceilDiv(q * b, b + half);
    await networkHelpers.time.increase(60);
    await expect(
      fx.ch.connect(fx.alice).reducePosition(fx.market, half, quote + 1n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed");
    const available = await fx.system.vault.profitAvailable(fx.market);
    const e = await positionChanged(
      fx.ch,
      await fx.ch.connect(fx.alice).reducePosition(fx.market, half, quote, MAX_DEADLINE),
    );
    // The closed half's basis rounds up against the trader: ceil(openNotional * half / size).
    const basis = ceilDiv(p.openNotional * half, p.size);
    const pnl = quote - basis;
    const fee = ceilDiv(quote * toWad("0.001"), WAD);
    expect(e.fee).to.equal(fee);
    // The profit is realised only up to what the market's pool holds beyond its locked margin (net
    // of pending funding) and claims; the rest stays unrealised in the rest of the position (its
    // basis gives it up), as far as the margin after the reduce carries it. Funding settles in full.
    const marginAfter = p.margin - (e.fundingPayment as bigint) + pnl - fee;
    let carried = pnl > available ? pnl - available : 0n;
    if (carried > marginAfter) carried = marginAfter;
    expect([e.baseDelta, e.quoteAmount, e.realizedPnl, e.size, e.openNotional]).to.deep.equal([
      -half,
      quote,
      pnl - carried,
      p.size - half,
      p.openNotional - basis - carried,
    ]);
    expect(e.margin).to.equal(marginAfter - carried);
    expect(await fx.system.vault.claimOf(fx.market, fx.alice.address)).to.equal(0n);
    await expect(fx.ch.connect(fx.alice).reducePosition(fx.market, p.size, 0n, MAX_DEADLINE))
      .to.be.revertedWithCustomError(fx.ch, "ReduceExceedsPosition")
      .withArgs(p.size, p.size - half);
    await expect(fx.ch.connect(fx.alice).reducePosition(fx.market, 0n, 0n, MAX_DEADLINE)).to.be.revertedWithCustomError(
      fx.ch,
      "ZeroAmount",
    );
    // The rest, all of it: a close, and the margin goes home.
    const last = await positionChanged(
      fx.ch,
      await fx.ch.connect(fx.alice).reducePosition(fx.market, p.size - half, 0n, MAX_DEADLINE),
    );
    expect([last.size, last.margin, last.openNotional]).to.deep.equal([0n, 0n, 0n]);
    expect(last.freeCollateralDelta > 0n).to.equal(true);
  });

  it("reducePosition stays open in a reduce-only market and while paused it is refused", async function () {
    const fx = await liveMarket();
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await (await fx.ch.pause()).wait();
    await expect(fx.ch.connect(fx.alice).reducePosition(fx.market, 1n, 0n, MAX_DEADLINE)).to.be.revertedWithCustomError(
      fx.ch,
      "EnforcedPause",
    );
  });
});

describe("Perp v1 'open position - one long and two shorts': the dust reversal", function () {
  it("a short of 500 against an exit value of 499.999999999999999995 closes the long and opens nothing", async function () {
    const system = await deployCore(ethers);
    const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000), baseReserve: toWad(100) });
    const market = await amm.getAddress();
    const [, alice] = await ethers.getSigners();
    await fund(system, alice, USDC(2_000));
    const ch = system.clearingHouse;
    // Long 60 x 10 = 600: base reserve 1000*100/1600 = 62.5, Alice holds 37.5.
    await (await ch.connect(alice).openPosition(market, Side.LONG, toWad(60), toWad(10), 0n, MAX_DEADLINE)).wait();
    expect((await ch.getPosition(market, alice.address)).size).to.equal(toWad("37.5"));
    // Short 20 x 5 = 100: quote 1500, base ceil(1e5*1e36/1500e18) = 66.666...667; Alice holds 37.5 - 4.1666...667.
    await (await ch.connect(alice).openPosition(market, Side.SHORT, toWad(20), toWad(5), 0n, MAX_DEADLINE)).wait();
    const p = await ch.getPosition(market, alice.address);
    const [q, b] = await amm.getReserves();
    expect(q).to.equal(toWad(1_500));
    // Closing the rest puts the base reserve back to ~100: the exit value is 500 less the pool's rounding.
    const exit = q - ceilDiv(q * b, b + p.size);
    expect(exit).to.equal(toWad(500) - 5n);
    expect(await amm.previewSwapBase(p.size, p.size)).to.equal(exit);
    // The second short, 50 x 10 = 500, exceeds the exit value by 5 wei: a reversal whose rest
    // (5 wei) buys less than one wei of base at ~10 quote per base. It is a plain close.
    const pv = await system.viewer.previewOpen(market, alice.address, Side.SHORT, toWad(50), toWad(10));
    expect(pv.kind).to.equal(TradeKind.CLOSE);
    const freeBefore = await system.vault.freeCollateral(alice.address);
    const tx = await ch.connect(alice).openPosition(market, Side.SHORT, toWad(50), toWad(10), 0n, MAX_DEADLINE);
    const e = await positionChanged(ch as never, tx);
    expect([e.baseDelta, e.quoteAmount, e.size, e.margin, e.openNotional]).to.deep.equal([-p.size, exit, 0n, 0n, 0n]);
    expect([pv.baseDelta, pv.quoteAmount, pv.size, pv.freeCollateralDelta]).to.deep.equal([
      -p.size,
      exit,
      0n,
      e.freeCollateralDelta,
    ]);
    // The margin and the PnL came home: nothing is left behind that could not be closed.
    expect(await system.vault.freeCollateral(alice.address)).to.equal(freeBefore + e.freeCollateralDelta);
    expect(e.freeCollateralDelta).to.equal(p.margin + exit - p.openNotional);
  });
});
