/**
 * Layer 3 of the test models (funding; model.ts and pricing.ts below it): an exact (bigint) model of one market with funding: its virtual pool, the mark and
 * index price paths, the funding premium and indices, the positions and the Vault accounts the
 * funding touches (the market's pool with its locked margin and claims, and the insurance fund).
 * The locked margin is the positions' margins net of their pending funding: every accrual moves it
 * by minus the fund's share (the receivers' gain less the payers' debt), and a trade moves it by its
 * margin change plus the funding it settled. A reduce's or close's realised profit is paid only up
 * to what the pool holds beyond its locked margin and claims; the excess is queued as the
 * trader's claim. It is written from the funding design
 * (see the comments below), not from the contracts: the indices are carried forward stretch by
 * stretch rather than rebuilt from a period's base, TWAPs are sums over an explicit step-function
 * price path, and every rounding is written out with plain floor / ceiling divisions.
 *
 * The design:
 * - The mark price is a step function of time: the spot price (quote x 1e18 / base, floored) left
 *   by the last trade of the block at time t holds from t on. The index price is a step function
 *   too: each valid oracle read by an update or a poke holds from its time on (the first read of a
 *   second wins; the first valid read starts the history).
 * - An update at T closes the window [U, T] (U: the last update): markTwap and indexTwap are the
 *   sums of price x seconds over [U, T) divided by T - U, floored; the premium (quote per base per
 *   day, + longs pay) is markTwap - indexTwap clamped to +/- floor(indexTwap x maxPremiumRatio / 1e18),
 *   and 0 while paused, with no valid index at T, or with no index history at U.
 * - e seconds into a period (e capped at maxAccrualPeriod), a unit of the paying side has paid
 *   ceil(|premium| x e / 1 day) and a unit of the receiving side received floor(|premium| x e / 1 day).
 * - Each accrual over [a, b] splits the stretch: payments = floor(payerOI x P / 1e18), receipts =
 *   ceil(receiverOI x R / 1e18); the fund's budget for the stretch is min(insurance, floor(insurance
 *   x ratio x s / (1e18 x 1 day))), s its seconds of funding (each end capped at the accrual end)
 *   and ratio the subsidy ratio in force when the period opened (0 before the first update); if
 *   receipts > payments + budget, R = floor((payments + budget) x 1e18 / receiverOI) and receipts
 *   are recomputed; the fund receives payments - receipts.
 * - On a market whose dynamic curve is on (`budgetOn`; issue 14, seed 004: the vAMM holds the
 *   imbalance), the market's AMM budget comes first both ways. A shortfall (receipts > payments) is
 *   paid by the budget above its floor (A = max(budget - floor, 0)) before the fund: the budget pays
 *   B = min(receipts - payments, A); if receipts > payments + B + fund budget, R = floor((payments +
 *   B + fund budget) x 1e18 / receiverOI) and the receipts are recomputed; the fund receives
 *   payments + B - receipts (negative: pays). A surplus (payments > receipts) refills the budget up
 *   to its target (room = max(target - budget, 0)): it takes min(surplus, room) and the fund the
 *   rest. Budget money is the market pool's locked margin like the positions' margins, so the
 *   budget's share moves neither the pool nor the locked margin: only the fund's share leaves or
 *   joins them. A trade accrues before its own spread (none here) touches the budget.
 * - A position owes |size| x |index move| / 1e18 on its side's index, rounded up when it pays and down
 *   when it receives (a long pays when its index rose, a short when its index fell).
 */
import * as DEFAULTS from "../../../deploy/defaults.js";
import { WAD } from "../../../scripts/lib/fixed.js";
import {
  AmmModel,
  carriedGain,
  deferredGain,
  feeOf,
  floorDivSigned,
  LONG,
  markNotionalOf,
  ModelError,
  pnlOf,
  reduceOf,
  restMarginOf,
  openInterestAfter,
  reservesAfterBase,
  reservesAfterQuote,
  SHORT,
  type Pos,
  type SideValue,
  type TradeResult as PlainTradeResult,
} from "./model.js";

