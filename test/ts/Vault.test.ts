import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side, type System } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import type { FeeOnTransferERC20, MockERC20, ReentrantERC20, Vault } from "../../typechain-types/index.js";
import { expectMatchesModel, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { LONG, predictRevert, SHORT, SystemModel } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();

const core6 = () => deployCore(ethers, 6);
const core8 = () => deployCore(ethers, 8);
const core18 = () => deployCore(ethers, 18);

/** The token units x scale = 18-decimal units relation, from the token's decimals. */
const scaleOf = (decimals: number) => 10n ** BigInt(18 - decimals);

async function mintAndApprove(token: MockERC20, vault: Vault, who: { address: string }, amount: bigint) {
  await token.mint(who.address, amount);
  const signer = await ethers.getSigner(who.address);
  await token.connect(signer).approve(await vault.getAddress(), amount);
}

describe("Vault", function () {
  describe("construction", function () {
    for (const decimals of [6, 18]) {
      it(`accepts a ${decimals}-decimal token and names its ClearingHouse for good`, async function () {
        const [, , , , clearingHouse] = await ethers.getSigners();
        const token = await ethers.deployContract("MockERC20", ["T", "T", decimals]);
        const vault = await ethers.deployContract("Vault", [await token.getAddress(), clearingHouse.address]);
        expect(await vault.collateralToken()).to.equal(await token.getAddress());
        expect(await vault.clearingHouse()).to.equal(clearingHouse.address);
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
        // No owner and no way to relink: the ClearingHouse is fixed at construction.
        const functions: string[] = [];
        vault.interface.forEachFunction((f) => functions.push(f.name));
        expect(functions).to.include("clearingHouse");
        for (const name of ["owner", "setClearingHouse", "transferOwnership", "renounceOwnership"]) {
          expect(functions).to.not.include(name);
        }
      });
    }

    for (const decimals of [5, 19]) {
      it(`rejects a ${decimals}-decimal token with UnsupportedDecimals`, async function () {
        const [, , , , clearingHouse] = await ethers.getSigners();
        const token = await ethers.deployContract("MockERC20", ["T", "T", decimals]);
        const factory = await ethers.getContractFactory("Vault");
        await expect(factory.deploy(await token.getAddress(), clearingHouse.address))
          .to.be.revertedWithCustomError(factory, "UnsupportedDecimals")
          .withArgs(decimals);
      });
    }

    it("rejects the zero token with ZeroAddress", async function () {
      const [, , , , clearingHouse] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Vault");
      await expect(factory.deploy(ethers.ZeroAddress, clearingHouse.address)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
    });

    it("rejects the zero ClearingHouse with ZeroAddress, before the token's decimals are checked", async function () {
      const factory = await ethers.getContractFactory("Vault");
      for (const decimals of [6, 5]) {
        const token = await ethers.deployContract("MockERC20", ["T", "T", decimals]);
        await expect(factory.deploy(await token.getAddress(), ethers.ZeroAddress)).to.be.revertedWithCustomError(
          factory,
          "ZeroAddress",
        );
      }
      await expect(factory.deploy(ethers.ZeroAddress, ethers.ZeroAddress)).to.be.revertedWithCustomError(
        factory,
        "ZeroAddress",
      );
    });

    it("in the deployed system it names the ClearingHouse, which names it back", async function () {
      const { vault, clearingHouse } = await networkHelpers.loadFixture(core6);
      expect(await vault.clearingHouse()).to.equal(await clearingHouse.getAddress());
      expect(await clearingHouse.vault()).to.equal(await vault.getAddress());
    });
  });

  for (const [decimals, fixture] of [
    [6, core6],
    [8, core8],
    [18, core18],
  ] as const) {
    describe(`deposits and withdrawals with a ${decimals}-decimal token`, function () {
      const scale = scaleOf(decimals);
      const unit = 10n ** BigInt(decimals);

      it("deposit moves tokens in, credits amount x 10^(18-decimals) and emits Deposited", async function () {
        const { usdc, vault } = await networkHelpers.loadFixture(fixture);
        const [, alice] = await ethers.getSigners();
        const amount = 1234n * unit + 5n; // a non-round amount of token units
        await mintAndApprove(usdc, vault, alice, amount);
        await expect(vault.connect(alice).deposit(amount))
          .to.emit(vault, "Deposited")
          .withArgs(alice.address, alice.address, amount);
        expect(await usdc.balanceOf(await vault.getAddress())).to.equal(amount);
        expect(await usdc.balanceOf(alice.address)).to.equal(0n);
        expect(await vault.freeCollateral(alice.address)).to.equal(amount * scale);
        expect(await vault.balanceOf(alice.address)).to.equal(amount);
      });

      it("depositFor takes the payer's tokens and credits the trader", async function () {
        const { usdc, vault } = await networkHelpers.loadFixture(fixture);
        const [, alice, bob] = await ethers.getSigners();
        const amount = 77n * unit;
        await mintAndApprove(usdc, vault, bob, amount);
        await expect(vault.connect(bob).depositFor(alice.address, amount))
          .to.emit(vault, "Deposited")
          .withArgs(bob.address, alice.address, amount);
        expect(await usdc.balanceOf(bob.address)).to.equal(0n);
        expect(await vault.freeCollateral(alice.address)).to.equal(amount * scale);
        expect(await vault.freeCollateral(bob.address)).to.equal(0n);
        expect(await vault.balanceOf(alice.address)).to.equal(amount);
      });

      it("withdraw returns tokens, debits the ledger and emits Withdrawn", async function () {
        const { usdc, vault } = await networkHelpers.loadFixture(fixture);
        const [, alice] = await ethers.getSigners();
        const amount = 500n * unit;
        await mintAndApprove(usdc, vault, alice, amount);
        await vault.connect(alice).deposit(amount);
        const out = 123n * unit + 1n;
        await expect(vault.connect(alice).withdraw(out)).to.emit(vault, "Withdrawn").withArgs(alice.address, out);
        expect(await usdc.balanceOf(alice.address)).to.equal(out);
        expect(await usdc.balanceOf(await vault.getAddress())).to.equal(amount - out);
        expect(await vault.freeCollateral(alice.address)).to.equal((amount - out) * scale);
        expect(await vault.balanceOf(alice.address)).to.equal(amount - out);
        // Everything else can come out too.
        await vault.connect(alice).withdraw(amount - out);
        expect(await vault.freeCollateral(alice.address)).to.equal(0n);
        expect(await usdc.balanceOf(alice.address)).to.equal(amount);
      });

      it("withdrawing more than free collateral reverts with InsufficientFreeCollateral", async function () {
        const { usdc, vault } = await networkHelpers.loadFixture(fixture);
        const [, alice, bob] = await ethers.getSigners();
        await mintAndApprove(usdc, vault, alice, 10n * unit);
        await vault.connect(alice).deposit(10n * unit);
        await expect(vault.connect(alice).withdraw(10n * unit + 1n))
          .to.be.revertedWithCustomError(vault, "InsufficientFreeCollateral")
          .withArgs(alice.address, 10n * unit * scale, (10n * unit + 1n) * scale);
        // Another trader's deposit does not make it withdrawable.
        await mintAndApprove(usdc, vault, bob, 10n * unit);
        await vault.connect(bob).deposit(10n * unit);
        await expect(vault.connect(alice).withdraw(10n * unit + 1n))
          .to.be.revertedWithCustomError(vault, "InsufficientFreeCollateral")
          .withArgs(alice.address, 10n * unit * scale, (10n * unit + 1n) * scale);
      });
    });
  }

  describe("zero amounts and addresses", function () {
    it("deposit, depositFor and withdraw of zero revert with ZeroAmount", async function () {
      const { vault } = await networkHelpers.loadFixture(core6);
      const [, alice] = await ethers.getSigners();
      await expect(vault.connect(alice).deposit(0n)).to.be.revertedWithCustomError(vault, "ZeroAmount");
      await expect(vault.connect(alice).depositFor(alice.address, 0n)).to.be.revertedWithCustomError(
        vault,
        "ZeroAmount",
      );
      await expect(vault.connect(alice).withdraw(0n)).to.be.revertedWithCustomError(vault, "ZeroAmount");
    });

    it("depositFor the zero address reverts with ZeroAddress", async function () {
      const { vault, usdc } = await networkHelpers.loadFixture(core6);
      const [, alice] = await ethers.getSigners();
      await mintAndApprove(usdc, vault, alice, USDC(1));
      await expect(vault.connect(alice).depositFor(ethers.ZeroAddress, USDC(1))).to.be.revertedWithCustomError(
        vault,
        "ZeroAddress",
      );
    });
  });

  describe("balanceOf", function () {
    it("rounds free collateral down to whole token units, and the dust cannot be withdrawn", async function () {
      const system = await networkHelpers.loadFixture(core6);
      const amm = await deployMarket(ethers, system, { quoteReserve: toWad(100000), baseReserve: toWad(12500) });
      const ammAddress = await amm.getAddress();
      const [, alice] = await ethers.getSigners();
      const model = new SystemModel();
      model.addMarket(ammAddress, toWad(100000), toWad(12500), {
        initialMarginRatio: toWad("0.1"),
        maintenanceMarginRatio: toWad("0.0625"),
        feeRatio: 0n,
      });
      await fund(system, alice, USDC(10000));
      model.deposit(alice.address, USDC(10000) * USDC_SCALE);
      // Open and close at once: the pool's rounding leaves Alice a few wei short of 10000.
      model.open(alice.address, ammAddress, LONG, toWad(2000), toWad(2));
      await system.clearingHouse
        .connect(alice)
        .openPosition(ammAddress, Side.LONG, toWad(2000), toWad(2), 0n, MAX_DEADLINE);
      model.close(alice.address, ammAddress);
      await system.clearingHouse.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE);

      const free = model.freeOf(alice.address);
      expect(free % USDC_SCALE).to.not.equal(0n); // the test needs a fractional unit
      expect(await system.vault.freeCollateral(alice.address)).to.equal(free);
      expect(await system.vault.balanceOf(alice.address)).to.equal(free / USDC_SCALE);
      expect(free / USDC_SCALE).to.equal(USDC(10000) - 1n);

      await system.vault.connect(alice).withdraw(free / USDC_SCALE);
      const dust = free % USDC_SCALE;
      expect(await system.vault.freeCollateral(alice.address)).to.equal(dust);
      expect(await system.vault.balanceOf(alice.address)).to.equal(0n);
      await expect(system.vault.connect(alice).withdraw(1n))
        .to.be.revertedWithCustomError(system.vault, "InsufficientFreeCollateral")
        .withArgs(alice.address, dust, USDC_SCALE);
    });
  });

  describe("unsupported tokens", function () {
    it("refuses a fee-on-transfer token with UnsupportedTransferAmount", async function () {
      const [, alice, bob, , clearingHouse] = await ethers.getSigners();
      const token = (await ethers.deployContract("FeeOnTransferERC20")) as unknown as FeeOnTransferERC20;
      // A plain account stands in for the ClearingHouse: deposits do not involve it.
      const vault = await ethers.deployContract("Vault", [await token.getAddress(), clearingHouse.address]);
      await token.mint(alice.address, USDC(1000));
      await token.connect(alice).approve(await vault.getAddress(), USDC(1000));
      // 1% is burnt in transit: 1000 sent, 990 received.
      await expect(vault.connect(alice).deposit(USDC(1000)))
        .to.be.revertedWithCustomError(vault, "UnsupportedTransferAmount")
        .withArgs(USDC(1000), USDC(990));
      await expect(vault.connect(alice).depositFor(bob.address, USDC(100)))
        .to.be.revertedWithCustomError(vault, "UnsupportedTransferAmount")
        .withArgs(USDC(100), USDC(99));
      expect(await vault.freeCollateral(alice.address)).to.equal(0n);
      expect(await vault.freeCollateral(bob.address)).to.equal(0n);
      expect(await token.balanceOf(await vault.getAddress())).to.equal(0n);
    });
  });

  describe("reentrancy", function () {
    async function hookFixture() {
      const [, alice, bob, , clearingHouse] = await ethers.getSigners();
      const hook = (await ethers.deployContract("ReentrantERC20")) as unknown as ReentrantERC20;
      // A plain account stands in for the ClearingHouse: deposits and withdrawals do not involve it.
      const vault = (await ethers.deployContract("Vault", [
        await hook.getAddress(),
        clearingHouse.address,
      ])) as unknown as Vault;
      const hookAddress = await hook.getAddress();
      const vaultAddress = await vault.getAddress();
      await hook.mint(alice.address, USDC(1000));
      await hook.connect(alice).approve(vaultAddress, USDC(1000));
      // The hook token owns free collateral itself, so a reentrant withdraw would have something to take.
      await vault.connect(alice).depositFor(hookAddress, USDC(100));
      return { alice, bob, hook, vault, hookAddress, vaultAddress };
    }

    it("control: the hook's withdraw works when it is not inside a Vault call", async function () {
      const { alice, bob, hook, vault, hookAddress, vaultAddress } = await networkHelpers.loadFixture(hookFixture);
      await hook.arm(vaultAddress, vault.interface.encodeFunctionData("withdraw", [USDC(10)]));
      await hook.connect(alice).transfer(bob.address, 1n); // any transfer fires the hook
      expect(await hook.callbackSucceeded()).to.equal(true);
      expect(await vault.freeCollateral(hookAddress)).to.equal(USDC(90) * USDC_SCALE);
      expect(await hook.balanceOf(vaultAddress)).to.equal(USDC(90));
    });

    it("a withdraw re-entered from the token during deposit's transferFrom fails, and balances stay right", async function () {
      const { alice, hook, vault, hookAddress, vaultAddress } = await networkHelpers.loadFixture(hookFixture);
      await hook.arm(vaultAddress, vault.interface.encodeFunctionData("withdraw", [USDC(10)]));
      await expect(vault.connect(alice).deposit(USDC(500)))
        .to.emit(vault, "Deposited")
        .withArgs(alice.address, alice.address, USDC(500));
      expect(await hook.callbackSucceeded()).to.equal(false);
      const reason = vault.interface.parseError(await hook.callbackReturn());
      expect(reason?.name).to.equal("ReentrancyGuardReentrantCall");
      expect(await hook.hookTarget()).to.equal(ethers.ZeroAddress); // the hook fired
      expect(await vault.freeCollateral(alice.address)).to.equal(USDC(500) * USDC_SCALE);
      expect(await vault.freeCollateral(hookAddress)).to.equal(USDC(100) * USDC_SCALE);
      expect(await hook.balanceOf(vaultAddress)).to.equal(USDC(600));
      expect(await hook.balanceOf(hookAddress)).to.equal(0n);
    });

    it("a withdraw re-entered from the token during withdraw's transfer fails, and balances stay right", async function () {
      const { alice, hook, vault, hookAddress, vaultAddress } = await networkHelpers.loadFixture(hookFixture);
      await vault.connect(alice).deposit(USDC(500));
      await hook.arm(vaultAddress, vault.interface.encodeFunctionData("withdraw", [USDC(10)]));
      await expect(vault.connect(alice).withdraw(USDC(200)))
        .to.emit(vault, "Withdrawn")
        .withArgs(alice.address, USDC(200));
      expect(await hook.callbackSucceeded()).to.equal(false);
      expect(vault.interface.parseError(await hook.callbackReturn())?.name).to.equal("ReentrancyGuardReentrantCall");
      expect(await vault.freeCollateral(alice.address)).to.equal(USDC(300) * USDC_SCALE);
      expect(await vault.freeCollateral(hookAddress)).to.equal(USDC(100) * USDC_SCALE);
      expect(await hook.balanceOf(vaultAddress)).to.equal(USDC(400));
    });
  });

  describe("settle", function () {
    /** Stand-ins for two markets: the Vault keys its pools by address and knows nothing else of them. */
    const MARKET = ethers.getAddress("0x000000000000000000000000000000000000aaaa");
    const OTHER_MARKET = ethers.getAddress("0x000000000000000000000000000000000000bbbb");

    it("can be called only by the ClearingHouse", async function () {
      const { vault, owner } = await networkHelpers.loadFixture(core6);
      const [, alice, , stranger] = await ethers.getSigners();
      await expect(vault.connect(stranger).settle(alice.address, MARKET, 1n, 0n, 0n, 0n))
        .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
        .withArgs(stranger.address);
      // Not even the account that deployed everything and owns the ClearingHouse.
      await expect(vault.connect(owner).settle(alice.address, MARKET, -1n, 0n, 1n, 0n))
        .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
        .withArgs(owner.address);
    });

    it("the account named at construction is the one that settles, moving value as documented", async function () {
      const [deployer, alice, , , clearingHouse] = await ethers.getSigners();
      const token = (await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6])) as unknown as MockERC20;
      const vault = (await ethers.deployContract("Vault", [
        await token.getAddress(),
        clearingHouse.address,
      ])) as unknown as Vault;
      await mintAndApprove(token, vault, alice, USDC(100));
      await vault.connect(alice).deposit(USDC(100));
      const asCh = vault.connect(clearingHouse);
      const balances = async () => {
        const b = await vault.marketBalances(MARKET);
        return [b.pool, b.lockedMargin, b.claims];
      };
      // -40 as margin: free collateral to the market's pool, locked there.
      await asCh.settle(alice.address, MARKET, -toWad(40), 0n, toWad(40), 0n);
      expect(await vault.freeCollateral(alice.address)).to.equal(toWad(60));
      expect(await balances()).to.deep.equal([toWad(40), toWad(40), 0n]);
      expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), 0n]);
      // 15 of margin released: +10 paid out with a fee of 5, the pool pays both.
      await asCh.settle(alice.address, MARKET, toWad(10), toWad(5), -toWad(15), 0n);
      expect(await vault.freeCollateral(alice.address)).to.equal(toWad(70));
      expect(await balances()).to.deep.equal([toWad(25), toWad(25), 0n]);
      expect(await vault.getPoolBalances()).to.deep.equal([toWad(25), toWad(5)]);
      // An over-draw of free collateral is refused.
      await expect(asCh.settle(alice.address, MARKET, -toWad(70) - 1n, 0n, 0n, 0n))
        .to.be.revertedWithCustomError(vault, "InsufficientFreeCollateral")
        .withArgs(alice.address, toWad(70), toWad(70) + 1n);
      // A payout larger than the pool never reverts: the pool pays the trader first, the 25 it holds,
      // and the 1 wei left is queued as Alice's claim; the fund then takes only what the pool holds
      // beyond the locked margin (nothing), and its 5 becomes its receivable against the pool.
      await expect(asCh.settle(alice.address, MARKET, toWad(25) + 1n, toWad(5), -toWad(25), 0n))
        .to.emit(vault, "ClaimQueued")
        .withArgs(MARKET, alice.address, 0n, 1n, 1n)
        .and.to.emit(vault, "FundReceivableBooked")
        .withArgs(MARKET, toWad(5), toWad(5));
      expect(await vault.freeCollateral(alice.address)).to.equal(toWad(95));
      expect(await balances()).to.deep.equal([0n, 0n, 1n]);
      expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(5)]);
      // From an empty pool the fund takes nothing: all of its 3 is owed too.
      await expect(asCh.settle(alice.address, MARKET, 0n, toWad(3), 0n, 0n))
        .to.emit(vault, "FundReceivableBooked")
        .withArgs(MARKET, toWad(3), toWad(8));
      expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(5)]);
      expect((await vault.marketBalances(MARKET)).fundReceivable).to.equal(toWad(8));
      expect(await vault.claimOf(MARKET, alice.address)).to.equal(1n);
      // Nothing left or came in: 100 USDC held = 95 free + 0 pool + 5 fund.
      expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(100));
      await expect(vault.connect(deployer).settle(alice.address, MARKET, 1n, 0n, 0n, 0n))
        .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
        .withArgs(deployer.address);
    });

    it("a close's profit is paid only from what its market's losers realised: until the loser closes it is a claim, then paid in full", async function () {
      // Issue 13: a profit used to be paid out of the pool's margins (the old version of this test made
      // it exceed them all and revert InsufficientMarginPool); now a close never reverts for lack of pool money.
      const system = await networkHelpers.loadFixture(core6);
      const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1000), baseReserve: toWad(100) });
      const ammAddress = await amm.getAddress();
      const [, alice, bob, carol] = await ethers.getSigners();
      const model = new SystemModel();
      model.addMarket(ammAddress, toWad(1000), toWad(100), {
        initialMarginRatio: toWad("0.1"),
        maintenanceMarginRatio: toWad("0.0625"),
        feeRatio: 0n,
      });
      for (const t of [alice, bob]) {
        await fund(system, t, USDC(1000));
        model.deposit(t.address, USDC(1000) * USDC_SCALE);
      }
      const ch = system.clearingHouse;
      const contracts = { vault: system.vault, clearingHouse: ch, amms: [amm] };
      model.open(alice.address, ammAddress, LONG, toWad(100), toWad(10));
      await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(100), toWad(10), 0n, MAX_DEADLINE);
      model.open(bob.address, ammAddress, LONG, toWad(1000), WAD);
      await ch.connect(bob).openPosition(ammAddress, Side.LONG, toWad(1000), WAD, 0n, MAX_DEADLINE);
      // The pool holds the two margins (1,100), all locked: no profit is available, the whole gain waits.
      expect(await system.vault.profitAvailable(ammAddress)).to.equal(0n);
      const r = model.close(alice.address, ammAddress);
      // Written out: Alice's 1,000 long leaves 2,000 / 50 (she holds 50), Bob's 1,000 leaves 3,000 /
      // 33.3.. ; closing 50 puts the base at 83.3.. and the quote at 1,200: she gets 1,800, +800.
      expect(toWad(800) - r.realizedPnl).to.equal(15n); // the pool rounds every reserve up: 15 wei less
      expect([r.freeCollateralDelta, r.claim]).to.deep.equal([toWad(100), r.realizedPnl]);
      await expect(ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE))
        .to.emit(system.vault, "ClaimQueued")
        .withArgs(ammAddress, alice.address, 0n, r.realizedPnl, r.realizedPnl);
      await expectMatchesModel(model, contracts, [alice.address, bob.address]);
      // Bob's close realises his loss into the pool; anyone's payClaims then pays Alice in full
      // (fees are 0, so PnL is zero-sum but for the pool's rounding, which the pool keeps).
      const rb = model.close(bob.address, ammAddress);
      await ch.connect(bob).closePosition(ammAddress, 0n, MAX_DEADLINE);
      expect(rb.realizedPnl <= -r.realizedPnl).to.equal(true);
      const paid = model.payClaims(ammAddress, 1);
      expect(paid).to.deep.equal([{ trader: alice.address, amount: r.realizedPnl, remaining: 0n }]);
      await expect(system.vault.connect(carol).payClaims(ammAddress, 1n))
        .to.emit(system.vault, "ClaimPaid")
        .withArgs(ammAddress, alice.address, r.realizedPnl, 0n);
      await expectMatchesModel(model, contracts, [alice.address, bob.address]);
      expect(await system.vault.marketBalances(ammAddress)).to.deep.equal([
        -(r.realizedPnl + rb.realizedPnl),
        0n,
        0n,
        0n,
      ]);
    });
  });

  describe("insurance fund", function () {
    /** The market the fund's flows go through (the Vault keys pools by address only). */
    const FUND_MARKET = ethers.getAddress("0x000000000000000000000000000000000000cccc");

    /** A 6-decimal Vault whose ClearingHouse and insurance fund contract are plain accounts. */
    async function insuranceFixture() {
      const [deployer, alice, bob, stranger, clearingHouse, insurance] = await ethers.getSigners();
      const token = (await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6])) as unknown as MockERC20;
      const vault = (await ethers.deployContract("Vault", [
        await token.getAddress(),
        clearingHouse.address,
      ])) as unknown as Vault;
      const asCh = vault.connect(clearingHouse);
      const asFund = vault.connect(insurance);
      return { deployer, alice, bob, stranger, clearingHouse, insurance, token, vault, asCh, asFund };
    }

    /** The same, with the insurance fund account bound. */
    async function boundFixture() {
      const fx = await insuranceFixture();
      await fx.asCh.setInsuranceFund(fx.insurance.address);
      return fx;
    }

    /** The same, with 100 USDC of Alice's free collateral and 50 USDC in the insurance account. */
    async function fundedFixture() {
      const fx = await boundFixture();
      await mintAndApprove(fx.token, fx.vault, fx.alice, USDC(100));
      await fx.vault.connect(fx.alice).deposit(USDC(100));
      await mintAndApprove(fx.token, fx.vault, fx.insurance, USDC(50));
      await fx.asFund.depositInsurance(USDC(50));
      return fx;
    }

    describe("setInsuranceFund", function () {
      it("is unset at first: no address, an empty account", async function () {
        const { vault } = await networkHelpers.loadFixture(insuranceFixture);
        expect(await vault.insuranceFund()).to.equal(ethers.ZeroAddress);
        expect(await vault.insuranceFundBalance()).to.equal(0n);
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
      });

      it("only the ClearingHouse may set it", async function () {
        const { vault, deployer, stranger, insurance } = await networkHelpers.loadFixture(insuranceFixture);
        for (const caller of [stranger, deployer, insurance]) {
          await expect(vault.connect(caller).setInsuranceFund(insurance.address))
            .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
            .withArgs(caller.address);
        }
        expect(await vault.insuranceFund()).to.equal(ethers.ZeroAddress);
      });

      it("rejects the zero address with ZeroAddress", async function () {
        const { vault, asCh } = await networkHelpers.loadFixture(insuranceFixture);
        await expect(asCh.setInsuranceFund(ethers.ZeroAddress)).to.be.revertedWithCustomError(vault, "ZeroAddress");
        expect(await vault.insuranceFund()).to.equal(ethers.ZeroAddress);
      });

      it("sets it once, emitting InsuranceFundSet; a second call reverts with InsuranceFundAlreadySet", async function () {
        const { vault, asCh, insurance, stranger } = await networkHelpers.loadFixture(insuranceFixture);
        await expect(asCh.setInsuranceFund(insurance.address))
          .to.emit(vault, "InsuranceFundSet")
          .withArgs(insurance.address);
        expect(await vault.insuranceFund()).to.equal(insurance.address);
        for (const other of [stranger.address, insurance.address]) {
          await expect(asCh.setInsuranceFund(other))
            .to.be.revertedWithCustomError(vault, "InsuranceFundAlreadySet")
            .withArgs(insurance.address);
        }
        expect(await vault.insuranceFund()).to.equal(insurance.address);
      });

      it("in the deployed system only the ClearingHouse owner binds it, through the ClearingHouse, once", async function () {
        // deployCore binds the staked InsuranceFund through ClearingHouse.setInsuranceFund.
        const { vault, clearingHouse, owner } = await networkHelpers.loadFixture(core6);
        const [, , , stranger, , other] = await ethers.getSigners();
        const bound = await vault.insuranceFund();
        expect(bound).to.not.equal(ethers.ZeroAddress);
        await expect(clearingHouse.connect(stranger).setInsuranceFund(other.address))
          .to.be.revertedWithCustomError(clearingHouse, "OwnableUnauthorizedAccount")
          .withArgs(stranger.address);
        await expect(clearingHouse.connect(owner).setInsuranceFund(other.address))
          .to.be.revertedWithCustomError(vault, "InsuranceFundAlreadySet")
          .withArgs(bound);
      });
    });

    describe("access to the insurance account", function () {
      it("before a fund is set nobody may deposit or withdraw insurance: OnlyInsuranceFund", async function () {
        const { vault, token, insurance, clearingHouse, stranger } = await networkHelpers.loadFixture(insuranceFixture);
        await mintAndApprove(token, vault, insurance, USDC(10));
        for (const caller of [insurance, clearingHouse, stranger]) {
          await expect(vault.connect(caller).depositInsurance(USDC(1)))
            .to.be.revertedWithCustomError(vault, "OnlyInsuranceFund")
            .withArgs(caller.address);
          await expect(vault.connect(caller).withdrawInsurance(caller.address, USDC(1)))
            .to.be.revertedWithCustomError(vault, "OnlyInsuranceFund")
            .withArgs(caller.address);
        }
        expect(await token.balanceOf(await vault.getAddress())).to.equal(0n);
      });

      it("once set, only the insurance fund contract may: not the ClearingHouse, not anyone else", async function () {
        const { vault, token, clearingHouse, stranger, deployer } = await networkHelpers.loadFixture(fundedFixture);
        for (const caller of [clearingHouse, stranger, deployer]) {
          await mintAndApprove(token, vault, caller, USDC(1));
          await expect(vault.connect(caller).depositInsurance(USDC(1)))
            .to.be.revertedWithCustomError(vault, "OnlyInsuranceFund")
            .withArgs(caller.address);
          await expect(vault.connect(caller).withdrawInsurance(caller.address, USDC(1)))
            .to.be.revertedWithCustomError(vault, "OnlyInsuranceFund")
            .withArgs(caller.address);
        }
        expect(await vault.insuranceFundBalance()).to.equal(USDC(50));
      });

      it("a zero amount reverts with ZeroAmount, a zero recipient with ZeroAddress", async function () {
        const { vault, asFund } = await networkHelpers.loadFixture(fundedFixture);
        await expect(asFund.depositInsurance(0n)).to.be.revertedWithCustomError(vault, "ZeroAmount");
        await expect(asFund.withdrawInsurance(ethers.ZeroAddress, USDC(1))).to.be.revertedWithCustomError(
          vault,
          "ZeroAddress",
        );
        await expect(asFund.withdrawInsurance(ethers.ZeroAddress, 0n)).to.be.revertedWithCustomError(
          vault,
          "ZeroAmount",
        );
      });
    });

    describe("depositInsurance and withdrawInsurance", function () {
      it("depositInsurance pulls the fund's tokens, credits amount x 10^12 and emits InsuranceDeposited", async function () {
        const { vault, asFund, token, insurance, alice } = await networkHelpers.loadFixture(boundFixture);
        const vaultAddress = await vault.getAddress();
        // 1234.567891 USDC minted and approved; 1000.000001 USDC deposited.
        await mintAndApprove(token, vault, insurance, 1_234_567_891n);
        await expect(asFund.depositInsurance(1_000_000_001n))
          .to.emit(vault, "InsuranceDeposited")
          .withArgs(1_000_000_001n);
        expect(await token.balanceOf(vaultAddress)).to.equal(1_000_000_001n);
        expect(await token.balanceOf(insurance.address)).to.equal(234_567_890n);
        expect(await token.allowance(insurance.address, vaultAddress)).to.equal(234_567_890n);
        // 1_000_000_001 x 10^12 = 1000.000001e18, all in the insurance account.
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 1_000_000_001_000_000_000_000n]);
        expect(await vault.insuranceFundBalance()).to.equal(1_000_000_001n);
        // No trader's account moved, the fund's own included.
        expect(await vault.freeCollateral(insurance.address)).to.equal(0n);
        expect(await vault.freeCollateral(alice.address)).to.equal(0n);
        // A second deposit adds up.
        await expect(asFund.depositInsurance(234_567_890n)).to.emit(vault, "InsuranceDeposited").withArgs(234_567_890n);
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 1_234_567_891_000_000_000_000n]);
        expect(await vault.insuranceFundBalance()).to.equal(1_234_567_891n);
        expect(await token.balanceOf(insurance.address)).to.equal(0n);
      });

      it("withdrawInsurance pays tokens to the recipient, debits amount x 10^12 and emits InsuranceWithdrawn", async function () {
        const { vault, asFund, token, insurance, bob } = await networkHelpers.loadFixture(fundedFixture);
        const vaultAddress = await vault.getAddress();
        // 50 USDC in the account; 20.5 USDC to Bob.
        await expect(asFund.withdrawInsurance(bob.address, 20_500_000n))
          .to.emit(vault, "InsuranceWithdrawn")
          .withArgs(bob.address, 20_500_000n);
        expect(await token.balanceOf(bob.address)).to.equal(20_500_000n);
        expect(await token.balanceOf(insurance.address)).to.equal(0n);
        // The vault keeps Alice's 100 and the account's 29.5.
        expect(await token.balanceOf(vaultAddress)).to.equal(129_500_000n);
        expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad("29.5")]);
        expect(await vault.insuranceFundBalance()).to.equal(29_500_000n);
        expect(await vault.freeCollateral(bob.address)).to.equal(0n);
        // The fund may pay itself too; the rest can come out to the last unit.
        await expect(asFund.withdrawInsurance(insurance.address, 29_500_000n))
          .to.emit(vault, "InsuranceWithdrawn")
          .withArgs(insurance.address, 29_500_000n);
        expect(await token.balanceOf(insurance.address)).to.equal(29_500_000n);
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
        expect(await vault.insuranceFundBalance()).to.equal(0n);
        expect(await token.balanceOf(vaultAddress)).to.equal(USDC(100));
      });

      it("withdrawing more than the account reverts with InsufficientInsuranceFund (18 decimals), leaving traders' collateral alone", async function () {
        const { vault, asFund, alice, bob } = await networkHelpers.loadFixture(fundedFixture);
        // 50 USDC in the account, 100 USDC of Alice's in the vault: the account alone is what counts.
        await expect(asFund.withdrawInsurance(bob.address, USDC(50) + 1n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(toWad(50), toWad(50) + 10n ** 12n);
        await expect(asFund.withdrawInsurance(alice.address, USDC(150)))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(toWad(50), toWad(150));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(50)]);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(100));
      });

      it("insuranceFundBalance rounds down to whole token units, and the dust cannot be withdrawn", async function () {
        const { vault, asCh, asFund, alice, bob } = await networkHelpers.loadFixture(fundedFixture);
        // Alice puts 40 into the margin pool; a fee of 5 USDC + 7 wei, paid out of her margin (which
        // leaves the locked margin), moves from the pool to the account.
        await asCh.settle(alice.address, FUND_MARKET, -toWad(40), 0n, toWad(40), 0n);
        await asCh.settle(alice.address, FUND_MARKET, 0n, toWad(5) + 7n, -(toWad(5) + 7n), 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(35) - 7n, toWad(55) + 7n]);
        expect(await vault.insuranceFundBalance()).to.equal(USDC(55));
        await asFund.withdrawInsurance(bob.address, USDC(55));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(35) - 7n, 7n]);
        expect(await vault.insuranceFundBalance()).to.equal(0n);
        await expect(asFund.withdrawInsurance(bob.address, 1n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(7n, 10n ** 12n);
      });

      it("depositInsurance refuses a fee-on-transfer token with UnsupportedTransferAmount", async function () {
        const [, , , , clearingHouse, insurance] = await ethers.getSigners();
        const token = (await ethers.deployContract("FeeOnTransferERC20")) as unknown as FeeOnTransferERC20;
        const vault = (await ethers.deployContract("Vault", [
          await token.getAddress(),
          clearingHouse.address,
        ])) as unknown as Vault;
        const vaultAddress = await vault.getAddress();
        await vault.connect(clearingHouse).setInsuranceFund(insurance.address);
        await token.mint(insurance.address, USDC(1000));
        await token.connect(insurance).approve(vaultAddress, USDC(1000));
        // 1% is burnt in transit: 1000 sent, 990 received.
        await expect(vault.connect(insurance).depositInsurance(USDC(1000)))
          .to.be.revertedWithCustomError(vault, "UnsupportedTransferAmount")
          .withArgs(USDC(1000), USDC(990));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
        expect(await vault.insuranceFundBalance()).to.equal(0n);
        expect(await token.balanceOf(vaultAddress)).to.equal(0n);
        expect(await token.balanceOf(insurance.address)).to.equal(USDC(1000));
      });
    });

    describe("settle with a signed insurance delta", function () {
      it("a negative delta moves value from the insurance account into the margin pool, before the payout it backs", async function () {
        const { vault, asCh, token, alice } = await networkHelpers.loadFixture(fundedFixture);
        const vaultAddress = await vault.getAddress();
        // Alice 100 free, account 50, pool 0. Alice puts 40 into the pool: free 60, pool 40.
        await asCh.settle(alice.address, FUND_MARKET, -toWad(40), 0n, 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(50)]);
        // A payout of 70 exceeds the pool (40); the account pays 30 in first: pool 40 + 30 - 70 = 0.
        await asCh.settle(alice.address, FUND_MARKET, toWad(70), -toWad(30), 0n, 0n);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(130));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(20)]);
        expect(await vault.insuranceFundBalance()).to.equal(USDC(20));
        // A payment in and a payment from the account together: pool 0 + 10 + 5 = 15, account 15.
        await asCh.settle(alice.address, FUND_MARKET, -toWad(10), -toWad(5), 0n, 0n);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(120));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(15), toWad(15)]);
        // The account alone (no trader involved, as a funding update settles it): pool 15 + 15 = 30.
        await asCh.settle(ethers.ZeroAddress, FUND_MARKET, 0n, -toWad(15), 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(30), 0n]);
        expect(await vault.freeCollateral(ethers.ZeroAddress)).to.equal(0n);
        expect(await vault.insuranceFundBalance()).to.equal(0n);
        // Nothing left or came in: 150 USDC held = 120 free + 30 pool + 0 account.
        expect(await token.balanceOf(vaultAddress)).to.equal(USDC(150));
      });

      it("reverts with InsufficientInsuranceFund when the account cannot pay, whatever the trader pays in; a payout beyond pool and fund is a claim", async function () {
        const { vault, asCh, alice } = await networkHelpers.loadFixture(fundedFixture);
        await asCh.settle(alice.address, FUND_MARKET, -toWad(40), 0n, 0n, 0n); // free 60, pool 40, account 50
        await expect(asCh.settle(alice.address, FUND_MARKET, 0n, -toWad(50) - 1n, 0n, 0n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(toWad(50), toWad(50) + 1n);
        // Alice's payment goes to the pool, not to the account: still short.
        await expect(asCh.settle(alice.address, FUND_MARKET, -toWad(10), -toWad(50) - 1n, 0n, 0n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(toWad(50), toWad(50) + 1n);
        // Nothing moved.
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(60));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(50)]);
        // The account's whole balance pays in before the payout: pool 40 + 50 = 90 pays 90 of a
        // payout of 90 + 1 wei, and the 1 wei is queued as Alice's claim (no revert).
        await expect(asCh.settle(alice.address, FUND_MARKET, toWad(90) + 1n, -toWad(50), 0n, 0n))
          .to.emit(vault, "ClaimQueued")
          .withArgs(FUND_MARKET, alice.address, 0n, 1n, 1n);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(150));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
        expect(await vault.claimOf(FUND_MARKET, alice.address)).to.equal(1n);
      });

      it("an empty insurance account, before any fund is set, cannot pay a wei", async function () {
        const { vault, asCh, token, alice } = await networkHelpers.loadFixture(insuranceFixture);
        await mintAndApprove(token, vault, alice, USDC(10));
        await vault.connect(alice).deposit(USDC(10));
        await expect(asCh.settle(alice.address, FUND_MARKET, -toWad(10), -1n, 0n, 0n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(0n, 1n);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(10));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, 0n]);
      });
    });

    describe("market pools and the claim queue", function () {
      const M = ethers.getAddress("0x000000000000000000000000000000000000aaaa");
      const M2 = ethers.getAddress("0x000000000000000000000000000000000000bbbb");
      const M3 = ethers.getAddress("0x000000000000000000000000000000000000dddd");

      it("keeps each market's money apart, queues what a pool cannot pay and pays claims first in, first out, never from locked margin", async function () {
        const { vault, asCh, token, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        const balancesOf = async (market: string) => {
          const b = await vault.marketBalances(market);
          return [b.pool, b.lockedMargin, b.claims];
        };
        // Alice 100 free, fund 50. 40 of margin in M, locked.
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        expect(await balancesOf(M)).to.deep.equal([toWad(40), toWad(40), 0n]);
        // Her margin back and 20 of profit: the pool pays the 40 it holds, the 20 is a claim; a claim
        // can also be passed in.
        await expect(asCh.settle(alice.address, M, toWad(60), 0n, -toWad(40), 0n))
          .to.emit(vault, "ClaimQueued")
          .withArgs(M, alice.address, 0n, toWad(20), toWad(20));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(50)]);
        await expect(asCh.settle(alice.address, M, 0n, 0n, 0n, toWad(3)))
          .to.emit(vault, "ClaimQueued")
          .withArgs(M, alice.address, 1n, toWad(3), toWad(23));
        // Another market's money is its own: 30 locked in M2 does not pay Bob's 5 in M.
        await asCh.settle(alice.address, M2, -toWad(30), 0n, toWad(30), 0n);
        await expect(asCh.settle(bob.address, M, toWad(5), 0n, 0n, 0n))
          .to.emit(vault, "ClaimQueued")
          .withArgs(M, bob.address, 2n, toWad(5), toWad(5));
        expect(await vault.freeCollateral(bob.address)).to.equal(0n);
        expect(await balancesOf(M)).to.deep.equal([0n, 0n, toWad(28)]);
        expect(await balancesOf(M2)).to.deep.equal([toWad(30), toWad(30), 0n]);
        expect(await vault.claimQueueBounds(M)).to.deep.equal([0n, 3n]);
        expect(await vault.payClaims.staticCall(M, 10n)).to.equal(0n);
        // A loss of 10 realised into M: payClaims(M, 1) pays 10 of the head's 20, which stays at the head.
        await asCh.settle(alice.address, M, -toWad(10), 0n, 0n, 0n);
        expect(await vault.profitAvailable(M)).to.equal(0n); // the claims come first
        await expect(vault.connect(stranger).payClaims(M, 1n))
          .to.emit(vault, "ClaimPaid")
          .withArgs(M, alice.address, toWad(10), toWad(13));
        expect(await vault.claimAt(M, 0n)).to.deep.equal([alice.address, toWad(10)]);
        expect(await vault.claimQueueBounds(M)).to.deep.equal([0n, 3n]);
        expect(await balancesOf(M)).to.deep.equal([0n, 0n, toWad(18)]);
        // Margin locked in M is never spent on claims.
        await asCh.settle(alice.address, M, -toWad(15), 0n, toWad(15), 0n);
        expect(await vault.payClaims.staticCall(M, 10n)).to.equal(0n);
        // 12 more realised: the head's 10, then 2 of the 3 behind it; Bob, last in, waits.
        await asCh.settle(alice.address, M, -toWad(12), 0n, 0n, 0n);
        await expect(vault.payClaims(M, 10n))
          .to.emit(vault, "ClaimPaid")
          .withArgs(M, alice.address, toWad(10), toWad(3))
          .and.to.emit(vault, "ClaimPaid")
          .withArgs(M, alice.address, toWad(2), toWad(1));
        expect(await vault.claimQueueBounds(M)).to.deep.equal([1n, 3n]);
        expect(await vault.claimAt(M, 0n)).to.deep.equal([ethers.ZeroAddress, 0n]);
        expect(await vault.claimAt(M, 1n)).to.deep.equal([alice.address, toWad(1)]);
        expect([await vault.claimOf(M, alice.address), await vault.claimOf(M, bob.address)]).to.deep.equal([
          toWad(1),
          toWad(5),
        ]);
        expect(await balancesOf(M)).to.deep.equal([toWad(15), toWad(15), toWad(6)]);
        // 6 more: Alice's last wei-free unit and Bob's 5, the queue is empty.
        await asCh.settle(alice.address, M, -toWad(6), 0n, 0n, 0n);
        await expect(vault.payClaims(M, 10n)).to.emit(vault, "ClaimPaid").withArgs(M, bob.address, toWad(5), 0n);
        expect(await vault.claimQueueBounds(M)).to.deep.equal([3n, 3n]);
        expect(await balancesOf(M)).to.deep.equal([toWad(15), toWad(15), 0n]);
        expect(await balancesOf(M2)).to.deep.equal([toWad(30), toWad(30), 0n]);
        expect([await vault.freeCollateral(alice.address), await vault.freeCollateral(bob.address)]).to.deep.equal([
          toWad(50),
          toWad(5),
        ]);
        // 150 USDC held = 50 + 5 free + 15 + 30 in the pools + 50 in the fund.
        expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(150));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(45), toWad(50)]);
      });

      it("profitAvailable holds back what the queue owes only while it owes, and a locked margin below zero is kept exactly", async function () {
        const { vault, asCh, token, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        // Alice 100 free, fund 50. 40 of margin locked in M, then a realised loss of 10: 10 spare.
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        expect(await vault.profitAvailable(M)).to.equal(0n);
        await asCh.settle(alice.address, M, -toWad(10), 0n, 0n, 0n);
        expect(await vault.profitAvailable(M)).to.equal(toWad(10));
        // A claim of 4 queued: 6 left; paid off, the pool holds 46 and 6 are spare again.
        await asCh.settle(bob.address, M, 0n, 0n, 0n, toWad(4));
        expect(await vault.profitAvailable(M)).to.equal(toWad(6));
        await vault.connect(stranger).payClaims(M, 10n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(46), toWad(40), 0n, 0n]);
        expect(await vault.profitAvailable(M)).to.equal(toWad(6));
        // Funding debts beyond every margin: locked 40 - 100 = -60, read as 0; +70 brings it to 10.
        await asCh.settle(alice.address, M, 0n, 0n, -toWad(100), 0n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(46), 0n, 0n, 0n]);
        expect(await vault.profitAvailable(M)).to.equal(toWad(46));
        await asCh.settle(alice.address, M, 0n, 0n, toWad(70), 0n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(46), toWad(10), 0n, 0n]);
        expect(await vault.profitAvailable(M)).to.equal(toWad(36));
        // A fee of 50 finds 36 beyond the locked 10: the fund takes 36, 14 is its receivable.
        await expect(asCh.settle(alice.address, M, 0n, toWad(50), 0n, 0n))
          .to.emit(vault, "FundReceivableBooked")
          .withArgs(M, toWad(14), toWad(14));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(10), toWad(10), 0n, toWad(14)]);
        expect(await vault.profitAvailable(M)).to.equal(0n);
        // 20 more realised: 30 in the pool, 10 locked, 14 owed to the fund, 6 spare.
        await asCh.settle(alice.address, M, -toWad(20), 0n, 0n, 0n);
        expect(await vault.profitAvailable(M)).to.equal(toWad(6));
        // The receivable paid: the queue owes nothing, 16 - 10 = 6 spare.
        await expect(vault.connect(stranger).payClaims(M, 1n))
          .to.emit(vault, "FundReceivablePaid")
          .withArgs(M, toWad(14), 0n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(16), toWad(10), 0n, 0n]);
        expect(await vault.profitAvailable(M)).to.equal(toWad(6));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(16), toWad(100)]);
        // 150 USDC held = Alice's 30 + Bob's 4 free + 16 in the pool + 100 in the fund.
        expect([await vault.freeCollateral(alice.address), await vault.freeCollateral(bob.address)]).to.deep.equal([
          toWad(30),
          toWad(4),
        ]);
        expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(150));
      });

      it("the fund's take never spends locked margin: the rest is its receivable, paid before any claim", async function () {
        const { vault, asCh, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        // 40 of margin locked in M; a fee of 45 finds nothing beyond it: all of it is owed to the fund.
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        await expect(asCh.settle(alice.address, M, 0n, toWad(45), 0n, 0n))
          .to.emit(vault, "FundReceivableBooked")
          .withArgs(M, toWad(45), toWad(45));
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(50)]);
        // Bob is owed 10; new profit waits behind both.
        await asCh.settle(bob.address, M, 0n, 0n, 0n, toWad(10));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(40), toWad(40), toWad(10), toWad(45)]);
        // 50 realised into M: the fund's 45 first, then 5 of Bob's 10.
        await asCh.settle(alice.address, M, -toWad(50), 0n, 0n, 0n);
        expect(await vault.profitAvailable(M)).to.equal(0n);
        await expect(vault.connect(stranger).payClaims(M, 10n))
          .to.emit(vault, "FundReceivablePaid")
          .withArgs(M, toWad(45), 0n)
          .and.to.emit(vault, "ClaimPaid")
          .withArgs(M, bob.address, toWad(5), toWad(5));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(40), toWad(40), toWad(5), 0n]);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(95)]);
        // A take that finds the pool beyond its locked margin takes it at once, ahead of the claims.
        await asCh.settle(alice.address, M, -toWad(3), 0n, 0n, 0n);
        await asCh.settle(alice.address, M, 0n, toWad(2), 0n, 0n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(41), toWad(40), toWad(5), 0n]);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(41), toWad(97)]);
      });

      it("payClaims refuses zero entries and claimAt an index past the queue's end", async function () {
        const { vault, asCh, alice } = await networkHelpers.loadFixture(fundedFixture);
        await expect(vault.payClaims(M, 0n)).to.be.revertedWithCustomError(vault, "ZeroAmount");
        await expect(vault.claimAt(M, 0n))
          .to.be.revertedWithCustomError(vault, "ClaimIndexOutOfRange")
          .withArgs(M, 0n, 0n);
        await asCh.settle(alice.address, M, 0n, 0n, 0n, 1n);
        expect(await vault.claimAt(M, 0n)).to.deep.equal([alice.address, 1n]);
        await expect(vault.claimAt(M, 1n))
          .to.be.revertedWithCustomError(vault, "ClaimIndexOutOfRange")
          .withArgs(M, 1n, 1n);
        // An empty pool pays nothing and changes nothing.
        expect(await vault.payClaims.staticCall(M, 1n)).to.equal(0n);
      });

      it("moveMargin adds margin from free collateral or removes it from the pool, as settle would; a removal the pool cannot hold is a claim", async function () {
        const { vault, asCh, token, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        // Alice 100 free, fund 50. 40 of margin added in M: free 60, pool 40, locked 40.
        await asCh.moveMargin(alice.address, M, toWad(40));
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(60));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(40), toWad(40), 0n, 0n]);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(50)]);
        // 15 removed: free 75, pool 25, locked 25.
        await asCh.moveMargin(alice.address, M, -toWad(15));
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(75));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(25), toWad(25), 0n, 0n]);
        // More than Alice holds: refused.
        await expect(asCh.moveMargin(alice.address, M, toWad(75) + 1n))
          .to.be.revertedWithCustomError(vault, "InsufficientFreeCollateral")
          .withArgs(alice.address, toWad(75), toWad(75) + 1n);
        // Bob's 10 in M2 are M2's. Then 25 + 1 wei removed from M, whose pool holds 25: the pool pays
        // its 25, the wei is Alice's claim (the locked margin goes to -1 wei, read as 0).
        await mintAndApprove(token, vault, bob, USDC(10));
        await vault.connect(bob).deposit(USDC(10));
        await asCh.moveMargin(bob.address, M2, toWad(10));
        await expect(asCh.moveMargin(alice.address, M, -(toWad(25) + 1n)))
          .to.emit(vault, "ClaimQueued")
          .withArgs(M, alice.address, 0n, 1n, 1n);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(100));
        expect(await vault.marketBalances(M)).to.deep.equal([0n, 0n, 1n, 0n]);
        expect(await vault.marketBalances(M2)).to.deep.equal([toWad(10), toWad(10), 0n, 0n]);
        // The queue owes the wei: 1 wei realised into M goes to it, not to a new profit.
        await asCh.moveMargin(bob.address, M2, -toWad(10));
        await asCh.settle(bob.address, M, -1n, 0n, 0n, 0n);
        expect(await vault.profitAvailable(M)).to.equal(0n);
        // Zero is refused; only the ClearingHouse may move margin.
        await expect(asCh.moveMargin(alice.address, M, 0n)).to.be.revertedWithCustomError(vault, "ZeroAmount");
        await expect(vault.connect(stranger).moveMargin(alice.address, M, toWad(1)))
          .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
          .withArgs(stranger.address);
        // 160 USDC held = 100 + 10 - 1 wei free + 1 wei in M's pool + 50 in the fund.
        expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(160));
        expect(await vault.getPoolBalances()).to.deep.equal([1n, toWad(50)]);
      });

      it("closeMarket closes a market to margin, once; its pool, claims and settlements carry on", async function () {
        const { vault, asCh, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        await asCh.moveMargin(alice.address, M, toWad(40));
        await expect(vault.connect(stranger).closeMarket(M))
          .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
          .withArgs(stranger.address);
        await expect(asCh.closeMarket(M)).to.emit(vault, "MarketClosed").withArgs(M);
        await expect(asCh.closeMarket(M)).to.be.revertedWithCustomError(vault, "MarketIsSettled").withArgs(M);
        // No margin in or out of it any more, even one Alice could pay; another market takes it.
        for (const amount of [toWad(1), -toWad(1)]) {
          await expect(asCh.moveMargin(alice.address, M, amount))
            .to.be.revertedWithCustomError(vault, "MarketIsSettled")
            .withArgs(M);
        }
        await asCh.moveMargin(alice.address, M2, toWad(1));
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(40), toWad(40), 0n, 0n]);
        // The settlements that pay its positions out still run: 25 paid, 15 of margin released to the fund.
        await asCh.settle(alice.address, M, toWad(25), 0n, -toWad(25), 0n);
        await asCh.settle(ethers.ZeroAddress, M, 0n, toWad(15), -toWad(15), 0n);
        expect(await vault.marketBalances(M)).to.deep.equal([0n, 0n, 0n, 0n]);
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(84));
        // A market closed before any settlement is booked like any other: its pool counts once.
        await asCh.closeMarket(M3);
        await asCh.settle(bob.address, M3, 0n, -toWad(5), 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(6), toWad(60)]);
      });

      it("settleLiquidation moves the liquidator's part, then the trader's, as the two settlements would, in one call", async function () {
        const { vault, asCh, token, alice, bob } = await networkHelpers.loadFixture(fundedFixture);
        // Alice 100 free, fund 50; her 40 of margin locked in M.
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        // Bob liquidates: 3 of reward paid (pool 37) and 1 queued; 5 of the locked margin released
        // (35 locked, 2 spare): the fund takes the 2 of its 4 and books the other 2 as its
        // receivable; then Alice's payout of 5 (pool 30) and her claim of 0.5.
        const tx = asCh.settleLiquidation(
          M,
          bob.address,
          toWad(3),
          toWad(1),
          toWad(4),
          -toWad(5),
          alice.address,
          toWad(5),
          toWad("0.5"),
        );
        await expect(tx)
          .to.emit(vault, "FundReceivableBooked")
          .withArgs(M, toWad(2), toWad(2))
          .and.to.emit(vault, "ClaimQueued")
          .withArgs(M, bob.address, 0n, toWad(1), toWad(1))
          .and.to.emit(vault, "ClaimQueued")
          .withArgs(M, alice.address, 1n, toWad("0.5"), toWad("0.5"));
        // The events in the order of the two settlements: the fund's receivable, the liquidator's
        // claim, the trader's claim.
        const receipt = await (await tx).wait();
        const names = receipt!.logs.map((log) => vault.interface.parseLog(log)?.name);
        expect(names).to.deep.equal(["FundReceivableBooked", "ClaimQueued", "ClaimQueued"]);
        expect([await vault.freeCollateral(alice.address), await vault.freeCollateral(bob.address)]).to.deep.equal([
          toWad(65),
          toWad(3),
        ]);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(30), toWad(35), toWad("1.5"), toWad(2)]);
        expect(await vault.insuranceAccount()).to.equal(toWad(52));
        // A payout beyond the pool: it pays its 30, the last 1 is Alice's claim; nothing for Bob.
        await expect(asCh.settleLiquidation(M, bob.address, 0n, 0n, 0n, -toWad(35), alice.address, toWad(31), 0n))
          .to.emit(vault, "ClaimQueued")
          .withArgs(M, alice.address, 2n, toWad(1), toWad("1.5"));
        expect([await vault.freeCollateral(alice.address), await vault.freeCollateral(bob.address)]).to.deep.equal([
          toWad(95),
          toWad(3),
        ]);
        expect(await vault.marketBalances(M)).to.deep.equal([0n, 0n, toWad("2.5"), toWad(2)]);
        expect([await vault.claimOf(M, alice.address), await vault.claimOf(M, bob.address)]).to.deep.equal([
          toWad("1.5"),
          toWad(1),
        ]);
        expect(await vault.profitAvailable(M)).to.equal(0n);
        // 150 USDC held = 95 + 3 free + 0 in the pool + 52 in the fund.
        expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(150));
        expect(await vault.getPoolBalances()).to.deep.equal([0n, toWad(52)]);
      });

      it("settleLiquidation gives the same ledger as settle for the liquidator, then settle for the trader", async function () {
        const ledger = async (fx: Awaited<ReturnType<typeof fundedFixture>>) => [
          await fx.vault.freeCollateral(fx.alice.address),
          await fx.vault.freeCollateral(fx.bob.address),
          [...(await fx.vault.marketBalances(M))],
          await fx.vault.insuranceAccount(),
          await fx.vault.claimOf(M, fx.alice.address),
          await fx.vault.claimOf(M, fx.bob.address),
          [...(await fx.vault.claimQueueBounds(M))],
          await fx.vault.getPoolBalances(),
        ];
        // The fund pays 6 in (bad debt), 40 of margin released, Bob's reward 8 and Alice's 30:
        // pool 40 + 6 = 46 pays Bob 8 then Alice 30; 8 stay in the pool.
        const expected = [
          toWad(90),
          toWad(8),
          [toWad(8), 0n, toWad(2), 0n],
          toWad(44),
          toWad(2),
          0n,
          [0n, 1n],
          [toWad(8), toWad(44)],
        ];
        const one = await networkHelpers.loadFixture(fundedFixture);
        await one.asCh.settle(one.alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        await one.asCh.settleLiquidation(
          M,
          one.bob.address,
          toWad(8),
          0n,
          -toWad(6),
          -toWad(40),
          one.alice.address,
          toWad(30),
          toWad(2),
        );
        expect(await ledger(one)).to.deep.equal(expected);
        const two = await networkHelpers.loadFixture(fundedFixture);
        await two.asCh.settle(two.alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        await two.asCh.settle(two.bob.address, M, toWad(8), -toWad(6), -toWad(40), 0n);
        await two.asCh.settle(two.alice.address, M, toWad(30), 0n, 0n, toWad(2));
        expect(await ledger(two)).to.deep.equal(expected);
      });

      it("settleLiquidation: ClearingHouse only; a zero liquidator or trader reverts with ZeroAddress", async function () {
        const { vault, asCh, alice, bob, stranger } = await networkHelpers.loadFixture(fundedFixture);
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        await expect(
          vault.connect(stranger).settleLiquidation(M, bob.address, toWad(1), 0n, 0n, 0n, alice.address, 0n, 0n),
        )
          .to.be.revertedWithCustomError(vault, "OnlyClearingHouse")
          .withArgs(stranger.address);
        await expect(
          asCh.settleLiquidation(M, ethers.ZeroAddress, toWad(1), 0n, 0n, 0n, alice.address, 0n, 0n),
        ).to.be.revertedWithCustomError(vault, "ZeroAddress");
        await expect(
          asCh.settleLiquidation(M, bob.address, toWad(1), 0n, 0n, 0n, ethers.ZeroAddress, toWad(1), 0n),
        ).to.be.revertedWithCustomError(vault, "ZeroAddress");
        // The fund cannot pay in more than it holds, as in settle.
        await expect(asCh.settleLiquidation(M, bob.address, 0n, 0n, -toWad(50) - 1n, 0n, alice.address, 0n, 0n))
          .to.be.revertedWithCustomError(vault, "InsufficientInsuranceFund")
          .withArgs(toWad(50), toWad(50) + 1n);
        expect(await vault.marketBalances(M)).to.deep.equal([toWad(40), toWad(40), 0n, 0n]);
      });

      it("getPoolBalances sums the pool of every market settled for, each once; insuranceAccount is the fund's exact balance", async function () {
        const { vault, asCh, token, alice } = await networkHelpers.loadFixture(fundedFixture);
        // Alice 100 free, fund 50. 40 into M, then a settlement that moves nothing into M3.
        await asCh.settle(alice.address, M, -toWad(40), 0n, toWad(40), 0n);
        await asCh.settle(ethers.ZeroAddress, M3, 0n, 0n, 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(40), toWad(50)]);
        // 30 into M2 and 10 more into M: M counts once, 40 + 10 + 30.
        await asCh.settle(alice.address, M2, -toWad(30), 0n, toWad(30), 0n);
        await asCh.settle(alice.address, M, -toWad(10), 0n, 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(80), toWad(50)]);
        // The fund takes 5 + 7 wei of M2's margin, released first: M2's pool 25 - 7 wei.
        await asCh.settle(ethers.ZeroAddress, M2, 0n, toWad(5) + 7n, -(toWad(5) + 7n), 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(75) - 7n, toWad(55) + 7n]);
        expect(await vault.insuranceAccount()).to.equal(toWad(55) + 7n);
        expect(await vault.insuranceFundBalance()).to.equal(USDC(55));
        // The fund pays 5 into the empty M3: M3's pool 5, the fund 50 + 7 wei.
        await asCh.settle(ethers.ZeroAddress, M3, 0n, -toWad(5), 0n, 0n);
        expect(await vault.getPoolBalances()).to.deep.equal([toWad(80) - 7n, toWad(50) + 7n]);
        expect(await vault.insuranceAccount()).to.equal(toWad(50) + 7n);
        expect((await vault.marketBalances(M3)).pool).to.equal(toWad(5));
        // 150 USDC held = 20 free + 80 - 7 wei in the pools + 50 + 7 wei in the fund.
        expect(await vault.freeCollateral(alice.address)).to.equal(toWad(20));
        expect(await token.balanceOf(await vault.getAddress())).to.equal(USDC(150));
      });
    });
  });

  describe("solvency", function () {
    /** token balance x scale == every trader's free collateral + margin pool + insurance fund. */
    async function expectLedgerCoversTokens(system: System, traders: string[], scale: bigint) {
      const held = await system.usdc.balanceOf(await system.vault.getAddress());
      let claims = 0n;
      for (const t of traders) claims += await system.vault.freeCollateral(t);
      const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
      claims += marginPool + insuranceFund;
      expect(held * scale).to.equal(claims);
    }

    for (const [decimals, fixture] of [
      [6, core6],
      [18, core18],
    ] as const) {
      it(`the token balance equals the sum of ledger accounts through a sequence of trades (${decimals} decimals)`, async function () {
        const system = await networkHelpers.loadFixture(fixture);
        const scale = scaleOf(decimals);
        const unit = 10n ** BigInt(decimals);
        const params = {
          initialMarginRatio: toWad("0.1"),
          maintenanceMarginRatio: toWad("0.0625"),
          feeRatio: toWad("0.003"),
        };
        const amm = await deployMarket(ethers, system, {
          quoteReserve: toWad(100000),
          baseReserve: toWad(1000),
          ...params,
        });
        const ammAddress = await amm.getAddress();
        const ch = system.clearingHouse;
        const [, alice, bob, carol] = await ethers.getSigners();
        const traders = [alice, bob, carol];
        const addrs = traders.map((t) => t.address);
        const model = new SystemModel();
        model.addMarket(ammAddress, toWad(100000), toWad(1000), params);
        for (const t of traders) {
          await fund(system, t, 5000n * unit);
          model.deposit(t.address, 5000n * unit * scale);
        }
        const contracts = { vault: system.vault, clearingHouse: ch, amms: [amm] };
        const open = async (t: (typeof traders)[number], side: 0 | 1, margin: string, leverage: string) => {
          model.open(t.address, ammAddress, side, toWad(margin), toWad(leverage));
          await ch.connect(t).openPosition(ammAddress, side, toWad(margin), toWad(leverage), 0n, MAX_DEADLINE);
        };
        const steps: Array<() => Promise<void>> = [
          () => open(alice, LONG, "1000", "5"),
          () => open(bob, SHORT, "500", "4"),
          () => open(carol, LONG, "200", "10"),
          () => open(alice, LONG, "300", "2"), // increase
          async () => {
            model.addMargin(bob.address, ammAddress, toWad(100));
            await ch.connect(bob).addMargin(ammAddress, toWad(100));
          },
          () => open(alice, SHORT, "100", "3"), // reduce
          () => open(carol, SHORT, "500", "10"), // reverse into a short
          async () => {
            model.close(bob.address, ammAddress);
            await ch.connect(bob).closePosition(ammAddress, 0n, MAX_DEADLINE);
          },
          async () => {
            model.removeMargin(alice.address, ammAddress, toWad(50));
            await ch.connect(alice).removeMargin(ammAddress, toWad(50));
          },
          async () => {
            const units = model.freeOf(bob.address) / scale;
            model.withdraw(bob.address, units * scale);
            await system.vault.connect(bob).withdraw(units);
          },
          async () => {
            model.close(carol.address, ammAddress);
            await ch.connect(carol).closePosition(ammAddress, 0n, MAX_DEADLINE);
          },
          async () => {
            model.close(alice.address, ammAddress);
            await ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE);
          },
        ];
        for (const step of steps) {
          await step();
          await expectLedgerCoversTokens(system, addrs, scale);
          await expectMatchesModel(model, contracts, addrs);
        }
        // Everyone is flat: what is left is free collateral, rounding dust in the margin pool, and fees.
        const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
        expect(insuranceFund).to.be.greaterThan(0n);
        expect(marginPool).to.equal(model.marginPool);
      });
    }
  });
});
