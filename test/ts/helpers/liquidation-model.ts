/**
 * Layer 4 of the test models (liquidation; see pricing.ts for the stack): an off-chain bigint model
 * of liquidation and global settlement, written from the NatSpec of
 * IClearingHouse and the liquidation spec of issue 4 (not from the contract's code). It works on a
 * {@link SystemModel} (pools, positions, Vault ledger) and predicts every figure a liquidation or
 * a settlement emits, to the wei, and the reverts with their arguments (as {@link ModelError}).
 *
 * Its money moves through {@link SystemModel.settle}, in the market's own pool: the liquidator's
 * reward and the fund's flows, the released margin, then the trader's payout (a part the pool
 * cannot hold is queued as a claim).
 *
 * Funding is taken as an input (`pendingFunding`, + owed by the position: what the funding layer,
 * funding-model.ts, computes), zero in the markets the tests use (no funding update is ever made, so
 * the premium and the indices stay at zero). Its closes use the positions layer's reduce
 * ({@link reduceOf}); it does not import the funding layer.
 */
import * as DEFAULTS from "../../../deploy/defaults.js";
import { WAD, abs, mulDivDown, mulDivUp, wMulDown, wMulUp } from "../../../scripts/lib/fixed.js";
import { floorDivSigned, ModelError, pnlOf, reduceOf, SystemModel, type AmmModel, type Pos } from "./model.js";

export interface LiquidationParams {
  feeRatio: bigint;
  partialBuffer: bigint;
  maxSpreadRatio: bigint;
  markTwapInterval: bigint;
  minPositionNotional: bigint;
}

export const DEFAULT_LIQUIDATION_PARAMS: LiquidationParams = DEFAULTS.DEFAULT_LIQUIDATION_PARAMS;

/** |s| x P: floor for a long, ceil for a short (against the trader). */
export function notionalAt(size: bigint, price: bigint): bigint {
  return size > 0n ? mulDivDown(size, price, WAD) : mulDivUp(-size, price, WAD);
}

/** (margin after funding + PnL at P) / notional at P, rounded toward minus infinity. */
export function ratioAt(p: Pos, marginAfterFunding: bigint, price: bigint): bigint {
  const notional = notionalAt(p.size, price);
  const equity = marginAfterFunding + pnlOf(p, notional);
  if (notional === 0n) return equity < 0n ? -(2n ** 255n) : 2n ** 255n - 1n;
  return floorDivSigned(equity * WAD, notional);
}

export interface Prices {
  spot: bigint;
  markTwap: bigint;
  /** The oracle price now; 0 when the market has none. */
  index: bigint;
}

/** The liquidation margin ratio: best for the trader of spot, mark TWAP and (spread > limit) index. */
export function liquidationRatio(p: Pos, marginAfterFunding: bigint, prices: Prices, maxSpreadRatio: bigint): bigint {
  let r = ratioAt(p, marginAfterFunding, prices.spot);
  const atTwap = ratioAt(p, marginAfterFunding, prices.markTwap);
  if (atTwap > r) r = atTwap;
  if (prices.index !== 0n && abs(prices.spot - prices.index) > wMulDown(prices.index, maxSpreadRatio)) {
    const atIndex = ratioAt(p, marginAfterFunding, prices.index);
    if (atIndex > r) r = atIndex;
  }
  return r;
}

/** How much base a liquidation at ratio r closes. */
export function liquidationSize(size: bigint, r: bigint, spot: bigint, mmr: bigint, params: LiquidationParams): bigint {
  const s = abs(size);
  if (r < params.feeRatio) return s;
  const target = mmr + params.partialBuffer;
  const closeBase = mulDivUp(s, target - r, target - params.feeRatio);
  if (closeBase >= s || wMulDown(s - closeBase, spot) < params.minPositionNotional) return s;
  return closeBase;
}

/** floor(sqrt(x)) for x >= 0. */
export function sqrtFloor(x: bigint): bigint {
  if (x < 0n) throw new Error("sqrt of a negative number");
  if (x < 2n) return x;
  // Newton's method from above: exact for any size (a float first guess is off by ~1e10 at 1e51).
  let r = x;
  let next = (r + x / r) / 2n;
  while (next < r) {
    r = next;
    next = (r + x / r) / 2n;
  }
  return r;
}