export { LONG, SHORT, type SideValue };

/** A revert the model predicts: the pricing layer's ModelError, with bigint arguments. */
export class ModelRevert extends ModelError {
  declare readonly args: bigint[];

  constructor(errorName: string, args: bigint[]) {
    super(errorName, args);
  }
}

export const DAY = 86_400n;

const floorDiv = (a: bigint, b: bigint): bigint => a / b; // operands are never negative here
const ceilDiv = (a: bigint, b: bigint): bigint => (a === 0n ? 0n : (a - 1n) / b + 1n);
const absOf = (x: bigint): bigint => (x < 0n ? -x : x);
const minOf = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** A price path: each point's price holds from its time until the next point. */
export class StepPath {
  points: { t: bigint; price: bigint }[] = [];

  get started(): boolean {
    return this.points.length > 0;
  }

  get last(): bigint {
    return this.points[this.points.length - 1].price;
  }

  /** The block at `t` ended at `price` (a later write in the same second replaces it). */
  setLast(t: bigint, price: bigint): void {
    const n = this.points.length;
    if (n > 0 && this.points[n - 1].t > t) throw new Error("StepPath: time went backwards");
    if (n > 0 && this.points[n - 1].t === t) this.points[n - 1].price = price;
    else this.points.push({ t, price });
  }

  /** A record at `t` (the first record of a second wins). */
  setFirst(t: bigint, price: bigint): void {
    const n = this.points.length;
    if (n > 0 && this.points[n - 1].t > t) throw new Error("StepPath: time went backwards");
    if (n > 0 && this.points[n - 1].t === t) return;
    this.points.push({ t, price });
  }

  /** Sum of price x seconds over [from, to); the path must have started by `from`. */
  sum(from: bigint, to: bigint): bigint {
    if (!this.started || this.points[0].t > from) throw new Error("StepPath: no price at the window's start");
    let total = 0n;
    for (let i = 0; i < this.points.length; i++) {
      const start = this.points[i].t > from ? this.points[i].t : from;
      const next = i + 1 < this.points.length ? this.points[i + 1].t : to;
      const end = next < to ? next : to;
      if (end > start) total += this.points[i].price * (end - start);
    }
    return total;
  }

  clone(): StepPath {
    const c = new StepPath();
    c.points = this.points.map((p) => ({ ...p }));
    return c;
  }
}

export interface FundingParams {
  maxPremiumRatio: bigint;
  minUpdateInterval: bigint;
  maxAccrualPeriod: bigint;
}

export const DEFAULT_FUNDING_PARAMS: FundingParams = DEFAULTS.DEFAULT_FUNDING_PARAMS;
/** The insurance fund's funding subsidy budget a new market starts with (fraction of the fund a day). */
export const DEFAULT_SUBSIDY_RATIO: bigint = DEFAULTS.DEFAULT_FUNDING_SUBSIDY_RATIO;

/** The mock Chainlink feed (8 decimals, 1-day heartbeat) behind the market's index. */
export interface OracleState {
  answer: bigint;
  updatedAt: bigint;
  reverting: boolean;
}

export const FEED_DECIMALS = 8n;
export const HEARTBEAT = 86_400n;

/** One accrual: the stretch, the per-unit growth of each side and the fund's share. */
export interface Accrual {
  from: bigint;
  to: bigint;
  premium: bigint;
  /** Per-unit growth of the paying side over the stretch. */
  paidPerUnit: bigint;
  /** Per-unit growth of the receiving side, paid in full. */
  fullReceivedPerUnit: bigint;
  /** Per-unit growth of the receiving side, as paid (less than in full beyond the fund's budget). */
  receivedPerUnit: bigint;
  /** The most the fund may pay toward the stretch (its subsidy budget). */
  budget: bigint;
  payments: bigint;
  receipts: bigint;
  /** What the insurance fund receives (negative: pays). */
  flow: bigint;
  /** What the market's AMM budget receives (negative: pays); 0 unless `budgetOn`. */
  budgetFlow: bigint;
  reduced: boolean;
  longIndex: bigint;
  shortIndex: bigint;
}

