/**
 * ClearingHouseViewer: its figures against numbers computed here with bigint arithmetic from the
 * pool's reserves and the position (PnL and margin ratio at the spot price with the ClearingHouse's
 * rounding, the liquidation price from its formula), the liquidation flag and preview against an
 * actual liquidation, empty positions and unlisted markets read as zeros, and the batch's errors.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { abs, mulDivDown, mulDivUp, toWad, WAD } from "../../scripts/lib/fixed.js";
import type { Amm, ClearingHouseViewer } from "../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const USDC = (whole: number): bigint => BigInt(whole) * 10n ** 6n;
const MMR = toWad("0.0625");

async function deploySystem() {
  const system = await deployCore(ethers);
  const [, alice, bob, carol, whale, liquidator] = await ethers.getSigners();
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000_000), baseReserve: toWad(1_000) });
  for (const trader of [alice, bob, whale, liquidator]) await fund(system, trader, USDC(50_000));
  const ch = system.clearingHouse;
  const market = await amm.getAddress();
  await (await ch.connect(alice).openPosition(market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)).wait();
  await (await ch.connect(bob).openPosition(market, Side.SHORT, toWad(1_000), toWad(4), 0n, MAX_DEADLINE)).wait();
  return { system, amm, market, alice, bob, carol, whale, liquidator };
}

/** floor(equity x WAD / notional), toward minus infinity, as the ClearingHouse's `_ratio`. */
function ratioDown(equity: bigint, notional: bigint): bigint {
  const scaled = equity * WAD;
  const q = scaled / notional;
  return scaled < 0n && q * notional !== scaled ? q - 1n : q;
}

/** What the viewer should answer for a position, from the reserves and the position alone (no funding here). */
async function expected(amm: Amm, position: { size: bigint; margin: bigint; openNotional: bigint }) {
  const [q, b] = await amm.getReserves();
  const { size, margin, openNotional } = position;
  // Valued at spot from the reserves: a long's value rounded down, a short's cost rounded up.
  const notional = size > 0n ? mulDivDown(size, q, b) : mulDivUp(-size, q, b);
  const pnl = size > 0n ? notional - openNotional : openNotional - notional;
  const marginRatio = ratioDown(margin + pnl, notional);
  const liquidationPrice =
    size > 0n
      ? margin >= openNotional
        ? 0n
        : mulDivUp(openNotional - margin, WAD * WAD, size * (WAD - MMR))
      : margin + openNotional <= 0n
        ? 0n
        : mulDivDown(margin + openNotional, WAD * WAD, -size * (WAD + MMR));
  return { notional, pnl, marginRatio, liquidationPrice };
}

async function view(viewer: ClearingHouseViewer, market: string, trader: string) {
  const [v] = await viewer.getPositions([market], [trader]);
  return v;
}