/** ceil(sqrt(x)) for x >= 0. */
export function sqrtCeil(x: bigint): bigint {
  const r = sqrtFloor(x);
  return r * r === x ? r : r + 1n;
}

/** What maxCloseBase returns when the limit is off (type(uint256).max). */
export const UNBOUNDED = 2n ** 256n - 1n;

/**
 * IAmm.maxCloseBase: the most base a position can close now without moving the price more than
 * 99% of the fluctuation limit from the block's start price `ref` (the mark history head's price
 * when the head was written in this block, else the spot price). On the curve the base reserve
 * at a bound price P is sqrt(k / P): closing a long (base in) down to floorPrice =
 * ceil(ref (1 - allowance)) can add floor(sqrt(floor(q b 1e18 / floorPrice))) - b; closing a short
 * (base out) up to capPrice = floor(ref (1 + allowance)) can take b - ceil(sqrt(floor(q b 1e18 / capPrice))).
 * 0 once the spot is at or past the bound; unbounded when the limit is 0.
 */
export function maxCloseBase(pool: AmmModel, closingLong: boolean, limitRatio: bigint, ref?: bigint): bigint {
  if (limitRatio === 0n) return UNBOUNDED;
  const spot = pool.spotPrice();
  const start = ref ?? spot;
  let allowance = wMulDown(limitRatio, 99n * 10n ** 16n);
  if (allowance > WAD) allowance = WAD;
  const qbw = pool.quote * pool.base * WAD;
  if (closingLong) {
    const floorPrice = wMulUp(start, WAD - allowance);
    if (floorPrice >= spot) return 0n;
    return sqrtFloor(qbw / floorPrice) - pool.base;
  }
  const capPrice = wMulDown(start, WAD + allowance);
  if (capPrice <= spot) return 0n;
  return pool.base - sqrtCeil(qbw / capPrice);
}

export interface LiquidationResult {
  ratio: bigint;
  // PositionLiquidated
  baseClosed: bigint;
  quoteClosed: bigint;
  liquidatorReward: bigint;
  insurancePenalty: bigint;
  badDebt: bigint;
  shortfall: bigint;
  full: boolean;
  // PositionChanged
  baseDelta: bigint;
  realizedPnl: bigint;
  fundingPayment: bigint;
  freeCollateralDelta: bigint;
  size: bigint;
  margin: bigint;
  openNotional: bigint;
  // internals
  /** The first close: its base and quote (before any second close of the rest). */
  firstBase: bigint;
  firstQuote: bigint;
  /** The base the second close took (0: none). */
  restClosed: bigint;
  /** The rest's equity after the first close (E - penalty + PnL at the new spot); undefined when full. */
  restEquity?: bigint;
  penalty: bigint;
  /** What the market's AMM budget paid: of the fair bad debt, then of the liquidator's reward
   * (`rewardFromBudget`); released from its locked margin. */
  fromBudget: bigint;
  rewardFromBudget: bigint;
  covered: bigint;
  /** Bad debt beyond what the fair price shows: the market's, not the fund's. */
  chargedToMarket: bigint;
  equity: bigint;
  insuranceDelta: bigint;
  /** What the market's pool could not pay of the liquidator's reward and of the trader's payout (queued claims). */
  rewardClaim: bigint;
  payoutClaim: bigint;
}

export interface LiquidateInput {
  amm: string;
  trader: string;
  liquidator: string;
  mmr: bigint;
  markTwap: bigint;
  index?: bigint;
  pendingFunding?: bigint;
  quoteLimit?: bigint;
  params?: LiquidationParams;
  /** The market's fluctuationLimitRatio (0 = off, the default). */
  fluctuationLimit?: bigint;
  /** The block's start price, when an earlier swap of this block wrote the mark head (default: the spot). */
  blockStartPrice?: bigint;
  /** The market's AMM budget above its floor (a dynamic market's; default 0, a static one). */
  budgetAvailable?: bigint;
}