export interface UpdateResult {
  premium: bigint;
  markTwap: bigint;
  indexTwap: bigint;
  longIndex: bigint;
  shortIndex: bigint;
  insuranceFlow: bigint;
  /** The index price recorded by the update, if the oracle was valid. */
  indexRecorded?: bigint;
  accrual: Accrual;
}

/** A position (model.ts's) with its funding checkpoint: its side's index when it last settled. */
export interface ModelPosition extends Pos {
  checkpoint: bigint;
}

/** A trade's PositionChanged data and claim (model.ts's TradeResult), with the funding it accrued. */
export interface TradeResult extends PlainTradeResult {
  /** The fund's share of the funding accrued by the trade's swap(s). */
  insuranceFlow: bigint;
  accrual: Accrual;
}

const emptyPosition = (): ModelPosition => ({ size: 0n, margin: 0n, openNotional: 0n, checkpoint: 0n });

export class FundingMarketModel {
  // pool
  quote: bigint;
  base: bigint;
  readonly quote0: bigint;
  // prices
  mark = new StepPath();
  index = new StepPath();
  oracle: OracleState = { answer: 0n, updatedAt: 0n, reverting: false };
  // funding
  params: FundingParams;
  /** The subsidy ratio set (`setFundingSubsidyRatio`), and the one the current period opened with. */
  subsidyRatio = DEFAULT_SUBSIDY_RATIO;
  periodSubsidyRatio = 0n;
  premium = 0n;
  updatedAt: bigint;
  accruedAt: bigint;
  /** Indices as of `accruedAt`. */
  longIndex = 0n;
  shortIndex = 0n;
  longOI = 0n;
  shortOI = 0n;
  /** Whether the index history had started at the last update (the current window's start). */
  indexAtWindowStart = false;
  paused = false;
  // ledger: the fund, the market's pool, its locked margin (the positions' margins) and its claims
  insurance = 0n;
  marginPool = 0n;
  lockedMargin = 0n;
  claimQueue: { trader: string; amount: bigint }[] = [];
  positions = new Map<string, ModelPosition>();
  /** Sum of every position's funding payment (+ paid, - received) and of every flow to the fund. */
  totalFundingPaid = 0n;
  totalInsuranceFlow = 0n;
  // the market's AMM budget (a dynamic curve's): on, its amount, floor and target, and its funding flows
  budgetOn = false;
  budget = 0n;
  budgetFloor = 0n;
  budgetTarget = 0n;
  totalBudgetFlow = 0n;

  constructor(
    deployedAt: bigint,
    quote: bigint,
    base: bigint,
    readonly feeRatio: bigint = 0n,
    params: FundingParams = DEFAULT_FUNDING_PARAMS,
  ) {
    this.quote = quote;
    this.base = base;
    this.quote0 = quote;
    this.params = { ...params };
    this.updatedAt = deployedAt;
    this.accruedAt = deployedAt;
    this.mark.setLast(deployedAt, this.spot());
  }

  clone(): FundingMarketModel {
    const c = Object.create(FundingMarketModel.prototype) as FundingMarketModel;
    Object.assign(c, this);
    c.mark = this.mark.clone();
    c.index = this.index.clone();
    c.oracle = { ...this.oracle };
    c.params = { ...this.params };
    c.positions = new Map([...this.positions].map(([k, v]) => [k, { ...v }]));
    c.claimQueue = this.claimQueue.map((e) => ({ ...e }));
    return c;
  }

  spot(): bigint {
    return new AmmModel(this.quote, this.base).spotPrice();
  }

  // ------------------------------------------------------------------ oracle

  /** The oracle's price (18 decimals) if a read at `t` is valid. */
  oraclePrice(t: bigint): bigint | undefined {
    const o = this.oracle;
    if (o.reverting || o.updatedAt === 0n || o.updatedAt > t || t - o.updatedAt > HEARTBEAT || o.answer <= 0n) {
      return undefined;
    }
    const price = o.answer * 10n ** (18n - FEED_DECIMALS);
    if (price < 1n || price > 2n ** 127n || price >= 2n ** 88n) return undefined;
    return price;
  }

