/**
 * Regression (issue 6): collateral-token attacks on the whole system (ClearingHouse, Vault, insurance
 * fund, one market): hook tokens, fee-on-transfer tokens and 1-wei rounding cycles.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import type {
  ClearingHouse,
  FeeOnTransferERC20,
  InsuranceFund,
  MockERC20,
  ReentrantERC20,
  Vault,
} from "../../../typechain-types/index.js";
import { deployFixture, SCALE, USDC } from "./setup.js";

const { ethers } = await network.create();

/** deployCore with a given collateral token contract instead of the 6-decimal MockERC20. */
async function deployWithToken(tokenName: "ReentrantERC20" | "FeeOnTransferERC20") {
  const token = await ethers.deployContract(tokenName);
  const system = await deployCore(ethers, 6, undefined, await token.getAddress());
  const amm = await deployMarket(ethers, system, {
    quoteReserve: toWad(1_000_000),
    baseReserve: toWad(10_000),
    feeRatio: toWad("0.001"),
  });
  const { vault, clearingHouse, insuranceFund } = system;
  return { token, vault, ch: clearingHouse, insuranceFund, amm, market: await amm.getAddress() };
}

describe("Regression: collateral-token attacks", function () {
  it("reentrancy through an ERC777-style hook token", async function () {
    const [, alice, bob] = await ethers.getSigners();
    const { token, vault, ch, market } = await deployWithToken("ReentrantERC20");
    const hook = token as unknown as ReentrantERC20;
    const hookAddress = await hook.getAddress();
    const vaultAddress = await vault.getAddress();
    for (const t of [alice, bob]) {
      await (await hook.mint(t.address, USDC(10_000))).wait();
      await (await hook.connect(t).approve(vaultAddress, USDC(10_000))).wait();
      await (await vault.connect(t).deposit(USDC(5_000))).wait();
    }
    // The token itself owns free collateral, so a reentrant withdraw would have something to take.
    await (await vault.connect(alice).depositFor(hookAddress, USDC(100))).wait();
    const heldBefore = await hook.balanceOf(vaultAddress);
    // Re-entering the Vault's withdraw from inside a withdraw's transfer, and inside a deposit's.
    const reenterWithdraw = vault.interface.encodeFunctionData("withdraw", [USDC(100)]);
    await (await hook.arm(vaultAddress, reenterWithdraw)).wait();
    await (await vault.connect(alice).withdraw(USDC(1_000))).wait();
    expect(await hook.callbackSucceeded()).to.equal(false);
    expect(vault.interface.parseError(await hook.callbackReturn())?.name).to.equal("ReentrancyGuardReentrantCall");
    await (await hook.arm(vaultAddress, reenterWithdraw)).wait();
    await (await vault.connect(bob).deposit(USDC(1_000))).wait();
    expect(await hook.callbackSucceeded()).to.equal(false);
    expect(vault.interface.parseError(await hook.callbackReturn())?.name).to.equal("ReentrancyGuardReentrantCall");
    // Re-entering the ClearingHouse (a trade by the token's account) from inside a withdraw: the
    // Vault's books were final before the transfer, so whatever the hook does, they stay right.
    await (
      await hook.arm(
        await ch.getAddress(),
        ch.interface.encodeFunctionData("openPosition", [market, Side.LONG, toWad(50), toWad(5), 0n, MAX_DEADLINE]),
      )
    ).wait();
    await (await vault.connect(bob).withdraw(USDC(500))).wait();
    expect(await hook.balanceOf(vaultAddress)).to.equal(heldBefore - USDC(1_000) + USDC(1_000) - USDC(500));
    const [marginPool, insurance] = await vault.getPoolBalances();
    const claims =
      (await vault.freeCollateral(alice.address)) +
      (await vault.freeCollateral(bob.address)) +
      (await vault.freeCollateral(hookAddress)) +
      marginPool +
      insurance;
    expect((await hook.balanceOf(vaultAddress)) * SCALE).to.equal(claims);
  });

  it("fee-on-transfer collateral", async function () {
    const [, alice, bob] = await ethers.getSigners();
    const { token, vault, insuranceFund } = await deployWithToken("FeeOnTransferERC20");
    const fot = token as unknown as FeeOnTransferERC20;
    await (await fot.mint(alice.address, USDC(1_000))).wait();
    await (await fot.connect(alice).approve(await vault.getAddress(), USDC(1_000))).wait();
    await expect(vault.connect(alice).deposit(USDC(1_000)))
      .to.be.revertedWithCustomError(vault, "UnsupportedTransferAmount")
      .withArgs(USDC(1_000), USDC(990));
    await expect(vault.connect(alice).depositFor(bob.address, USDC(100)))
      .to.be.revertedWithCustomError(vault, "UnsupportedTransferAmount")
      .withArgs(USDC(100), USDC(99));
    // Staking it in the insurance fund fails too: the fund cannot forward what it did not receive.
    await (await fot.connect(alice).approve(await insuranceFund.getAddress(), USDC(1_000))).wait();
    await expect(insuranceFund.connect(alice).deposit(USDC(1_000), alice.address)).to.be.revertedWithCustomError(
      fot,
      "ERC20InsufficientBalance",
    );
    expect(await fot.balanceOf(await vault.getAddress())).to.equal(0n);
    expect(await vault.freeCollateral(alice.address)).to.equal(0n);
    expect(await insuranceFund.totalSupply()).to.equal(0n);
  });

  it("1-wei deposit, trade and withdraw cycles with a 6-decimal token", async function () {
    const fx = await deployFixture(ethers);
    const attacker = fx.stranger;
    const vaultAddress = await fx.vault.getAddress();
    const start = USDC(10);
    await (await fx.usdc.mint(attacker.address, start)).wait();
    await (await fx.usdc.connect(attacker).approve(vaultAddress, start)).wait();
    for (let i = 0; i < 10; i++) {
      // 1 token unit in (10^12 in the ledger), a trade on it at 10x, close, and out again.
      await (await fx.vault.connect(attacker).deposit(1n)).wait();
      await (
        await fx.ch
          .connect(attacker)
          .openPosition(fx.market, i % 2 ? Side.SHORT : Side.LONG, SCALE / 2n, toWad(10), 0n, MAX_DEADLINE)
      ).wait();
      await (await fx.ch.connect(attacker).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
      const units = await fx.vault.balanceOf(attacker.address);
      expect(units, "rounding never gives a unit back that was not there").to.be.lessThanOrEqual(1n);
      if (units > 0n) await (await fx.vault.connect(attacker).withdraw(units)).wait();
      // What is left is less than a unit, and cannot come out.
      expect(await fx.vault.freeCollateral(attacker.address)).to.be.lessThan(SCALE);
      await expect(fx.vault.connect(attacker).withdraw(1n)).to.be.revertedWithCustomError(
        fx.vault,
        "InsufficientFreeCollateral",
      );
    }
    expect(await fx.usdc.balanceOf(attacker.address), "no unit gained from rounding").to.be.lessThan(start);
    await expect(fx.vault.connect(attacker).withdraw(0n)).to.be.revertedWithCustomError(fx.vault, "ZeroAmount");
  });
});
