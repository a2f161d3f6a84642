import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { InsuranceFund, MockERC20, Vault } from "../../typechain-types/index.js";
import { deployVaultAndFund } from "./helpers/fixtures.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** USDC (6 decimals) to token units. */
const USDC = (whole: bigint | number): bigint => BigInt(whole) * 10n ** 6n;
/** Token units to the Vault's 18-decimal ledger units. */
const SCALE = 10n ** 12n;
/** The fund's virtual shares: 10^decimalsOffset = 10^6 (shares have 6 + 6 = 12 decimals). */
const VIRTUAL_SHARES = 10n ** 6n;
const DAY = 24n * 60n * 60n;

interface Setup {
  token: MockERC20;
  vault: Vault;
  fund: InsuranceFund;
  owner: HardhatEthersSigner;
  ch: HardhatEthersSigner;
  alice: HardhatEthersSigner;
  bob: HardhatEthersSigner;
  carol: HardhatEthersSigner;
  trader: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

/** A Vault whose "ClearingHouse" is an EOA, so the test can settle income and losses by hand. */
async function unboundFixture(): Promise<Setup> {
  const [owner, ch, alice, bob, carol, trader, stranger] = await ethers.getSigners();
  const { token, vault, fund } = await deployVaultAndFund(ethers, owner, ch);
  return { token, vault, fund, owner, ch, alice, bob, carol, trader, stranger };
}

async function boundFixture(): Promise<Setup> {
  const s = await unboundFixture();
  await s.vault.connect(s.ch).setInsuranceFund(await s.fund.getAddress());
  return s;
}

/** Mints `assets` to `who`, approves the fund and deposits them for `who`. */
async function stake(s: Setup, who: HardhatEthersSigner, assets: bigint) {
  await s.token.mint(who.address, assets);
  await s.token.connect(who).approve(await s.fund.getAddress(), assets);
  return s.fund.connect(who).deposit(assets, who.address);
}

/** The market the fees and bad debt of these tests pass through (the Vault keys pools by address). */
const MARKET = "0x000000000000000000000000000000000000dddd";

/** The ClearingHouse moves `assets` (token units) from a trader into the insurance account (fees). */
async function income(s: Setup, assets: bigint, payer: HardhatEthersSigner = s.trader) {
  await s.token.mint(payer.address, assets);
  await s.token.connect(payer).approve(await s.vault.getAddress(), assets);
  await s.vault.connect(payer).deposit(assets);
  await s.vault.connect(s.ch).settle(payer.address, MARKET, -assets * SCALE, assets * SCALE, 0n, 0n);
}

/** The ClearingHouse pays `assets` (token units) out of the insurance account to a trader (bad debt). */
async function loss(s: Setup, assets: bigint) {
  await s.vault.connect(s.ch).settle(s.trader.address, MARKET, assets * SCALE, -assets * SCALE, 0n, 0n);
}

/** Requests `shares` for `who`, at a pinned timestamp; returns the unlock time. */
async function request(s: Setup, who: HardhatEthersSigner, shares: bigint): Promise<bigint> {
  const now = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(now);
  await s.fund.connect(who).requestRedeem(shares);
  return now + 7n * DAY;
}

describe("InsuranceFund", function () {
  describe("construction", function () {
    it("wraps the Vault's collateral with 12-decimal shares, a 7-day cooldown, a 2-day window and its owner", async function () {
      const { token, vault, fund, owner } = await networkHelpers.loadFixture(unboundFixture);
      expect(await fund.asset()).to.equal(await token.getAddress());
      expect(await fund.vault()).to.equal(await vault.getAddress());
      expect(await fund.owner()).to.equal(owner.address);
      expect(await fund.name()).to.equal("Insurance Fund USDC");
      expect(await fund.symbol()).to.equal("ifUSDC");
      // 6 token decimals + the 6-decimal offset.
      expect(await fund.decimals()).to.equal(12n);
      expect(await fund.cooldown()).to.equal(7n * DAY);
      expect(await fund.MIN_COOLDOWN()).to.equal(DAY);
      expect(await fund.MAX_COOLDOWN()).to.equal(30n * DAY);
      expect(await fund.redeemWindow()).to.equal(2n * DAY);
      expect(await fund.MIN_REDEEM_WINDOW()).to.equal(DAY);
      expect(await fund.MAX_REDEEM_WINDOW()).to.equal(7n * DAY);
      expect(await fund.totalAssets()).to.equal(0n);
      expect(await fund.totalSupply()).to.equal(0n);
    });

    it("rejects a token that is not the Vault's with AssetMismatch", async function () {
      const { token, vault, owner } = await networkHelpers.loadFixture(unboundFixture);
      const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 6]);
      const factory = await ethers.getContractFactory("InsuranceFund");
      await expect(factory.deploy(await other.getAddress(), await vault.getAddress(), owner.address, "n", "s"))
        .to.be.revertedWithCustomError(factory, "AssetMismatch")
        .withArgs(await other.getAddress(), await token.getAddress());
    });

    it("rejects a zero token or Vault with ZeroAddress and a zero owner with OwnableInvalidOwner", async function () {
      const { token, vault, owner } = await networkHelpers.loadFixture(unboundFixture);
      const factory = await ethers.getContractFactory("InsuranceFund");
      const t = await token.getAddress();
      const v = await vault.getAddress();
      await expect(factory.deploy(ethers.ZeroAddress, v, owner.address, "n", "s")).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      await expect(factory.deploy(t, ethers.ZeroAddress, owner.address, "n", "s")).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
      await expect(factory.deploy(t, v, ethers.ZeroAddress, "n", "s"))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });

    it("takes no deposits until the Vault binds it (maxDeposit and maxMint are 0)", async function () {
      const s = await networkHelpers.loadFixture(unboundFixture);
      const { fund, vault, alice, ch } = s;
      expect(await fund.maxDeposit(alice.address)).to.equal(0n);
      expect(await fund.maxMint(alice.address)).to.equal(0n);
      await expect(stake(s, alice, USDC(100)))
        .to.be.revertedWithCustomError(fund, "ERC4626ExceededMaxDeposit")
        .withArgs(alice.address, USDC(100), 0n);

      await vault.connect(ch).setInsuranceFund(await fund.getAddress());
      expect(await fund.maxDeposit(alice.address)).to.equal(ethers.MaxUint256);
      expect(await fund.maxMint(alice.address)).to.equal(ethers.MaxUint256);
      await stake(s, alice, USDC(100));
    });
  });