  /** Amm.pokeIndex at `t`: records the index if the oracle is valid. */
  pokeIndex(t: bigint): bigint | undefined {
    const price = this.oraclePrice(t);
    if (price !== undefined) this.index.setFirst(t, price);
    return price;
  }

  // ------------------------------------------------------------------ funding

  /** What a unit of the paying side has paid and of the receiving side received, `t` into the period. */
  growthAt(t: bigint): { paid: bigint; received: bigint } {
    const e = minOf(t, this.updatedAt + this.params.maxAccrualPeriod) - this.updatedAt;
    const scaled = absOf(this.premium) * e;
    return { paid: ceilDiv(scaled, DAY), received: floorDiv(scaled, DAY) };
  }

  /** Accrues funding from `accruedAt` to `t` with the fund able to pay `insuranceAvailable`. */
  accrue(t: bigint, insuranceAvailable: bigint): Accrual {
    if (t < this.accruedAt) throw new Error("model: accrual back in time");
    const before = this.growthAt(this.accruedAt);
    const now = this.growthAt(t);
    const P = now.paid - before.paid;
    const fullR = now.received - before.received;
    const longsPay = this.premium > 0n;
    const payerOI = longsPay ? this.longOI : this.shortOI;
    const receiverOI = longsPay ? this.shortOI : this.longOI;
    const payments = floorDiv(payerOI * P, WAD);
    const end = this.updatedAt + this.params.maxAccrualPeriod;
    const seconds = minOf(t, end) - minOf(this.accruedAt, end);
    const budget = minOf(
      floorDiv(insuranceAvailable * this.periodSubsidyRatio * seconds, WAD * DAY),
      insuranceAvailable,
    );
    let R = fullR;
    let receipts = ceilDiv(receiverOI * R, WAD);
    // The AMM budget's part (0 with the budget off): what it may pay above its floor, and the room
    // below its target it may fill.
    const above = this.budgetOn && this.budget > this.budgetFloor ? this.budget - this.budgetFloor : 0n;
    const room = this.budgetOn && this.budgetTarget > this.budget ? this.budgetTarget - this.budget : 0n;
    let budgetFlow = 0n;
    if (receipts > payments) budgetFlow = -minOf(receipts - payments, above);
    else if (payments > receipts) budgetFlow = minOf(payments - receipts, room);
    const fromBudget = budgetFlow < 0n ? -budgetFlow : 0n;
    const reduced = receipts > payments + fromBudget + budget;
    if (reduced) {
      R = floorDiv((payments + fromBudget + budget) * WAD, receiverOI);
      receipts = ceilDiv(receiverOI * R, WAD);
    }
    this.budget += budgetFlow;
    this.totalBudgetFlow += budgetFlow;
    if (this.premium > 0n) {
      this.longIndex += P;
      this.shortIndex += R;
    } else if (this.premium < 0n) {
      this.longIndex -= R;
      this.shortIndex -= P;
    }
    const accrual: Accrual = {
      from: this.accruedAt,
      to: t,
      premium: this.premium,
      paidPerUnit: P,
      fullReceivedPerUnit: fullR,
      receivedPerUnit: R,
      budget,
      payments,
      receipts,
      flow: payments - receipts - budgetFlow,
      budgetFlow,
      reduced,
      longIndex: this.longIndex,
      shortIndex: this.shortIndex,
    };
    this.accruedAt = t;
    return accrual;
  }

  /** The curve's budget on (ClearingHouse.contributeToBudget's money and Amm.setCurveParams' bounds). */
  setBudget(floor: bigint, target: bigint): void {
    this.budgetOn = true;
    this.budgetFloor = floor;
    this.budgetTarget = target;
  }

  /** ClearingHouse.contributeToBudget: the contributor's money joins the pool, locked, as budget. */
  contributeToBudget(amount: bigint): void {
    this.budget += amount;
    this.marginPool += amount;
    this.lockedMargin += amount;
  }

