/**
 * The driver of the funding tests (Funding.test.ts, FundingBudget.test.ts): one market at spot 1,000
 * and a {@link Scenario} that mines each transaction at a scripted timestamp, predicts it with the
 * independent bigint model (funding-model.ts), checks its events, the insurance fund's and the AMM
 * budget's movements, then the whole state (reserves, open interest, positions with their funding
 * checkpoints, margin pool and insurance fund, locked margin, budget, funding state), to the wei.
 */
import { expect } from "chai";
import type { ContractTransactionReceipt, ContractTransactionResponse, Log } from "ethers";
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Time } from "@nomicfoundation/hardhat-network-helpers/types";
import {
  contributeToBudget,
  deployCore,
  deployMarket,
  deployOracle,
  fund,
  MAX_DEADLINE,
  toFeedUnits,
} from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { positionChangedArgs, readyInsurer, USDC, USDC_SCALE } from "./fixtures.js";
import {
  FundingMarketModel,
  ModelRevert,
  type SideValue,
  type TradeResult,
  type UpdateResult,
} from "./funding-model.js";

/** {@link BudgetOptions}' curve: every feature off but the leverage bound (50x, the whole fund counted). */
export const LEVERAGE_ONLY = {
  repegThresholdRatio: 0n,
  baseSpreadRatio: 0n,
  maxSpreadRatio: 0n,
  maxVammLeverage: toWad(50),
  fundShareRatio: toWad(1),
  budgetFloor: 0n,
  budgetTarget: 0n,
  maxDepthChangeRatio: 0n,
  minDepthRatio: toWad(1),
  maxDepthRatio: toWad(1),
};

export const Q0 = toWad(1_000_000);
export const B0 = toWad(1000); // spot price 1,000
export const FEE = toWad("0.001"); // 0.1%
export const FEED_DECIMALS = 8;
const TRADER_FUNDS = USDC(1_000_000);
export const GAS = { gasLimit: 3_000_000n };

/** The test file's network connection: its ethers and its time helpers. */
export interface ScenarioEnv {
  ethers: HardhatEthers;
  time: Time;
}

// ---------------------------------------------------------------------- fixtures

/**
 * One market at spot 1,000 (1,000,000 / 1,000) with `feeRatio`, its oracle at 1,000, three traders
 * with 1,000,000 USDC each in the Vault, and a staker ready to fill the insurance fund.
 */
export async function deployFundingMarket(ethers: HardhatEthers, feeRatio: bigint) {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: Q0, baseReserve: B0, feeRatio });
  const deployReceipt = await amm.deploymentTransaction()!.wait();
  const deployedAt = BigInt((await ethers.provider.getBlock(deployReceipt!.blockNumber))!.timestamp);
  const { aggregator } = await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(1000) });
  const [owner, alice, bob, carol, insurer, keeper] = await ethers.getSigners();
  for (const t of [alice, bob, carol]) await fund(system, t, TRADER_FUNDS);
  // A staker who fills the insurance fund (through the InsuranceFund vault) as a test needs.
  await readyInsurer(system, insurer);
  return {
    ...system,
    ch: system.clearingHouse,
    amm,
    ammAddress: await amm.getAddress(),
    aggregator,
    deployedAt,
    feeRatio,
    owner,
    alice,
    bob,
    carol,
    insurer,
    keeper,
  };
}

export type Fx = Awaited<ReturnType<typeof deployFundingMarket>>;
type Trader = HardhatEthersSigner;

/**
 * A dynamic curve whose only feature on is the vAMM leverage bound, at 50x over (budget + the whole
 * fund): wide enough never to refuse a scripted trade, so the market prices and funds exactly as the
 * static model, but for its AMM budget, which answers for the funding imbalance first (issue 14).
 */
export interface BudgetOptions {
  /** What a funder contributes to the budget (18 decimals), and the budget's floor and target. */
  amount: bigint;
  floor: bigint;
  target: bigint;
}

// ---------------------------------------------------------------------- the scenario driver

/**
 * Drives the chain and the model side by side. Each step mines one transaction at the given
 * timestamp, predicts it with the model, checks its events and the insurance fund's movement, then
 * checks the whole state.
 */
export class Scenario {
  /** Funding the positions settled (sum of PositionChanged.fundingPayment), what the fund received
   * from funding (its balance changes less fees) and what the AMM budget received from it (its
   * BudgetFundingFlow events), all as the chain reports them. */
  chainFundingPaid = 0n;
  chainInsuranceFlow = 0n;
  chainBudgetFlow = 0n;

  private constructor(
    readonly env: ScenarioEnv,
    readonly fx: Fx,
    readonly model: FundingMarketModel,
    readonly t0: bigint,
  ) {}

