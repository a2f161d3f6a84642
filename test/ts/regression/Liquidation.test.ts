/**
 * Regression (issue 6): liquidation and insurance-fund attacks. Each test runs the attack and asserts
 * the safe outcome: the revert that stops it (with its named custom error) or that the attackers end
 * with less than they started with.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { deployFixture, freeOf, GAS, SCALE, TWAP_WINDOW, USDC } from "./setup.js";
import { inOneBlock } from "../helpers/blocks.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;
const MMR = toWad("0.0625");
const DAY = 86_400;

describe("Regression: liquidation and insurance-fund attacks", function () {
  it("liquidation sandwich", async function () {
    const fx = await deployFixture(ethers);
    // The victim: an 8x long, healthy at the price it has held for the TWAP window.
    await (
      await fx.ch.connect(fx.carol).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(8), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    const attackers = [fx.alice, fx.bob];
    const start = await freeOf(fx, attackers);
    // One block: push the price down ~19%, liquidate the victim, take the push back.
    const { txs, statuses } = await inOneBlock(ethers, [
      () => fx.ch.connect(fx.alice).openPosition(fx.market, Side.SHORT, toWad(25_000), toWad(4), 0n, MAX_DEADLINE, GAS),
      () => fx.ch.connect(fx.bob).liquidate(fx.market, fx.carol.address, GAS),
      () => fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE, GAS),
    ]);
    expect(statuses).to.deep.equal([1, 0, 1]);
    await expect(txs[1]).to.be.revertedWithCustomError(fx.ch, "NotLiquidatable");
    expect((await fx.ch.getPosition(fx.market, fx.carol.address)).size).to.be.greaterThan(0n);
    expect(await freeOf(fx, attackers), "the sandwich costs the attackers their fees").to.be.lessThan(start);
  });

  it("withdrawing to maintenance then self-liquidating from a second account", async function () {
    const fx = await deployFixture(ethers);
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    // Margin can come out only down to the initial ratio, never to maintenance.
    await expect(fx.ch.connect(fx.alice).removeMargin(fx.market, toWad(350))).to.be.revertedWithCustomError(
      fx.ch,
      "MarginRatioTooLow",
    );
    await expect(fx.ch.connect(fx.alice).removeMargin(fx.market, toWad(10))).to.be.revertedWithCustomError(
      fx.ch,
      "MarginRatioTooLow",
    );
    // The market falls ~7.5% and stays there: Alice is below maintenance but still worth something.
    await (
      await fx.ch.connect(fx.bob).openPosition(fx.market, Side.SHORT, toWad(4_600), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    const ratio = await fx.ch.getLiquidationMarginRatio(fx.market, fx.alice.address);
    expect(ratio).to.be.lessThan(MMR);
    expect(ratio).to.be.greaterThan(0n);
    await expect(fx.ch.connect(fx.alice).liquidate(fx.market, fx.alice.address)).to.be.revertedWithCustomError(
      fx.ch,
      "SelfLiquidation",
    );
    const pair = [fx.alice, fx.carol];
    const snapshot = await networkHelpers.takeSnapshot();
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    const byClosing = await freeOf(fx, pair);
    await snapshot.restore();
    while ((await fx.ch.getPosition(fx.market, fx.alice.address)).size !== 0n) {
      await (await fx.ch.connect(fx.carol).liquidate(fx.market, fx.alice.address)).wait();
    }
    expect(await freeOf(fx, pair), "self-liquidation pays less than closing").to.be.lessThan(byClosing);
  });

  it("dust positions and 1-wei margin top-ups that try to block a liquidation", async function () {
    const fx = await deployFixture(ethers);
    // A position and a dust position (notional 5, below the 10 minimum), both 10x long.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await (
      await fx.ch.connect(fx.dave).openPosition(fx.market, Side.LONG, toWad("0.5"), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await (
      await fx.ch.connect(fx.bob).openPosition(fx.market, Side.SHORT, toWad(3_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    expect(await fx.ch.getLiquidationMarginRatio(fx.market, fx.alice.address)).to.be.lessThan(MMR);
    // Alice front-runs the liquidator with 1-wei top-ups in the same block: the liquidation still lands.
    const sizeBefore = (await fx.ch.getPosition(fx.market, fx.alice.address)).size;
    const { statuses } = await inOneBlock(ethers, [
      () => fx.ch.connect(fx.alice).addMargin(fx.market, 1n, GAS),
      () => fx.ch.connect(fx.alice).addMargin(fx.market, 1n, GAS),
      () => fx.ch.connect(fx.carol).liquidate(fx.market, fx.alice.address, GAS),
    ]);
    expect(statuses).to.deep.equal([1, 1, 1]);
    expect((await fx.ch.getPosition(fx.market, fx.alice.address)).size).to.be.lessThan(sizeBefore);
    // The dust position is closed whole, not left behind as unliquidatable dust.
    await expect(fx.ch.connect(fx.carol).liquidate(fx.market, fx.dave.address)).to.emit(fx.ch, "PositionLiquidated");
    expect((await fx.ch.getPosition(fx.market, fx.dave.address)).size).to.equal(0n);
    // A 1-wei margin position buys nothing: it is refused rather than opened as unliquidatable dust.
    await expect(
      fx.ch.connect(fx.erin).openPosition(fx.market, Side.LONG, 1n, toWad(10), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.amm, "ZeroSwapAmount");
  });

  it("draining the insurance fund through any user path", async function () {
    const fx = await deployFixture(ethers);
    const fundAddress = await fx.insuranceFund.getAddress();
    const assets0 = await fx.insuranceFund.totalAssets();
    const s = fx.stranger;
    // Standard ERC4626 exits are closed: exits go through the cooldown queue.
    await expect(
      fx.insuranceFund.connect(fx.staker).withdraw(1n, fx.staker.address, fx.staker.address),
    ).to.be.revertedWithCustomError(fx.insuranceFund, "ERC4626ExceededMaxWithdraw");
    await expect(
      fx.insuranceFund.connect(fx.staker).redeem(1n, fx.staker.address, fx.staker.address),
    ).to.be.revertedWithCustomError(fx.insuranceFund, "ERC4626ExceededMaxRedeem");
    // Someone else's shares, the Vault's insurance account and its ledger are out of reach.
    await expect(fx.insuranceFund.connect(s).completeRedeem(s.address)).to.be.revertedWithCustomError(
      fx.insuranceFund,
      "NoRedeemRequest",
    );
    await expect(fx.insuranceFund.connect(s).requestRedeem(1n)).to.be.revertedWithCustomError(
      fx.insuranceFund,
      "ERC20InsufficientBalance",
    );
    await expect(fx.vault.connect(s).withdrawInsurance(s.address, 1n)).to.be.revertedWithCustomError(
      fx.vault,
      "OnlyInsuranceFund",
    );
    await expect(
      fx.vault.connect(s).settle(s.address, fx.market, toWad(1), -toWad(1), 0n, 0n),
    ).to.be.revertedWithCustomError(fx.vault, "OnlyClearingHouse");
    // A staker cannot skip the cooldown, nor open a second request.
    const shares = await fx.insuranceFund.balanceOf(fx.staker.address);
    await (await fx.insuranceFund.connect(fx.staker).requestRedeem(shares / 2n)).wait();
    await expect(fx.insuranceFund.connect(fx.staker).completeRedeem(fx.staker.address)).to.be.revertedWithCustomError(
      fx.insuranceFund,
      "CooldownNotElapsed",
    );
    await expect(fx.insuranceFund.connect(fx.staker).requestRedeem(1n)).to.be.revertedWithCustomError(
      fx.insuranceFund,
      "RedeemRequestOpen",
    );
    // Trading paths: round trips pay fees into the fund; a healthy position cannot be liquidated for
    // a reward, nor one's own.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(10_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await expect(fx.ch.connect(fx.bob).liquidate(fx.market, fx.alice.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
    await expect(fx.ch.connect(fx.alice).liquidate(fx.market, fx.alice.address)).to.be.revertedWithCustomError(
      fx.ch,
      "SelfLiquidation",
    );
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    // Tokens sent to the fund contract are not counted (no donation to inflate or deflate shares).
    await (await fx.usdc.mint(s.address, USDC(1))).wait();
    await (await fx.usdc.connect(s).transfer(fundAddress, USDC(1))).wait();
    expect(await fx.insuranceFund.totalAssets()).to.be.greaterThan(assets0);
    const [, insurance] = await fx.vault.getPoolBalances();
    expect(await fx.insuranceFund.totalAssets()).to.equal(insurance / SCALE);
    expect(await fx.usdc.balanceOf(s.address)).to.equal(0n);
  });

  it("staker running ahead of a bad-debt settlement", async function () {
    const fx = await deployFixture(ethers);
    // A 10x long, then a crash of ~20% that stays: the long is far underwater, not yet liquidatable.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(2_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await (
      await fx.ch.connect(fx.bob).openPosition(fx.market, Side.SHORT, toWad(11_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    expect(await fx.ch.getMarginRatio(fx.market, fx.alice.address)).to.be.lessThan(0n);
    await expect(fx.ch.connect(fx.carol).liquidate(fx.market, fx.alice.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
    // The staker sees the bad debt coming and asks to leave at today's value.
    const shares = await fx.insuranceFund.balanceOf(fx.staker.address);
    await (await fx.insuranceFund.connect(fx.staker).requestRedeem(shares)).wait();
    const atRequest = (await fx.insuranceFund.redeemRequest(fx.staker.address)).assetsAtRequest;
    // The bad debt lands during the cooldown.
    await time.increase(TWAP_WINDOW + 100);
    await expect(fx.ch.connect(fx.carol).liquidate(fx.market, fx.alice.address)).to.emit(fx.ch, "PositionLiquidated");
    const liq = (await fx.ch.queryFilter(fx.ch.filters.PositionLiquidated()))[0];
    expect(liq.args.badDebt).to.be.greaterThan(0n);
    const assetsNow = await fx.insuranceFund.previewRedeem(shares);
    expect(assetsNow).to.be.lessThan(atRequest);
    await expect(fx.insuranceFund.connect(fx.staker).completeRedeem(fx.staker.address)).to.be.revertedWithCustomError(
      fx.insuranceFund,
      "CooldownNotElapsed",
    );
    await time.increase(7 * DAY);
    await (await fx.insuranceFund.connect(fx.staker).completeRedeem(fx.staker.address)).wait();
    // The staker bears the loss: paid the lower value, not the value at the request.
    expect(await fx.usdc.balanceOf(fx.staker.address)).to.equal(assetsNow);
    expect(await fx.usdc.balanceOf(fx.staker.address)).to.be.lessThan(atRequest);
  });

  it("ERC4626 first-depositor inflation on the insurance fund", async function () {
    const fx = await deployFixture(ethers, { stake: 0n });
    const fundAddress = await fx.insuranceFund.getAddress();
    const attacker = fx.alice;
    const victim = fx.staker;
    await (await fx.usdc.mint(attacker.address, USDC(10_001))).wait();
    await (await fx.usdc.connect(attacker).approve(fundAddress, 1n)).wait();
    // 1 unit mints 10^6 shares (virtual offset).
    await (await fx.insuranceFund.connect(attacker).deposit(1n, attacker.address)).wait();
    // Donation by transfer is not counted ...
    await (await fx.usdc.connect(attacker).transfer(fundAddress, USDC(10_000))).wait();
    expect(await fx.insuranceFund.totalAssets()).to.equal(1n);
    // ... donation through trading fees is (0.1% of 2 x 1,000,000 notional = ~2,000).
    const freeBefore = await fx.vault.freeCollateral(attacker.address);
    for (let i = 0; i < 10; i++) {
      await (
        await fx.ch.connect(attacker).openPosition(fx.market, Side.LONG, toWad(10_000), toWad(10), 0n, MAX_DEADLINE)
      ).wait();
      await (await fx.ch.connect(attacker).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    }
    const spentOnFees = freeBefore - (await fx.vault.freeCollateral(attacker.address));
    expect(await fx.insuranceFund.totalAssets()).to.be.greaterThan(USDC(1_900));
    // The victim deposits 1,000 and can redeem it all but dust.
    const deposit = USDC(1_000);
    await (await fx.usdc.mint(victim.address, deposit)).wait();
    await (await fx.usdc.connect(victim).approve(fundAddress, deposit)).wait();
    await (await fx.insuranceFund.connect(victim).deposit(deposit, victim.address)).wait();
    const victimValue = await fx.insuranceFund.previewRedeem(await fx.insuranceFund.balanceOf(victim.address));
    expect(deposit - victimValue, "the victim loses at most dust").to.be.lessThanOrEqual(1_000n); // 0.001 USDC
    // The attacker's shares are worth less than it put in (1 unit + fees).
    const attackerValue = await fx.insuranceFund.previewRedeem(await fx.insuranceFund.balanceOf(attacker.address));
    expect(attackerValue * SCALE).to.be.lessThan(spentOnFees + SCALE);
  });
});