  /** The indices as a view at `t` would show them (the fund's current balance available). */
  indicesAt(t: bigint): Accrual {
    return this.clone().accrue(t, this.insurance);
  }

  /** ClearingHouse.updateFunding at `t`. */
  updateFunding(t: bigint): UpdateResult {
    const earliest = this.updatedAt + this.params.minUpdateInterval;
    if (t < earliest) throw new ModelRevert("FundingUpdateTooEarly", [earliest]);
    const accrual = this.accrue(t, this.insurance);
    this.moveInsurance(accrual.flow);
    this.lockedMargin -= accrual.flow;
    this.totalInsuranceFlow += accrual.flow;

    const windowStart = this.updatedAt;
    const window = t - windowStart;
    const indexRecorded = this.pokeIndex(t);
    let premium = 0n;
    let markTwap = 0n;
    let indexTwap = 0n;
    if (!this.paused && indexRecorded !== undefined && this.indexAtWindowStart) {
      markTwap = this.mark.sum(windowStart, t) / window;
      indexTwap = this.index.sum(windowStart, t) / window;
      const bound = (indexTwap * this.params.maxPremiumRatio) / WAD;
      const diff = markTwap - indexTwap;
      premium = diff > bound ? bound : diff < -bound ? -bound : diff;
    }
    this.indexAtWindowStart = this.index.started;
    this.premium = premium;
    this.periodSubsidyRatio = this.subsidyRatio;
    this.updatedAt = t;
    return {
      premium,
      markTwap,
      indexTwap,
      longIndex: this.longIndex,
      shortIndex: this.shortIndex,
      insuranceFlow: accrual.flow,
      indexRecorded,
      accrual,
    };
  }

  // ------------------------------------------------------------------ pool

  // The pool's formulas are the pricing layer's (pricing.ts, through model.ts).
  private swapByQuote(side: SideValue, amount: bigint): bigint {
    const r = reservesAfterQuote(this.quote, this.base, side, amount);
    this.quote = r.newQuote;
    this.base = r.newBase;
    return r.base;
  }

  private swapByBase(sizeBefore: bigint, amount: bigint): bigint {
    const r = reservesAfterBase(this.quote, this.base, sizeBefore, amount);
    this.quote = r.newQuote;
    this.base = r.newBase;
    return r.quote;
  }

  /** What closing `amount` of a position of `size` would pay (long) or cost (short) now. */
  exitValue(size: bigint): bigint {
    return this.clone().swapByBase(size, absOf(size));
  }

  /** A swap at `t`: the block's mark moves, funding accrues on the old open interest, then it moves. */
  private swap(
    t: bigint,
    sizeBefore: bigint,
    insuranceAvailable: bigint,
    trade: () => { amount: bigint; sizeAfter: bigint },
  ): { amount: bigint; accrual: Accrual } {
    const { amount, sizeAfter } = trade();
    this.mark.setLast(t, this.spot());
    const accrual = this.accrue(t, insuranceAvailable);
    ({ longOI: this.longOI, shortOI: this.shortOI } = openInterestAfter(
      this.longOI,
      this.shortOI,
      sizeBefore,
      sizeAfter,
    ));
    return { amount, accrual };
  }

  private quoteSwap(t: bigint, side: SideValue, amount: bigint, sizeBefore: bigint, insuranceAvailable: bigint) {
    return this.swap(t, sizeBefore, insuranceAvailable, () => {
      const base = this.swapByQuote(side, amount);
      return { amount: base, sizeAfter: side === LONG ? sizeBefore + base : sizeBefore - base };
    });
  }

  private baseSwap(t: bigint, sizeBefore: bigint, amount: bigint, insuranceAvailable: bigint) {
    return this.swap(t, sizeBefore, insuranceAvailable, () => {
      const quote = this.swapByBase(sizeBefore, amount);
      return { amount: quote, sizeAfter: sizeBefore > 0n ? sizeBefore - amount : sizeBefore + amount };
    });
  }

  // ------------------------------------------------------------------ positions