  describe("deposit and mint", function () {
    it("mints 10^6 shares per token unit into an empty fund and forwards the tokens to the Vault", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, vault, fund, alice, bob } = s;
      // Empty fund: shares = assets x (0 + 10^6) / (0 + 1) = 1,000e6 x 10^6 = 1e15.
      await expect(stake(s, alice, USDC(1000)))
        .to.emit(fund, "Deposit")
        .withArgs(alice.address, alice.address, USDC(1000), 10n ** 15n)
        .and.to.emit(vault, "InsuranceDeposited")
        .withArgs(USDC(1000));
      expect(await fund.balanceOf(alice.address)).to.equal(10n ** 15n);
      // The tokens sit in the Vault's insurance account, not in the fund.
      expect(await token.balanceOf(await fund.getAddress())).to.equal(0n);
      expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(1000));
      expect(await token.allowance(await fund.getAddress(), await vault.getAddress())).to.equal(0n);
      expect(await vault.getPoolBalances()).to.deep.equal([0n, USDC(1000) * SCALE]);
      expect(await fund.totalAssets()).to.equal(USDC(1000));

      // (1e15 + 10^6) / (1,000e6 + 1) = 10^6 exactly, so 500 USDC mints exactly 5e14 shares.
      expect(await fund.previewDeposit(USDC(500))).to.equal(5n * 10n ** 14n);
      await stake(s, bob, USDC(500));
      expect(await fund.balanceOf(bob.address)).to.equal(5n * 10n ** 14n);
      expect(await fund.totalSupply()).to.equal(15n * 10n ** 14n);
      expect(await fund.totalAssets()).to.equal(USDC(1500));
    });

    it("mint pulls previewMint(shares) assets, rounded up", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await income(s, USDC(100));
      // assets = ceil(1e12 x (1,100e6 + 1) / (1e15 + 10^6)) = ceil(1,100,000,001e6 / 1,000,000,001)
      //        = ceil(1,099,999.999...) = 1,100,000 (floor would be 1,099,999).
      expect(await fund.previewMint(10n ** 12n)).to.equal(1_100_000n);
      expect(await fund.convertToAssets(10n ** 12n)).to.equal(1_099_999n);
      await token.mint(bob.address, USDC(2));
      await token.connect(bob).approve(await fund.getAddress(), USDC(2));
      await expect(fund.connect(bob).mint(10n ** 12n, bob.address))
        .to.emit(fund, "Deposit")
        .withArgs(bob.address, bob.address, 1_100_000n, 10n ** 12n);
      expect(await token.balanceOf(bob.address)).to.equal(USDC(2) - 1_100_000n);
      expect(await fund.totalAssets()).to.equal(USDC(1100) + 1_100_000n);
    });

    it("rejects zero assets, zero shares and a zero receiver", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice } = s;
      await expect(fund.connect(alice).deposit(0n, alice.address)).to.be.revertedWithCustomError(fund, "ZeroAssets");
      await expect(fund.connect(alice).mint(0n, alice.address)).to.be.revertedWithCustomError(fund, "ZeroAssets");
      await expect(fund.connect(alice).deposit(1n, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fund,
        "ZeroReceiver",
      );
      await stake(s, alice, USDC(1000));
      await income(s, USDC(100));
      // Rounding favours the fund: 1 unit buys floor((1e15 + 10^6) / (1,100e6 + 1)) = floor(909,090.9)
      // = 909,090 shares, while 1 share costs ceil((1,100e6 + 1) / (1e15 + 10^6)) = 1 unit.
      expect(await fund.previewDeposit(1n)).to.equal(909_090n);
      expect(await fund.previewMint(1n)).to.equal(1n);
    });
  });

  describe("income and losses", function () {
    it("income raises the share price for every staker", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await income(s, USDC(100));
      expect(await fund.totalAssets()).to.equal(USDC(1100));
      // floor(1e15 x (1,100e6 + 1) / (1e15 + 10^6)) = floor(1,100,000,001e9 / 1,000,000,001)
      //   = 1,099,999,999: the virtual shares keep ~1e-9 of the income (1 unit here).
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(1_099_999_999n);
      // Bob now gets fewer shares per unit: floor(110e6 x (1e15 + 10^6) / (1,100e6 + 1))
      //   = 1e14 + floor(1e13 / 1,100,000,001) = 1e14 + 9,090.
      await stake(s, bob, USDC(110));
      expect(await fund.balanceOf(bob.address)).to.equal(100_000_000_009_090n);
      // Bob's stake is worth what he paid, less rounding; Alice's is untouched by his deposit.
      expect(await fund.previewRedeem(100_000_000_009_090n)).to.be.within(USDC(110) - 1n, USDC(110));
      expect(await fund.previewRedeem(10n ** 15n)).to.be.within(1_099_999_999n, 1_100_000_000n);
    });

    it("a loss lowers the share price, and later stakers come in at the post-loss price", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice, carol } = s;
      await stake(s, alice, USDC(1000));
      await loss(s, USDC(400));
      expect(await fund.totalAssets()).to.equal(USDC(600));
      // floor(1e15 x (600e6 + 1) / (1e15 + 10^6)) = floor(600,000,001e9 / 1,000,000,001) = 600e6.
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(USDC(600));

      // Carol pays 600 for what Alice's 1e15 shares are worth, so she gets (just under) 1e15 shares:
      // floor(600e6 x (1e15 + 10^6) / (600e6 + 1)) = 999,999,999e6 + floor(200,000,001e6 / 600,000,001)
      //   = 999,999,999,333,333.
      await stake(s, carol, USDC(600));
      expect(await fund.balanceOf(carol.address)).to.equal(999_999_999_333_333n);
      // Neither takes from the other: Alice keeps her 600, Carol's 600 is worth 600 less 1 unit of rounding.
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(USDC(600));
      expect(await fund.previewRedeem(999_999_999_333_333n)).to.equal(USDC(600) - 1n);
    });

    it("the first-depositor inflation attack: the victim loses a negligible amount, the attacker loses", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice: victim, bob: attacker, carol } = s;
      // 1 unit mints 1 x 10^6 / 1 = 10^6 shares.
      await stake(s, attacker, 1n);
      expect(await fund.balanceOf(attacker.address)).to.equal(VIRTUAL_SHARES);
      // The attacker donates 10,000 USDC to the insurance account (e.g. as trading fees).
      await income(s, USDC(10_000), attacker);
      expect(await fund.totalAssets()).to.equal(USDC(10_000) + 1n);
      // Small deposits now mint nothing and revert instead of being swallowed:
      // 5,000 x 2e6 / (1e10 + 2) < 1.
      await expect(stake(s, carol, 5_000n)).to.be.revertedWithCustomError(fund, "ZeroShares");

      // The victim deposits 10,000 USDC: floor(1e10 x 2e6 / (1e10 + 2)) = 1,999,999 shares.
      await stake(s, victim, USDC(10_000));
      expect(await fund.balanceOf(victim.address)).to.equal(1_999_999n);
      // totalAssets = 2e10 + 1, totalSupply = 2,999,999. Victim: floor(1,999,999 x (2e10 + 2) / 3,999,999)
      //   = floor(1e10 + 1 - (1e10 + 1) / 3,999,999) = 9,999,997,500: 2,500 units (0.0025 USDC) lost.
      expect(await fund.previewRedeem(1_999_999n)).to.equal(9_999_997_500n);
      // Attacker: floor(10^6 x (2e10 + 2) / 3,999,999) = 5,000,001,250 for 10,000.000001 USDC spent.
      expect(await fund.previewRedeem(VIRTUAL_SHARES)).to.equal(5_000_001_250n);

      // Both leave through the queue and get exactly that: each is capped at the value at its request
      // (after the victim leaves, the attacker's shares are worth floor(10^6 x 10,000,002,502 / 2e6)
      // = 5,000,001,251, one unit more, which stays in the fund).
      const unlockVictim = await request(s, victim, 1_999_999n);
      const unlockAttacker = await request(s, attacker, VIRTUAL_SHARES);
      await time.increaseTo(unlockAttacker > unlockVictim ? unlockAttacker : unlockVictim);
      await fund.connect(victim).completeRedeem(victim.address);
      await fund.connect(attacker).completeRedeem(attacker.address);
      expect(await s.token.balanceOf(victim.address)).to.equal(9_999_997_500n);
      expect(await s.token.balanceOf(attacker.address)).to.equal(5_000_001_250n);
      expect(await s.token.balanceOf(attacker.address)).to.be.lessThan(USDC(10_000) + 1n);
    });

    it("a fund wiped out by a loss burns the shares, pays nothing and restarts at the initial price", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, vault, fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      const unlockAt = await request(s, alice, 10n ** 15n);
      await loss(s, USDC(1000));
      await time.increaseTo(unlockAt);
      // floor(1e15 x (0 + 1) / (1e15 + 10^6)) = 0: nothing to pay, the Vault is not called.
      await expect(fund.connect(alice).completeRedeem(alice.address))
        .to.emit(fund, "RedeemCompleted")
        .withArgs(alice.address, alice.address, 10n ** 15n, 0n)
        .and.not.to.emit(vault, "InsuranceWithdrawn");
      expect(await token.balanceOf(alice.address)).to.equal(0n);
      expect(await fund.totalSupply()).to.equal(0n);
      await stake(s, bob, USDC(100));
      expect(await fund.balanceOf(bob.address)).to.equal(USDC(100) * VIRTUAL_SHARES);
    });
  });

  describe("redeem requests", function () {
    it("escrows the shares and pays previewRedeem at the request once the cooldown is over, within its window", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, vault, fund, alice, bob } = s;
      const fundAddress = await fund.getAddress();
      await stake(s, alice, USDC(1000));

      const now = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(now);
      const unlockAt = now + 7n * DAY;
      const expiresAt = unlockAt + 2n * DAY;
      // 4e14 x (1,000e6 + 1) / (1e15 + 10^6) = 400e6 exactly.
      await expect(fund.connect(alice).requestRedeem(4n * 10n ** 14n))
        .to.emit(fund, "RedeemRequested")
        .withArgs(alice.address, 4n * 10n ** 14n, USDC(400), unlockAt, expiresAt)
        .and.to.emit(fund, "Transfer")
        .withArgs(alice.address, fundAddress, 4n * 10n ** 14n);
      expect(await fund.balanceOf(alice.address)).to.equal(6n * 10n ** 14n);
      expect(await fund.balanceOf(fundAddress)).to.equal(4n * 10n ** 14n);
      // Escrowed shares are still outstanding: they keep bearing the fund's losses.
      expect(await fund.totalSupply()).to.equal(10n ** 15n);
      expect(await fund.redeemRequest(alice.address)).to.deep.equal([4n * 10n ** 14n, USDC(400), unlockAt, expiresAt]);

      await time.setNextBlockTimestamp(unlockAt - 1n);
      await expect(fund.connect(alice).completeRedeem(bob.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(unlockAt);

      // Any time in [unlockAt, expiresAt]: here the last second of the window.
      await time.setNextBlockTimestamp(expiresAt);
      await expect(fund.connect(alice).completeRedeem(bob.address))
        .to.emit(fund, "RedeemCompleted")
        .withArgs(alice.address, bob.address, 4n * 10n ** 14n, USDC(400))
        .and.to.emit(fund, "Withdraw")
        .withArgs(alice.address, bob.address, alice.address, USDC(400), 4n * 10n ** 14n)
        .and.to.emit(vault, "InsuranceWithdrawn")
        .withArgs(bob.address, USDC(400));
      expect(await token.balanceOf(bob.address)).to.equal(USDC(400));
      expect(await fund.balanceOf(fundAddress)).to.equal(0n);
      expect(await fund.totalSupply()).to.equal(6n * 10n ** 14n);
      expect(await fund.totalAssets()).to.equal(USDC(600));
      expect(await vault.getPoolBalances()).to.deep.equal([0n, USDC(600) * SCALE]);
      expect(await fund.redeemRequest(alice.address)).to.deep.equal([0n, 0n, 0n, 0n]);
      // The request is gone: a second completion has nothing to pay.
      await expect(fund.connect(alice).completeRedeem(alice.address))
        .to.be.revertedWithCustomError(fund, "NoRedeemRequest")
        .withArgs(alice.address);
    });

    it("a loss that lands during the cooldown hits the request (no running ahead of it)", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await stake(s, bob, USDC(1000));
      // Alice sees a loss coming and requests everything: 1e15 x (2,000e6 + 1) / (2e15 + 10^6) = 1,000e6.
      const unlockAt = await request(s, alice, 10n ** 15n);
      expect((await fund.redeemRequest(alice.address)).assetsAtRequest).to.equal(USDC(1000));
      await loss(s, USDC(500));
      await time.increaseTo(unlockAt);
      // Now: floor(1e15 x (1,500e6 + 1) / (2e15 + 10^6)) = floor(1,500,000,001e9 / 2,000,000,001) = 750e6.
      await fund.connect(alice).completeRedeem(alice.address);
      expect(await token.balanceOf(alice.address)).to.equal(USDC(750));
      // Bob bore exactly his half: floor(1e15 x (750e6 + 1) / (1e15 + 10^6)) = 750e6.
      expect(await fund.totalAssets()).to.equal(USDC(750));
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(USDC(750));
    });

    it("a gain during the cooldown stays in the fund for the others", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await stake(s, bob, USDC(1000));
      const unlockAt = await request(s, alice, 10n ** 15n);
      await income(s, USDC(200));
      // Alice's shares are now worth floor(1e15 x (2,200e6 + 1) / (2e15 + 10^6)) = 1,099,999,999
      // but she gets the 1,000e6 she was promised at the request.
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(1_099_999_999n);
      await time.increaseTo(unlockAt);
      await fund.connect(alice).completeRedeem(alice.address);
      expect(await token.balanceOf(alice.address)).to.equal(USDC(1000));
      // Bob keeps the whole 200: floor(1e15 x (1,200e6 + 1) / (1e15 + 10^6)) = 1,199,999,999.
      expect(await fund.totalAssets()).to.equal(USDC(1200));
      expect(await fund.totalSupply()).to.equal(10n ** 15n);
      expect(await fund.previewRedeem(10n ** 15n)).to.equal(USDC(1200) - 1n);
    });

    it("cancel returns the escrowed shares and clears the request", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice } = s;
      await stake(s, alice, USDC(1000));
      await request(s, alice, 3n * 10n ** 14n);
      await expect(fund.connect(alice).cancelRedeem())
        .to.emit(fund, "RedeemCancelled")
        .withArgs(alice.address, 3n * 10n ** 14n)
        .and.to.emit(fund, "Transfer")
        .withArgs(await fund.getAddress(), alice.address, 3n * 10n ** 14n);
      expect(await fund.balanceOf(alice.address)).to.equal(10n ** 15n);
      expect(await fund.balanceOf(await fund.getAddress())).to.equal(0n);
      expect(await fund.redeemRequest(alice.address)).to.deep.equal([0n, 0n, 0n, 0n]);
      await expect(fund.connect(alice).cancelRedeem())
        .to.be.revertedWithCustomError(fund, "NoRedeemRequest")
        .withArgs(alice.address);
      // A new request after the cancel starts a new cooldown.
      const unlockAt = await request(s, alice, 10n ** 15n);
      expect((await fund.redeemRequest(alice.address)).unlockAt).to.equal(unlockAt);
    });

    it("a request lapses after its window: completing reverts, and a new request replaces it with a new cooldown", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { token, fund, alice } = s;
      const fundAddress = await fund.getAddress();
      await stake(s, alice, USDC(1000));
      const unlockAt = await request(s, alice, 4n * 10n ** 14n);
      const expiresAt = unlockAt + 2n * DAY;
      // Matured but not lapsed: still one request per account.
      await time.setNextBlockTimestamp(expiresAt);
      await expect(fund.connect(alice).requestRedeem(10n ** 14n))
        .to.be.revertedWithCustomError(fund, "RedeemRequestOpen")
        .withArgs(alice.address, 4n * 10n ** 14n, unlockAt);
      await time.setNextBlockTimestamp(expiresAt + 1n);
      await expect(fund.connect(alice).completeRedeem(alice.address))
        .to.be.revertedWithCustomError(fund, "RedeemRequestExpired")
        .withArgs(expiresAt);
      // The lapsed request still holds its shares (they bear losses) until replaced or cancelled.
      expect(await fund.balanceOf(fundAddress)).to.equal(4n * 10n ** 14n);

      // A new request for a different amount: the 4e14 come back, then 6e14 go into escrow, worth
      // 6e14 x (1,000e6 + 1) / (1e15 + 10^6) = 600e6, with a new cooldown and window.
      const now = expiresAt + 2n;
      await time.setNextBlockTimestamp(now);
      await expect(fund.connect(alice).requestRedeem(6n * 10n ** 14n))
        .to.emit(fund, "RedeemCancelled")
        .withArgs(alice.address, 4n * 10n ** 14n)
        .and.to.emit(fund, "RedeemRequested")
        .withArgs(alice.address, 6n * 10n ** 14n, USDC(600), now + 7n * DAY, now + 9n * DAY);
      expect(await fund.balanceOf(alice.address)).to.equal(4n * 10n ** 14n);
      expect(await fund.balanceOf(fundAddress)).to.equal(6n * 10n ** 14n);
      expect(await fund.redeemRequest(alice.address)).to.deep.equal([
        6n * 10n ** 14n,
        USDC(600),
        now + 7n * DAY,
        now + 9n * DAY,
      ]);
      await time.setNextBlockTimestamp(now + 7n * DAY);
      await fund.connect(alice).completeRedeem(alice.address);
      expect(await token.balanceOf(alice.address)).to.equal(USDC(600));
    });

    it("a lapsed request can be cancelled; a new request larger than the balance counts the returned shares", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice } = s;
      await stake(s, alice, USDC(1000));
      const unlockAt = await request(s, alice, 10n ** 15n);
      await time.increaseTo(unlockAt + 2n * DAY + 1n);
      // Alice holds no free shares, but the lapsed request's 1e15 come back before the new one.
      expect(await fund.balanceOf(alice.address)).to.equal(0n);
      await request(s, alice, 10n ** 15n);
      expect((await fund.redeemRequest(alice.address)).shares).to.equal(10n ** 15n);
      const second = await fund.redeemRequest(alice.address);
      await time.increaseTo(second.expiresAt + 1n);
      await expect(fund.connect(alice).cancelRedeem())
        .to.emit(fund, "RedeemCancelled")
        .withArgs(alice.address, 10n ** 15n);
      expect(await fund.balanceOf(alice.address)).to.equal(10n ** 15n);
      expect(await fund.redeemRequest(alice.address)).to.deep.equal([0n, 0n, 0n, 0n]);
    });

    it("rejects zero shares, more shares than held, a second open request, and completing nothing", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await expect(fund.connect(alice).requestRedeem(0n)).to.be.revertedWithCustomError(fund, "ZeroShares");
      await expect(fund.connect(alice).requestRedeem(10n ** 15n + 1n))
        .to.be.revertedWithCustomError(fund, "ERC20InsufficientBalance")
        .withArgs(alice.address, 10n ** 15n, 10n ** 15n + 1n);
      const unlockAt = await request(s, alice, 10n ** 14n);
      await expect(fund.connect(alice).requestRedeem(10n ** 14n))
        .to.be.revertedWithCustomError(fund, "RedeemRequestOpen")
        .withArgs(alice.address, 10n ** 14n, unlockAt);
      await expect(fund.connect(alice).completeRedeem(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fund,
        "ZeroReceiver",
      );
      await expect(fund.connect(bob).completeRedeem(bob.address))
        .to.be.revertedWithCustomError(fund, "NoRedeemRequest")
        .withArgs(bob.address);
      await expect(fund.connect(bob).cancelRedeem())
        .to.be.revertedWithCustomError(fund, "NoRedeemRequest")
        .withArgs(bob.address);
    });

    it("the standard withdraw and redeem always revert: maxWithdraw and maxRedeem are 0", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      expect(await fund.maxWithdraw(alice.address)).to.equal(0n);
      expect(await fund.maxRedeem(alice.address)).to.equal(0n);
      await expect(fund.connect(alice).withdraw(1n, alice.address, alice.address))
        .to.be.revertedWithCustomError(fund, "ERC4626ExceededMaxWithdraw")
        .withArgs(alice.address, 1n, 0n);
      await expect(fund.connect(alice).redeem(1n, alice.address, alice.address))
        .to.be.revertedWithCustomError(fund, "ERC4626ExceededMaxRedeem")
        .withArgs(alice.address, 1n, 0n);
      // Not with an allowance either, nor after a matured request.
      await fund.connect(alice).approve(bob.address, ethers.MaxUint256);
      await expect(fund.connect(bob).redeem(10n ** 15n, bob.address, alice.address))
        .to.be.revertedWithCustomError(fund, "ERC4626ExceededMaxRedeem")
        .withArgs(alice.address, 10n ** 15n, 0n);
      const unlockAt = await request(s, alice, 10n ** 15n);
      await time.increaseTo(unlockAt);
      await expect(fund.connect(alice).withdraw(USDC(1000), alice.address, alice.address))
        .to.be.revertedWithCustomError(fund, "ERC4626ExceededMaxWithdraw")
        .withArgs(alice.address, USDC(1000), 0n);
    });
  });

  describe("owner", function () {
    it("sets the cooldown within [1 day, 30 days]; open requests keep their unlock time", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, owner, alice } = s;
      await stake(s, alice, USDC(1000));
      const unlockAt = await request(s, alice, 10n ** 14n);

      await expect(fund.connect(owner).setCooldown(DAY))
        .to.emit(fund, "CooldownSet")
        .withArgs(7n * DAY, DAY);
      expect(await fund.cooldown()).to.equal(DAY);
      expect((await fund.redeemRequest(alice.address)).unlockAt).to.equal(unlockAt);
      await time.increase(DAY);
      await expect(fund.connect(alice).completeRedeem(alice.address))
        .to.be.revertedWithCustomError(fund, "CooldownNotElapsed")
        .withArgs(unlockAt);

      await expect(fund.connect(owner).setCooldown(30n * DAY))
        .to.emit(fund, "CooldownSet")
        .withArgs(DAY, 30n * DAY);
      for (const bad of [0n, DAY - 1n, 30n * DAY + 1n]) {
        await expect(fund.connect(owner).setCooldown(bad))
          .to.be.revertedWithCustomError(fund, "CooldownOutOfRange")
          .withArgs(bad);
      }
      expect(await fund.cooldown()).to.equal(30n * DAY);
    });

    it("only the owner sets the cooldown and the redeem window (OwnableUnauthorizedAccount)", async function () {
      const { fund, stranger } = await networkHelpers.loadFixture(boundFixture);
      await expect(fund.connect(stranger).setCooldown(DAY))
        .to.be.revertedWithCustomError(fund, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(fund.connect(stranger).setRedeemWindow(DAY))
        .to.be.revertedWithCustomError(fund, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
    });

    it("sets the redeem window within [1 day, 7 days]; open requests keep their expiry", async function () {
      const s = await networkHelpers.loadFixture(boundFixture);
      const { fund, owner, alice, bob } = s;
      await stake(s, alice, USDC(1000));
      await stake(s, bob, USDC(1000));
      const aliceUnlock = await request(s, alice, 10n ** 14n);

      await expect(fund.connect(owner).setRedeemWindow(DAY))
        .to.emit(fund, "RedeemWindowSet")
        .withArgs(2n * DAY, DAY);
      expect(await fund.redeemWindow()).to.equal(DAY);
      expect((await fund.redeemRequest(alice.address)).expiresAt).to.equal(aliceUnlock + 2n * DAY);
      // A new request takes the new window.
      const bobUnlock = await request(s, bob, 10n ** 14n);
      expect((await fund.redeemRequest(bob.address)).expiresAt).to.equal(bobUnlock + DAY);
      await time.increaseTo(bobUnlock + DAY + 1n);
      await expect(fund.connect(bob).completeRedeem(bob.address))
        .to.be.revertedWithCustomError(fund, "RedeemRequestExpired")
        .withArgs(bobUnlock + DAY);
      // Alice's request, made under the 2-day window, still completes.
      await fund.connect(alice).completeRedeem(alice.address);

      await expect(fund.connect(owner).setRedeemWindow(7n * DAY))
        .to.emit(fund, "RedeemWindowSet")
        .withArgs(DAY, 7n * DAY);
      for (const bad of [0n, DAY - 1n, 7n * DAY + 1n]) {
        await expect(fund.connect(owner).setRedeemWindow(bad))
          .to.be.revertedWithCustomError(fund, "RedeemWindowOutOfRange")
          .withArgs(bad);
      }
      expect(await fund.redeemWindow()).to.equal(7n * DAY);
    });

    it("transfers ownership in two steps", async function () {
      const { fund, owner, alice, stranger } = await networkHelpers.loadFixture(boundFixture);
      await expect(fund.connect(stranger).transferOwnership(stranger.address))
        .to.be.revertedWithCustomError(fund, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(fund.connect(owner).transferOwnership(alice.address))
        .to.emit(fund, "OwnershipTransferStarted")
        .withArgs(owner.address, alice.address);
      // Nothing changes until the new owner accepts.
      expect(await fund.owner()).to.equal(owner.address);
      expect(await fund.pendingOwner()).to.equal(alice.address);
      await expect(fund.connect(stranger).acceptOwnership())
        .to.be.revertedWithCustomError(fund, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      await expect(fund.connect(alice).acceptOwnership())
        .to.emit(fund, "OwnershipTransferred")
        .withArgs(owner.address, alice.address);
      expect(await fund.owner()).to.equal(alice.address);
      expect(await fund.pendingOwner()).to.equal(ethers.ZeroAddress);
      await expect(fund.connect(owner).setCooldown(DAY))
        .to.be.revertedWithCustomError(fund, "OwnableUnauthorizedAccount")
        .withArgs(owner.address);
      await fund.connect(alice).setCooldown(DAY);
    });
  });
});
