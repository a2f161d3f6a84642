import { expect } from "chai";
import { network } from "hardhat";
import { deployClearingHouse, deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { mulDivDown, mulDivUp, toWad, WAD } from "../../scripts/lib/fixed.js";
import type { Amm, ClearingHouse, Vault } from "../../typechain-types/index.js";
import { expectMatchesModel, expectPositionChanged, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { AmmModel, floorDivSigned, LONG, predictRevert, SHORT, SystemModel, type SideValue } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();

const Q0 = toWad(10000);
const B0 = toWad(100); // spot price 100
const IMR = toWad("0.1");
const MMR = toWad("0.0625");
const FEE = toWad("0.003"); // 0.3%
const PARAMS = { initialMarginRatio: IMR, maintenanceMarginRatio: MMR, feeRatio: FEE };
const FUNDING = USDC(100_000);

/** ceil(x * ratio / 1e18), written out: the documented fee and margin-requirement rounding. */
const ceilMul = (x: bigint, ratio: bigint) => (x * ratio + WAD - 1n) / WAD;

async function chFixture() {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: Q0, baseReserve: B0, feeRatio: FEE });
  const [owner, alice, bob, carol, stranger] = await ethers.getSigners();
  for (const t of [alice, bob, carol]) await fund(system, t, FUNDING);
  return {
    system,
    ch: system.clearingHouse,
    vault: system.vault,
    amm,
    ammAddress: await amm.getAddress(),
    owner,
    alice,
    bob,
    carol,
    stranger,
  };
}

type Fx = Awaited<ReturnType<typeof chFixture>>;
type Trader = Fx["alice"];

/** The model of the fixture's starting state (a fresh one per test: fixtures are shared). */
function modelOf(fx: Fx): SystemModel {
  const model = new SystemModel();
  model.addMarket(fx.ammAddress, Q0, B0, PARAMS);
  for (const t of [fx.alice, fx.bob, fx.carol]) model.deposit(t.address, FUNDING * USDC_SCALE);
  return model;
}

/** Opens through both the model and the contract, checking the event; returns the model's trade. */
async function open(fx: Fx, model: SystemModel, t: Trader, side: SideValue, margin: bigint, leverage: bigint) {
  const r = model.open(t.address, fx.ammAddress, side, margin, leverage);
  await expectPositionChanged(
    fx.ch.connect(t).openPosition(fx.ammAddress, side, margin, leverage, 0n, MAX_DEADLINE),
    fx.ch,
    t.address,
    fx.ammAddress,
    r,
  );
  return r;
}

async function close(fx: Fx, model: SystemModel, t: Trader) {
  const r = model.close(t.address, fx.ammAddress);
  await expectPositionChanged(
    fx.ch.connect(t).closePosition(fx.ammAddress, 0n, MAX_DEADLINE),
    fx.ch,
    t.address,
    fx.ammAddress,
    r,
  );
  return r;
}

async function expectModel(fx: Fx, model: SystemModel) {
  await expectMatchesModel(model, { vault: fx.vault, clearingHouse: fx.ch, amms: [fx.amm] }, [
    fx.alice.address,
    fx.bob.address,
    fx.carol.address,
  ]);
}

/** A second Amm bound to this ClearingHouse but not listed. */
async function unlistedAmm(fx: Fx): Promise<Amm> {
  return (await ethers.deployContract("Amm", [
    await fx.ch.getAddress(),
    Q0,
    B0,
    { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n },
    fx.owner.address,
    await (await ethers.deployContract("AmmCurveModule")).getAddress(),
  ])) as unknown as Amm;
}