  position(trader: string): ModelPosition {
    return { ...(this.positions.get(trader) ?? emptyPosition()) };
  }

  /** Funding a position of `size` owes for its side's index moving by `delta` (+ pays, - receives). */
  static owed(size: bigint, delta: bigint): bigint {
    if (size === 0n || delta === 0n) return 0n;
    const amount = absOf(size) * absOf(delta);
    const pays = size > 0n === delta > 0n;
    return pays ? ceilDiv(amount, WAD) : -floorDiv(amount, WAD);
  }

  static sideIndex(side: SideValue, a: Accrual): bigint {
    return side === LONG ? a.longIndex : a.shortIndex;
  }

  /** What ClearingHouse.getPendingFunding would return at `t`. */
  pendingFunding(trader: string, t: bigint): bigint {
    const p = this.position(trader);
    if (p.size === 0n) return 0n;
    const a = this.indicesAt(t);
    return FundingMarketModel.owed(p.size, (p.size > 0n ? a.longIndex : a.shortIndex) - p.checkpoint);
  }

  /** |size| x spot, floored for a long and rounded up for a short. */
  markNotional(size: bigint): bigint {
    return markNotionalOf(size, this.quote, this.base);
  }

  /** What ClearingHouse.getMarginRatio would return at `t`: (margin - pending + PnL) / notional, floored. */
  marginRatio(trader: string, t: bigint): bigint {
    const p = this.position(trader);
    const notional = this.markNotional(p.size);
    return floorDivSigned((p.margin - this.pendingFunding(trader, t) + pnlOf(p, notional)) * WAD, notional);
  }

  private fee(notional: bigint): bigint {
    return feeOf(notional, this.feeRatio);
  }

  /** Moves the fund's share through the Vault: + from the market's pool to the fund (capped at the pool). */
  private moveInsurance(delta: bigint): bigint {
    if (delta < 0n && -delta > this.insurance) throw new Error("model: the insurance fund would go negative");
    const moved = delta > this.marginPool ? this.marginPool : delta;
    this.insurance += moved;
    this.marginPool -= moved;
    return moved;
  }

  /** What the market's queued claims still owe. */
  claims(): bigint {
    return this.claimQueue.reduce((sum, e) => sum + e.amount, 0n);
  }

  /** What the market's pool can pay toward a new profit: pool - locked margin - claims, at least 0. */
  profitAvailable(): bigint {
    const left = this.marginPool - this.lockedMargin - this.claims();
    return left > 0n ? left : 0n;
  }

  /**
   * The Vault side of a trade: the trader pays in, the fund takes the fee and its funding share,
   * the trader is paid out as far as the pool holds (the rest and the deferred gain queued as a
   * claim), the locked margin follows the position's margin from `marginBefore` but for the
   * funding it settled (followed when it accrued), and moves by minus the fund's share of this
   * trade's accrual.
   */
  private settleTrade(trader: string, r: TradeResult, marginBefore: bigint): void {
    if (r.freeCollateralDelta < 0n) this.marginPool -= r.freeCollateralDelta;
    this.moveInsurance(r.fee + r.insuranceFlow);
    if (r.freeCollateralDelta > 0n) {
      const paid = r.freeCollateralDelta < this.marginPool ? r.freeCollateralDelta : this.marginPool;
      this.marginPool -= paid;
      r.claim += r.freeCollateralDelta - paid;
    }
    this.lockedMargin += r.margin - marginBefore + r.fundingPayment - r.insuranceFlow;
    if (r.claim !== 0n) this.claimQueue.push({ trader, amount: r.claim });
    this.totalFundingPaid += r.fundingPayment;
    this.totalInsuranceFlow += r.insuranceFlow;
  }

  /** Vault.payClaims: pays the queue from its head with what the pool holds beyond its locked margin. */
  payClaims(): bigint {
    let spare = this.marginPool > this.lockedMargin ? this.marginPool - this.lockedMargin : 0n;
    let paid = 0n;
    while (this.claimQueue.length > 0 && spare !== 0n) {
      const head = this.claimQueue[0];
      const amount = head.amount < spare ? head.amount : spare;
      spare -= amount;
      paid += amount;
      head.amount -= amount;
      if (head.amount !== 0n) break;
      this.claimQueue.shift();
    }
    this.marginPool -= paid;
    return paid;
  }

