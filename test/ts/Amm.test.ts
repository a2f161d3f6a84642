import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { abs, toWad, WAD, wDivDown, wMulDown } from "../../scripts/lib/fixed.js";
import type { Amm } from "../../typechain-types/index.js";
import { expectMatchesModel, expectPositionChanged, prng, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { AmmModel, LONG, ModelError, SHORT, SystemModel, type SideValue } from "./helpers/model.js";
import { inOneBlock } from "./helpers/blocks.js";

const { ethers, networkHelpers } = await network.create();

const NO_LIMITS = { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n };
const Q0 = toWad(1000);
const B0 = toWad(100);
const GAS = { gasLimit: 1_000_000n };

/** An Amm whose "ClearingHouse" is a plain account, so swaps can be called directly. */
async function directFixture() {
  const [owner, ch, stranger] = await ethers.getSigners();
  const curveModule = await (await ethers.deployContract("AmmCurveModule")).getAddress();
  const amm = (await ethers.deployContract("Amm", [
    ch.address,
    Q0,
    B0,
    NO_LIMITS,
    owner.address,
    curveModule,
  ])) as unknown as Amm;
  return { owner, ch, stranger, amm, asCh: amm.connect(ch) };
}

/** The same market behind the real ClearingHouse, with three funded traders. */
async function chFixture() {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: Q0, baseReserve: B0 });
  const [, alice, bob, carol] = await ethers.getSigners();
  for (const t of [alice, bob, carol]) await fund(system, t, USDC(100_000));
  return { system, amm, ammAddress: await amm.getAddress(), alice, bob, carol };
}

function newModel(ammAddress: string, feeRatio = 0n) {
  const model = new SystemModel();
  model.addMarket(ammAddress, Q0, B0, {
    initialMarginRatio: toWad("0.1"),
    maintenanceMarginRatio: toWad("0.0625"),
    feeRatio,
  });
  return model;
}