describe("ClearingHouse", function () {
  describe("openPosition: validation", function () {
    it("reverts with DeadlineExpired after the deadline and accepts a deadline equal to the block time", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const t = BigInt(await networkHelpers.time.latest()) + 100n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(10), toWad(2), 0n, t - 1n))
        .to.be.revertedWithCustomError(fx.ch, "DeadlineExpired")
        .withArgs(t - 1n, t);
      await networkHelpers.time.setNextBlockTimestamp(t + 10n);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(10), toWad(2), 0n, t + 10n),
      ).to.emit(fx.ch, "PositionChanged");
    });

    it("reverts with MarketNotListed for an Amm that is not listed", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const other = await unlistedAmm(fx);
      const otherAddress = await other.getAddress();
      await expect(fx.ch.connect(fx.alice).openPosition(otherAddress, Side.LONG, toWad(10), toWad(2), 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "MarketNotListed")
        .withArgs(otherAddress);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.stranger.address, Side.SHORT, toWad(10), toWad(2), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "MarketNotListed")
        .withArgs(fx.stranger.address);
    });

    it("reverts with ZeroAmount for a zero margin", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, 0n, toWad(2), 0n, MAX_DEADLINE),
      ).to.be.revertedWithCustomError(fx.ch, "ZeroAmount");
    });

    it("reverts with LeverageTooHigh(leverage, 1/IMR) above the maximum leverage", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      // 1 / 10% = 10x exactly.
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(10), toWad(10) + 1n, 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "LeverageTooHigh")
        .withArgs(toWad(10) + 1n, toWad(10));
      // With a 3% IMR the maximum is 1e36 / 3e16 rounded down: 33.333...333x.
      await fx.ch.setMarketParams(fx.ammAddress, {
        ...PARAMS,
        initialMarginRatio: toWad("0.03"),
        maintenanceMarginRatio: toWad("0.02"),
      });
      const max = (WAD * WAD) / toWad("0.03");
      expect(max).to.equal(33333333333333333333n);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(1), max + 1n, 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "LeverageTooHigh")
        .withArgs(max + 1n, max);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(1), max, 0n, MAX_DEADLINE),
      ).to.emit(fx.ch, "PositionChanged");
    });

    it("reverts with ZeroNotional for zero leverage or a notional that rounds to zero", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(10), 0n, 0n, MAX_DEADLINE),
      ).to.be.revertedWithCustomError(fx.ch, "ZeroNotional");
      // 1 wei x 0.5 = 0.5 wei, rounded down to 0.
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, 1n, toWad("0.5"), 0n, MAX_DEADLINE),
      ).to.be.revertedWithCustomError(fx.ch, "ZeroNotional");
    });

    it("a long reverts with BaseLimitMissed when it would receive less base than the bound", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const base = new AmmModel(Q0, B0).previewSwapQuote(LONG, toWad(500));
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), base + 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed")
        .withArgs(base, base + 1n);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), base, MAX_DEADLINE),
      ).to.emit(fx.ch, "PositionChanged");
    });

    it("a short reverts with BaseLimitMissed when it would give more base than the bound", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const base = new AmmModel(Q0, B0).previewSwapQuote(SHORT, toWad(500));
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(100), toWad(5), base - 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed")
        .withArgs(base, base - 1n);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(100), toWad(5), base, MAX_DEADLINE),
      ).to.emit(fx.ch, "PositionChanged");
    });

    it("reverts with the Vault's InsufficientFreeCollateral when margin plus fee is not free", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const margin = toWad(100);
      const fee = ceilMul(toWad(500), FEE);
      await expect(
        fx.ch.connect(fx.stranger).openPosition(fx.ammAddress, Side.LONG, margin, toWad(5), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.vault, "InsufficientFreeCollateral")
        .withArgs(fx.stranger.address, 0n, margin + fee);
      // Exactly the margin, but not the fee on top.
      await fund(fx.system, fx.stranger, USDC(100));
      await expect(
        fx.ch.connect(fx.stranger).openPosition(fx.ammAddress, Side.LONG, margin, toWad(5), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.vault, "InsufficientFreeCollateral")
        .withArgs(fx.stranger.address, margin, margin + fee);
    });
  });

  describe("openPosition: open and increase", function () {
    it("opening locks margin, charges the fee on top and emits PositionChanged with the new state", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      // Written out: notional 500, base = 100 - ceil(10000*100/10500), fee = ceil(500 x 0.3%) = 1.5.
      const base = B0 - mulDivUp(Q0, B0, Q0 + toWad(500));
      const fee = toWad("1.5");
      const r = await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      expect(r).to.deep.equal({
        baseDelta: base,
        quoteAmount: toWad(500),
        realizedPnl: 0n,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: -(toWad(100) + fee),
        size: base,
        margin: toWad(100),
        openNotional: toWad(500),
        claim: 0n,
      });
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(FUNDING * USDC_SCALE - toWad(100) - fee);
      expect(await fx.vault.getPoolBalances()).to.deep.equal([toWad(100), fee]);
      // A short: the position size is negative.
      const shortBase = mulDivUp(Q0 + toWad(500), B0 - base, Q0 + toWad(500) - toWad(300)) - (B0 - base);
      const rs = await open(fx, model, fx.bob, SHORT, toWad(100), toWad(3));
      expect([rs.baseDelta, rs.size, rs.openNotional]).to.deep.equal([-shortBase, -shortBase, toWad(300)]);
      await expectModel(fx, model);
    });

    it("increasing adds margin and open notional and charges the fee on the new notional", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      const first = await open(fx, model, fx.alice, SHORT, toWad(100), toWad(4));
      const pool = new AmmModel(Q0, B0);
      pool.swapQuote(SHORT, toWad(400), 0n);
      const more = pool.previewSwapQuote(SHORT, toWad(150));
      const r = await open(fx, model, fx.alice, SHORT, toWad(50), toWad(3));
      expect(r.baseDelta).to.equal(-more);
      expect(r.size).to.equal(first.size - more);
      expect(r.margin).to.equal(toWad(150));
      expect(r.openNotional).to.equal(toWad(550));
      expect(r.fee).to.equal(ceilMul(toWad(150), FEE));
      expect(r.freeCollateralDelta).to.equal(-(toWad(50) + ceilMul(toWad(150), FEE)));
      await expectModel(fx, model);
    });

    it("a position underwater at the spot price cannot be increased, even by a large leg whose own impact would lift the whole position above the IMR", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(220), toWad(5)); // the price drops against Alice
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const pool0 = model.amm(fx.ammAddress).clone();
      // Written out at the spot price before the trade: floor(|s| q / b) for a long.
      const mark0 = mulDivDown(pos.size, pool0.quote, pool0.base);
      const equity0 = pos.margin + mark0 - pos.openNotional;
      expect(equity0 < 0n, "underwater at the spot price").to.equal(true);
      // The ratio rounds toward minus infinity: one below the truncated quotient, as it is inexact.
      expect((equity0 * WAD) % mark0).to.not.equal(0n);
      const ratio0 = (equity0 * WAD) / mark0 - 1n;
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(ratio0);
      // A 1,000 increase at 10x: valued at the reserves AFTER it, the whole position would be well
      // above the IMR (a post-trade check would have let it through) ...
      const pool = pool0.clone();
      const size = pos.size + pool.swapQuote(LONG, toWad(1000), pos.size);
      const mark = mulDivDown(size, pool.quote, pool.base);
      const equity = pos.margin + toWad(100) + mark - (pos.openNotional + toWad(1000));
      expect(equity >= ceilMul(mark, IMR), "would meet the IMR after the trade").to.equal(true);
      expect((equity * WAD) / mark).to.be.greaterThan(IMR);
      // ... but the check is on the existing position before the trade: refused with its ratio.
      const err = predictRevert(() => model.open(fx.alice.address, fx.ammAddress, LONG, toWad(100), toWad(10)));
      expect([err.errorName, ...err.args]).to.deep.equal(["MarginRatioTooLow", ratio0, IMR]);
      const free = model.freeOf(fx.alice.address);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(10), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(ratio0, IMR);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(free);
      expect(await fx.amm.getReserves()).to.deep.equal([pool0.quote, pool0.base]);
      await expectModel(fx, model); // nothing moved
    });

    it("the increase check is on the existing position before the trade: margin + PnL >= ceil(mark x IMR), to the wei", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(130), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const pool0 = model.amm(fx.ammAddress).clone();
      // Written out at the spot price, at the reserves before the increase.
      const mark0 = mulDivDown(pos.size, pool0.quote, pool0.base);
      const equity0 = pos.margin + mark0 - pos.openNotional;
      const required = ceilMul(mark0, IMR);
      expect(equity0 > 0n && equity0 * WAD >= mark0 * MMR, "healthy, but below the IMR").to.equal(true);
      // The margin Alice must add first so that the existing position meets the IMR exactly.
      const shortfall = required - equity0;
      expect(shortfall).to.be.greaterThan(0n);
      // One wei short: refused, with the ratio of equity required - 1 at the reserves before the trade.
      model.addMargin(fx.alice.address, fx.ammAddress, shortfall - 1n);
      await fx.ch.connect(fx.alice).addMargin(fx.ammAddress, shortfall - 1n);
      const shortRatio = ((required - 1n) * WAD) / mark0;
      expect(shortRatio).to.be.lessThan(IMR);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(shortRatio);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(10), toWad(10), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(shortRatio, IMR);
      // Exactly enough: accepted, and nothing is checked after the trade.
      model.addMargin(fx.alice.address, fx.ammAddress, 1n);
      await fx.ch.connect(fx.alice).addMargin(fx.ammAddress, 1n);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal((required * WAD) / mark0);
      const pool = pool0.clone();
      const size = pos.size + pool.swapQuote(LONG, toWad(100), pos.size);
      const r = await open(fx, model, fx.alice, LONG, toWad(10), toWad(10));
      expect([r.size, r.margin, r.openNotional]).to.deep.equal([
        size,
        pos.margin + shortfall + toWad(10),
        pos.openNotional + toWad(100),
      ]);
      const mark = mulDivDown(size, pool.quote, pool.base);
      const equity = pos.margin + shortfall + toWad(10) + mark - (pos.openNotional + toWad(100));
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal((equity * WAD) / mark);
      await expectModel(fx, model);
    });

    it("a position opened at exactly the maximum leverage can be increased at the maximum leverage", async function () {
      // Valued at the spot price, a fresh leg's own price impact is in its favour: a long pushes the
      // price up, a short pushes it down, so the mark-valued ratio is above margin / notional = IMR.
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      const pool = new AmmModel(Q0, B0);
      const size = pool.swapQuote(LONG, toWad(1000), 0n);
      const mark = mulDivDown(size, pool.quote, pool.base);
      const ratio = ((toWad(100) + mark - toWad(1000)) * WAD) / mark;
      expect(ratio).to.be.greaterThan(IMR);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(ratio);
      const more = pool.swapQuote(LONG, toWad(1000), size);
      const r = await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      expect([r.size, r.margin, r.openNotional]).to.deep.equal([size + more, toWad(200), toWad(2000)]);
      const mark2 = mulDivDown(size + more, pool.quote, pool.base);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(
        ((toWad(200) + mark2 - toWad(2000)) * WAD) / mark2,
      );
      // A short the same way: ceil(|s| q / b) is its buy-back value at the spot price.
      await open(fx, model, fx.bob, SHORT, toWad(100), toWad(10));
      const short = -model.position(fx.ammAddress, fx.bob.address).size;
      const pool2 = model.amm(fx.ammAddress);
      const shortMark = mulDivUp(short, pool2.quote, pool2.base);
      const shortRatio = ((toWad(100) + toWad(1000) - shortMark) * WAD) / shortMark;
      expect(shortRatio).to.be.greaterThan(IMR);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.bob.address)).to.equal(shortRatio);
      await open(fx, model, fx.bob, SHORT, toWad(100), toWad(10));
      await expectModel(fx, model);
    });
  });

  describe("openPosition: reduce", function () {
    it("reducing a long realises quote - ceil(openNotional x d / |s|), scales open notional and takes the fee from margin", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5)); // 500 notional
      await open(fx, model, fx.bob, LONG, toWad(100), toWad(5)); // the price rises
      const before = model.position(fx.ammAddress, fx.alice.address);
      const pool = model.amm(fx.ammAddress).clone();
      // A notional with a fraction of a wei of fee, to see the fee round up.
      const margin = toWad("40.000000000000000001");
      const notional = (margin * toWad(5)) / WAD; // 200.000000000000000005
      const d = pool.swapQuote(SHORT, notional, before.size);
      const basis = mulDivUp(before.openNotional, d, before.size);
      expect((before.openNotional * d) % before.size).to.not.equal(0n); // the basis really rounds
      const pnl = notional - basis;
      const fee = ceilMul(notional, FEE);
      expect(fee).to.equal(600000000000000001n);
      // The market's pool holds just the two margins (the fees went to the fund) and Bob has
      // realised nothing: no profit is available, so the profit is not realised into Alice's
      // margin out of Bob's: it stays unrealised in her rest (its basis gives it up), and her
      // margin only pays the fee.
      const expected = {
        baseDelta: -d,
        quoteAmount: notional,
        realizedPnl: 0n,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: 0n,
        size: before.size - d,
        margin: before.margin - fee,
        openNotional: before.openNotional - basis - pnl,
        claim: 0n,
      };
      expect(pnl).to.be.greaterThan(0n);
      expect(await fx.vault.profitAvailable(fx.ammAddress)).to.equal(0n);
      const poolsBefore = await fx.vault.getPoolBalances();
      const tx = fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, margin, toWad(5), 0n, MAX_DEADLINE);
      await expect(tx).to.not.emit(fx.vault, "ClaimQueued");
      expect(model.open(fx.alice.address, fx.ammAddress, SHORT, margin, toWad(5))).to.deep.equal(expected);
      // The fee leaves the margin pool for the insurance fund; free collateral does not move.
      expect(await fx.vault.getPoolBalances()).to.deep.equal([poolsBefore[0] - fee, poolsBefore[1] + fee]);
      expect(await fx.vault.claimOf(fx.ammAddress, fx.alice.address)).to.equal(0n);
      await expectModel(fx, model);
      // Once both have closed, every loss is realised: payClaims pays the claims in full (Alice's
      // close realises the carried profit with the rest's), to free collateral.
      await close(fx, model, fx.bob);
      await close(fx, model, fx.alice);
      const owed = model.claimOf(fx.ammAddress, fx.alice.address);
      const aliceFree = model.freeOf(fx.alice.address);
      await (await fx.vault.connect(fx.carol).payClaims(fx.ammAddress, 10n)).wait();
      model.payClaims(fx.ammAddress, 10);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(aliceFree + owed);
      expect(await fx.vault.claimOf(fx.ammAddress, fx.alice.address)).to.equal(0n);
      await expectModel(fx, model);
    });

    it("reducing a short realises floor(openNotional x d / |s|) - quote", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.carol, SHORT, toWad(100), toWad(4)); // 400 notional
      await open(fx, model, fx.bob, LONG, toWad(100), toWad(5)); // the price rises: the short loses
      const before = model.position(fx.ammAddress, fx.carol.address);
      const pool = model.amm(fx.ammAddress).clone();
      const notional = toWad(90);
      const d = pool.swapQuote(LONG, notional, before.size);
      const basis = mulDivDown(before.openNotional, d, -before.size);
      expect((before.openNotional * d) % -before.size).to.not.equal(0n);
      const pnl = basis - notional;
      expect(pnl).to.be.lessThan(0n);
      const fee = ceilMul(notional, FEE);
      const r = await open(fx, model, fx.carol, LONG, toWad(30), toWad(3));
      expect(r).to.deep.equal({
        baseDelta: d,
        quoteAmount: notional,
        realizedPnl: pnl,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: 0n,
        size: before.size + d,
        margin: before.margin + pnl - fee,
        openNotional: before.openNotional - basis,
        claim: 0n,
      });
      await expectModel(fx, model);
    });

    it("a reduce that leaves the position below maintenance at the mark, after the trade, reverts with MarginRatioTooLow", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(150), toWad(5));
      const ratio0 = model.marginRatio(fx.ammAddress, fx.alice.address);
      expect(ratio0 > 0n && ratio0 < MMR).to.equal(true);
      // Written out: sell 10 of quote against the long, then value what is left at the new reserves.
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const pool = model.amm(fx.ammAddress).clone();
      const notional = toWad(10);
      const d = pool.swapQuote(SHORT, notional, pos.size);
      const basis = mulDivUp(pos.openNotional, d, pos.size);
      const margin = pos.margin + (notional - basis) - ceilMul(notional, FEE);
      const size = pos.size - d;
      const mark = mulDivDown(size, pool.quote, pool.base);
      const equity = margin + mark - (pos.openNotional - basis);
      const required = ceilMul(mark, MMR);
      expect(equity > 0n && equity < required).to.equal(true);
      const ratio = (equity * WAD) / mark;
      const err = predictRevert(() => model.open(fx.alice.address, fx.ammAddress, SHORT, notional, WAD));
      expect([err.errorName, ...err.args]).to.deep.equal(["MarginRatioTooLow", ratio, MMR]);
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, notional, WAD, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(ratio, MMR);
      // With margin added up to one wei below the requirement it still fails; at the requirement it passes.
      const shortfall = required - equity;
      model.addMargin(fx.alice.address, fx.ammAddress, shortfall - 1n);
      await fx.ch.connect(fx.alice).addMargin(fx.ammAddress, shortfall - 1n);
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, notional, WAD, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(((required - 1n) * WAD) / mark, MMR);
      model.addMargin(fx.alice.address, fx.ammAddress, 1n);
      await fx.ch.connect(fx.alice).addMargin(fx.ammAddress, 1n);
      const r = await open(fx, model, fx.alice, SHORT, notional, WAD);
      expect([r.size, r.margin, r.openNotional]).to.deep.equal([size, margin + shortfall, pos.openNotional - basis]);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal((required * WAD) / mark);
      await expectModel(fx, model);
    });

    it("a reduce whose realised loss and fee exceed the margin reverts with PositionUnderwater", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(200), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const exit = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      // Reduce by all but one wei of the exit value: nearly the whole loss is realised.
      const err = predictRevert(() => model.open(fx.alice.address, fx.ammAddress, SHORT, exit - 1n, WAD));
      expect(err.errorName).to.equal("PositionUnderwater");
      expect(err.args[0] as bigint).to.be.lessThan(0n);
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, exit - 1n, WAD, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
        .withArgs(...err.args);
    });
  });

  describe("openPosition: reverse", function () {
    it("a long reversed into a short closes, then opens R = Q - exit value with margin ceil(R / leverage), fees on both legs", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      await open(fx, model, fx.bob, LONG, toWad(50), toWad(2));
      const before = model.position(fx.ammAddress, fx.alice.address);
      const pool = model.amm(fx.ammAddress).clone();
      const leverage = toWad(3);
      const margin = toWad("400.000000000000000001");
      const notional = (margin * leverage) / WAD;
      const exit = pool.swapBase(before.size, before.size);
      expect(notional).to.be.greaterThan(exit);
      const pnl = exit - before.openNotional;
      const closeFee = ceilMul(exit, FEE);
      const payout = before.margin + pnl - closeFee;
      const rest = notional - exit;
      const restBase = pool.swapQuote(SHORT, rest, 0n);
      const restMargin = (rest * WAD + leverage - 1n) / leverage; // rounded up
      expect((rest * WAD) % leverage).to.not.equal(0n);
      const restFee = ceilMul(rest, FEE);
      const r = await open(fx, model, fx.alice, SHORT, margin, leverage);
      expect(r).to.deep.equal({
        baseDelta: -restBase - before.size,
        quoteAmount: notional,
        realizedPnl: pnl,
        fee: closeFee + restFee,
        fundingPayment: 0n,
        // No loss realised in the market yet: the gain is deferred out of the payout into a claim.
        freeCollateralDelta: payout - pnl - restMargin - restFee,
        size: -restBase,
        margin: restMargin,
        openNotional: rest,
        claim: pnl,
      });
      expect(await fx.vault.claimOf(fx.ammAddress, fx.alice.address)).to.equal(pnl);
      await expectModel(fx, model);
    });

    it("a short reversed into a long works the same way", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.carol, SHORT, toWad(100), toWad(3));
      await open(fx, model, fx.bob, SHORT, toWad(20), toWad(5)); // the price falls: the short gains
      const before = model.position(fx.ammAddress, fx.carol.address);
      const pool = model.amm(fx.ammAddress).clone();
      const exit = pool.swapBase(before.size, -before.size);
      const notional = toWad(1000);
      const pnl = before.openNotional - exit;
      expect(pnl).to.be.greaterThan(0n);
      const closeFee = ceilMul(exit, FEE);
      const rest = notional - exit;
      const restBase = pool.swapQuote(LONG, rest, 0n);
      const restMargin = (rest * WAD + toWad(4) - 1n) / toWad(4);
      const restFee = ceilMul(rest, FEE);
      const r = await open(fx, model, fx.carol, LONG, toWad(250), toWad(4));
      expect(r).to.deep.equal({
        baseDelta: restBase - before.size,
        quoteAmount: notional,
        realizedPnl: pnl,
        fee: closeFee + restFee,
        fundingPayment: 0n,
        freeCollateralDelta: before.margin - closeFee - restMargin - restFee, // the gain waits as a claim
        size: restBase,
        margin: restMargin,
        openNotional: rest,
        claim: pnl,
      });
      await expectModel(fx, model);
    });

    it("an opposite trade of exactly the exit value closes the position and opens nothing", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const exit = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      const fee = ceilMul(exit, FEE);
      const r = await open(fx, model, fx.alice, SHORT, exit, WAD); // 1x: notional = exit value
      expect(r).to.deep.equal({
        baseDelta: -pos.size,
        quoteAmount: exit,
        realizedPnl: exit - pos.openNotional,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: pos.margin + exit - pos.openNotional - fee,
        size: 0n,
        margin: 0n,
        openNotional: 0n,
        claim: 0n,
      });
      expect((await fx.ch.getPosition(fx.ammAddress, fx.alice.address)).size).to.equal(0n);
      await expectModel(fx, model);
    });

    /** Carol short, then Bob's short moves the price in her favour: the set-up of the two tests below. */
    async function shortInProfit(fx: Fx, model: SystemModel) {
      await open(fx, model, fx.carol, SHORT, toWad(100), toWad(3));
      await open(fx, model, fx.bob, SHORT, toWad(20), toWad(5));
      const pos = model.position(fx.ammAddress, fx.carol.address);
      const pool = model.amm(fx.ammAddress).clone();
      const exit = pool.swapBase(pos.size, -pos.size); // pool: the reserves right after the close
      // Written out: a long of quote r buys b - ceil(q b / (q + r)), which is zero exactly when
      // r (b - 1) < q; restMax is the largest such r at the reserves after the close.
      const restMax = (pool.quote - 1n) / (pool.base - 1n);
      expect(restMax).to.be.greaterThan(0n);
      expect(pool.base - mulDivUp(pool.quote, pool.base, pool.quote + restMax)).to.equal(0n);
      expect(pool.base - mulDivUp(pool.quote, pool.base, pool.quote + restMax + 1n)).to.be.greaterThan(0n);
      return { pos, pool, exit, restMax };
    }

    it("a reversal to long whose rest buys no base is a plain close: the rest is not traded", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      const { pos, pool, exit, restMax } = await shortInProfit(fx, model);
      expect(pool.previewSwapQuote(LONG, restMax)).to.equal(0n);
      const notional = exit + restMax; // at 1x the notional is the margin
      const pnl = pos.openNotional - exit;
      expect(pnl).to.be.greaterThan(0n);
      const fee = ceilMul(exit, FEE); // the close's fee only
      // Bob has realised nothing: the gain is deferred into Carol's claim, the margin less the fee paid.
      const payout = pos.margin - fee;
      // The base bound of a long counts the closed leg only.
      await expect(
        fx.ch.connect(fx.carol).openPosition(fx.ammAddress, Side.LONG, notional, WAD, -pos.size + 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed")
        .withArgs(-pos.size, -pos.size + 1n);
      const freeBefore = model.freeOf(fx.carol.address);
      const [marginPoolBefore, insuranceBefore] = await fx.vault.getPoolBalances();
      const expected = {
        baseDelta: -pos.size,
        quoteAmount: exit, // the exit value actually traded, not the notional asked
        realizedPnl: pnl,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: payout,
        size: 0n,
        margin: 0n,
        openNotional: 0n,
        claim: pnl,
      };
      expect(model.open(fx.carol.address, fx.ammAddress, LONG, notional, WAD)).to.deep.equal(expected);
      const tx = fx.ch.connect(fx.carol).openPosition(fx.ammAddress, Side.LONG, notional, WAD, -pos.size, MAX_DEADLINE);
      await expectPositionChanged(tx, fx.ch, fx.carol.address, fx.ammAddress, expected);
      // Only the close went through the pool: one swap, quote +exit and base -|size| for the pool.
      await expect(tx).to.emit(fx.amm, "Swapped").withArgs(exit, pos.size, pool.quote, pool.base);
      const receipt = await (await tx).wait();
      const swaps = receipt!.logs.filter(
        (l) => l.address === fx.ammAddress && fx.amm.interface.parseLog(l)?.name === "Swapped",
      );
      expect(swaps.length).to.equal(1);
      expect(await fx.amm.getReserves()).to.deep.equal([pool.quote, pool.base]);
      const p = await fx.ch.getPosition(fx.ammAddress, fx.carol.address);
      expect([p.size, p.margin, p.openNotional, p.fundingCheckpoint]).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.vault.freeCollateral(fx.carol.address)).to.equal(freeBefore + payout);
      expect(await fx.vault.getPoolBalances()).to.deep.equal([marginPoolBefore - payout - fee, insuranceBefore + fee]);
      const [longOI] = await fx.amm.getOpenInterest();
      expect(longOI).to.equal(0n);
      await expectModel(fx, model);
    });

    it("a reversal to long whose rest buys one wei of base opens it", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      const { pos, pool, exit, restMax } = await shortInProfit(fx, model);
      const rest = restMax + 1n;
      const base = pool.base - mulDivUp(pool.quote, pool.base, pool.quote + rest);
      const restFee = ceilMul(rest, FEE);
      expect(restFee).to.equal(1n); // a fraction of a wei, rounded up
      const closeFee = ceilMul(exit, FEE);
      const r = await open(fx, model, fx.carol, LONG, exit + rest, WAD);
      expect(r).to.deep.equal({
        baseDelta: base - pos.size,
        quoteAmount: exit + rest,
        realizedPnl: pos.openNotional - exit,
        fee: closeFee + restFee,
        fundingPayment: 0n,
        freeCollateralDelta: pos.margin - closeFee - rest - restFee, // the gain waits as a claim
        size: base,
        margin: rest, // ceil(rest / 1x)
        openNotional: rest,
        claim: pos.openNotional - exit,
      });
      expect(await fx.amm.getReserves()).to.deep.equal([pool.quote + rest, pool.base - base]);
      await expectModel(fx, model);
    });

    it("the base bound of a reversal covers both legs", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const pool = model.amm(fx.ammAddress).clone();
      const exit = pool.swapBase(pos.size, pos.size);
      const restBase = pool.previewSwapQuote(SHORT, toWad(1000) - exit);
      const total = pos.size + restBase;
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(200), toWad(5), total - 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed")
        .withArgs(total, total - 1n);
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(200), toWad(5), total, MAX_DEADLINE),
      ).to.emit(fx.ch, "PositionChanged");
    });

    it("reversing an underwater position reverts with PositionUnderwater", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(200), toWad(5));
      const err = predictRevert(() => model.open(fx.alice.address, fx.ammAddress, SHORT, toWad(500), toWad(5)));
      expect(err.errorName).to.equal("PositionUnderwater");
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(500), toWad(5), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
        .withArgs(...err.args);
    });
  });

  describe("closePosition", function () {
    it("pays margin + PnL - fee to free collateral, deletes the position and emits PositionChanged", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      await open(fx, model, fx.bob, LONG, toWad(100), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const quote = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      const fee = ceilMul(quote, FEE);
      const pnl = quote - pos.openNotional;
      const freeBefore = model.freeOf(fx.alice.address);
      // Bob has realised nothing yet: Alice's gain waits as a claim; she is paid her margin less the fee.
      const r = await close(fx, model, fx.alice);
      expect(r).to.deep.equal({
        baseDelta: -pos.size,
        quoteAmount: quote,
        realizedPnl: pnl,
        fee,
        fundingPayment: 0n,
        freeCollateralDelta: pos.margin - fee,
        size: 0n,
        margin: 0n,
        openNotional: 0n,
        claim: pnl,
      });
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(freeBefore + pos.margin - fee);
      expect(await fx.vault.claimOf(fx.ammAddress, fx.alice.address)).to.equal(pnl);
      const p = await fx.ch.getPosition(fx.ammAddress, fx.alice.address);
      expect([p.size, p.margin, p.openNotional, p.fundingCheckpoint]).to.deep.equal([0n, 0n, 0n, 0n]);
      // A short closes the same way, paying quote to buy its base back.
      const rb = await close(fx, model, fx.bob);
      expect(rb.size).to.equal(0n);
      // Bob's loss is in the pool now: Alice's claim is paid in full.
      await expect(fx.vault.payClaims(fx.ammAddress, 1n))
        .to.emit(fx.vault, "ClaimPaid")
        .withArgs(fx.ammAddress, fx.alice.address, pnl, 0n);
      model.payClaims(fx.ammAddress, 1);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(freeBefore + pos.margin + pnl - fee);
      await open(fx, model, fx.carol, SHORT, toWad(100), toWad(5));
      const cpos = model.position(fx.ammAddress, fx.carol.address);
      const cquote = model.amm(fx.ammAddress).previewSwapBase(cpos.size, -cpos.size);
      const rc = await close(fx, model, fx.carol);
      expect(rc.realizedPnl).to.equal(cpos.openNotional - cquote);
      expect(rc.freeCollateralDelta).to.equal(cpos.margin + cpos.openNotional - cquote - ceilMul(cquote, FEE));
      await expectModel(fx, model);
    });

    it("a long's close reverts with QuoteLimitMissed below its minimum quote", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const quote = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, quote + 1n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed")
        .withArgs(quote, quote + 1n);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, quote, MAX_DEADLINE)).to.emit(
        fx.ch,
        "PositionChanged",
      );
    });

    it("a short's close reverts with QuoteLimitMissed above its maximum quote", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, SHORT, toWad(100), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const quote = model.amm(fx.ammAddress).previewSwapBase(pos.size, -pos.size);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, quote - 1n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed")
        .withArgs(quote, quote - 1n);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, quote, MAX_DEADLINE)).to.emit(
        fx.ch,
        "PositionChanged",
      );
    });

    it("reverts with NoPosition without a position, DeadlineExpired after the deadline, MarketNotListed off-market", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.alice.address, fx.ammAddress);
      const t = BigInt(await networkHelpers.time.latest()) + 50n;
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, t - 1n))
        .to.be.revertedWithCustomError(fx.ch, "DeadlineExpired")
        .withArgs(t - 1n, t);
      const other = await unlistedAmm(fx);
      await expect(fx.ch.connect(fx.alice).closePosition(await other.getAddress(), 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "MarketNotListed")
        .withArgs(await other.getAddress());
    });

    it("an underwater position cannot be closed: PositionUnderwater(margin + PnL - fee)", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(200), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const quote = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      const remaining = pos.margin + quote - pos.openNotional - ceilMul(quote, FEE);
      expect(remaining).to.be.lessThan(0n);
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
        .withArgs(remaining);
    });
  });

  describe("fees", function () {
    it("are notional x feeRatio rounded up and go to the insurance fund", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      // 333.333333333333333333 x 3 = 999.999999999999999999; x 0.3% = 2.999999999999999999997 -> 3.
      const margin = toWad("333.333333333333333333");
      const r = await open(fx, model, fx.alice, LONG, margin, toWad(3));
      expect(r.quoteAmount).to.equal(999999999999999999999n);
      expect(r.fee).to.equal(toWad(3));
      expect(await fx.vault.getPoolBalances()).to.deep.equal([margin, toWad(3)]);
      // The close is charged on the quote it receives, again rounded up.
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const quote = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      const closeFee = ceilMul(quote, FEE);
      expect((quote * FEE) % WAD).to.not.equal(0n);
      await close(fx, model, fx.alice);
      const [, insurance] = await fx.vault.getPoolBalances();
      expect(insurance).to.equal(toWad(3) + closeFee);
    });

    it("a zero fee ratio charges nothing", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await fx.ch.setMarketParams(fx.ammAddress, { ...PARAMS, feeRatio: 0n });
      await fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE);
      await fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE);
      expect((await fx.vault.getPoolBalances())[1]).to.equal(0n);
    });
  });

  describe("addMargin / removeMargin", function () {
    it("addMargin moves free collateral into the position and emits MarginChanged", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      const freeBefore = model.freeOf(fx.alice.address);
      const newMargin = model.addMargin(fx.alice.address, fx.ammAddress, toWad(25));
      expect(newMargin).to.equal(toWad(125));
      await expect(fx.ch.connect(fx.alice).addMargin(fx.ammAddress, toWad(25)))
        .to.emit(fx.ch, "MarginChanged")
        .withArgs(fx.alice.address, fx.ammAddress, toWad(25), toWad(125));
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(freeBefore - toWad(25));
      expect((await fx.vault.getPoolBalances())[0]).to.equal(toWad(125));
      await expectModel(fx, model);
    });

    it("addMargin reverts with ZeroAmount, NoPosition, or the Vault's InsufficientFreeCollateral", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(fx.ch.connect(fx.alice).addMargin(fx.ammAddress, 0n)).to.be.revertedWithCustomError(
        fx.ch,
        "ZeroAmount",
      );
      await expect(fx.ch.connect(fx.alice).addMargin(fx.ammAddress, toWad(1)))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.alice.address, fx.ammAddress);
      await fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE);
      const free = await fx.vault.freeCollateral(fx.alice.address);
      await expect(fx.ch.connect(fx.alice).addMargin(fx.ammAddress, free + 1n))
        .to.be.revertedWithCustomError(fx.vault, "InsufficientFreeCollateral")
        .withArgs(fx.alice.address, free, free + 1n);
    });

    it("removeMargin releases margin down to exactly the initial margin requirement at the exit value and emits MarginChanged", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, SHORT, toWad(200), toWad(2)); // 400 notional at 50% margin
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const exit = model.amm(fx.ammAddress).previewSwapBase(pos.size, -pos.size);
      const pnl = pos.openNotional - exit; // -dust: a loss counts
      expect(pnl).to.be.at.most(0n);
      // equity after removal must be >= ceil(exit x 10%).
      const max = pos.margin + pnl - ceilMul(exit, IMR);
      const tooMuch = max + 1n;
      const ratioTooMuch = floorDivSigned((pos.margin - tooMuch + pnl) * WAD, exit);
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, tooMuch))
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(ratioTooMuch, IMR);
      // Valued at the spot price instead (ceil(|s| q / b) for a short), it would have passed: removeMargin
      // keeps the stricter exit value, unlike the checks after a trade.
      const pool = model.amm(fx.ammAddress);
      const mark = mulDivUp(-pos.size, pool.quote, pool.base);
      expect(mark).to.be.lessThan(exit);
      expect(pos.margin - tooMuch + pos.openNotional - mark >= ceilMul(mark, IMR)).to.equal(true);
      const freeBefore = model.freeOf(fx.alice.address);
      model.removeMargin(fx.alice.address, fx.ammAddress, max);
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, max))
        .to.emit(fx.ch, "MarginChanged")
        .withArgs(fx.alice.address, fx.ammAddress, -max, pos.margin - max);
      expect(await fx.vault.freeCollateral(fx.alice.address)).to.equal(freeBefore + max);
      await expectModel(fx, model);
    });

    it("unrealised profit does not back a margin withdrawal", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      await open(fx, model, fx.bob, LONG, toWad(200), toWad(5)); // alice is in profit
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const exit = model.amm(fx.ammAddress).previewSwapBase(pos.size, pos.size);
      const profit = exit - pos.openNotional;
      expect(profit).to.be.greaterThan(toWad(10));
      const required = ceilMul(exit, IMR);
      // Counting the profit, margin - required + profit could go; only margin - required may.
      const allowed = pos.margin - required;
      const amount = allowed + profit / 2n;
      expect(pos.margin - amount + profit >= required).to.equal(true); // would pass if profit counted
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, amount))
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(((pos.margin - amount) * WAD) / exit, IMR);
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, allowed + 1n)).to.be.revertedWithCustomError(
        fx.ch,
        "MarginRatioTooLow",
      );
      model.removeMargin(fx.alice.address, fx.ammAddress, allowed);
      await fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, allowed);
      await expectModel(fx, model);
    });

    it("removeMargin reverts with ZeroAmount, NoPosition, or InsufficientMargin above the margin", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, 0n)).to.be.revertedWithCustomError(
        fx.ch,
        "ZeroAmount",
      );
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, toWad(1)))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.alice.address, fx.ammAddress);
      await fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE);
      await expect(fx.ch.connect(fx.alice).removeMargin(fx.ammAddress, toWad(100) + 1n))
        .to.be.revertedWithCustomError(fx.ch, "InsufficientMargin")
        .withArgs(toWad(100), toWad(100) + 1n);
    });
  });

  describe("views", function () {
    it("getUnrealizedPnl is floor(|s| q / b) - open notional for a long, open notional - ceil(|s| q / b) for a short, 0 without a position", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      expect(await fx.ch.getUnrealizedPnl(fx.ammAddress, fx.alice.address)).to.equal(0n);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(5));
      await open(fx, model, fx.bob, SHORT, toWad(50), toWad(4));
      await open(fx, model, fx.carol, LONG, toWad(80), toWad(3));
      const [q, b] = await fx.amm.getReserves();
      const pool = model.amm(fx.ammAddress);
      expect([q, b]).to.deep.equal([pool.quote, pool.base]);
      const a = model.position(fx.ammAddress, fx.alice.address);
      const s = model.position(fx.ammAddress, fx.bob.address);
      // Both products are inexact, so the rounding direction (against the trader) is visible.
      expect((a.size * q) % b).to.not.equal(0n);
      expect((-s.size * q) % b).to.not.equal(0n);
      const aliceMark = (a.size * q) / b;
      const bobMark = (-s.size * q) / b + 1n;
      const alicePnl = aliceMark - a.openNotional;
      const bobPnl = s.openNotional - bobMark;
      expect(alicePnl).to.be.greaterThan(0n);
      expect(bobPnl).to.be.lessThan(0n);
      expect(await fx.ch.getUnrealizedPnl(fx.ammAddress, fx.alice.address)).to.equal(alicePnl);
      expect(await fx.ch.getUnrealizedPnl(fx.ammAddress, fx.bob.address)).to.equal(bobPnl);
      expect(model.unrealizedPnl(fx.ammAddress, fx.alice.address)).to.equal(alicePnl);
      expect(model.unrealizedPnl(fx.ammAddress, fx.bob.address)).to.equal(bobPnl);
      // The spot price is not what a close realises: the exit value carries the close's own price impact.
      expect(pool.previewSwapBase(a.size, a.size)).to.be.lessThan(aliceMark);
      expect(pool.previewSwapBase(s.size, -s.size)).to.be.greaterThan(bobMark);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(
        ((a.margin + alicePnl) * WAD) / aliceMark,
      );
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.bob.address)).to.equal(((s.margin + bobPnl) * WAD) / bobMark);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.carol.address)).to.equal(
        model.marginRatio(fx.ammAddress, fx.carol.address),
      );
    });

    it("getMarginRatio and getLiquidationMarginRatio answer 0 without a position, like every view", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(0n);
      expect(await fx.ch.getLiquidationMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(0n);
      expect(await fx.ch.getUnrealizedPnl(fx.ammAddress, fx.alice.address)).to.equal(0n);
      expect(await fx.ch.getPendingFunding(fx.ammAddress, fx.alice.address)).to.equal(0n);
    });

    it("getMarginRatio of an underwater position is rounded down (toward minus infinity)", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, toWad(100), toWad(10));
      await open(fx, model, fx.bob, SHORT, toWad(300), toWad(5));
      const pos = model.position(fx.ammAddress, fx.alice.address);
      const pool = model.amm(fx.ammAddress);
      const mark = mulDivDown(pos.size, pool.quote, pool.base);
      const equity = pos.margin + mark - pos.openNotional;
      expect(equity).to.be.lessThan(0n);
      expect((equity * WAD) % mark).to.not.equal(0n); // inexact, so the direction matters
      const floor = floorDivSigned(equity * WAD, mark);
      expect(floor).to.equal((equity * WAD) / mark - 1n); // one below truncation toward zero
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(floor);
      expect(await fx.ch.getUnrealizedPnl(fx.ammAddress, fx.alice.address)).to.equal(mark - pos.openNotional);
    });

    it("getPosition is all zeros without a position; vault() and MAX_FEE_RATIO are as deployed", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const p = await fx.ch.getPosition(fx.ammAddress, fx.stranger.address);
      expect([p.size, p.margin, p.openNotional, p.fundingCheckpoint]).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.ch.vault()).to.equal(await fx.vault.getAddress());
      expect(await fx.ch.MAX_FEE_RATIO()).to.equal(toWad("0.05"));
    });
  });

  describe("construction and setVault", function () {
    /** A ClearingHouse and a Vault naming it, not linked yet, and an Amm bound to the ClearingHouse. */
    async function unlinkedFixture() {
      const [owner, alice, , , stranger] = await ethers.getSigners();
      const usdc = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
      const ch = await deployClearingHouse(ethers, owner.address, ethers.ZeroAddress);
      const chAddress = await ch.getAddress();
      const vault = (await ethers.deployContract("Vault", [await usdc.getAddress(), chAddress])) as unknown as Vault;
      const amm = await ethers.deployContract("Amm", [
        chAddress,
        Q0,
        B0,
        { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n },
        owner.address,
        await (await ethers.deployContract("AmmCurveModule")).getAddress(),
      ]);
      return {
        owner,
        alice,
        stranger,
        usdc,
        ch,
        chAddress,
        vault,
        vaultAddress: await vault.getAddress(),
        ammAddress: await amm.getAddress(),
      };
    }

    it("a new ClearingHouse has its owner, no Vault, and is not paused", async function () {
      const { ch, owner } = await networkHelpers.loadFixture(unlinkedFixture);
      expect(await ch.owner()).to.equal(owner.address);
      expect(await ch.pendingOwner()).to.equal(ethers.ZeroAddress);
      expect(await ch.vault()).to.equal(ethers.ZeroAddress);
      expect(await ch.paused()).to.equal(false);
    });

    it("the constructor rejects a zero owner with OwnableInvalidOwner", async function () {
      const { ch } = await networkHelpers.loadFixture(unlinkedFixture);
      const modules = {
        admin: await ch.adminModule(),
        liquidation: await ch.liquidationModule(),
        settlement: await ch.settlementModule(),
      };
      const factory = await ethers.getContractFactory("ClearingHouse");
      await expect(factory.deploy(ethers.ZeroAddress, ethers.ZeroAddress, modules))
        .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
        .withArgs(ethers.ZeroAddress);
    });

    it("the constructor refuses a module in the wrong place, built with another sequencer feed, or not a module, with InvalidModule", async function () {
      const { ch, owner, usdc } = await networkHelpers.loadFixture(unlinkedFixture);
      const admin = await ch.adminModule();
      const liquidation = await ch.liquidationModule();
      const settlement = await ch.settlementModule();
      const factory = await ethers.getContractFactory("ClearingHouse");
      // Built for address(0); the same modules offered to a ClearingHouse with a sequencer feed.
      const otherFeed = await usdc.getAddress();
      const cases: [typeof admin, typeof admin, typeof admin, string, string][] = [
        [liquidation, liquidation, settlement, ethers.ZeroAddress, liquidation],
        [admin, settlement, settlement, ethers.ZeroAddress, settlement],
        [admin, liquidation, admin, ethers.ZeroAddress, admin],
        [admin, liquidation, settlement, otherFeed, admin],
        [owner.address, liquidation, settlement, ethers.ZeroAddress, owner.address],
        [otherFeed, liquidation, settlement, ethers.ZeroAddress, otherFeed],
      ];
      for (const [a, l, s, feed, bad] of cases) {
        await expect(factory.deploy(owner.address, feed, { admin: a, liquidation: l, settlement: s }))
          .to.be.revertedWithCustomError(factory, "InvalidModule")
          .withArgs(bad);
      }
      const [kind, oracle] = await (await ethers.getContractAt("AdminModule", admin)).moduleInfo();
      expect(kind).to.equal(ethers.id("vamm.ClearingHouse.AdminModule"));
      expect(oracle).to.equal(ethers.ZeroAddress);
    });

    it("setVault is owner only", async function () {
      const { ch, stranger, vaultAddress } = await networkHelpers.loadFixture(unlinkedFixture);
      await expect(ch.connect(stranger).setVault(vaultAddress))
        .to.be.revertedWithCustomError(ch, "OwnableUnauthorizedAccount")
        .withArgs(stranger.address);
      expect(await ch.vault()).to.equal(ethers.ZeroAddress);
    });

    it("setVault rejects the zero address with ZeroAddress", async function () {
      const { ch } = await networkHelpers.loadFixture(unlinkedFixture);
      await expect(ch.setVault(ethers.ZeroAddress)).to.be.revertedWithCustomError(ch, "ZeroAddress");
    });

    it("setVault rejects a Vault naming another ClearingHouse with VaultNotBoundToThisClearingHouse(vault, boundTo)", async function () {
      const { ch, usdc, owner, stranger } = await networkHelpers.loadFixture(unlinkedFixture);
      const otherCh = await deployClearingHouse(ethers, owner.address, ethers.ZeroAddress);
      const usdcAddress = await usdc.getAddress();
      for (const boundTo of [await otherCh.getAddress(), stranger.address]) {
        const foreign = await ethers.deployContract("Vault", [usdcAddress, boundTo]);
        const foreignAddress = await foreign.getAddress();
        await expect(ch.setVault(foreignAddress))
          .to.be.revertedWithCustomError(ch, "VaultNotBoundToThisClearingHouse")
          .withArgs(foreignAddress, boundTo);
      }
      expect(await ch.vault()).to.equal(ethers.ZeroAddress);
    });

    it("setVault links once, emits VaultSet, and then refuses with VaultAlreadySet(current Vault)", async function () {
      const { ch, chAddress, usdc, vault, vaultAddress } = await networkHelpers.loadFixture(unlinkedFixture);
      expect(await vault.clearingHouse()).to.equal(chAddress);
      await expect(ch.setVault(vaultAddress)).to.emit(ch, "VaultSet").withArgs(vaultAddress);
      expect(await ch.vault()).to.equal(vaultAddress);
      // A second Vault bound to this ClearingHouse is refused too, and so is the same one again.
      const second = await ethers.deployContract("Vault", [await usdc.getAddress(), chAddress]);
      await expect(ch.setVault(await second.getAddress()))
        .to.be.revertedWithCustomError(ch, "VaultAlreadySet")
        .withArgs(vaultAddress);
      await expect(ch.setVault(vaultAddress))
        .to.be.revertedWithCustomError(ch, "VaultAlreadySet")
        .withArgs(vaultAddress);
      // The zero address is checked first.
      await expect(ch.setVault(ethers.ZeroAddress)).to.be.revertedWithCustomError(ch, "ZeroAddress");
      expect(await ch.vault()).to.equal(vaultAddress);
    });

    it("addMarket reverts with VaultNotSet before the Vault is linked, and lists the market once it is", async function () {
      const { ch, vaultAddress, ammAddress, alice } = await networkHelpers.loadFixture(unlinkedFixture);
      await expect(ch.addMarket(ammAddress, PARAMS)).to.be.revertedWithCustomError(ch, "VaultNotSet");
      expect(await ch.isMarketListed(ammAddress)).to.equal(false);
      // With no market there is nothing to trade.
      await expect(ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(10), toWad(2), 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(ch, "MarketNotListed")
        .withArgs(ammAddress);
      await ch.setVault(vaultAddress);
      await expect(ch.addMarket(ammAddress, PARAMS)).to.emit(ch, "MarketAdded").withArgs(ammAddress, [IMR, MMR, FEE]);
      expect(await ch.isMarketListed(ammAddress)).to.equal(true);
    });

    it("the deployment helper links both ways: Vault(token, clearingHouse), then setVault", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      expect(await fx.vault.clearingHouse()).to.equal(await fx.ch.getAddress());
      expect(await fx.ch.vault()).to.equal(await fx.vault.getAddress());
      expect(await fx.vault.collateralToken()).to.equal(await fx.system.usdc.getAddress());
    });
  });

  describe("admin: markets", function () {
    it("addMarket lists a bound Amm, emits MarketAdded and exposes its parameters", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const other = await unlistedAmm(fx);
      const otherAddress = await other.getAddress();
      expect(await fx.ch.isMarketListed(otherAddress)).to.equal(false);
      const none = await fx.ch.getMarketParams(otherAddress);
      expect([none.initialMarginRatio, none.maintenanceMarginRatio, none.feeRatio]).to.deep.equal([0n, 0n, 0n]);
      const params = {
        initialMarginRatio: toWad("0.2"),
        maintenanceMarginRatio: toWad("0.1"),
        feeRatio: toWad("0.05"),
      };
      await expect(fx.ch.addMarket(otherAddress, params))
        .to.emit(fx.ch, "MarketAdded")
        .withArgs(otherAddress, [params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio]);
      expect(await fx.ch.isMarketListed(otherAddress)).to.equal(true);
      const got = await fx.ch.getMarketParams(otherAddress);
      expect([got.initialMarginRatio, got.maintenanceMarginRatio, got.feeRatio]).to.deep.equal([
        params.initialMarginRatio,
        params.maintenanceMarginRatio,
        params.feeRatio,
      ]);
      // 100% IMR (1x) is the upper bound and is accepted.
      const third = await unlistedAmm(fx);
      await fx.ch.addMarket(await third.getAddress(), { ...params, initialMarginRatio: WAD });
    });

    it("addMarket is owner only", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const other = await unlistedAmm(fx);
      await expect(fx.ch.connect(fx.stranger).addMarket(await other.getAddress(), PARAMS))
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
    });

    it("addMarket reverts with MarketAlreadyListed for a listed Amm", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(fx.ch.addMarket(fx.ammAddress, PARAMS))
        .to.be.revertedWithCustomError(fx.ch, "MarketAlreadyListed")
        .withArgs(fx.ammAddress);
    });

    it("addMarket reverts with AmmNotBoundToThisClearingHouse for an Amm of another ClearingHouse", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const foreign = await ethers.deployContract("Amm", [
        fx.stranger.address,
        Q0,
        B0,
        { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n },
        fx.owner.address,
        await (await ethers.deployContract("AmmCurveModule")).getAddress(),
      ]);
      await expect(fx.ch.addMarket(await foreign.getAddress(), PARAMS))
        .to.be.revertedWithCustomError(fx.ch, "AmmNotBoundToThisClearingHouse")
        .withArgs(await foreign.getAddress(), fx.stranger.address);
    });

    it("addMarket and setMarketParams reject margin ratios out of order with InvalidMarginRatios", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const other = await unlistedAmm(fx);
      const otherAddress = await other.getAddress();
      const bad: Array<[bigint, bigint]> = [
        [IMR, 0n], // maintenance zero
        [IMR, IMR], // maintenance = initial
        [IMR, IMR + 1n], // maintenance above initial
        [WAD + 1n, MMR], // initial above 100%
      ];
      for (const [imr, mmr] of bad) {
        const params = { initialMarginRatio: imr, maintenanceMarginRatio: mmr, feeRatio: 0n };
        await expect(fx.ch.addMarket(otherAddress, params))
          .to.be.revertedWithCustomError(fx.ch, "InvalidMarginRatios")
          .withArgs(imr, mmr);
        await expect(fx.ch.setMarketParams(fx.ammAddress, params))
          .to.be.revertedWithCustomError(fx.ch, "InvalidMarginRatios")
          .withArgs(imr, mmr);
      }
    });

    it("addMarket and setMarketParams reject a fee above 5% with FeeRatioTooHigh", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const other = await unlistedAmm(fx);
      const params = { ...PARAMS, feeRatio: toWad("0.05") + 1n };
      await expect(fx.ch.addMarket(await other.getAddress(), params))
        .to.be.revertedWithCustomError(fx.ch, "FeeRatioTooHigh")
        .withArgs(toWad("0.05") + 1n, toWad("0.05"));
      await expect(fx.ch.setMarketParams(fx.ammAddress, params))
        .to.be.revertedWithCustomError(fx.ch, "FeeRatioTooHigh")
        .withArgs(toWad("0.05") + 1n, toWad("0.05"));
    });

    it("setMarketParams is owner only, needs a listed market, emits MarketParamsUpdated and takes effect", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const params = {
        initialMarginRatio: toWad("0.25"),
        maintenanceMarginRatio: toWad("0.125"),
        feeRatio: toWad("0.01"),
      };
      await expect(fx.ch.connect(fx.stranger).setMarketParams(fx.ammAddress, params))
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
      const other = await unlistedAmm(fx);
      await expect(fx.ch.setMarketParams(await other.getAddress(), params))
        .to.be.revertedWithCustomError(fx.ch, "MarketNotListed")
        .withArgs(await other.getAddress());
      await expect(fx.ch.setMarketParams(fx.ammAddress, params))
        .to.emit(fx.ch, "MarketParamsUpdated")
        .withArgs(fx.ammAddress, [params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio]);
      const got = await fx.ch.getMarketParams(fx.ammAddress);
      expect(got.feeRatio).to.equal(params.feeRatio);
      // Max leverage is now 4x and the fee 1%.
      await expect(
        fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "LeverageTooHigh")
        .withArgs(toWad(5), toWad(4));
      await fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(4), 0n, MAX_DEADLINE);
      expect((await fx.vault.getPoolBalances())[1]).to.equal(toWad(4));
    });
  });

  describe("admin: pause", function () {
    it("pause and unpause are owner only", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await expect(fx.ch.connect(fx.stranger).pause())
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
      await fx.ch.pause();
      await expect(fx.ch.connect(fx.stranger).unpause())
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
    });

    it("pause and unpause toggle paused(), emit Paused / Unpaused and refuse a repeat (EnforcedPause / ExpectedPause)", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      expect(await fx.ch.paused()).to.equal(false);
      await expect(fx.ch.unpause()).to.be.revertedWithCustomError(fx.ch, "ExpectedPause");
      await expect(fx.ch.pause()).to.emit(fx.ch, "Paused").withArgs(fx.owner.address);
      expect(await fx.ch.paused()).to.equal(true);
      await expect(fx.ch.pause()).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      await expect(fx.ch.unpause()).to.emit(fx.ch, "Unpaused").withArgs(fx.owner.address);
      expect(await fx.ch.paused()).to.equal(false);
      await expect(fx.ch.unpause()).to.be.revertedWithCustomError(fx.ch, "ExpectedPause");
      // Paused / Unpaused name the account that acted: after a handover, the new owner.
      await fx.ch.transferOwnership(fx.carol.address);
      await fx.ch.connect(fx.carol).acceptOwnership();
      await expect(fx.ch.connect(fx.carol).pause()).to.emit(fx.ch, "Paused").withArgs(fx.carol.address);
      await expect(fx.ch.connect(fx.carol).unpause()).to.emit(fx.ch, "Unpaused").withArgs(fx.carol.address);
    });

    it("while paused the pause check comes before every other check of a trading action; admin still works", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await fx.ch.pause();
      const a = fx.ch.connect(fx.alice);
      const other = await unlistedAmm(fx);
      const otherAddress = await other.getAddress();
      // Each of these would fail a later check (expired deadline, unlisted market, zero amount, no position).
      await expect(a.openPosition(otherAddress, Side.LONG, 0n, toWad(2), 0n, 0n)).to.be.revertedWithCustomError(
        fx.ch,
        "EnforcedPause",
      );
      await expect(a.closePosition(fx.ammAddress, 0n, 0n)).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      await expect(a.addMargin(fx.ammAddress, 0n)).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      await expect(a.removeMargin(fx.ammAddress, toWad(1))).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      // Listing and parameters are not trading: the owner can still use them while paused.
      await expect(fx.ch.addMarket(otherAddress, PARAMS)).to.emit(fx.ch, "MarketAdded");
      await expect(fx.ch.setMarketParams(fx.ammAddress, PARAMS)).to.emit(fx.ch, "MarketParamsUpdated");
      // The Vault has no pause: deposits and withdrawals go on.
      await fund(fx.system, fx.stranger, USDC(5));
      await fx.vault.connect(fx.stranger).withdraw(USDC(5));
    });

    it("while paused every trading and margin action reverts with EnforcedPause; unpause restores them", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      await fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE);
      await expect(fx.ch.pause()).to.emit(fx.ch, "Paused").withArgs(fx.owner.address);
      expect(await fx.ch.paused()).to.equal(true);
      await expect(fx.ch.pause()).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      const a = fx.ch.connect(fx.alice);
      await expect(
        a.openPosition(fx.ammAddress, Side.LONG, toWad(10), toWad(2), 0n, MAX_DEADLINE),
      ).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      await expect(a.closePosition(fx.ammAddress, 0n, MAX_DEADLINE)).to.be.revertedWithCustomError(
        fx.ch,
        "EnforcedPause",
      );
      await expect(a.addMargin(fx.ammAddress, toWad(1))).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      await expect(a.removeMargin(fx.ammAddress, toWad(1))).to.be.revertedWithCustomError(fx.ch, "EnforcedPause");
      // Views still answer, and the Vault is not paused: free collateral can leave.
      expect((await fx.ch.getPosition(fx.ammAddress, fx.alice.address)).margin).to.equal(toWad(100));
      await fx.vault.connect(fx.alice).withdraw(USDC(1));
      await expect(fx.ch.unpause()).to.emit(fx.ch, "Unpaused").withArgs(fx.owner.address);
      await expect(fx.ch.unpause()).to.be.revertedWithCustomError(fx.ch, "ExpectedPause");
      await expect(a.closePosition(fx.ammAddress, 0n, MAX_DEADLINE)).to.emit(fx.ch, "PositionChanged");
    });
  });

  describe("admin: Ownable2Step", function () {
    it("the pending owner must accept before it owns the ClearingHouse", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const newOwner = fx.carol;
      await expect(fx.ch.connect(fx.stranger).transferOwnership(newOwner.address))
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
      await expect(fx.ch.transferOwnership(newOwner.address))
        .to.emit(fx.ch, "OwnershipTransferStarted")
        .withArgs(fx.owner.address, newOwner.address);
      expect(await fx.ch.owner()).to.equal(fx.owner.address);
      expect(await fx.ch.pendingOwner()).to.equal(newOwner.address);
      // Not yet the owner.
      await expect(fx.ch.connect(newOwner).pause())
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(newOwner.address);
      // Only the pending owner may accept.
      await expect(fx.ch.connect(fx.stranger).acceptOwnership())
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.stranger.address);
      await expect(fx.ch.connect(newOwner).acceptOwnership())
        .to.emit(fx.ch, "OwnershipTransferred")
        .withArgs(fx.owner.address, newOwner.address);
      expect(await fx.ch.owner()).to.equal(newOwner.address);
      expect(await fx.ch.pendingOwner()).to.equal(ethers.ZeroAddress);
      await fx.ch.connect(newOwner).pause();
      await expect(fx.ch.connect(fx.owner).unpause())
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.owner.address);
    });
  });

  describe("a mixed session", function () {
    it("matches the model to the wei through opens, increases, reduces, reversals, margin moves and closes", async function () {
      const fx = await networkHelpers.loadFixture(chFixture);
      const model = modelOf(fx);
      const W = toWad;
      await open(fx, model, fx.alice, LONG, W(120), W(6));
      await open(fx, model, fx.bob, SHORT, W(90), W(4));
      await open(fx, model, fx.carol, LONG, W("33.3"), W("7.5"));
      await open(fx, model, fx.alice, LONG, W(40), W(2));
      await open(fx, model, fx.bob, LONG, W(20), W(3)); // reduce short
      model.addMargin(fx.bob.address, fx.ammAddress, W(15));
      await fx.ch.connect(fx.bob).addMargin(fx.ammAddress, W(15));
      await open(fx, model, fx.carol, SHORT, W(10), W(2)); // reduce long
      model.removeMargin(fx.carol.address, fx.ammAddress, W(5));
      await fx.ch.connect(fx.carol).removeMargin(fx.ammAddress, W(5));
      await open(fx, model, fx.alice, SHORT, W(300), W(5)); // reverse long -> short
      await open(fx, model, fx.bob, LONG, W(200), W(5)); // reverse short -> long
      await expectModel(fx, model);
      for (const t of [fx.carol, fx.alice, fx.bob]) {
        if (model.position(fx.ammAddress, t.address).size !== 0n) await close(fx, model, t);
      }
      await expectModel(fx, model);
      const [longOI, shortOI] = await fx.amm.getOpenInterest();
      expect([longOI, shortOI]).to.deep.equal([0n, 0n]);
      // Zero-sum: every wei of free collateral lost is in the insurance fund or the margin pool.
      const total = model.ledgerTotal();
      expect(total).to.equal(3n * FUNDING * USDC_SCALE);
    });
  });
});