  /** ClearingHouse.openPosition at `t` (margin checks aside: the scripted trades keep well within them). */
  open(trader: string, t: bigint, side: SideValue, margin: bigint, leverage: bigint): TradeResult {
    const p = this.position(trader);
    const notional = (margin * leverage) / WAD;
    const insuranceAvailable = this.insurance;
    const profitAvailable = this.profitAvailable();
    let r: TradeResult;
    if (p.size === 0n || p.size > 0n === (side === LONG)) {
      const { amount: base, accrual } = this.quoteSwap(t, side, notional, p.size, insuranceAvailable);
      const fundingPayment = FundingMarketModel.owed(
        p.size,
        (p.size > 0n ? accrual.longIndex : accrual.shortIndex) - p.checkpoint,
      );
      const fee = this.fee(notional);
      const baseDelta = side === LONG ? base : -base;
      const next: ModelPosition = {
        size: p.size + baseDelta,
        margin: p.margin - fundingPayment + margin,
        openNotional: p.openNotional + notional,
        checkpoint: FundingMarketModel.sideIndex(side, accrual),
      };
      if (next.margin < 0n) throw new Error("model: the position would be underwater");
      this.positions.set(trader, next);
      r = {
        baseDelta,
        quoteAmount: notional,
        realizedPnl: 0n,
        fee,
        fundingPayment,
        freeCollateralDelta: -(margin + fee),
        size: next.size,
        margin: next.margin,
        openNotional: next.openNotional,
        insuranceFlow: accrual.flow,
        accrual,
        claim: 0n,
      };
    } else if (notional < this.exitValue(p.size)) {
      r = this.reduce(trader, t, p, side, notional, insuranceAvailable, profitAvailable);
    } else {
      r = this.reverse(trader, t, p, side, notional, leverage, insuranceAvailable, profitAvailable);
    }
    this.settleTrade(trader, r, p.margin);
    return r;
  }

  private reduce(
    trader: string,
    t: bigint,
    p: ModelPosition,
    side: SideValue,
    notional: bigint,
    insuranceAvailable: bigint,
    profitAvailable: bigint,
  ): TradeResult {
    const { amount: base, accrual } = this.quoteSwap(t, side, notional, p.size, insuranceAvailable);
    const positionSide: SideValue = p.size > 0n ? LONG : SHORT;
    const fundingPayment = FundingMarketModel.owed(
      p.size,
      FundingMarketModel.sideIndex(positionSide, accrual) - p.checkpoint,
    );
    const fee = this.fee(notional);
    const { closedBasis, realizedPnl, baseDelta } = reduceOf(p, base, notional);
    const remaining = p.margin - fundingPayment + realizedPnl - fee;
    if (remaining < 0n) throw new Error("model: the position would be underwater");
    const size = p.size + baseDelta;
    // The profit the pool cannot pay now leaves a close's payout as a claim, or stays unrealised
    // in the rest of a partial reduce (see carriedGain).
    let claim = 0n;
    let realized = realizedPnl;
    let next: ModelPosition;
    let freeCollateralDelta = 0n;
    if (size === 0n) {
      claim = deferredGain(realizedPnl, profitAvailable, remaining);
      next = emptyPosition();
      freeCollateralDelta = remaining - claim;
      this.positions.delete(trader);
    } else {
      const restBasis = p.openNotional - closedBasis;
      const long = p.size > 0n;
      const c = carriedGain(realizedPnl, profitAvailable, long, remaining, restBasis);
      claim = c.claim;
      realized = realizedPnl - c.carried;
      next = {
        size,
        margin: remaining - c.carried - c.claim,
        openNotional: long ? restBasis - c.carried : restBasis + c.carried,
        checkpoint: FundingMarketModel.sideIndex(positionSide, accrual),
      };
      this.positions.set(trader, next);
    }
    return {
      baseDelta,
      quoteAmount: notional,
      realizedPnl: realized,
      fee,
      fundingPayment,
      freeCollateralDelta,
      size: next.size,
      margin: next.margin,
      openNotional: next.openNotional,
      insuranceFlow: accrual.flow,
      accrual,
      claim,
    };
  }