  /**
   * Fills the insurance fund with `insurance` USDC, turns the dynamic curve's budget on when
   * `budget` says so ({@link BudgetOptions}), publishes an index of `index` and makes the first
   * funding update at t0 (which only starts the index history).
   */
  static async start(
    env: ScenarioEnv,
    fx: Fx,
    opts: { insurance?: bigint; index?: bigint; budget?: BudgetOptions } = {},
  ): Promise<Scenario> {
    const model = new FundingMarketModel(fx.deployedAt, Q0, B0, fx.feeRatio);
    const insurance = opts.insurance ?? 0n;
    if (insurance > 0n) {
      await (await fx.insuranceFund.connect(fx.insurer).deposit(insurance, fx.insurer.address)).wait();
      model.depositInsurance(insurance * USDC_SCALE);
    }
    if (opts.budget !== undefined) {
      const { amount, floor, target } = opts.budget;
      await (await fx.amm.setCurveParams({ ...LEVERAGE_ONLY, budgetFloor: floor, budgetTarget: target })).wait();
      model.setBudget(floor, target);
      await contributeToBudget(fx, fx.amm, fx.owner, amount);
      model.contributeToBudget(amount);
    }
    const t0 = BigInt(await env.time.latest()) + 1000n;
    const s = new Scenario(env, fx, model, t0);
    await s.setIndex(t0 - 10n, opts.index ?? toWad(1000));
    const first = await s.update(t0);
    expect(first.premium, "the first update only starts the index history").to.equal(0n);
    return s;
  }

  at(offset: number | bigint): bigint {
    return this.t0 + BigInt(offset);
  }

  // -------------------------------------------------------------- chain helpers

  async mineAt(t: bigint, send: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
    await this.env.time.setNextBlockTimestamp(t);
    const receipt = (await (await send()).wait())!;
    expect(BigInt((await this.env.ethers.provider.getBlock(receipt.blockNumber))!.timestamp), "block time").to.equal(t);
    return receipt;
  }

  async insurance(): Promise<bigint> {
    return (await this.fx.vault.getPoolBalances())[1];
  }

  fundingUpdatedIn(logs: readonly Log[]) {
    return logs
      .filter((l) => l.address === this.fx.ammAddress)
      .map((l) => this.fx.amm.interface.parseLog(l))
      .filter((e) => e?.name === "FundingUpdated")
      .map((e) => e!.args.toArray() as bigint[]);
  }

  /** The Amm's BudgetFundingFlow events as [amount, budgetAfter]. */
  budgetFundingFlowsIn(logs: readonly Log[]): bigint[][] {
    return logs
      .filter((l) => l.address === this.fx.ammAddress)
      .map((l) => this.fx.amm.interface.parseLog(l))
      .filter((e) => e?.name === "BudgetFundingFlow")
      .map((e) => e!.args.toArray() as bigint[]);
  }

  /** Checks a transaction's BudgetFundingFlow against the model's budget before and after it (at
   * most one accrual of a transaction moves it: a second swap in the same second accrues nothing). */
  expectBudgetFlow(logs: readonly Log[], budgetBefore: bigint): void {
    const flow = this.model.budget - budgetBefore;
    expect(this.budgetFundingFlowsIn(logs), "BudgetFundingFlow").to.deep.equal(
      flow === 0n ? [] : [[flow, this.model.budget]],
    );
    this.chainBudgetFlow += flow;
  }

  indexRecordedIn(logs: readonly Log[]): bigint[] {
    return logs
      .filter((l) => l.address === this.fx.ammAddress)
      .map((l) => this.fx.amm.interface.parseLog(l))
      .filter((e) => e?.name === "IndexRecorded")
      .map((e) => e!.args[0] as bigint);
  }

  positionChangedIn(logs: readonly Log[]) {
    const chAddress = this.fx.ch.target as string;
    return logs
      .filter((l) => l.address === chAddress)
      .map((l) => this.fx.ch.interface.parseLog(l))
      .filter((e) => e?.name === "PositionChanged")
      .map((e) => e!.args.toArray());
  }

  // -------------------------------------------------------------- oracle

  /** The aggregator publishes `price` (18 decimals) with `updatedAt`, in a block at `t`. */
  async setIndex(t: bigint, price: bigint, updatedAt: bigint = t): Promise<void> {
    const answer = toFeedUnits(price, FEED_DECIMALS);
    await this.mineAt(t, () => this.fx.aggregator.setAnswer(answer, updatedAt));
    this.model.oracle = { ...this.model.oracle, answer, updatedAt };
  }

  async setOracleReverting(t: bigint, reverting: boolean): Promise<void> {
    await this.mineAt(t, () => this.fx.aggregator.setReverting(reverting));
    this.model.oracle = { ...this.model.oracle, reverting };
  }

