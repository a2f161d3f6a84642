/**
 * Review finding "an armed redemption leaves ahead of visible bad debt" (issue: nothing drains the
 * insurance fund or traps a winner). Two stakers of 50,000 USDC each; one asks to redeem everything
 * and leaves the request open. Before the fix a request never lapsed: thirty days later, with a
 * position visibly underwater, she completed at the full 50,000 just before the ClearingHouse
 * settled its 32,206.29 of bad debt, and the other staker was left with 17,793.71 of his 50,000.
 * Now a request lapses two days after its cooldown: completing later reverts, and a new request
 * starts a new cooldown during which the loss lands, so both stakers bear half of it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployVaultAndFund } from "../helpers/fixtures.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const USDC = (whole: bigint | number): bigint => BigInt(whole) * 10n ** 6n;
/** Token units to the Vault's 18-decimal ledger units. */
const SCALE = 10n ** 12n;
const DAY = 86_400n;
const STAKE = USDC(50_000);
/** The finding's bad debt: 32,206.29 USDC. */
const BAD_DEBT = 32_206_290_000n;

/** A Vault whose "ClearingHouse" is an EOA, so the test settles the bad debt by hand. */
async function fixture() {
  const [owner, ch, alice, bob, trader] = await ethers.getSigners();
  const { token, vault, fund } = await deployVaultAndFund(ethers, owner, ch);
  await vault.connect(ch).setInsuranceFund(await fund.getAddress());
  for (const who of [alice, bob]) {
    await token.mint(who.address, STAKE);
    await token.connect(who).approve(await fund.getAddress(), STAKE);
    await fund.connect(who).deposit(STAKE, who.address);
  }
  /** The ClearingHouse pays a trader's bad debt out of the insurance account, through a market's pool. */
  const MARKET = "0x000000000000000000000000000000000000dddd";
  const settleBadDebt = () =>
    vault.connect(ch).settle(trader.address, MARKET, BAD_DEBT * SCALE, -BAD_DEBT * SCALE, 0n, 0n);
  return { token, vault, fund, alice, bob, settleBadDebt };
}

describe("Regression: insurance-fund redemptions", function () {
  it("an armed redemption cannot leave ahead of visible bad debt: requests lapse after their window", async function () {
    const { token, fund, alice, bob, settleBadDebt } = await networkHelpers.loadFixture(fixture);
    // Empty fund: 50,000e6 units x 10^6 virtual shares = 5e16 shares; Bob's deposit mints
    // 50,000e6 x (5e16 + 10^6) / (50,000e6 + 1) = 5e16 exactly (the ratio is 10^6).
    const SHARES = 5n * 10n ** 16n;
    expect(await fund.balanceOf(alice.address)).to.equal(SHARES);
    expect(await fund.balanceOf(bob.address)).to.equal(SHARES);

    const t0 = BigInt(await time.latest()) + 1n;
    await time.setNextBlockTimestamp(t0);
    await expect(fund.connect(alice).requestRedeem(SHARES))
      .to.emit(fund, "RedeemRequested")
      .withArgs(alice.address, SHARES, STAKE, t0 + 7n * DAY, t0 + 9n * DAY);

    // The finding's path: thirty days on, a position is visibly underwater and Alice completes
    // just before its bad debt is settled. Before the fix she got 50,000 and Bob was left with
    // 100,000 - 50,000 - 32,206.29 = 17,793.71. Now the request has lapsed.
    await time.setNextBlockTimestamp(t0 + 30n * DAY);
    await expect(fund.connect(alice).completeRedeem(alice.address))
      .to.be.revertedWithCustomError(fund, "RedeemRequestExpired")
      .withArgs(t0 + 9n * DAY);

    // Her only way out is a new request, with a new 7-day cooldown: the lapsed request's shares
    // come back first. The bad debt is settled during that cooldown.
    const t1 = t0 + 30n * DAY + 1n;
    await time.setNextBlockTimestamp(t1);
    await expect(fund.connect(alice).requestRedeem(SHARES))
      .to.emit(fund, "RedeemCancelled")
      .withArgs(alice.address, SHARES)
      .and.to.emit(fund, "RedeemRequested")
      .withArgs(alice.address, SHARES, STAKE, t1 + 7n * DAY, t1 + 9n * DAY);
    await settleBadDebt();
    expect(await fund.totalAssets()).to.equal(USDC(100_000) - BAD_DEBT);

    // Each half now bears half the loss: floor(5e16 x (67,793,710,000 + 1) / (1e17 + 10^6))
    // = 33,896,855,000 (the virtual share and asset shift it by under one unit).
    const HALF = 33_896_855_000n;
    await time.setNextBlockTimestamp(t1 + 7n * DAY);
    await fund.connect(alice).completeRedeem(alice.address);
    expect(await token.balanceOf(alice.address)).to.equal(HALF);
    // Bob: floor(5e16 x (33,896,855,000 + 1) / (5e16 + 10^6)) = 33,896,855,000, not 17,793.71.
    expect(await fund.totalAssets()).to.equal(HALF);
    expect(await fund.previewRedeem(SHARES)).to.equal(HALF);
    expect(HALF).to.be.greaterThan(17_793_710_000n);
  });

  it("a matured request completes until the last second of its window, and lapses one second later", async function () {
    const { token, fund, alice, bob } = await networkHelpers.loadFixture(fixture);
    const SHARES = 5n * 10n ** 16n;
    for (const who of [alice, bob]) {
      const t = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(t);
      await fund.connect(who).requestRedeem(SHARES);
      expect((await fund.redeemRequest(who.address)).expiresAt).to.equal(t + 9n * DAY);
    }
    const aliceExpiry = (await fund.redeemRequest(alice.address)).expiresAt;
    const bobExpiry = (await fund.redeemRequest(bob.address)).expiresAt;
    await time.setNextBlockTimestamp(aliceExpiry);
    await fund.connect(alice).completeRedeem(alice.address);
    expect(await token.balanceOf(alice.address)).to.equal(STAKE);
    await time.setNextBlockTimestamp(bobExpiry + 1n);
    await expect(fund.connect(bob).completeRedeem(bob.address))
      .to.be.revertedWithCustomError(fund, "RedeemRequestExpired")
      .withArgs(bobExpiry);
    // Bob's shares stay in escrow until he cancels or asks again.
    expect(await fund.balanceOf(await fund.getAddress())).to.equal(SHARES);
    await fund.connect(bob).cancelRedeem();
    expect(await fund.balanceOf(bob.address)).to.equal(SHARES);
  });
});
