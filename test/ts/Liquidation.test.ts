/**
 * Liquidation (issue 4): the liquidation margin ratio (spot, mark TWAP, index beyond the spread
 * limit), partial and full closes, the penalty split, bad debt covered by the insurance fund or
 * recorded as a shortfall (reduce-only), bounds and access. Every expected figure comes from the
 * bigint models (helpers/model.ts for trades, helpers/liquidation-model.ts for liquidations),
 * written from the spec and fed the same inputs as the chain; nothing expected is read back from
 * the contracts. Each liquidation is checked to the wei: PositionLiquidated, PositionChanged,
 * ShortfallRecorded, positions, reserves, the Vault ledger, and the Vault's token balance against
 * every claim on it.
 *
 * Markets are left idle for more than the mark TWAP interval before each liquidation, so the
 * 15-minute mark TWAP equals the spot price (IAmm: a window inside the stretch since the last block
 * with swaps gives the spot price); the one-block manipulation test reads it inside the block of the
 * manipulating trade, where it averages the blocks before it.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { STATIC_CURVE_PARAMS } from "../../deploy/defaults.js";
import {
  deployCore,
  deployMarket,
  deployOracle,
  fund,
  MAX_DEADLINE,
  Side,
  toFeedUnits,
} from "../../scripts/lib/deploy.js";
import { mulDivDown, toWad, wMulDown, wMulUp, WAD } from "../../scripts/lib/fixed.js";
import type { Amm, MockAggregator } from "../../typechain-types/index.js";
import { expectMatchesModel, expectPositionChanged, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import {
  DEFAULT_LIQUIDATION_PARAMS,
  liquidate,
  liquidationRatioOf,
  liquidationSize,
  maxCloseBase,
  UNBOUNDED,
  ratioAt,
  type LiquidateInput,
  type LiquidationParams,
  type LiquidationResult,
} from "./helpers/liquidation-model.js";
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
import { LONG, pnlOf, predictRevert, SHORT, SystemModel, type SideValue } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const GAS = { gasLimit: 3_000_000n };

const plainFixture = () => deployLiquidationFixture(ethers, false);
const oracleFixture = () => deployLiquidationFixture(ethers, true);
// A thin pool: 100,000 / 1,000 (spot 100), a tenth of the others' depth.
const THIN_Q = toWad(100_000);
const THIN_B = toWad(1_000);
const thinFixture = () => deployLiquidationFixture(ethers, false, THIN_Q, THIN_B);

type Fx = LiquidationFx;

const everyone = (fx: Fx) => [fx.owner, fx.alice, fx.bob, fx.carol, fx.dave, fx.insurer].map((s) => s.address);

const open = openModelled;

/** Stakes `amount` USDC in the insurance fund (lands in the Vault's insurance account). */
async function stake(fx: Fx, model: SystemModel, amount: bigint) {
  await (await fx.insuranceFund.connect(fx.insurer).deposit(amount, fx.insurer.address)).wait();
  model.insuranceFund += amount * USDC_SCALE;
}

/** The Vault's token balance equals every claim on it: free collateral, margin pool, insurance. */
async function expectConserved(fx: Fx, model: SystemModel) {
  const balance = (await fx.usdc.balanceOf(await fx.vault.getAddress())) * USDC_SCALE;
  const [marginPool, insurance] = await fx.vault.getPoolBalances();
  let free = 0n;
  for (const a of everyone(fx)) free += await fx.vault.freeCollateral(a);
  expect(balance, "vault balance = free + margin pool + insurance").to.equal(free + marginPool + insurance);
  expect(free + marginPool + insurance, "ledger total = model").to.equal(model.ledgerTotal());
}

async function expectModel(fx: Fx, model: SystemModel) {
  await expectMatchesModel(model, { vault: fx.vault, clearingHouse: fx.ch, amms: [fx.amm] }, [
    fx.alice.address,
    fx.bob.address,
    fx.carol.address,
    fx.dave.address,
  ]);
  await expectConserved(fx, model);
}

/** Asserts a mined liquidation carries exactly the model's events. */
async function expectLiquidationEvents(
  fx: Fx,
  tx: Promise<ContractTransactionResponse>,
  trader: string,
  liquidator: string,
  r: LiquidationResult,
  totalShortfall = r.shortfall,
) {
  const e = expect(tx);
  await e.to
    .emit(fx.ch, "PositionLiquidated")
    .withArgs(
      trader,
      fx.ammAddress,
      liquidator,
      r.baseClosed,
      r.quoteClosed,
      r.liquidatorReward,
      r.insurancePenalty,
      r.badDebt,
      r.shortfall,
      r.full,
    );
  // No trading fee on a liquidation.
  await expectPositionChanged(tx, fx.ch, trader, fx.ammAddress, { ...r, quoteAmount: r.quoteClosed, fee: 0n });
  if (r.shortfall > 0n) {
    await expect(tx).to.emit(fx.ch, "ShortfallRecorded").withArgs(fx.ammAddress, r.shortfall, totalShortfall);
  } else {
    await expect(tx).not.to.emit(fx.ch, "ShortfallRecorded");
  }
}

/** Liquidates through the model and the chain (the mark TWAP is the spot after IDLE), checks all. */
async function liq(
  fx: Fx,
  model: SystemModel,
  liquidator: Signer,
  trader: Signer,
  extra: Partial<LiquidateInput> = {},
  send?: () => Promise<ContractTransactionResponse>,
) {
  const spot = model.amm(fx.ammAddress).spotPrice();
  const totalBefore = model.ledgerTotal();
  const r = liquidate(model, {
    amm: fx.ammAddress,
    trader: trader.address,
    liquidator: liquidator.address,
    mmr: MMR,
    markTwap: spot,
    ...extra,
  });
  const tx = send ? send() : fx.ch.connect(liquidator).liquidate(fx.ammAddress, trader.address);
  await expectLiquidationEvents(fx, tx, trader.address, liquidator.address, r);
  expect(model.ledgerTotal(), "a liquidation moves money, never makes it").to.equal(totalBefore);
  await expectModel(fx, model);
  return r;
}

/** Alice 1,000 x 10 long at 100, then Bob shorts `bobMargin` x 10, then the market idles. */
/** The dynamic curve's parameters with every feature off but the budget's floor (and target). */
function budgetOnly(floor: bigint) {
  return { ...STATIC_CURVE_PARAMS, budgetFloor: floor, budgetTarget: floor };
}