  /** Amm.pokeIndex at `t`: IndexRecorded(price) exactly when the oracle is valid. */
  async poke(t: bigint): Promise<bigint | undefined> {
    const expected = this.model.pokeIndex(t);
    const receipt = await this.mineAt(t, () => this.fx.amm.connect(this.fx.keeper).pokeIndex());
    expect(this.indexRecordedIn(receipt.logs), "IndexRecorded").to.deep.equal(expected === undefined ? [] : [expected]);
    await this.checkState();
    return expected;
  }

  // -------------------------------------------------------------- funding updates

  /** ClearingHouse.updateFunding at `t` by a keeper: FundingUpdated, IndexRecorded, the fund's share. */
  async update(t: bigint): Promise<UpdateResult> {
    const fundBefore = await this.insurance();
    const budgetBefore = this.model.budget;
    const u = this.model.updateFunding(t);
    const receipt = await this.mineAt(t, () => this.fx.ch.connect(this.fx.keeper).updateFunding(this.fx.ammAddress));
    expect(this.fundingUpdatedIn(receipt.logs), "FundingUpdated").to.deep.equal([
      [u.premium, u.markTwap, u.indexTwap, u.longIndex, u.shortIndex, u.insuranceFlow],
    ]);
    expect(this.indexRecordedIn(receipt.logs), "IndexRecorded").to.deep.equal(
      u.indexRecorded === undefined ? [] : [u.indexRecorded],
    );
    this.expectBudgetFlow(receipt.logs, budgetBefore);
    const moved = (await this.insurance()) - fundBefore;
    expect(moved, "insurance fund movement").to.equal(u.insuranceFlow);
    this.chainInsuranceFlow += moved;
    await this.checkState();
    return u;
  }

  /** updateFunding at `t` reverts with the Amm's FundingUpdateTooEarly(earliest) (mined, with a fixed gas limit). */
  async expectUpdateTooEarly(t: bigint): Promise<bigint> {
    let predicted: ModelRevert | undefined;
    try {
      this.model.clone().updateFunding(t);
    } catch (e) {
      if (!(e instanceof ModelRevert)) throw e;
      predicted = e;
    }
    expect(predicted?.errorName, "the model predicts a revert").to.equal("FundingUpdateTooEarly");
    await this.env.time.setNextBlockTimestamp(t);
    await expect(this.fx.ch.connect(this.fx.keeper).updateFunding(this.fx.ammAddress, GAS))
      .to.be.revertedWithCustomError(this.fx.amm, "FundingUpdateTooEarly")
      .withArgs(predicted!.args[0]);
    return predicted!.args[0];
  }

  // -------------------------------------------------------------- trades

  private async trade(
    t: bigint,
    trader: Trader,
    predict: () => TradeResult,
    send: () => Promise<ContractTransactionResponse>,
  ): Promise<TradeResult> {
    const fundBefore = await this.insurance();
    const budgetBefore = this.model.budget;
    const r = predict();
    const receipt = await this.mineAt(t, send);
    this.expectPositionChanged(receipt.logs, trader, r);
    this.expectBudgetFlow(receipt.logs, budgetBefore);
    const moved = (await this.insurance()) - fundBefore;
    expect(moved, "insurance fund movement: fee + funding share").to.equal(r.fee + r.insuranceFlow);
    this.chainFundingPaid += r.fundingPayment;
    this.chainInsuranceFlow += moved - r.fee;
    await this.checkState();
    return r;
  }

  expectPositionChanged(logs: readonly Log[], trader: Trader, r: TradeResult): void {
    expect(this.positionChangedIn(logs), "PositionChanged").to.deep.equal([
      positionChangedArgs(trader.address, this.fx.ammAddress, r),
    ]);
  }

  /** openPosition with `margin` (18 decimals) and `leverage` (e.g. 3 for 3x). */
  open(t: bigint, trader: Trader, side: SideValue, margin: bigint, leverage: number): Promise<TradeResult> {
    const lev = toWad(leverage);
    return this.trade(
      t,
      trader,
      () => this.model.open(trader.address, t, side, margin, lev),
      () => this.fx.ch.connect(trader).openPosition(this.fx.ammAddress, side, margin, lev, 0n, MAX_DEADLINE),
    );
  }

  close(t: bigint, trader: Trader): Promise<TradeResult> {
    return this.trade(
      t,
      trader,
      () => this.model.close(trader.address, t),
      () => this.fx.ch.connect(trader).closePosition(this.fx.ammAddress, 0n, MAX_DEADLINE),
    );
  }

  // -------------------------------------------------------------- views and state