  /** Swaps the whole position back and settles it; freeCollateralDelta is the payout, less the deferred gain. */
  private closeWhole(t: bigint, p: ModelPosition, insuranceAvailable: bigint, profitAvailable: bigint): TradeResult {
    const { amount: quote, accrual } = this.baseSwap(t, p.size, absOf(p.size), insuranceAvailable);
    const side: SideValue = p.size > 0n ? LONG : SHORT;
    const fundingPayment = FundingMarketModel.owed(p.size, FundingMarketModel.sideIndex(side, accrual) - p.checkpoint);
    const realizedPnl = pnlOf(p, quote);
    const fee = this.fee(quote);
    const remaining = p.margin - fundingPayment + realizedPnl - fee;
    if (remaining < 0n) throw new Error("model: the position would be underwater");
    const claim = deferredGain(realizedPnl, profitAvailable, remaining);
    return {
      baseDelta: -p.size,
      quoteAmount: quote,
      realizedPnl,
      fee,
      fundingPayment,
      freeCollateralDelta: remaining - claim,
      size: 0n,
      margin: 0n,
      openNotional: 0n,
      insuranceFlow: accrual.flow,
      accrual,
      claim,
    };
  }

  private reverse(
    trader: string,
    t: bigint,
    p: ModelPosition,
    side: SideValue,
    notional: bigint,
    leverage: bigint,
    insuranceAvailable: bigint,
    profitAvailable: bigint,
  ): TradeResult {
    const r = this.closeWhole(t, p, insuranceAvailable, profitAvailable);
    const rest = notional - r.quoteAmount;
    this.positions.delete(trader);
    const canOpen = rest !== 0n && (side === SHORT || this.clone().swapByQuote(side, rest) !== 0n);
    if (!canOpen) return r;
    // The opening leg accrues nothing more (same second) and passes the fund as 0.
    const { amount: base, accrual } = this.quoteSwap(t, side, rest, 0n, 0n);
    const opened: ModelPosition = {
      size: side === LONG ? base : -base,
      margin: restMarginOf(rest, leverage),
      openNotional: rest,
      checkpoint: FundingMarketModel.sideIndex(side, accrual),
    };
    this.positions.set(trader, opened);
    const openFee = this.fee(rest);
    return {
      ...r,
      baseDelta: opened.size - p.size,
      quoteAmount: notional,
      fee: r.fee + openFee,
      freeCollateralDelta: r.freeCollateralDelta - (opened.margin + openFee),
      size: opened.size,
      margin: opened.margin,
      openNotional: opened.openNotional,
      insuranceFlow: r.insuranceFlow + accrual.flow,
      accrual,
    };
  }

  /** ClearingHouse.closePosition at `t`. */
  close(trader: string, t: bigint): TradeResult {
    const p = this.position(trader);
    if (p.size === 0n) throw new Error("model: no position");
    const r = this.closeWhole(t, p, this.insurance, this.profitAvailable());
    this.positions.delete(trader);
    this.settleTrade(trader, r, p.margin);
    return r;
  }

  /** ClearingHouse.addMargin: margin in, funding untouched. */
  addMargin(trader: string, amount: bigint): void {
    const p = this.positions.get(trader);
    if (!p) throw new Error("model: no position");
    p.margin += amount;
    this.marginPool += amount;
    this.lockedMargin += amount;
  }

  /** A deposit into the insurance fund (18 decimals). */
  depositInsurance(amount: bigint): void {
    this.insurance += amount;
  }

  /** What the margin pool keeps from funding: every payment made by positions less every flow to
   * the fund and the budget. */
  fundingDust(): bigint {
    return this.totalFundingPaid - this.totalInsuranceFlow - this.totalBudgetFlow;
  }
}