/**
 * Predicts a liquidation on `model` and applies it (pool, position, ledger). Throws ModelError
 * (NoPosition, NotLiquidatable, LiquidationLimitReached, QuoteLimitMissed) without changing the model.
 *
 * The close: the partial size (or the whole), at most {@link maxCloseBase}. If that leaves a rest
 * whose equity (E - this close's penalty + PnL at the mark the close left behind) is under
 * ceil(mark notional x feeRatio), the rest is closed too in a second swap (at most maxCloseBase
 * again); the quote, base and realised PnL of both add up, and the penalty is taken on the total
 * quote. The quote limit applies to the first close's quote.
 */
export function liquidate(model: SystemModel, input: LiquidateInput): LiquidationResult {
  const params = input.params ?? DEFAULT_LIQUIDATION_PARAMS;
  const F = input.pendingFunding ?? 0n;
  const p = model.position(input.amm, input.trader);
  if (p.size === 0n) throw new ModelError("NoPosition", [input.trader, input.amm]);
  const pool = model.amm(input.amm).clone();
  const spot = pool.spotPrice();
  const mA = p.margin - F;
  const ratio = liquidationRatio(
    p,
    mA,
    { spot, markTwap: input.markTwap, index: input.index ?? 0n },
    params.maxSpreadRatio,
  );
  if (ratio >= input.mmr) throw new ModelError("NotLiquidatable", [ratio, input.mmr]);
  const long = p.size > 0n;
  const limitRatio = input.fluctuationLimit ?? 0n;
  // The block's start price: the liquidation's own first swap writes the head with the spot
  // before it, so both closes of one liquidation measure against the same reference.
  const ref = input.blockStartPrice ?? spot;
  let closeBase = liquidationSize(p.size, ratio, spot, input.mmr, params);
  const cap = maxCloseBase(pool, long, limitRatio, ref);
  if (cap < closeBase) closeBase = cap;
  if (closeBase === 0n) throw new ModelError("LiquidationLimitReached", [input.amm]);
  const s = abs(p.size);
  const firstBase = closeBase;
  let full = closeBase === s;

  // first close (funding, were there any, is settled here)
  const firstQuote = pool.swapBase(p.size, closeBase);
  // The positions layer's reduce: the closed cost basis and the PnL it realises.
  const { closedBasis: basis, realizedPnl: firstPnl, baseDelta: firstDelta } = reduceOf(p, closeBase, firstQuote);
  let realizedPnl = firstPnl;
  const limit = input.quoteLimit ?? 0n;
  if (limit !== 0n && (long ? firstQuote < limit : firstQuote > limit)) {
    throw new ModelError("QuoteLimitMissed", [firstQuote, limit]);
  }
  let E = mA + realizedPnl;
  let quote = firstQuote;
  let rest: Pos = {
    size: p.size + firstDelta,
    margin: 0n,
    openNotional: p.openNotional - basis,
  };
  let restClosed = 0n;
  let restEquity: bigint | undefined;
  if (!full) {
    // The rest, with E less this close's penalty, valued at the spot the close left behind
    // (mark notional from the reserves), must keep at least the penalty ratio; else it is closed too.
    const firstPenalty = wMulUp(firstQuote, params.feeRatio);
    const notional = SystemModel.markNotional(pool, rest.size);
    restEquity = E - firstPenalty + pnlOf(rest, notional);
    if (restEquity < wMulUp(notional, params.feeRatio)) {
      const restAbs = abs(rest.size);
      const more2 = maxCloseBase(pool, long, limitRatio, ref);
      const more = more2 < restAbs ? more2 : restAbs;
      if (more > 0n) {
        const q2 = pool.swapBase(rest.size, more);
        const { closedBasis: basis2, realizedPnl: realized2, baseDelta: delta2 } = reduceOf(rest, more, q2);
        quote += q2;
        realizedPnl += realized2;
        E += realized2;
        closeBase += more;
        restClosed = more;
        rest = {
          size: rest.size + delta2,
          margin: 0n,
          openNotional: rest.openNotional - basis2,
        };
        full = rest.size === 0n;
      }
    }
  }
  const penalty = wMulUp(quote, params.feeRatio);
  const half = penalty / 2n;
  let reward = 0n;
  let insurancePenalty = 0n;
  let keeps = 0n;
  let badDebt = 0n;
  let covered = 0n;
  let fromBudget = 0n;
  let rewardFromBudget = 0n;
  let shortfall = 0n;
  let chargedToMarket = 0n;
  if (E >= penalty) {
    reward = half;
    insurancePenalty = penalty - half;
    keeps = E - penalty;
  } else if (E >= 0n) {
    reward = half < E ? half : E;
    insurancePenalty = E - reward;
  } else {
    badDebt = -E;
    // The fund covers at most the bad debt at the fair price: the valuation index (else the mark
    // TWAP), or the spot before the liquidation when that is better for the position. Valued as a
    // trade values the position (a long's quote down, a short's up); the rest is the market's.
    const reference = (input.index ?? 0n) !== 0n ? input.index! : input.markTwap;
    const fair = long ? (spot > reference ? spot : reference) : spot < reference ? spot : reference;
    const fairQuote = long ? wMulDown(closeBase, fair) : wMulUp(closeBase, fair);
    const fairE = long ? E + fairQuote - quote : E - (fairQuote - quote);
    let fairBadDebt = fairE < 0n ? -fairE : 0n;
    if (fairBadDebt > badDebt) fairBadDebt = badDebt;
    chargedToMarket = badDebt - fairBadDebt;
    const fundNow = model.insuranceFund; // + this trade's funding flow (zero here)
    // The market's own AMM budget (above its floor) pays the fair bad debt first, the fund the rest.
    const budgetAvailable = input.budgetAvailable ?? 0n;
    const budgetForDebt = fairBadDebt < budgetAvailable ? fairBadDebt : budgetAvailable;
    const rest = fairBadDebt - budgetForDebt;
    covered = rest < fundNow ? rest : fundNow;
    shortfall = rest - covered;
    // The liquidator's half is paid only for bad debt the fair price shows too: by what the budget
    // has left above its floor first, then by what the fund has left.
    if (fairBadDebt !== 0n) {
      const budgetLeft = budgetAvailable - budgetForDebt;
      rewardFromBudget = half < budgetLeft ? half : budgetLeft;
      const fundLeft = fundNow - covered;
      reward = rewardFromBudget + (half - rewardFromBudget < fundLeft ? half - rewardFromBudget : fundLeft);
    }
    fromBudget = budgetForDebt + rewardFromBudget;
  }
  const insuranceDelta = insurancePenalty - covered - (badDebt > 0n ? reward - rewardFromBudget : 0n);

  // ledger, in the market's own pool: the fund's movement and the liquidator's reward (the position's
  // margin net of the funding it settled leaves the locked margin, the rest's margin joins it),
  // then the trader's payout; a payout the pool cannot hold is queued as a claim.
  const payout = full ? keeps : 0n;
  // The budget's part of the bad debt is money the pool holds as locked margin: released, it pays.
  const lockedDelta = (full ? 0n : keeps) - p.margin + F - fromBudget;
  const rewardSettled = model.settle(input.liquidator, input.amm, reward, insuranceDelta, lockedDelta);
  const payoutSettled = payout !== 0n ? model.settle(input.trader, input.amm, payout, 0n) : { paid: 0n, claim: 0n };
  model.amms.set(input.amm, pool);
  const key = `${input.amm}:${input.trader}`;
  let next: Pos;
  if (full) {
    next = { size: 0n, margin: 0n, openNotional: 0n };
    model.positions.delete(key);
  } else {
    next = { size: rest.size, margin: keeps, openNotional: rest.openNotional };
    model.positions.set(key, { ...next });
  }
  return {
    ratio,
    baseClosed: closeBase,
    quoteClosed: quote,
    liquidatorReward: reward,
    insurancePenalty,
    badDebt,
    shortfall,
    full,
    baseDelta: long ? -closeBase : closeBase,
    realizedPnl,
    fundingPayment: F,
    freeCollateralDelta: payout,
    size: next.size,
    margin: next.margin,
    openNotional: next.openNotional,
    firstBase,
    firstQuote,
    restClosed,
    restEquity,
    penalty,
    fromBudget,
    rewardFromBudget,
    covered,
    chargedToMarket,
    equity: E,
    insuranceDelta,
    rewardClaim: rewardSettled.claim,
    payoutClaim: payoutSettled.claim,
  };
}