/**
 * Gives the market an AMM budget: Dave contributes `amount` (his free collateral moves into the
 * market's pool, locked) and the floor is set to `floor`. The curve itself stays static (no
 * repeg, spread or depth change), so the trades and the liquidation price as before.
 */
async function fundBudget(fx: Fx, model: SystemModel, amount: bigint, floor: bigint) {
  await (await fx.amm.setCurveParams(budgetOnly(floor))).wait();
  await (await fx.ch.connect(fx.dave).contributeToBudget(fx.ammAddress, amount)).wait();
  model.settle(fx.dave.address, fx.ammAddress, -amount, 0n, amount);
  expect((await fx.amm.getCurveState()).budget).to.equal(amount);
}

/** Alice's liquidation in the bad-debt scenario, on a clone: the fair bad debt the fund would cover. */
function fairBadDebtOf(fx: Fx, model: SystemModel): bigint {
  const r = liquidate(model.clone(), {
    amm: fx.ammAddress,
    trader: fx.alice.address,
    liquidator: fx.carol.address,
    mmr: MMR,
    markTwap: model.amm(fx.ammAddress).spotPrice(),
  });
  return r.badDebt - r.chargedToMarket;
}

async function aliceLongBobShort(fx: Fx, model: SystemModel, bobMargin: number) {
  await open(fx, model, fx.alice, LONG, 1000, 10);
  await open(fx, model, fx.bob, SHORT, bobMargin, 10);
  await time.increase(IDLE);
}

async function expectNotLiquidatable(fx: Fx, model: SystemModel, input: Partial<LiquidateInput> = {}) {
  const spot = model.amm(fx.ammAddress).spotPrice();
  const err = predictRevert(() =>
    liquidate(model.clone(), {
      amm: fx.ammAddress,
      trader: fx.alice.address,
      liquidator: fx.carol.address,
      mmr: MMR,
      markTwap: spot,
      ...input,
    }),
  );
  expect(err.errorName).to.equal("NotLiquidatable");
  await expect(fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address))
    .to.be.revertedWithCustomError(fx.ch, "NotLiquidatable")
    .withArgs(...err.args);
  return err.args[0] as bigint;
}

async function setLiquidationParams(fx: Fx, p: LiquidationParams) {
  await (await fx.ch.setLiquidationParams(p)).wait();
}