describe("ClearingHouseViewer", function () {
  it("answers a batch with figures computed from the reserves and the positions", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { viewer, clearingHouse: ch, vault } = d.system;
    const views = await viewer.getPositions([d.market, d.market, d.market], [d.alice, d.bob, d.carol]);
    expect(views).to.have.length(3);

    for (const [i, trader] of [d.alice, d.bob].entries()) {
      const v = views[i];
      const p = await ch.getPosition(d.market, trader);
      expect([v.size, v.margin, v.openNotional]).to.deep.equal([p.size, p.margin, p.openNotional]);
      const e = await expected(d.amm, p);
      expect(v.pendingFunding, "no oracle: no funding").to.equal(0n);
      expect(v.unrealizedPnl).to.equal(e.pnl);
      expect(v.marginRatio).to.equal(e.marginRatio);
      expect(v.liquidationPrice).to.equal(e.liquidationPrice);
      // The best for the trader of spot and the mark TWAP (no index here): never below spot's.
      expect(v.liquidationMarginRatio).to.equal(await ch.getLiquidationMarginRatio(d.market, trader));
      expect(v.liquidationMarginRatio).to.be.at.least(e.marginRatio);
      expect(v.liquidatable).to.equal(false);
      // Free collateral: the deposit less the margin (no fee in this market).
      expect(v.freeCollateral).to.equal(toWad(50_000) - toWad(1_000));
      expect(v.freeCollateral).to.equal(await vault.freeCollateral(trader));
    }
    // The trades' own figures: 10,000 of notional for alice's long, 4,000 for bob's short.
    expect(views[0].openNotional).to.equal(toWad(10_000));
    expect(views[1].openNotional).to.equal(toWad(4_000));
    // Alice's long at 10x: liquidated a few percent below her entry price (about 1,010).
    expect(views[0].liquidationPrice).to.be.greaterThan(toWad(950)).and.lessThan(toWad(1_000));

    // Carol has no position and no deposit: all zeros, never a revert.
    expect(views[2].size).to.equal(0n);
    expect(views[2].liquidatable).to.equal(false);
    expect(views[2].marginRatio).to.equal(0n);
    expect(views[2].freeCollateral).to.equal(0n);
  });

  it("shows a trader's claim in the market: the profit its pool could not pay yet, also once the position is closed", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { viewer, clearingHouse: ch, vault } = d.system;
    // The whale's long lifts the price: Alice's long gains, Bob's short loses, nothing realised yet.
    await (
      await ch.connect(d.whale).openPosition(d.market, Side.LONG, toWad(5_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    const p = await ch.getPosition(d.market, d.alice);
    const [q, b] = await d.amm.getReserves();
    // Closing her long puts its base back: she gets q - ceil(q b / (b + size)).
    const gain = q - (q * b + b + p.size - 1n) / (b + p.size) - p.openNotional;
    expect(gain > 0n).to.equal(true);
    expect((await view(viewer, d.market, d.alice.address)).claim).to.equal(0n);
    // Every margin in the market's pool is locked: her whole gain waits as a claim.
    await (await ch.connect(d.alice).closePosition(d.market, 0n, MAX_DEADLINE)).wait();
    const v = await view(viewer, d.market, d.alice.address);
    expect([v.size, v.claim]).to.deep.equal([0n, gain]);
    expect(v.freeCollateral).to.equal(toWad(50_000));
    // Bob's close realises his loss and the whale's too: payClaims pays her, the view follows.
    await (await ch.connect(d.bob).closePosition(d.market, 0n, MAX_DEADLINE)).wait();
    await (await ch.connect(d.whale).closePosition(d.market, 0n, MAX_DEADLINE)).wait();
    await (await vault.payClaims(d.market, 10n)).wait();
    const after = await view(viewer, d.market, d.alice.address);
    expect([after.claim, after.freeCollateral]).to.deep.equal([0n, toWad(50_000) + gain]);
  });

  it("puts the liquidation price where the spot margin ratio reaches maintenance", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const v = await view(d.system.viewer, d.market, d.alice.address);
    const p = await d.system.clearingHouse.getPosition(d.market, d.alice);
    // At the liquidation price (rounded up) the ratio is at maintenance or just above; one wei
    // below it, under maintenance.
    const ratioAt = (price: bigint) =>
      ratioDown(p.margin + mulDivDown(p.size, price, WAD) - p.openNotional, mulDivDown(p.size, price, WAD));
    expect(ratioAt(v.liquidationPrice)).to.be.at.least(MMR);
    expect(ratioAt(v.liquidationPrice - 1n)).to.be.lessThan(MMR);
  });

  it("flags a position once the price has moved for the TWAP window, and previews its liquidation to the wei", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { viewer, clearingHouse: ch } = d.system;
    // The whale's short pushes the price down ~9%: alice's 10x long falls below maintenance.
    await (
      await ch.connect(d.whale).openPosition(d.market, Side.SHORT, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    let v = await view(viewer, d.market, d.alice.address);
    const e = await expected(d.amm, await ch.getPosition(d.market, d.alice));
    expect(v.marginRatio).to.equal(e.marginRatio);
    expect(v.marginRatio).to.be.lessThan(MMR);
    // Spot alone does not make it liquidatable: the 15-minute mark TWAP still remembers the old price.
    expect(v.liquidationMarginRatio).to.be.greaterThan(v.marginRatio);
    expect(v.liquidatable).to.equal(false);

    await time.increase(16 * 60);
    v = await view(viewer, d.market, d.alice.address);
    expect(v.liquidationMarginRatio).to.equal(await ch.getLiquidationMarginRatio(d.market, d.alice));
    expect(v.liquidatable).to.equal(true);
    // The exact preview of a liquidation is the liquidation itself, run as a staticCall.
    const preview = await ch.connect(d.liquidator).liquidate.staticCall(d.market, d.alice, { blockTag: "pending" });
    expect(preview.baseClosed).to.be.greaterThan(0n);
    expect(preview.quoteClosed).to.equal(await d.amm.previewSwapBase(v.size, preview.baseClosed));
    // Bob's short gains: healthy.
    expect((await view(viewer, d.market, d.bob.address)).liquidatable).to.equal(false);

    // The liquidation closes exactly what the preview said, for exactly its quote, when nothing
    // else happens between (automine: the next block).
    const tx = await ch.connect(d.liquidator).liquidate(d.market, d.alice);
    const receipt = await tx.wait();
    const event = receipt!.logs
      .map((log) => ch.interface.parseLog(log))
      .find((parsed) => parsed?.name === "PositionLiquidated");
    expect(event!.args.baseClosed).to.equal(preview.baseClosed);
    expect(event!.args.quoteClosed).to.equal(preview.quoteClosed);
  });

  it("reads zeros for an unlisted market, reverts on mismatched lengths, and answers single reads", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { viewer } = d.system;
    const notAMarket = await d.system.vault.getAddress();
    const v = await view(viewer, notAMarket, d.alice.address);
    expect([v.size, v.liquidatable, v.liquidationPrice]).to.deep.equal([0n, false, 0n]);
    await expect(viewer.getPositions([d.market, d.market], [d.alice.address]))
      .to.be.revertedWithCustomError(viewer, "LengthMismatch")
      .withArgs(2n, 1n);
    expect(await viewer.getPositions([], [])).to.deep.equal([]);

    const single = await viewer.getPositionView(d.market, d.alice);
    expect(single).to.deep.equal(await view(viewer, d.market, d.alice.address));
    expect(await viewer.getLiquidationPrice(d.market, d.alice)).to.equal(single.liquidationPrice);
    expect(await viewer.getLiquidationPrice(d.market, d.carol)).to.equal(0n);
    expect(await viewer.clearingHouse()).to.equal(await d.system.clearingHouse.getAddress());
    await expect(ethers.deployContract("ClearingHouseViewer", [ethers.ZeroAddress])).to.be.revertedWithCustomError(
      viewer,
      "ZeroAddress",
    );
  });

  it("says not liquidatable while the ClearingHouse is paused", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { viewer, clearingHouse: ch } = d.system;
    await (
      await ch.connect(d.whale).openPosition(d.market, Side.SHORT, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(16 * 60);
    expect((await view(viewer, d.market, d.alice.address)).liquidatable).to.equal(true);
    await (await ch.pause()).wait();
    const v = await view(viewer, d.market, d.alice.address);
    expect(v.liquidatable).to.equal(false);
    expect(abs(v.size)).to.be.greaterThan(0n);
  });
});