/** The liquidation ratio of a position without changing anything. */
export function liquidationRatioOf(
  model: SystemModel,
  amm: string,
  trader: string,
  markTwap: bigint,
  index = 0n,
  params = DEFAULT_LIQUIDATION_PARAMS,
): bigint {
  const p = model.position(amm, trader);
  return liquidationRatio(p, p.margin, { spot: model.amm(amm).spotPrice(), markTwap, index }, params.maxSpreadRatio);
}

/** The settlement's own ledger moves name no trader. */
const NO_TRADER = "0x0000000000000000000000000000000000000000";

/**
 * The settlement of one market, as IClearingHouse documents it: the pool value is what the
 * market's own pool holds at the shutdown less the claims already queued against it; each record
 * adds the position's value at the settlement price (zero when worth less than nothing) to the
 * claims and swaps the position's margin for its claim in the locked margin; at completion what
 * the pool value holds beyond the claims goes to the fund; payouts are the claims, pro rata when
 * they exceed the pool value, paid from the market's pool (any part it cannot hold queued).
 */
export class SettlementModel {
  recordedLong = 0n;
  recordedShort = 0n;
  claims = 0n;
  readonly claimOf = new Map<string, bigint>();
  readonly paid = new Set<string>();

  constructor(
    readonly amm: string,
    readonly price: bigint,
    readonly openLong: bigint,
    readonly openShort: bigint,
    readonly poolValue: bigint,
  ) {}