describe("Liquidation", function () {
  describe("parameters", function () {
    it("starts at the documented defaults", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const p = await fx.ch.getLiquidationParams();
      expect([p.feeRatio, p.partialBuffer, p.maxSpreadRatio, p.markTwapInterval, p.minPositionNotional]).to.deep.equal([
        DEFAULT_LIQUIDATION_PARAMS.feeRatio,
        DEFAULT_LIQUIDATION_PARAMS.partialBuffer,
        DEFAULT_LIQUIDATION_PARAMS.maxSpreadRatio,
        DEFAULT_LIQUIDATION_PARAMS.markTwapInterval,
        DEFAULT_LIQUIDATION_PARAMS.minPositionNotional,
      ]);
    });

    it("setLiquidationParams: owner only, bounds inclusive, InvalidLiquidationParams outside", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const d = DEFAULT_LIQUIDATION_PARAMS;
      await expect(fx.ch.connect(fx.alice).setLiquidationParams(d))
        .to.be.revertedWithCustomError(fx.ch, "OwnableUnauthorizedAccount")
        .withArgs(fx.alice.address);
      const edges: LiquidationParams[] = [
        {
          ...d,
          feeRatio: toWad("0.1"),
          partialBuffer: toWad("0.2"),
          maxSpreadRatio: toWad("0.01"),
          markTwapInterval: 60n,
        },
        { ...d, feeRatio: 0n, partialBuffer: 0n, maxSpreadRatio: toWad("0.5"), markTwapInterval: 3600n },
      ];
      for (const p of edges) {
        await expect(fx.ch.setLiquidationParams(p))
          .to.emit(fx.ch, "LiquidationParamsUpdated")
          .withArgs([p.feeRatio, p.partialBuffer, p.maxSpreadRatio, p.markTwapInterval, p.minPositionNotional]);
      }
      const bad: LiquidationParams[] = [
        { ...d, feeRatio: toWad("0.1") + 1n },
        { ...d, partialBuffer: toWad("0.2") + 1n },
        { ...d, maxSpreadRatio: toWad("0.01") - 1n },
        { ...d, maxSpreadRatio: toWad("0.5") + 1n },
        { ...d, markTwapInterval: 59n },
        { ...d, markTwapInterval: 3601n },
      ];
      for (const p of bad) {
        await expect(fx.ch.setLiquidationParams(p)).to.be.revertedWithCustomError(fx.ch, "InvalidLiquidationParams");
      }
    });
  });

  describe("when a position is liquidatable", function () {
    it("is not liquidatable at the maintenance ratio or just above it, and is just below it", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 3000);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const r = liquidationRatioOf(model, fx.ammAddress, fx.alice.address, spot);
      expect(await fx.ch.getLiquidationMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(r);
      // maintenance = r (at it), then r - 1 (the position is 1 wei of ratio above it): not liquidatable
      for (const mmr of [r, r - 1n]) {
        await (await fx.ch.setMarketParams(fx.ammAddress, { ...PARAMS, maintenanceMarginRatio: mmr })).wait();
        await expectNotLiquidatable(fx, model, { mmr });
      }
      // maintenance = r + 1: the position is just below it
      await (await fx.ch.setMarketParams(fx.ammAddress, { ...PARAMS, maintenanceMarginRatio: r + 1n })).wait();
      const res = await liq(fx, model, fx.carol, fx.alice, { mmr: r + 1n });
      expect(res.ratio).to.equal(r);
      expect(res.full, "partial").to.equal(false);
    });

    it("a healthy position is not liquidatable (default maintenance)", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 1000);
      const r = await expectNotLiquidatable(fx, model);
      expect(r > MMR).to.equal(true);
    });

    it("one block's manipulation cannot liquidate: the mark TWAP inside the block is the price before it", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      // Alice's trade more than 30 s after the deployment's observation records its own, so the
      // window starts at her block and the TWAP is exactly the price her block ended on.
      await time.increase(100);
      await open(fx, model, fx.alice, LONG, 1000, 10);
      await time.increase(IDLE);
      const priceBefore = model.amm(fx.ammAddress).spotPrice();
      // Bob's big short and Carol's liquidation in the same block.
      const trade = model.open(fx.bob.address, fx.ammAddress, SHORT, toWad(9000), toWad(10));
      const spotAfter = model.amm(fx.ammAddress).spotPrice();
      const p = model.position(fx.ammAddress, fx.alice.address);
      expect(ratioAt(p, p.margin, spotAfter) < 0n, "at the manipulated spot Alice is underwater").to.equal(true);
      const expectedRatio = ratioAt(p, p.margin, priceBefore);
      expect(expectedRatio > MMR).to.equal(true);
      await ethers.provider.send("evm_setAutomine", [false]);
      let bobTx: ContractTransactionResponse;
      let carolTx: ContractTransactionResponse;
      try {
        bobTx = await fx.ch
          .connect(fx.bob)
          .openPosition(fx.ammAddress, Side.SHORT, toWad(9000), toWad(10), 0n, MAX_DEADLINE, GAS);
        carolTx = await fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address, GAS);
        await ethers.provider.send("evm_mine", []);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const bobReceipt = await ethers.provider.getTransactionReceipt(bobTx.hash);
      const carolReceipt = await ethers.provider.getTransactionReceipt(carolTx.hash);
      expect(bobReceipt!.blockNumber).to.equal(carolReceipt!.blockNumber);
      expect(bobReceipt!.status, "the manipulating trade went through").to.equal(1);
      expect(carolReceipt!.status, "the liquidation reverted").to.equal(0);
      await expectPositionChanged(Promise.resolve(bobTx), fx.ch, fx.bob.address, fx.ammAddress, trade);
      await expect(carolTx).to.be.revertedWithCustomError(fx.ch, "NotLiquidatable").withArgs(expectedRatio, MMR);
      await expectModel(fx, model);
    });
  });

  describe("partial liquidation", function () {
    it("a long: closes ceil(|s| (t - r) / (t - l)), splits the penalty, keeps the rest to the wei", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 3000);
      const fundBefore = model.insuranceFund;
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.full).to.equal(false);
      expect(r.equity >= r.penalty).to.equal(true);
      expect(r.liquidatorReward + r.insurancePenalty).to.equal(r.penalty);
      expect(model.freeOf(fx.carol.address)).to.equal(FUNDING * USDC_SCALE + r.liquidatorReward);
      expect(model.insuranceFund - fundBefore).to.equal(r.insurancePenalty);
      // the remaining position meets maintenance at the new spot
      const after = liquidationRatioOf(model, fx.ammAddress, fx.alice.address, model.amm(fx.ammAddress).spotPrice());
      expect(after >= MMR, `ratio after ${after}`).to.equal(true);
      // the view also counts the mark TWAP, which still holds the pre-liquidation price (more
      // favourable to a long): at least the spot valuation
      expect((await fx.ch.getLiquidationMarginRatio(fx.ammAddress, fx.alice.address)) >= after).to.equal(true);
    });

    it("a short: basis rounded down, quote paid rounded up", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, SHORT, 1000, 10);
      await open(fx, model, fx.bob, LONG, 3000, 10);
      await time.increase(IDLE);
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.full).to.equal(false);
    });

    it("quote limit: QuoteLimitMissed(quote, limit) one wei off, passes at the exact quote; DeadlineExpired", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 3000);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const input = {
        amm: fx.ammAddress,
        trader: fx.alice.address,
        liquidator: fx.carol.address,
        mmr: MMR,
        markTwap: spot,
      };
      const quote = liquidate(model.clone(), input).quoteClosed;
      await expect(
        fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, quote + 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed")
        .withArgs(quote, quote + 1n);
      const t = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t);
      await expect(fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, quote, t - 1n))
        .to.be.revertedWithCustomError(fx.ch, "DeadlineExpired")
        .withArgs(t - 1n, t);
      await liq(fx, model, fx.carol, fx.alice, { quoteLimit: quote }, () =>
        fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, quote, MAX_DEADLINE),
      );
    });

    it("quote limit on a short: the most the close may pay", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, SHORT, 1000, 10);
      await open(fx, model, fx.bob, LONG, 3000, 10);
      await time.increase(IDLE);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const input = {
        amm: fx.ammAddress,
        trader: fx.alice.address,
        liquidator: fx.carol.address,
        mmr: MMR,
        markTwap: spot,
      };
      const quote = liquidate(model.clone(), input).quoteClosed;
      await expect(
        fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, quote - 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed")
        .withArgs(quote, quote - 1n);
      await liq(fx, model, fx.carol, fx.alice, { quoteLimit: quote }, () =>
        fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, quote, MAX_DEADLINE),
      );
    });

    it("a partial liquidation never leaves the rest with less than nothing (issue 4: no bad debt made)", async function () {
      // Bob's 5,000 x 10 short takes the spot to ~92.16: Alice's ratio is ~1.37%, just above the fee
      // ratio, so the partial size is ~98.4% of the position. Closing it in this pool moves the spot
      // so far that the rest, with what the penalty leaves, would be under water at the new spot
      // (before the fix: margin 0 and an unrealised loss, bad debt the liquidation made). Now the
      // rest is closed in the same call, and what Alice had left pays the penalty.
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 5000);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const pBefore = model.position(fx.ammAddress, fx.alice.address);
      expect(ratioAt(pBefore, pBefore.margin, spot) > 0n, "no bad debt before").to.equal(true);
      const input = {
        amm: fx.ammAddress,
        trader: fx.alice.address,
        liquidator: fx.carol.address,
        mmr: MMR,
        markTwap: spot,
      };
      const predicted = liquidate(model.clone(), input);
      // the first close is the partial size, and it leaves the rest under the penalty ratio
      expect(predicted.ratio >= DEFAULT_LIQUIDATION_PARAMS.feeRatio, "partial by the formula").to.equal(true);
      expect(predicted.firstBase < pBefore.size, "first close partial").to.equal(true);
      expect(predicted.restEquity! < 0n, "the rest alone would be under water").to.equal(true);
      expect(predicted.restClosed).to.equal(pBefore.size - predicted.firstBase);
      // the quote limit bounds the first close only (it is checked before the second one)
      expect(predicted.quoteClosed > predicted.firstQuote).to.equal(true);
      await expect(
        fx.ch
          .connect(fx.carol)
          .liquidateWithLimit(fx.ammAddress, fx.alice.address, predicted.firstQuote + 1n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed")
        .withArgs(predicted.firstQuote, predicted.firstQuote + 1n);
      const r = await liq(fx, model, fx.carol, fx.alice, { quoteLimit: predicted.firstQuote }, () =>
        fx.ch.connect(fx.carol).liquidateWithLimit(fx.ammAddress, fx.alice.address, predicted.firstQuote, MAX_DEADLINE),
      );
      expect(r.full, "the rest was closed too").to.equal(true);
      expect(r.baseClosed).to.equal(pBefore.size);
      expect(r.badDebt, "no bad debt made").to.equal(0n);
      expect(r.equity >= 0n && r.equity < r.penalty, "0 <= E < penalty: the penalty takes what is left").to.equal(true);
      expect(r.liquidatorReward + r.insurancePenalty).to.equal(r.equity);
      expect((await fx.ch.getMarketStatus(fx.ammAddress))[0]).to.equal(0n); // ACTIVE
      expect((await fx.ch.getPosition(fx.ammAddress, fx.alice.address)).size).to.equal(0n);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(0n);
    });

    it("a partial whose rest keeps the penalty ratio at the new spot stays partial", async function () {
      // Bob 4,600 x 10: the rest after the partial close still has positive equity at the new spot.
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 4600);
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.full).to.equal(false);
      expect(r.restClosed).to.equal(0n);
      const rest = model.position(fx.ammAddress, fx.alice.address);
      const notional = SystemModel.markNotional(model.amm(fx.ammAddress), rest.size);
      // the rest's equity is what it keeps (E - penalty) plus its PnL at the spot the close left
      expect(r.restEquity).to.equal(rest.margin + pnlOf(rest, notional));
      expect(r.restEquity! >= wMulUp(notional, DEFAULT_LIQUIDATION_PARAMS.feeRatio)).to.equal(true);
      expect(await fx.ch.getMarginRatio(fx.ammAddress, fx.alice.address)).to.equal(
        model.marginRatio(fx.ammAddress, fx.alice.address),
      );
    });
  });

  describe("full liquidation", function () {
    it("closes the whole position when r < feeRatio; the penalty is bounded by the equity", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 5200);
      const fundBefore = model.insuranceFund;
      const aliceFree = model.freeOf(fx.alice.address);
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.ratio < DEFAULT_LIQUIDATION_PARAMS.feeRatio && r.ratio >= 0n).to.equal(true);
      expect(r.full).to.equal(true);
      expect(r.equity >= 0n && r.equity < r.penalty, "0 <= E < penalty").to.equal(true);
      expect(r.liquidatorReward + r.insurancePenalty).to.equal(r.equity);
      expect(r.badDebt).to.equal(0n);
      expect(model.freeOf(fx.alice.address)).to.equal(aliceFree);
      expect(model.insuranceFund - fundBefore).to.equal(r.insurancePenalty);
      await expect(fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.alice.address, fx.ammAddress);
    });

    it("closes the whole position when the rest would be under minPositionNotional (boundary to the quote unit)", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 4500);
      const spot = model.amm(fx.ammAddress).spotPrice();
      // what a partial close would leave, valued at spot (floor)
      const partial = liquidate(model.clone(), {
        amm: fx.ammAddress,
        trader: fx.alice.address,
        liquidator: fx.carol.address,
        mmr: MMR,
        markTwap: spot,
      });
      expect(partial.full).to.equal(false);
      const restValue = wMulDown(partial.size, spot);
      // The minimum is a whole number of quote units (the rules are packed in one slot).
      const unitsBelow = (restValue / WAD) * WAD;
      expect(unitsBelow <= restValue && unitsBelow + WAD > restValue).to.equal(true);
      const snap = await networkHelpers.takeSnapshot();
      // minimum = the rest value rounded down to a unit: still partial
      const atValue = { ...DEFAULT_LIQUIDATION_PARAMS, minPositionNotional: unitsBelow };
      await setLiquidationParams(fx, atValue);
      const m1 = model.clone();
      const r1 = await liq(fx, m1, fx.carol, fx.alice, { params: atValue });
      expect(r1.full).to.equal(false);
      expect(r1.size).to.equal(partial.size);
      await snap.restore();
      // one unit more, above the rest value: whole
      const above = { ...DEFAULT_LIQUIDATION_PARAMS, minPositionNotional: unitsBelow + WAD };
      await setLiquidationParams(fx, above);
      const r2 = await liq(fx, model, fx.carol, fx.alice, { params: above });
      expect(r2.full).to.equal(true);
      expect(r2.ratio).to.equal(r1.ratio);
      // A fraction of a unit is refused.
      await expect(
        fx.ch.setLiquidationParams({ ...DEFAULT_LIQUIDATION_PARAMS, minPositionNotional: unitsBelow + 1n }),
      ).to.be.revertedWithCustomError(fx.ch, "InvalidLiquidationParams");
    });
  });

  describe("bad debt", function () {
    it("is covered by the insurance fund at the fair price, which also pays the liquidator's half; the close's own price impact is the market's", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await stake(fx, model, USDC(10_000));
      await aliceLongBobShort(fx, model, 8000);
      const fundBefore = model.insuranceFund;
      // No index here, and the mark TWAP is the spot after IDLE: the fair price is the spot before
      // the liquidation. Closing the whole long at once sells below it.
      const spotBefore = model.amm(fx.ammAddress).spotPrice();
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.full).to.equal(true);
      const atFairPrice = wMulDown(r.baseClosed, spotBefore);
      expect(r.chargedToMarket, "what the execution lost against the spot").to.equal(atFairPrice - r.quoteClosed);
      expect(r.chargedToMarket > 0n && r.chargedToMarket < r.badDebt).to.equal(true);
      expect(r.shortfall === 0n && r.covered === r.badDebt - r.chargedToMarket).to.equal(true);
      expect(r.liquidatorReward).to.equal(r.penalty / 2n);
      expect(r.insurancePenalty).to.equal(0n);
      expect(fundBefore - model.insuranceFund).to.equal(r.covered + r.liquidatorReward);
      expect((await fx.ch.getMarketStatus(fx.ammAddress))[0]).to.equal(0n); // ACTIVE
      // Bob, the winner, can close and take his whole profit.
      const close = model.close(fx.bob.address, fx.ammAddress);
      await expectPositionChanged(
        fx.ch.connect(fx.bob).closePosition(fx.ammAddress, 0n, MAX_DEADLINE),
        fx.ch,
        fx.bob.address,
        fx.ammAddress,
        close,
      );
      await expectModel(fx, model);
    });

    it("the liquidator's reward is capped by what the fund has left after covering", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await stake(fx, model, USDC(350));
      await aliceLongBobShort(fx, model, 8000);
      const fundBefore = model.insuranceFund;
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.shortfall).to.equal(0n);
      expect(r.covered).to.equal(r.badDebt - r.chargedToMarket);
      expect(r.liquidatorReward).to.equal(fundBefore - r.covered);
      expect(r.liquidatorReward < r.penalty / 2n).to.equal(true);
      expect(model.insuranceFund).to.equal(0n);
    });

    it("beyond the fund: shortfall recorded, reduce-only, no reward; closing underwater reverts", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 8000);
      await open(fx, model, fx.dave, LONG, 100, 2);
      await time.increase(IDLE);
      // Alice cannot close or reduce: she is underwater and must be liquidated.
      const err = predictRevert(() => model.clone().close(fx.alice.address, fx.ammAddress));
      await expect(fx.ch.connect(fx.alice).closePosition(fx.ammAddress, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
        .withArgs(...err.args);
      const errReduce = predictRevert(() =>
        model.clone().open(fx.alice.address, fx.ammAddress, SHORT, toWad(100), toWad(1)),
      );
      // A small reduce realises less than the margin, so it fails the maintenance check after it
      // (MarginRatioTooLow); a reduce whose realised loss exceeds the margin is PositionUnderwater.
      expect(errReduce.errorName).to.equal("MarginRatioTooLow");
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(100), WAD, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "MarginRatioTooLow")
        .withArgs(...errReduce.args);
      const errBigReduce = predictRevert(() =>
        model.clone().open(fx.alice.address, fx.ammAddress, SHORT, toWad(8000), toWad(1)),
      );
      expect(errBigReduce.errorName).to.equal("PositionUnderwater");
      await expect(fx.ch.connect(fx.alice).openPosition(fx.ammAddress, Side.SHORT, toWad(8000), WAD, 0n, MAX_DEADLINE))
        .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
        .withArgs(...errBigReduce.args);

      const fundBefore = model.insuranceFund; // only the trading fees
      const r = await liq(fx, model, fx.carol, fx.alice);
      expect(r.badDebt - r.chargedToMarket > fundBefore).to.equal(true);
      expect(r.covered).to.equal(fundBefore);
      expect(r.shortfall).to.equal(r.badDebt - r.chargedToMarket - fundBefore);
      expect(r.liquidatorReward).to.equal(0n);
      expect(model.insuranceFund).to.equal(0n);
      expect(await fx.ch.getMarketStatus(fx.ammAddress)).to.deep.equal([1n, r.shortfall]); // REDUCE_ONLY

      // reduce-only: no new position, no increase, no reversal
      for (const [who, side, margin] of [
        [fx.carol, Side.LONG, 10],
        [fx.bob, Side.SHORT, 10],
        [fx.dave, Side.LONG, 10],
      ] as const) {
        await expect(fx.ch.connect(who).openPosition(fx.ammAddress, side, toWad(margin), toWad(2), 0n, MAX_DEADLINE))
          .to.be.revertedWithCustomError(fx.ch, "MarketReduceOnly")
          .withArgs(fx.ammAddress);
      }
      await expect(
        fx.ch.connect(fx.dave).openPosition(fx.ammAddress, Side.SHORT, toWad(1000), toWad(2), 0n, MAX_DEADLINE),
      )
        .to.be.revertedWithCustomError(fx.ch, "MarketReduceOnly")
        .withArgs(fx.ammAddress);
      // reducing and closing work
      await open(fx, model, fx.bob, LONG, 1000, 1);
      const close = model.close(fx.dave.address, fx.ammAddress);
      await expectPositionChanged(
        fx.ch.connect(fx.dave).closePosition(fx.ammAddress, 0n, MAX_DEADLINE),
        fx.ch,
        fx.dave.address,
        fx.ammAddress,
        close,
      );
      await expectModel(fx, model);
    });

    it("a second shortfall adds to the total", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.alice, LONG, 1000, 10);
      await open(fx, model, fx.dave, LONG, 500, 10);
      await open(fx, model, fx.bob, SHORT, 9000, 10);
      await time.increase(IDLE);
      const r1 = await liq(fx, model, fx.carol, fx.alice);
      expect(r1.shortfall > 0n).to.equal(true);
      // After IDLE the mark TWAP is the spot again (no oracle: no funding accrues meanwhile).
      await time.increase(IDLE);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const r2 = liquidate(model, {
        amm: fx.ammAddress,
        trader: fx.dave.address,
        liquidator: fx.carol.address,
        mmr: MMR,
        markTwap: spot,
      });
      expect(r2.shortfall > 0n).to.equal(true);
      await expectLiquidationEvents(
        fx,
        fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.dave.address),
        fx.dave.address,
        fx.carol.address,
        r2,
        r1.shortfall + r2.shortfall,
      );
      expect(await fx.ch.getMarketStatus(fx.ammAddress)).to.deep.equal([1n, r1.shortfall + r2.shortfall]);
      await expectModel(fx, model);
    });
  });

  describe("bad debt on a market with an AMM budget", function () {
    /**
     * Alice's long (1,000 x 10) is liquidated underwater after Bob's 8,000 x 10 short, with
     * 10,000 in the fund. The market's own budget above its floor pays the fair bad debt first
     * (its locked margin released by the same amount, so the pool's money fills the hole), the
     * fund the rest; the liquidator's half comes from what the budget has left above its floor,
     * then from the fund. Everything is checked to the wei
     * against the model (pool, locked margin, fund, positions, events) plus the budget itself.
     */
    async function budgetCase(amount: bigint, floor: bigint) {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await stake(fx, model, USDC(10_000));
      await aliceLongBobShort(fx, model, 8000);
      const fair = fairBadDebtOf(fx, model);
      await fundBudget(fx, model, amount, floor);
      const fundBefore = model.insuranceFund;
      const lockedBefore = model.money(fx.ammAddress).lockedMargin;
      let sent: Promise<ContractTransactionResponse> | undefined;
      const send = () => (sent = fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address));
      const r = await liq(fx, model, fx.carol, fx.alice, { budgetAvailable: amount - floor }, send);
      return { fx, model, r, fair, fundBefore, lockedBefore, tx: sent! };
    }

    it("a budget above the fair bad debt and the reward pays both: the fund pays nothing", async function () {
      const fx0 = await networkHelpers.loadFixture(plainFixture);
      const m0 = modelOf(fx0);
      await stake(fx0, m0, USDC(10_000));
      await aliceLongBobShort(fx0, m0, 8000);
      const fair = fairBadDebtOf(fx0, m0);
      expect(fair > 0n, "the scenario has fair bad debt").to.equal(true);
      const floor = toWad(500);
      const amount = floor + fair + toWad(1_000);
      const { fx, model, r, fundBefore, lockedBefore, tx } = await budgetCase(amount, floor);
      const half = r.penalty / 2n;
      expect(r.fromBudget, "the whole fair bad debt and the reward").to.equal(fair + half);
      expect(r.rewardFromBudget).to.equal(half);
      expect(r.covered).to.equal(0n);
      expect(r.shortfall).to.equal(0n);
      expect(r.chargedToMarket).to.equal(r.badDebt - fair);
      expect(r.liquidatorReward).to.equal(half);
      expect(model.insuranceFund, "the fund pays nothing").to.equal(fundBefore);
      // Alice's margin (1,000) and the budget's spend leave the locked margin.
      expect(lockedBefore - model.money(fx.ammAddress).lockedMargin).to.equal(toWad(1_000) + fair + half);
      await expect(tx)
        .to.emit(fx.amm, "BudgetSpentOnBadDebt")
        .withArgs(fair + half, amount - fair - half);
      expect((await fx.amm.getCurveState()).budget).to.equal(amount - fair - half);
      expect((await fx.ch.getMarketStatus(fx.ammAddress))[0]).to.equal(0n); // ACTIVE
    });

    it("a budget short of it pays down to its floor and the fund covers the rest", async function () {
      const floor = toWad(500);
      const above = toWad(100);
      const { fx, model, r, fair, fundBefore, lockedBefore, tx } = await budgetCase(floor + above, floor);
      expect(fair > above, "the budget is short").to.equal(true);
      expect(r.fromBudget).to.equal(above);
      expect(r.covered).to.equal(fair - above);
      expect(r.shortfall).to.equal(0n);
      expect(fundBefore - model.insuranceFund).to.equal(fair - above + r.penalty / 2n);
      expect(lockedBefore - model.money(fx.ammAddress).lockedMargin).to.equal(toWad(1_000) + above);
      await expect(tx).to.emit(fx.amm, "BudgetSpentOnBadDebt").withArgs(above, floor);
      expect((await fx.amm.getCurveState()).budget).to.equal(floor);
    });

    it("a budget at its floor pays nothing: the fund covers it all, as on a static market", async function () {
      const floor = toWad(2_000);
      const { fx, model, r, fair, fundBefore, lockedBefore, tx } = await budgetCase(floor, floor);
      expect(r.fromBudget).to.equal(0n);
      expect(r.covered).to.equal(fair);
      expect(fundBefore - model.insuranceFund).to.equal(fair + r.penalty / 2n);
      expect(lockedBefore - model.money(fx.ammAddress).lockedMargin).to.equal(toWad(1_000));
      await expect(tx).not.to.emit(fx.amm, "BudgetSpentOnBadDebt");
      expect((await fx.amm.getCurveState()).budget).to.equal(floor);
    });

    it("only the ClearingHouse may spend the budget", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      await expect(fx.amm.connect(fx.carol).coverBadDebt(1n)).to.be.revertedWithCustomError(
        fx.amm,
        "OnlyClearingHouse",
      );
    });
  });

  describe("index valuation", function () {
    it("values at the index when the spot is more than maxSpreadRatio from it (boundary to the wei)", async function () {
      const fx = await networkHelpers.loadFixture(oracleFixture);
      const model = modelOf(fx);
      await stake(fx, model, USDC(10_000));
      await aliceLongBobShort(fx, model, 9000);
      // the valuation index is the last one the market recorded (pokeIndex / funding update)
      await (await fx.amm.pokeIndex()).wait();
      const index = toWad(100);
      const spot = model.amm(fx.ammAddress).spotPrice();
      const spread = index - spot;
      const p = model.position(fx.ammAddress, fx.alice.address);
      expect(ratioAt(p, p.margin, spot) < 0n && ratioAt(p, p.margin, index) > MMR).to.equal(true);
      expect(await fx.amm.getValuationPrices(900)).to.deep.equal([spot, spot, index]);
      // default 10% limit: the spread (~15.4%) is beyond it, the index valuation saves Alice
      const atIndex = await expectNotLiquidatable(fx, model, { index });
      expect(atIndex).to.equal(ratioAt(p, p.margin, index));
      // the smallest limit with floor(index x limit) >= spread: the index is not used
      const limit = (spread * WAD) / index + 1n;
      expect(wMulDown(index, limit) >= spread && wMulDown(index, limit - 1n) < spread).to.equal(true);
      const snap = await networkHelpers.takeSnapshot();
      const atSpread = { ...DEFAULT_LIQUIDATION_PARAMS, maxSpreadRatio: limit };
      await setLiquidationParams(fx, atSpread);
      const r = await liq(fx, model.clone(), fx.carol, fx.alice, { index, params: atSpread });
      expect(r.full).to.equal(true);
      await snap.restore();
      // one wei of ratio less: spread > floor(index x limit), the index is used again
      const below = { ...DEFAULT_LIQUIDATION_PARAMS, maxSpreadRatio: limit - 1n };
      await setLiquidationParams(fx, below);
      await expectNotLiquidatable(fx, model, { index, params: below });
    });

    it("the index is ignored within the spread limit, and when it is less favourable", async function () {
      const fx = await networkHelpers.loadFixture(oracleFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 3000);
      await (await fx.amm.pokeIndex()).wait();
      // spot ~96.04: index 100 is within 10%: not used, Alice is liquidatable at spot
      const snap = await networkHelpers.takeSnapshot();
      const r1 = await liq(fx, model.clone(), fx.carol, fx.alice, { index: toWad(100) });
      const p = model.position(fx.ammAddress, fx.alice.address);
      expect(r1.ratio).to.equal(ratioAt(p, p.margin, model.amm(fx.ammAddress).spotPrice()));
      await snap.restore();
      // index 80: beyond 10% but less favourable to the long: the spot valuation stands
      const now = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(now);
      await (await fx.aggregator!.setAnswer(toFeedUnits(toWad(80), 8), now)).wait();
      await (await fx.amm.pokeIndex()).wait();
      const r2 = await liq(fx, model, fx.carol, fx.alice, { index: toWad(80) });
      expect(r2.ratio).to.equal(r1.ratio);
    });

    it("the valuation index is the recorded one: none before a record, none once older than an hour", async function () {
      const fx = await networkHelpers.loadFixture(oracleFixture);
      const model = modelOf(fx);
      await stake(fx, model, USDC(10_000));
      await aliceLongBobShort(fx, model, 9000);
      const spot = model.amm(fx.ammAddress).spotPrice();
      expect(await fx.amm.getValuationPrices(900)).to.deep.equal([spot, spot, 0n]);
      const t = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t);
      await (await fx.amm.pokeIndex()).wait();
      await time.setNextBlockTimestamp(t + 3600n);
      await networkHelpers.mine();
      expect(await fx.amm.getValuationPrices(900)).to.deep.equal([spot, spot, toWad(100)]);
      await time.setNextBlockTimestamp(t + 3601n);
      await networkHelpers.mine();
      expect(await fx.amm.getValuationPrices(900)).to.deep.equal([spot, spot, 0n]);
      // a stale index does not protect the position: liquidated at spot
      const r = await liq(fx, model, fx.carol, fx.alice, { index: 0n });
      expect(r.full).to.equal(true);
    });
  });

  describe("fluctuation limit", function () {
    const LIMIT = toWad("0.02"); // 2% per block
    const ALLOWANCE = wMulDown(LIMIT, toWad("0.99"));
    const limits = (fluctuationLimitRatio: bigint) => ({
      maxTradeRatio: 0n,
      fluctuationLimitRatio,
      maxOpenInterest: 0n,
    });

    /** Alice 1,000 x 10 long (a tenth of the thin pool), Bob 1,200 x 10 short; 1,000 USDC staked. */
    async function whale(fx: Fx, model: SystemModel) {
      await stake(fx, model, USDC(1000));
      await open(fx, model, fx.alice, LONG, 1000, 10);
      await open(fx, model, fx.bob, SHORT, 1200, 10);
      await time.increase(IDLE);
    }

    it("maxCloseBase is unbounded with the limit off, and matches the curve's bound price when on", async function () {
      const fx = await networkHelpers.loadFixture(thinFixture);
      const model = modelOf(fx);
      await whale(fx, model);
      expect(await fx.amm.maxCloseBase(true)).to.equal(UNBOUNDED);
      expect(await fx.amm.maxCloseBase(false)).to.equal(UNBOUNDED);
      await (await fx.amm.setLimits(limits(LIMIT))).wait();
      const pool = model.amm(fx.ammAddress);
      const longCap = maxCloseBase(pool, true, LIMIT);
      const shortCap = maxCloseBase(pool, false, LIMIT);
      expect(await fx.amm.maxCloseBase(true)).to.equal(longCap);
      expect(await fx.amm.maxCloseBase(false)).to.equal(shortCap);
      // closing that much moves the spot to within the allowance, one wei of base more would not
      const spot = pool.spotPrice();
      const floorPrice = wMulUp(spot, WAD - ALLOWANCE);
      const after = pool.clone();
      after.swapBase(model.position(fx.ammAddress, fx.alice.address).size, longCap);
      expect(after.spotPrice() >= floorPrice, "at or above the floor price").to.equal(true);
      expect(after.k >= pool.k).to.equal(true);
      expect(mulDivDown(pool.quote * pool.base, WAD, (pool.base + longCap + 1n) ** 2n) < floorPrice).to.equal(true);
    });

    it("a whale in a thin pool is liquidated over several blocks, each within the limit; the fund is not emptied", async function () {
      const fx = await networkHelpers.loadFixture(thinFixture);
      const model = modelOf(fx);
      await whale(fx, model);
      const size0 = model.position(fx.ammAddress, fx.alice.address).size;

      // Without the limit: the whole position at once, through the thin pool: bad debt, most of it the
      // close's own price impact, which the fund does not cover (it is the market's).
      const snap = await networkHelpers.takeSnapshot();
      const fundAtStart = model.insuranceFund;
      const unlimited = await liq(fx, model.clone(), fx.carol, fx.alice);
      expect(unlimited.full && unlimited.badDebt > 0n, "bad debt").to.equal(true);
      expect(unlimited.chargedToMarket > 0n, "price impact charged to the market").to.equal(true);
      expect((await fx.vault.getPoolBalances())[1], "the fund pays only the fair bad debt").to.equal(
        fundAtStart - unlimited.covered - unlimited.liquidatorReward,
      );
      await snap.restore();

      await (await fx.amm.setLimits(limits(LIMIT))).wait();
      await time.increase(IDLE);
      let fundBefore = model.insuranceFund;
      for (let round = 0; round < 2; round++) {
        const pool = model.amm(fx.ammAddress);
        const ref = pool.spotPrice(); // the liquidation is its block's first swap
        const p = model.position(fx.ammAddress, fx.alice.address);
        const ratio = liquidationRatioOf(model, fx.ammAddress, fx.alice.address, ref);
        const wanted = liquidationSize(p.size, ratio, ref, MMR, DEFAULT_LIQUIDATION_PARAMS);
        const cap = maxCloseBase(pool, true, LIMIT, ref);
        expect(cap > 0n && cap < wanted, `round ${round}: the limit binds`).to.equal(true);
        expect(await fx.amm.maxCloseBase(true)).to.equal(cap);
        const r = await liq(fx, model, fx.carol, fx.alice, { fluctuationLimit: LIMIT });
        expect(r.firstBase, `round ${round}: closes no more than maxCloseBase`).to.equal(cap);
        expect(r.full).to.equal(false);
        expect(r.badDebt).to.equal(0n);
        // the price stayed within the limit of the block's start (and within 99% of it)
        const spotAfter = model.amm(fx.ammAddress).spotPrice();
        expect(spotAfter >= wMulUp(ref, WAD - ALLOWANCE), `round ${round}: within the allowance`).to.equal(true);
        expect(ref - spotAfter <= wMulDown(ref, LIMIT)).to.equal(true);
        expect(model.insuranceFund >= fundBefore, `round ${round}: the fund is not drawn on`).to.equal(true);
        fundBefore = model.insuranceFund;
        // a later block: the allowance is fresh, the next liquidation continues
        await time.increase(IDLE);
      }
      const rest = model.position(fx.ammAddress, fx.alice.address);
      expect(rest.size > 0n && rest.size < size0).to.equal(true);
      expect((await fx.ch.getMarketStatus(fx.ammAddress))[0]).to.equal(0n); // ACTIVE: no shortfall
    });
    it("LiquidationLimitReached when the block's first swap already took the price past the allowance", async function () {
      const fx = await networkHelpers.loadFixture(thinFixture);
      const model = modelOf(fx);
      await open(fx, model, fx.dave, LONG, 300, 10);
      await whale(fx, model);
      await (await fx.amm.setLimits(limits(LIMIT))).wait();
      await time.increase(IDLE);
      const ref = model.amm(fx.ammAddress).spotPrice();
      // Dave's close is the block's first swap: a closing trade may cross the limit then.
      const close = model.close(fx.dave.address, fx.ammAddress);
      const spotAfter = model.amm(fx.ammAddress).spotPrice();
      expect(spotAfter < wMulUp(ref, WAD - ALLOWANCE), "past the floor price").to.equal(true);
      expect(maxCloseBase(model.amm(fx.ammAddress), true, LIMIT, ref)).to.equal(0n);
      const err = predictRevert(() =>
        liquidate(model.clone(), {
          amm: fx.ammAddress,
          trader: fx.alice.address,
          liquidator: fx.carol.address,
          mmr: MMR,
          markTwap: ref, // inside the block the mark TWAP is the price before it
          fluctuationLimit: LIMIT,
          blockStartPrice: ref,
        }),
      );
      expect(err.errorName).to.equal("LiquidationLimitReached");
      await ethers.provider.send("evm_setAutomine", [false]);
      let daveTx: ContractTransactionResponse;
      let carolTx: ContractTransactionResponse;
      try {
        daveTx = await fx.ch.connect(fx.dave).closePosition(fx.ammAddress, 0n, MAX_DEADLINE, GAS);
        carolTx = await fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address, GAS);
        await ethers.provider.send("evm_mine", []);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const daveReceipt = await ethers.provider.getTransactionReceipt(daveTx.hash);
      const carolReceipt = await ethers.provider.getTransactionReceipt(carolTx.hash);
      expect(daveReceipt!.blockNumber).to.equal(carolReceipt!.blockNumber);
      expect(daveReceipt!.status).to.equal(1);
      expect(carolReceipt!.status).to.equal(0);
      await expectPositionChanged(Promise.resolve(daveTx), fx.ch, fx.dave.address, fx.ammAddress, close);
      await expect(carolTx)
        .to.be.revertedWithCustomError(fx.ch, "LiquidationLimitReached")
        .withArgs(...err.args);
      await expectModel(fx, model);
      // the next block has a fresh allowance
      await time.increase(IDLE);
      const r = await liq(fx, model, fx.carol, fx.alice, { fluctuationLimit: LIMIT });
      expect(r.firstBase).to.equal(r.baseClosed - r.restClosed);
    });
  });

  describe("access", function () {
    it("SelfLiquidation, NoPosition, MarketNotListed, EnforcedPause", async function () {
      const fx = await networkHelpers.loadFixture(plainFixture);
      const model = modelOf(fx);
      await aliceLongBobShort(fx, model, 3000);
      await expect(fx.ch.connect(fx.alice).liquidate(fx.ammAddress, fx.alice.address)).to.be.revertedWithCustomError(
        fx.ch,
        "SelfLiquidation",
      );
      await expect(
        fx.ch.connect(fx.alice).liquidateWithLimit(fx.ammAddress, fx.alice.address, 0n, MAX_DEADLINE),
      ).to.be.revertedWithCustomError(fx.ch, "SelfLiquidation");
      await expect(fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.dave.address))
        .to.be.revertedWithCustomError(fx.ch, "NoPosition")
        .withArgs(fx.dave.address, fx.ammAddress);
      const other = (await ethers.deployContract("Amm", [
        await fx.ch.getAddress(),
        Q0,
        B0,
        { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n },
        fx.owner.address,
        await (await ethers.deployContract("AmmCurveModule")).getAddress(),
      ])) as unknown as Amm;
      await expect(fx.ch.connect(fx.carol).liquidate(await other.getAddress(), fx.alice.address))
        .to.be.revertedWithCustomError(fx.ch, "MarketNotListed")
        .withArgs(await other.getAddress());
      await (await fx.ch.pause()).wait();
      await expect(fx.ch.connect(fx.carol).liquidate(fx.ammAddress, fx.alice.address)).to.be.revertedWithCustomError(
        fx.ch,
        "EnforcedPause",
      );
      await (await fx.ch.unpause()).wait();
      await liq(fx, model, fx.carol, fx.alice);
    });

    it("is blocked while the L2 sequencer is down", async function () {
      const seq = (await ethers.deployContract("MockAggregator", [0])) as unknown as MockAggregator;
      const now = BigInt(await time.latest());
      await (await seq.setSequencerStatus(false, now - 100_000n)).wait();
      const system = await deployCore(ethers, 6, await seq.getAddress());
      const amm = await deployMarket(ethers, system, { quoteReserve: Q0, baseReserve: B0, feeRatio: FEE });
      const [, alice, bob, carol] = await ethers.getSigners();
      for (const t of [alice, bob]) await fund(system, t, FUNDING);
      const a = await amm.getAddress();
      await (
        await system.clearingHouse.connect(alice).openPosition(a, Side.LONG, toWad(1000), toWad(10), 0n, MAX_DEADLINE)
      ).wait();
      await (
        await system.clearingHouse.connect(bob).openPosition(a, Side.SHORT, toWad(3000), toWad(10), 0n, MAX_DEADLINE)
      ).wait();
      await time.increase(IDLE);
      await (await seq.setSequencerStatus(true, BigInt(await time.latest()))).wait();
      await expect(system.clearingHouse.connect(carol).liquidate(a, alice.address)).to.be.revertedWithCustomError(
        system.clearingHouse,
        "SequencerDown",
      );
      await (await seq.setSequencerStatus(false, BigInt(await time.latest()) - 100_000n)).wait();
      await expect(system.clearingHouse.connect(carol).liquidate(a, alice.address)).to.emit(
        system.clearingHouse,
        "PositionLiquidated",
      );
    });
  });
});