describe("Amm", function () {
  describe("construction", function () {
    it("stores the ClearingHouse, the reserves, the limits and the owner", async function () {
      const [owner, ch] = await ethers.getSigners();
      const limits = { maxTradeRatio: toWad("0.2"), fluctuationLimitRatio: toWad("0.05"), maxOpenInterest: toWad(7) };
      const curveModule = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      const amm = await ethers.deployContract("Amm", [ch.address, Q0, B0, limits, owner.address, curveModule]);
      await expect(amm.deploymentTransaction())
        .to.emit(amm, "LimitsUpdated")
        .withArgs(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
      expect(await amm.clearingHouse()).to.equal(ch.address);
      expect(await amm.getReserves()).to.deep.equal([Q0, B0]);
      const l = await amm.getLimits();
      expect([l.maxTradeRatio, l.fluctuationLimitRatio, l.maxOpenInterest]).to.deep.equal([
        limits.maxTradeRatio,
        limits.fluctuationLimitRatio,
        limits.maxOpenInterest,
      ]);
      expect(await amm.owner()).to.equal(owner.address);
      expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
    });

    it("rejects a curve module that is not an AmmCurveModule with InvalidCurveModule", async function () {
      const [owner, ch] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Amm");
      const notAModule = await (await ethers.deployContract("MockERC20", ["X", "X", 18])).getAddress();
      for (const module of [ethers.ZeroAddress, owner.address, notAModule]) {
        await expect(factory.deploy(ch.address, Q0, B0, NO_LIMITS, owner.address, module))
          .to.be.revertedWithCustomError(factory, "InvalidCurveModule")
          .withArgs(module);
      }
      // One module serves two markets.
      const module = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      const first = await factory.deploy(ch.address, Q0, B0, NO_LIMITS, owner.address, module);
      const second = await factory.deploy(ch.address, Q0, B0, NO_LIMITS, owner.address, module);
      expect([await first.curveModule(), await second.curveModule()]).to.deep.equal([module, module]);
    });

    it("rejects a zero ClearingHouse with ZeroClearingHouse", async function () {
      const [owner] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Amm");
      const module = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      await expect(
        factory.deploy(ethers.ZeroAddress, Q0, B0, NO_LIMITS, owner.address, module),
      ).to.be.revertedWithCustomError(factory, "ZeroClearingHouse");
    });

    it("rejects zero reserves and reserves above 128 bits with InvalidReserves", async function () {
      const [owner, ch] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Amm");
      const module = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      const tooBig = 2n ** 128n;
      for (const [q, b] of [
        [0n, B0],
        [Q0, 0n],
        [tooBig, B0],
        [Q0, tooBig],
      ]) {
        await expect(factory.deploy(ch.address, q, b, NO_LIMITS, owner.address, module))
          .to.be.revertedWithCustomError(factory, "InvalidReserves")
          .withArgs(q, b);
      }
      // The largest 128-bit reserves are fine.
      const amm = await factory.deploy(ch.address, tooBig - 1n, tooBig - 1n, NO_LIMITS, owner.address, module);
      expect(await amm.getReserves()).to.deep.equal([tooBig - 1n, tooBig - 1n]);
    });

    it("rejects ratios above 100% with RatioTooHigh and accepts exactly 100%", async function () {
      const [owner, ch] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Amm");
      const module = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      await expect(factory.deploy(ch.address, Q0, B0, { ...NO_LIMITS, maxTradeRatio: WAD + 1n }, owner.address, module))
        .to.be.revertedWithCustomError(factory, "RatioTooHigh")
        .withArgs(WAD + 1n);
      await expect(
        factory.deploy(ch.address, Q0, B0, { ...NO_LIMITS, fluctuationLimitRatio: WAD + 1n }, owner.address, module),
      )
        .to.be.revertedWithCustomError(factory, "RatioTooHigh")
        .withArgs(WAD + 1n);
      const amm = await factory.deploy(
        ch.address,
        Q0,
        B0,
        { maxTradeRatio: WAD, fluctuationLimitRatio: WAD, maxOpenInterest: 0n },
        owner.address,
        module,
      );
      expect((await amm.getLimits()).maxTradeRatio).to.equal(WAD);
    });
  });

  describe("access", function () {
    it("swapQuote and swapBase revert with OnlyClearingHouse for anyone else, owner included", async function () {
      const { amm, stranger, owner } = await networkHelpers.loadFixture(directFixture);
      for (const caller of [stranger, owner]) {
        await expect(amm.connect(caller).swapQuote(Side.LONG, toWad(1), 0n, 0n))
          .to.be.revertedWithCustomError(amm, "OnlyClearingHouse")
          .withArgs(caller.address);
        await expect(amm.connect(caller).swapBase(toWad(1), toWad(1), 0n))
          .to.be.revertedWithCustomError(amm, "OnlyClearingHouse")
          .withArgs(caller.address);
      }
    });

    it("the real ClearingHouse cannot be bypassed: a stranger cannot swap a listed market", async function () {
      const { amm, alice } = await networkHelpers.loadFixture(chFixture);
      await expect(amm.connect(alice).swapQuote(Side.SHORT, toWad(1), 0n, 0n))
        .to.be.revertedWithCustomError(amm, "OnlyClearingHouse")
        .withArgs(alice.address);
    });
  });

  describe("pricing", function () {
    it("previews equal the model and the following trade exactly, in every direction", async function () {
      const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
      const m = new AmmModel(Q0, B0);
      // No oracle, so no premium: every swap returns the zero funding snapshot (indices, the fund's
      // and the budget's shares).
      const NO_FUNDING = [0n, 0n, 0n, 0n];
      // Long by quote, short by quote, close part of a long, close part of a short.
      const q1 = toWad("123.456789012345678901");
      const preview1 = await amm.previewSwapQuote(Side.LONG, q1);
      expect(preview1).to.equal(m.previewSwapQuote(LONG, q1));
      const r1 = m.quoteSwap(LONG, q1);
      expect(await asCh.swapQuote.staticCall(Side.LONG, q1, 0n, 0n)).to.deep.equal([preview1, NO_FUNDING, 0n, 0n, 0n]);
      await expect(asCh.swapQuote(Side.LONG, q1, 0n, 0n))
        .to.emit(amm, "Swapped")
        .withArgs(q1, -preview1, r1.newQuote, r1.newBase);
      m.swapQuote(LONG, q1, 0n);
      const longSize = preview1;
      // A swap that grows a position reports the position's value at the reserves it trades on
      // (a long rounds down, a short up); one against the position reports 0.
      const grow = await asCh.swapQuote.staticCall(Side.LONG, q1, longSize, 0n);
      expect(grow[4]).to.equal((longSize * m.quote) / m.base);
      expect((await asCh.swapQuote.staticCall(Side.SHORT, toWad(1), longSize, 0n))[4]).to.equal(0n);

      const q2 = toWad("77.7");
      const preview2 = await amm.previewSwapQuote(Side.SHORT, q2);
      expect(preview2).to.equal(m.previewSwapQuote(SHORT, q2));
      const r2 = m.quoteSwap(SHORT, q2);
      expect(await asCh.swapQuote.staticCall(Side.SHORT, q2, 0n, 0n)).to.deep.equal([preview2, NO_FUNDING, 0n, 0n, 0n]);
      await expect(asCh.swapQuote(Side.SHORT, q2, 0n, 0n))
        .to.emit(amm, "Swapped")
        .withArgs(-q2, preview2, r2.newQuote, r2.newBase);
      m.swapQuote(SHORT, q2, 0n);
      const shortSize = -preview2;
      const growShort = await asCh.swapQuote.staticCall(Side.SHORT, toWad(1), shortSize, 0n);
      expect(growShort[4]).to.equal((preview2 * m.quote + m.base - 1n) / m.base);

      const s3 = longSize / 3n;
      const preview3 = await amm.previewSwapBase(longSize, s3);
      expect(preview3).to.equal(m.previewSwapBase(longSize, s3));
      const r3 = m.baseSwap(longSize, s3);
      expect(await asCh.swapBase.staticCall(longSize, s3, 0n)).to.deep.equal([preview3, NO_FUNDING, 0n, 0n]);
      await expect(asCh.swapBase(longSize, s3, 0n))
        .to.emit(amm, "Swapped")
        .withArgs(-preview3, s3, r3.newQuote, r3.newBase);
      m.swapBase(longSize, s3);

      const s4 = abs(shortSize) / 2n + 1n;
      const preview4 = await amm.previewSwapBase(shortSize, s4);
      expect(preview4).to.equal(m.previewSwapBase(shortSize, s4));
      const r4 = m.baseSwap(shortSize, s4);
      expect(await asCh.swapBase.staticCall(shortSize, s4, 0n)).to.deep.equal([preview4, NO_FUNDING, 0n, 0n]);
      await expect(asCh.swapBase(shortSize, s4, 0n))
        .to.emit(amm, "Swapped")
        .withArgs(preview4, -s4, r4.newQuote, r4.newBase);
      m.swapBase(shortSize, s4);
      expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
    });

    it("previewSwapBase of the whole position is exactly what closePosition pays", async function () {
      const { system, amm, ammAddress, alice, bob } = await networkHelpers.loadFixture(chFixture);
      const ch = system.clearingHouse;
      await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(50), toWad(3), 0n, MAX_DEADLINE);
      await ch.connect(bob).openPosition(ammAddress, Side.SHORT, toWad(20), toWad(7), 0n, MAX_DEADLINE);
      for (const t of [alice, bob]) {
        const size = (await ch.getPosition(ammAddress, t.address)).size;
        const exit = await amm.previewSwapBase(size, abs(size));
        const tx = await ch.connect(t).closePosition(ammAddress, 0n, MAX_DEADLINE);
        const receipt = await tx.wait();
        const ev = receipt!.logs.map((l) => ch.interface.parseLog(l)).find((e) => e?.name === "PositionChanged");
        expect(ev!.args.quoteAmount).to.equal(exit);
      }
    });

    it("getSpotPrice is quote * 1e18 / base rounded down", async function () {
      const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
      expect(await amm.getSpotPrice()).to.equal(toWad(10));
      await asCh.swapQuote(Side.LONG, toWad(100), 0n, 0n);
      const [q, b] = await amm.getReserves();
      // 1100 / ceil(100000/1100) is not a whole number of wei.
      expect((q * WAD) % b).to.not.equal(0n);
      expect(await amm.getSpotPrice()).to.equal((q * WAD) / b);
      expect(await amm.getSpotPrice()).to.be.lessThan(toWad("12.1"));
    });

    it("zero amounts and a long too small to buy one wei of base revert with ZeroSwapAmount", async function () {
      const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
      await expect(asCh.swapQuote(Side.LONG, 0n, 0n, 0n)).to.be.revertedWithCustomError(amm, "ZeroSwapAmount");
      await expect(asCh.swapQuote(Side.SHORT, 0n, 0n, 0n)).to.be.revertedWithCustomError(amm, "ZeroSwapAmount");
      await expect(asCh.swapBase(toWad(1), 0n, 0n)).to.be.revertedWithCustomError(amm, "ZeroSwapAmount");
      await expect(amm.previewSwapQuote(Side.LONG, 0n)).to.be.revertedWithCustomError(amm, "ZeroSwapAmount");
      // 1 wei of quote: ceil(q*b/(q+1)) = b, so no base would come out.
      expect(new AmmModel(Q0, B0).previewSwapQuote(LONG, 1n)).to.equal(0n);
      await expect(asCh.swapQuote(Side.LONG, 1n, 0n, 0n)).to.be.revertedWithCustomError(amm, "ZeroSwapAmount");
    });

    it("closing more than the position reverts with CloseExceedsPosition", async function () {
      const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
      await expect(asCh.swapBase(toWad(2), toWad(2) + 1n, 0n))
        .to.be.revertedWithCustomError(amm, "CloseExceedsPosition")
        .withArgs(toWad(2) + 1n, toWad(2));
      await expect(asCh.swapBase(-toWad(2), toWad(3), 0n))
        .to.be.revertedWithCustomError(amm, "CloseExceedsPosition")
        .withArgs(toWad(3), toWad(2));
    });

    it("taking all of a reserve reverts with InsufficientReserve", async function () {
      const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
      await expect(asCh.swapQuote(Side.SHORT, Q0, 0n, 0n))
        .to.be.revertedWithCustomError(amm, "InsufficientReserve")
        .withArgs(Q0, Q0);
      await expect(amm.previewSwapQuote(Side.SHORT, Q0 + 1n))
        .to.be.revertedWithCustomError(amm, "InsufficientReserve")
        .withArgs(Q0, Q0 + 1n);
      await expect(asCh.swapBase(-B0, B0, 0n))
        .to.be.revertedWithCustomError(amm, "InsufficientReserve")
        .withArgs(B0, B0);
      // Just below the reserve is fine.
      await asCh.swapQuote(Side.SHORT, Q0 - toWad(1), 0n, 0n);
    });

    it("a short's close that needs more base than the pool holds reverts with InsufficientReserve (via the ClearingHouse)", async function () {
      const { system, amm, ammAddress, alice, bob } = await networkHelpers.loadFixture(chFixture);
      const ch = system.clearingHouse;
      // Bob shorts 500: the pool has 500 / 200 and Bob owes 100 base.
      await ch.connect(bob).openPosition(ammAddress, Side.SHORT, toWad(50), toWad(10), 0n, MAX_DEADLINE);
      // Alice buys 150 base with 1500 quote: the pool is left with 50 base.
      await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(150), toWad(10), 0n, MAX_DEADLINE);
      const [, b] = await amm.getReserves();
      const bobSize = (await ch.getPosition(ammAddress, bob.address)).size;
      expect(b).to.be.lessThan(abs(bobSize));
      await expect(ch.connect(bob).closePosition(ammAddress, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(amm, "InsufficientReserve")
        .withArgs(b, abs(bobSize));
    });
  });

  describe("open interest", function () {
    it("tracks long and short totals across open, increase, reduce, reverse and close", async function () {
      const { system, amm, ammAddress, alice, bob, carol } = await networkHelpers.loadFixture(chFixture);
      const ch = system.clearingHouse;
      const model = newModel(ammAddress);
      const traders = [alice, bob, carol];
      for (const t of traders) model.deposit(t.address, USDC(100_000) * USDC_SCALE);
      const open = async (t: (typeof traders)[number], side: SideValue, margin: string, leverage: string) => {
        const r = model.open(t.address, ammAddress, side, toWad(margin), toWad(leverage));
        await expectPositionChanged(
          ch.connect(t).openPosition(ammAddress, side, toWad(margin), toWad(leverage), 0n, MAX_DEADLINE),
          ch,
          t.address,
          ammAddress,
          r,
        );
      };
      const close = async (t: (typeof traders)[number]) => {
        model.close(t.address, ammAddress);
        await ch.connect(t).closePosition(ammAddress, 0n, MAX_DEADLINE);
      };
      const check = async () => {
        // Independently of the model: OI is the sum of the positions' sizes, per side.
        let longs = 0n;
        let shorts = 0n;
        for (const t of traders) {
          const s = (await ch.getPosition(ammAddress, t.address)).size;
          if (s > 0n) longs += s;
          else shorts -= s;
        }
        expect(await amm.getOpenInterest()).to.deep.equal([longs, shorts]);
        await expectMatchesModel(model, { vault: system.vault, clearingHouse: ch, amms: [amm] }, [
          alice.address,
          bob.address,
          carol.address,
        ]);
      };
      await open(alice, LONG, "10", "5"); // open long
      await check();
      await open(alice, LONG, "5", "2"); // increase long
      await check();
      await open(bob, SHORT, "20", "3"); // open short
      await check();
      await open(carol, LONG, "7", "4");
      await check();
      await open(alice, SHORT, "4", "5"); // reduce long
      await check();
      await open(bob, SHORT, "3", "3"); // increase short
      await check();
      await open(alice, SHORT, "30", "5"); // reverse long -> short
      await check();
      expect((await ch.getPosition(ammAddress, alice.address)).size).to.be.lessThan(0n);
      await open(bob, LONG, "5", "2"); // reduce short
      await check();
      await open(bob, LONG, "40", "4"); // reverse short -> long
      await check();
      expect((await ch.getPosition(ammAddress, bob.address)).size).to.be.greaterThan(0n);
      await close(bob); // close long
      await check();
      await close(alice); // close short
      await check();
      await close(carol);
      await check();
      expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
    });
  });

  describe("limits", function () {
    it("setLimits is owner only, rejects ratios above 100% and emits LimitsUpdated", async function () {
      const { amm, stranger, ch } = await networkHelpers.loadFixture(directFixture);
      const limits = { maxTradeRatio: toWad("0.1"), fluctuationLimitRatio: toWad("0.02"), maxOpenInterest: toWad(50) };
      for (const caller of [stranger, ch]) {
        await expect(amm.connect(caller).setLimits(limits))
          .to.be.revertedWithCustomError(amm, "OwnableUnauthorizedAccount")
          .withArgs(caller.address);
      }
      await expect(amm.setLimits({ ...limits, maxTradeRatio: WAD + 1n }))
        .to.be.revertedWithCustomError(amm, "RatioTooHigh")
        .withArgs(WAD + 1n);
      await expect(amm.setLimits({ ...limits, fluctuationLimitRatio: WAD + 1n }))
        .to.be.revertedWithCustomError(amm, "RatioTooHigh")
        .withArgs(WAD + 1n);
      await expect(amm.setLimits(limits))
        .to.emit(amm, "LimitsUpdated")
        .withArgs(limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest);
      const l = await amm.getLimits();
      expect([l.maxTradeRatio, l.fluctuationLimitRatio, l.maxOpenInterest]).to.deep.equal([
        limits.maxTradeRatio,
        limits.fluctuationLimitRatio,
        limits.maxOpenInterest,
      ]);
    });

    it("setLimits rejects an open interest cap above 2^104 - 1 with OpenInterestCapTooHigh and keeps the index band", async function () {
      const { amm } = await networkHelpers.loadFixture(directFixture);
      const maxCap = 2n ** 104n - 1n; // the most one side's open interest can hold
      await (await amm.setIndexBand(toWad("0.5"))).wait();
      await expect(amm.setLimits({ ...NO_LIMITS, maxOpenInterest: maxCap + 1n }))
        .to.be.revertedWithCustomError(amm, "OpenInterestCapTooHigh")
        .withArgs(maxCap + 1n, maxCap);
      await expect(amm.setLimits({ ...NO_LIMITS, maxOpenInterest: 2n ** 128n - 1n }))
        .to.be.revertedWithCustomError(amm, "OpenInterestCapTooHigh")
        .withArgs(2n ** 128n - 1n, maxCap);
      // Every field at its bound, packed in one slot with the band: each reads back whole.
      const top = { maxTradeRatio: WAD, fluctuationLimitRatio: WAD, maxOpenInterest: maxCap };
      await expect(amm.setLimits(top)).to.emit(amm, "LimitsUpdated").withArgs(WAD, WAD, maxCap);
      expect(await amm.getLimits()).to.deep.equal([WAD, WAD, maxCap]);
      expect(await amm.getIndexBand()).to.equal(toWad("0.5"));
      await (await amm.setLimits(NO_LIMITS)).wait();
      expect(await amm.getLimits()).to.deep.equal([0n, 0n, 0n]);
      expect(await amm.getIndexBand()).to.equal(toWad("0.5"));
    });

    it("the constructor rejects an open interest cap above 2^104 - 1", async function () {
      const [owner, ch] = await ethers.getSigners();
      const factory = await ethers.getContractFactory("Amm");
      const module = await (await ethers.deployContract("AmmCurveModule")).getAddress();
      await expect(
        factory.deploy(ch.address, Q0, B0, { ...NO_LIMITS, maxOpenInterest: 2n ** 104n }, owner.address, module),
      )
        .to.be.revertedWithCustomError(factory, "OpenInterestCapTooHigh")
        .withArgs(2n ** 104n, 2n ** 104n - 1n);
    });

    it("setIndexBand takes whole millionths of the index only (IndexBandNotWholeStep) and keeps the limits", async function () {
      const { amm } = await networkHelpers.loadFixture(directFixture);
      const step = 10n ** 12n; // a millionth
      const limits = { maxTradeRatio: toWad("0.1"), fluctuationLimitRatio: toWad("0.02"), maxOpenInterest: toWad(50) };
      await (await amm.setLimits(limits)).wait();
      for (const band of [toWad("0.03") + 1n, toWad("0.03") + step - 1n, toWad("0.5") - 1n]) {
        await expect(amm.setIndexBand(band))
          .to.be.revertedWithCustomError(amm, "IndexBandNotWholeStep")
          .withArgs(band, step);
      }
      // The range is checked first: just above the top is out of range, not off the step.
      await expect(amm.setIndexBand(toWad("0.5") + 1n))
        .to.be.revertedWithCustomError(amm, "IndexBandOutOfRange")
        .withArgs(toWad("0.5") + 1n);
      for (const band of [toWad("0.005"), toWad("0.005") + step, toWad("0.031234"), toWad("0.5"), 0n]) {
        await expect(amm.setIndexBand(band)).to.emit(amm, "IndexBandUpdated").withArgs(band);
        expect(await amm.getIndexBand()).to.equal(band);
        expect(await amm.getLimits()).to.deep.equal([
          limits.maxTradeRatio,
          limits.fluctuationLimitRatio,
          limits.maxOpenInterest,
        ]);
      }
    });

    describe("maxTradeRatio", function () {
      it("an opening trade above the ratio of the quote reserve reverts with TradeTooLarge; at the ratio it passes", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        await amm.setLimits({ ...NO_LIMITS, maxTradeRatio: toWad("0.1") });
        const max = wMulDown(Q0, toWad("0.1")); // 100
        await expect(asCh.swapQuote(Side.LONG, max + 1n, 0n, 0n))
          .to.be.revertedWithCustomError(amm, "TradeTooLarge")
          .withArgs(max + 1n, max);
        await expect(asCh.swapQuote(Side.SHORT, max + 1n, 0n, 0n))
          .to.be.revertedWithCustomError(amm, "TradeTooLarge")
          .withArgs(max + 1n, max);
        await asCh.swapQuote(Side.LONG, max, 0n, 0n);
        // The bound follows the quote reserve: now 10% of 1100.
        const [q] = await amm.getReserves();
        const max2 = wMulDown(q, toWad("0.1"));
        await expect(asCh.swapQuote(Side.LONG, max2 + 1n, 0n, 0n))
          .to.be.revertedWithCustomError(amm, "TradeTooLarge")
          .withArgs(max2 + 1n, max2);
      });

      it("closing trades are exempt: a close far above the bound goes through", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        const size = await amm.previewSwapQuote(Side.LONG, toWad(500));
        await asCh.swapQuote(Side.LONG, toWad(500), 0n, 0n);
        await amm.setLimits({ ...NO_LIMITS, maxTradeRatio: toWad("0.01") });
        const quote = await amm.previewSwapBase(size, size);
        const [q] = await amm.getReserves();
        expect(quote).to.be.greaterThan(wMulDown(q, toWad("0.01")) * 10n);
        await expect(asCh.swapBase(size, size, 0n)).to.emit(amm, "Swapped");
      });

      it("through the ClearingHouse: openPosition above the bound reverts, closePosition of a bigger position does not", async function () {
        const { system, amm, ammAddress, alice } = await networkHelpers.loadFixture(chFixture);
        const ch = system.clearingHouse;
        await amm.setLimits({ ...NO_LIMITS, maxTradeRatio: toWad("0.1") });
        await expect(ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(11), toWad(10), 0n, MAX_DEADLINE))
          .to.be.revertedWithCustomError(amm, "TradeTooLarge")
          .withArgs(toWad(110), toWad(100));
        await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(20), toWad(5), 0n, MAX_DEADLINE);
        await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(20), toWad(5), 0n, MAX_DEADLINE);
        const size = (await ch.getPosition(ammAddress, alice.address)).size;
        const exit = await amm.previewSwapBase(size, size);
        const [q] = await amm.getReserves();
        expect(exit).to.be.greaterThan(wMulDown(q, toWad("0.1")));
        await expect(ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE)).to.emit(ch, "PositionChanged");
      });
    });

    describe("fluctuation limit", function () {
      const LIMIT = toWad("0.05");

      /** What the spot price would be after a model trade (rounded down, like the contract). */
      const priceAfter = (m: AmmModel) => wDivDown(m.quote, m.base);

      it("an opening trade that moves the price beyond the limit reverts, even alone in its block", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        await amm.setLimits({ ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
        const m = new AmmModel(Q0, B0);
        m.swapQuote(LONG, toWad(30), 0n); // price 10 -> ~10.61: +6.1%
        await expect(asCh.swapQuote(Side.LONG, toWad(30), 0n, 0n))
          .to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded")
          .withArgs(toWad(10), priceAfter(m));
        // +4% is inside the limit.
        await asCh.swapQuote(Side.LONG, toWad(20), 0n, 0n);
      });

      it("trades in one block are measured from the block's start price: the second one that breaches reverts", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        await amm.setLimits({ ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
        const m = new AmmModel(Q0, B0);
        m.swapQuote(LONG, toWad(15), 0n); // +3.0% from 10
        const afterFirst = m.clone();
        m.swapQuote(LONG, toWad(15), 0n); // +6.1% from 10, but only +3.0% from the first trade's price
        const { txs, statuses } = await inOneBlock(ethers, [
          () => asCh.swapQuote(Side.LONG, toWad(15), 0n, 0n, GAS),
          () => asCh.swapQuote(Side.LONG, toWad(15), 0n, 0n, GAS),
        ]);
        expect(statuses).to.deep.equal([1, 0]);
        await expect(txs[1])
          .to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded")
          .withArgs(toWad(10), priceAfter(m));
        expect(await amm.getReserves()).to.deep.equal([afterFirst.quote, afterFirst.base]);
        // In a block of its own, the same trade is measured from the new start and passes.
        await asCh.swapQuote(Side.LONG, toWad(15), 0n, 0n);
        expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
      });

      it("a close that is first in its block may cross the limit", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        const size = await amm.previewSwapQuote(Side.LONG, toWad(100));
        await asCh.swapQuote(Side.LONG, toWad(100), 0n, 0n); // price 10 -> 12.1
        await amm.setLimits({ ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
        const before = await amm.getSpotPrice();
        await expect(asCh.swapBase(size, size, 0n)).to.emit(amm, "Swapped"); // back to ~10: -17%
        const after = await amm.getSpotPrice();
        expect(before - after).to.be.greaterThan(wMulDown(before, LIMIT));
      });

      it("a second crossing close in the same block reverts", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        const m = new AmmModel(Q0, B0);
        const s1 = m.swapQuote(LONG, toWad(50), 0n);
        const s2 = m.swapQuote(LONG, toWad(50), s1);
        await asCh.swapQuote(Side.LONG, toWad(50), 0n, 0n);
        await asCh.swapQuote(Side.LONG, toWad(50), s1, 0n);
        await amm.setLimits({ ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
        const startPrice = m.spotPrice(); // 12.1
        m.swapBase(s1 + s2, s2); // -8.9%: crosses, allowed as the block's first swap
        const afterFirst = m.clone();
        m.swapBase(s1, s1); // -17% from the block's start
        const { txs, statuses } = await inOneBlock(ethers, [
          () => asCh.swapBase(s1 + s2, s2, 0n, GAS),
          () => asCh.swapBase(s1, s1, 0n, GAS),
        ]);
        expect(statuses).to.deep.equal([1, 0]);
        await expect(txs[1])
          .to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded")
          .withArgs(startPrice, priceAfter(m));
        expect(await amm.getReserves()).to.deep.equal([afterFirst.quote, afterFirst.base]);
        // First in the next block, the same close passes.
        await asCh.swapBase(s1, s1, 0n);
        expect(await amm.getReserves()).to.deep.equal([m.quote, m.base]);
      });

      it("through the ClearingHouse: a crossing close first in its block passes, an opening trade does not", async function () {
        const { system, amm, ammAddress, alice, bob } = await networkHelpers.loadFixture(chFixture);
        const ch = system.clearingHouse;
        await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(10), toWad(10), 0n, MAX_DEADLINE);
        await amm.setLimits({ ...NO_LIMITS, fluctuationLimitRatio: LIMIT });
        await expect(
          ch.connect(bob).openPosition(ammAddress, Side.LONG, toWad(5), toWad(10), 0n, MAX_DEADLINE),
        ).to.be.revertedWithCustomError(amm, "PriceFluctuationLimitExceeded");
        await expect(ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE)).to.emit(ch, "PositionChanged");
      });
    });

    describe("open-interest cap", function () {
      it("growth beyond the cap reverts with OpenInterestCapExceeded, on each side separately", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        const cap = toWad(10);
        await amm.setLimits({ ...NO_LIMITS, maxOpenInterest: cap });
        const m = new AmmModel(Q0, B0);
        const s1 = m.swapQuote(LONG, toWad(100), 0n); // 9.09 base
        await asCh.swapQuote(Side.LONG, toWad(100), 0n, 0n);
        const probe = m.clone();
        const s2 = probe.swapQuote(LONG, toWad(20), s1);
        await expect(asCh.swapQuote(Side.LONG, toWad(20), s1, 0n))
          .to.be.revertedWithCustomError(amm, "OpenInterestCapExceeded")
          .withArgs(s1 + s2, cap);
        // The short side has its own total.
        const t1 = m.swapQuote(SHORT, toWad(100), 0n);
        await asCh.swapQuote(Side.SHORT, toWad(100), 0n, 0n);
        const probe2 = m.clone();
        const t2 = probe2.swapQuote(SHORT, toWad(20), -t1);
        expect(t1 + t2).to.be.greaterThan(cap);
        await expect(asCh.swapQuote(Side.SHORT, toWad(20), -t1, 0n))
          .to.be.revertedWithCustomError(amm, "OpenInterestCapExceeded")
          .withArgs(t1 + t2, cap);
        expect(await amm.getOpenInterest()).to.deep.equal([s1, t1]);
      });

      it("after the cap is lowered below open interest, reductions still go through but growth does not", async function () {
        const { asCh, amm } = await networkHelpers.loadFixture(directFixture);
        const m = new AmmModel(Q0, B0);
        const s = m.swapQuote(LONG, toWad(100), 0n);
        await asCh.swapQuote(Side.LONG, toWad(100), 0n, 0n);
        const cap = toWad(5);
        await amm.setLimits({ ...NO_LIMITS, maxOpenInterest: cap });
        // Partial close by base.
        await asCh.swapBase(s, toWad(1), 0n);
        m.swapBase(s, toWad(1));
        let size = s - toWad(1);
        // Reduce by quote (a SHORT against the long).
        const d = m.swapQuote(SHORT, toWad(10), size);
        await asCh.swapQuote(Side.SHORT, toWad(10), size, 0n);
        size -= d;
        expect(size).to.be.greaterThan(cap);
        expect(await amm.getOpenInterest()).to.deep.equal([size, 0n]);
        // Growth of the long side is refused while above the cap.
        const probe = m.clone();
        const g = probe.swapQuote(LONG, toWad(1), size);
        await expect(asCh.swapQuote(Side.LONG, toWad(1), size, 0n))
          .to.be.revertedWithCustomError(amm, "OpenInterestCapExceeded")
          .withArgs(size + g, cap);
        // A full close is a reduction too.
        await asCh.swapBase(size, size, 0n);
        expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
      });

      it("through the ClearingHouse: openPosition beyond the cap reverts; closing stays possible", async function () {
        const { system, amm, ammAddress, alice, bob } = await networkHelpers.loadFixture(chFixture);
        const ch = system.clearingHouse;
        await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(10), toWad(10), 0n, MAX_DEADLINE);
        const aliceSize = (await ch.getPosition(ammAddress, alice.address)).size;
        await amm.setLimits({ ...NO_LIMITS, maxOpenInterest: aliceSize });
        const m = new AmmModel(Q0, B0);
        m.swapQuote(LONG, toWad(100), 0n);
        const bobBase = m.previewSwapQuote(LONG, toWad(1));
        await expect(ch.connect(bob).openPosition(ammAddress, Side.LONG, toWad(1), toWad(1), 0n, MAX_DEADLINE))
          .to.be.revertedWithCustomError(amm, "OpenInterestCapExceeded")
          .withArgs(aliceSize + bobBase, aliceSize);
        await amm.setLimits({ ...NO_LIMITS, maxOpenInterest: 1n });
        await ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE);
        expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
      });
    });
  });

  describe("k = quote x base", function () {
    it("never decreases across a long deterministic sequence of trades, and reverts match the model", async function () {
      const { system, amm, ammAddress, alice, bob, carol } = await networkHelpers.loadFixture(chFixture);
      const ch = system.clearingHouse;
      const feeRatio = toWad("0.001");
      await ch.setMarketParams(ammAddress, {
        initialMarginRatio: toWad("0.1"),
        maintenanceMarginRatio: toWad("0.0625"),
        feeRatio,
      });
      const model = newModel(ammAddress, feeRatio);
      const traders = [alice, bob, carol];
      for (const t of traders) model.deposit(t.address, USDC(100_000) * USDC_SCALE);
      const rand = prng(0x5eedn);
      let k = Q0 * B0;
      let trades = 0;
      for (let i = 0; i < 40; i++) {
        const t = traders[Number(rand(3n))];
        const hasPosition = model.position(ammAddress, t.address).size !== 0n;
        let predicted: ModelError | undefined;
        let send: () => Promise<ContractTransactionResponse>;
        if (hasPosition && rand(4n) === 0n) {
          try {
            model.close(t.address, ammAddress);
          } catch (e) {
            if (!(e instanceof ModelError)) throw e;
            predicted = e;
          }
          send = () => ch.connect(t).closePosition(ammAddress, 0n, MAX_DEADLINE);
        } else {
          const side = Number(rand(2n)) as SideValue;
          const margin = toWad(1) + rand(toWad(300)); // 1 .. 301, arbitrary wei
          const leverage = WAD / 2n + rand(19n) * (WAD / 2n); // 0.5x .. 9.5x
          try {
            model.open(t.address, ammAddress, side, margin, leverage);
          } catch (e) {
            if (!(e instanceof ModelError)) throw e;
            predicted = e;
          }
          send = () => ch.connect(t).openPosition(ammAddress, side, margin, leverage, 0n, MAX_DEADLINE);
        }
        if (predicted) {
          const target = ["InsufficientFreeCollateral"].includes(predicted.errorName)
            ? system.vault
            : ["InsufficientReserve", "ZeroSwapAmount"].includes(predicted.errorName)
              ? amm
              : ch;
          // Every argument to the wei (a MarginRatioTooLow ratio is rounded toward minus infinity).
          await expect(send())
            .to.be.revertedWithCustomError(target, predicted.errorName)
            .withArgs(...predicted.args);
        } else {
          await send();
          trades++;
        }
        const [q, b] = await amm.getReserves();
        expect(q * b >= k, `k decreased at step ${i}`).to.equal(true);
        k = q * b;
        await expectMatchesModel(model, { vault: system.vault, clearingHouse: ch, amms: [amm] }, [
          alice.address,
          bob.address,
          carol.address,
        ]);
      }
      expect(trades).to.be.greaterThan(20);
      expect(trades).to.be.lessThan(40); // some predicted reverts were exercised too
    });
  });
});