  /** The settlement as settleMarket starts it on `model`: its pool less its queued claims. */
  static shutdown(model: SystemModel, amm: string, price: bigint): SettlementModel {
    const pool = model.amm(amm);
    const poolValue = model.money(amm).pool - model.claims(amm);
    return new SettlementModel(amm, price, pool.longOI, pool.shortOI, poolValue);
  }

  complete(): boolean {
    return this.recordedLong === this.openLong && this.recordedShort === this.openShort;
  }

  /**
   * Completion: the surplus goes to the fund (capped, as every fund take is, at what the pool holds
   * beyond the locked margin: the recorded claims; the funding dust the contract releases here is
   * zero in this model, which takes no funding).
   */
  private completeOn(model: SystemModel): void {
    const surplus = this.surplus();
    if (surplus > 0n) model.settle(NO_TRADER, this.amm, 0n, surplus);
  }

  /** Completion of a market with no open position (at settleMarket). */
  completeEmpty(model: SystemModel): void {
    if (!this.complete()) throw new Error("model: positions are open");
    this.completeOn(model);
  }

  /** What completion sends to the insurance fund. */
  surplus(): bigint {
    const s = this.poolValue - this.claims;
    return s > 0n ? s : 0n;
  }

  /** First call for a position: records its claim (the position leaves model.positions). */
  record(model: SystemModel, trader: string, pendingFunding = 0n): bigint {
    const p = model.position(this.amm, trader);
    if (p.size === 0n) throw new Error("model: no position to record");
    const held = p.margin - pendingFunding;
    const value = held + pnlOf(p, notionalAt(p.size, this.price));
    const claim = value > 0n ? value : 0n;
    this.claims += claim;
    if (p.size > 0n) this.recordedLong += p.size;
    else this.recordedShort += -p.size;
    this.claimOf.set(trader, claim);
    model.positions.delete(`${this.amm}:${trader}`);
    model.settle(NO_TRADER, this.amm, 0n, 0n, claim - p.margin);
    if (this.complete()) this.completeOn(model);
    return claim;
  }

  /** The payout of a recorded claim once complete (pro rata when the claims exceed the pool). */
  payoutOf(trader: string): bigint {
    const claim = this.claimOf.get(trader)!;
    if (this.poolValue <= 0n) return 0n;
    if (this.claims > this.poolValue) return mulDivDown(claim, this.poolValue, this.claims);
    return claim;
  }

  pay(model: SystemModel, trader: string): bigint {
    const payout = this.payoutOf(trader);
    model.settle(trader, this.amm, payout, 0n, -this.claimOf.get(trader)!);
    this.paid.add(trader);
    return payout;
  }
}