  /** Mines an empty block at `t`, then checks getPendingFunding, getMarginRatio and getFundingIndices. */
  async expectPendingAt(t: bigint, traders: Trader[]): Promise<Map<string, bigint>> {
    await this.env.time.increaseTo(t);
    const pending = new Map<string, bigint>();
    for (const trader of traders) {
      const expected = this.model.pendingFunding(trader.address, t);
      expect(await this.fx.ch.getPendingFunding(this.fx.ammAddress, trader.address), "pending funding").to.equal(
        expected,
      );
      if (this.model.position(trader.address).size !== 0n) {
        expect(await this.fx.ch.getMarginRatio(this.fx.ammAddress, trader.address), "margin ratio").to.equal(
          this.model.marginRatio(trader.address, t),
        );
      }
      pending.set(trader.address, expected);
    }
    const indices = this.model.indicesAt(t);
    const view = await this.fx.amm.getFundingIndices(this.model.insurance);
    expect([view.longIndex, view.shortIndex, view.insuranceFlow, view.budgetFlow], "getFundingIndices").to.deep.equal([
      indices.longIndex,
      indices.shortIndex,
      indices.flow,
      indices.budgetFlow,
    ]);
    return pending;
  }

  /** Reserves, open interest, positions, pools and funding state equal the model. */
  async checkState(): Promise<void> {
    const m = this.model;
    const { amm, ch, vault, ammAddress } = this.fx;
    expect(await amm.getReserves(), "reserves").to.deep.equal([m.quote, m.base]);
    expect(await amm.getOpenInterest(), "open interest").to.deep.equal([m.longOI, m.shortOI]);
    for (const trader of [this.fx.alice, this.fx.bob, this.fx.carol]) {
      const p = await ch.getPosition(ammAddress, trader.address);
      const e = m.position(trader.address);
      expect([p.size, p.margin, p.openNotional, p.fundingCheckpoint], "position").to.deep.equal([
        e.size,
        e.margin,
        e.openNotional,
        e.checkpoint,
      ]);
    }
    expect(await vault.getPoolBalances(), "margin pool and insurance fund").to.deep.equal([m.marginPool, m.insurance]);
    expect(await vault.marketBalances(ammAddress), "pool, locked margin, claims, fund receivable").to.deep.equal([
      m.marginPool,
      m.lockedMargin,
      m.claims(),
      0n,
    ]);
    expect((await amm.getCurveState()).budget, "AMM budget").to.equal(m.budget);
    const [premium, updatedAt, accruedAt] = await amm.getFundingState();
    expect([premium, updatedAt, accruedAt], "funding state").to.deep.equal([m.premium, m.updatedAt, m.accruedAt]);
  }

  /**
   * Once every position is closed: what positions paid less what the fund and the AMM budget
   * received is the dust the margin pool keeps, never negative and exactly the model's; and the
   * margin pool holds exactly that dust plus the budget plus the quote the pool's rounding kept
   * (PnL is zero-sum against the quote reserve), its locked margin the dust plus the budget.
   */
  async expectConservation(): Promise<bigint> {
    expect(this.model.positions.size, "all positions closed").to.equal(0);
    // Every loss is realised: the claims a gain left behind are paid in full, and none is left.
    const owed = this.model.claims();
    expect(this.model.payClaims(), "claims paid in full").to.equal(owed);
    await (await this.fx.vault.payClaims(this.fx.ammAddress, 100n)).wait();
    expect(
      await this.fx.vault.marketBalances(this.fx.ammAddress),
      "pool, locked margin, claims, fund receivable",
    ).to.deep.equal([this.model.marginPool, this.model.lockedMargin, 0n, 0n]);
    const dust = this.chainFundingPaid - this.chainInsuranceFlow - this.chainBudgetFlow;
    expect(dust, "funding dust").to.equal(this.model.fundingDust());
    // The locked margin followed every accrual and every settlement: with no position left it is
    // what the positions' rounded settlements paid beyond the accruals, the funding dust, and the
    // budget (locked: its funding flows moved money between it and the positions, inside it).
    const budget = (await this.fx.amm.getCurveState()).budget;
    expect(budget, "AMM budget").to.equal(this.model.budget);
    expect(this.model.lockedMargin, "locked margin left = the funding dust + the budget").to.equal(dust + budget);
    expect(dust >= 0n, "the protocol keeps the rounding").to.equal(true);
    const [marginPool] = await this.fx.vault.getPoolBalances();
    const [quoteReserve] = await this.fx.amm.getReserves();
    expect(marginPool, "margin pool = pool rounding + funding dust + budget").to.equal(
      quoteReserve - Q0 + dust + budget,
    );
    return dust;
  }
}
