/**
 * The arbitrage bot: trades each market's mark (the pool's spot price) toward its index (the
 * Chainlink price the Amm is priced by) when the expected gain beats the fees. The gain has two
 * parts: the price gain, valuing the base it trades at the index (`base x index - quote` for a
 * long, the reverse for a short), and the funding it expects to receive over ARB_HORIZON seconds
 * at the market's current premium (longs pay shorts while the mark is above the index). The cost
 * is the fee of the trade and of closing it later, and on a dynamic curve their spreads at the
 * Amm's marginal bid/ask; when the curve itself would repeg toward the index at the next trade, the
 * bot leaves the move to it. The size aims at the index less the fee (and spread) band,
 * bounded by ARB_MAX_POSITION (quote notional per market), the bot's free collateral at
 * ARB_LEVERAGE, and the Amm's own limits: the largest trade (`maxTradeRatio`), the per-block price
 * fluctuation limit and the open-interest cap, each with a margin for rounding. A reduce-only
 * market (after a shortfall) only sees trades that shrink the bot's position.
 *
 * Every trade is bounded by the preview less ARB_SLIPPAGE_BPS, simulated first and not sent if it
 * would revert; sends are sequential from one signer (see TxSender in keeper/transactions.ts).
 * scripts/keepers/arbitrage.ts runs it; the demo and the tests drive `tick()`.
 */
import { getAddress } from "ethers";
import { IAmm__factory, IPriceFeed__factory, type IAmm, type IPriceFeed } from "../../typechain-types/index.js";
import { formatWad, WAD } from "./fixed.js";
import { pendingTimestamp } from "./keeper/chain.js";
import { type Env, type KeeperBaseConfig, type MarketsConfig, readKeeperConfig } from "./keeper/config.js";
import {
  MarketKeeper,
  type MarketFailed,
  type MarketKeeperOptions,
  type MarketSkipped,
} from "./keeper/market-keeper.js";

export const LONG = 0;
export const SHORT = 1;

export interface ArbitrageConfig extends KeeperBaseConfig, MarketsConfig {
  /** Leverage of the bot's positions (whole number, at most the market's 1 / initial margin ratio). */
  leverage: number;
  /** Largest quote notional the bot holds in one market. */
  maxPositionNotional: number;
  /** Smallest expected net gain (quote) worth a trade. */
  minProfit: number;
  /** Seconds the bot expects to hold a position and collect funding. */
  horizonSeconds: number;
  /** How much worse than the preview a trade may execute, in basis points. */
  slippageBps: number;
  /** Most trades per market per tick (each in its own block on an automining chain). */
  maxTradesPerTick: number;
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function readArbitrageConfig(env: Env): ArbitrageConfig {
  return readKeeperConfig(env, (reader) => ({
    leverage: reader.integer("ARB_LEVERAGE", 2, { min: 1, max: 20, unit: "x" }),
    maxPositionNotional: reader.integer("ARB_MAX_POSITION", 100_000, { min: 1, unit: "quote" }),
    minProfit: reader.integer("ARB_MIN_PROFIT", 1, { min: 0, unit: "quote" }),
    horizonSeconds: reader.integer("ARB_HORIZON", 3_600, { min: 0, max: 30 * 86_400, unit: "seconds" }),
    slippageBps: reader.integer("ARB_SLIPPAGE_BPS", 50, { min: 0, max: 5_000, unit: "basis points" }),
    maxTradesPerTick: reader.integer("ARB_MAX_TRADES", 3, { min: 1, max: 100 }),
  }));
}

/** What the planner needs to know about one market, in plain numbers (quote units, base units). */
export interface MarketView {
  quoteReserve: number;
  baseReserve: number;
  index: number;
  feeRatio: number;
  /** 0 = off, as in Amm.Limits. */
  maxTradeRatio: number;
  fluctuationLimitRatio: number;
  maxOpenInterest: number;
  longOpenInterest: number;
  shortOpenInterest: number;
  reduceOnly: boolean;
  /** The current funding premium, quote per base per day (+: longs pay). */
  premiumPerDay: number;
  /** The bot's position: signed size (base) and open notional (quote). */
  positionSize: number;
  openNotional: number;
  freeCollateral: number;
  /**
   * The dynamic curve (0 / false on a static one): the marginal half-spreads a buy and a sell pay
   * now (the Amm's `getBidAsk`: ask / spot - 1 and 1 - bid / spot), and whether the next trade
   * would first repeg the curve toward the index (the gap beyond `repegThresholdRatio`, and a
   * budget above its floor or a move that costs it nothing).
   */
  askSpread?: number;
  bidSpread?: number;
  /** The curve's least half-spread (`baseSpreadRatio`): what the close is expected to pay, once the gap is gone. */
  baseSpread?: number;
  repegDue?: boolean;
}

export interface PlanSettings {
  leverage: number;
  maxPositionNotional: number;
  minProfit: number;
  horizonSeconds: number;
}

export type Plan =
  | {
      trade: true;
      side: typeof LONG | typeof SHORT;
      quote: number;
      base: number;
      priceGain: number;
      fundingGain: number;
      fees: number;
      gap: number;
      capped: string;
    }
  | { trade: false; reason: string; gap: number };

/** Rounding margin on every limit, so a trade planned at a limit does not revert on the last wei. */
const SAFETY = 0.98;

/**
 * Chooses the trade: direction toward the index, size toward the fee band around it, bounded by
 * every limit; trades only if the expected price and funding gain beat the fees by `minProfit`.
 */
export function planTrade(m: MarketView, s: PlanSettings): Plan {
  const q = m.quoteReserve;
  const b = m.baseReserve;
  const k = q * b;
  const spot = q / b;
  const gap = spot / m.index - 1;
  if (!(m.index > 0)) return { trade: false, reason: "no index price", gap: 0 };
  // The curve moves itself: a trade now would pay for a move its own repeg makes first.
  if (m.repegDue) return { trade: false, reason: "the curve repegs toward the index at the next trade", gap };
  const side = gap > 0 ? SHORT : LONG;
  // The spread the trade pays going in (its side's marginal rate now), and the one its close is
  // expected to pay coming out: the base rate (the other side's rate now also holds the gap the
  // trade closes, and the skew it would take away).
  const spreadIn = (side === LONG ? m.askSpread : m.bidSpread) ?? 0;
  const spreadOut = m.baseSpread ?? 0;
  if (Math.abs(gap) <= 2 * m.feeRatio + spreadIn + spreadOut)
    return {
      trade: false,
      reason: spreadIn + spreadOut > 0 ? "mark within the fee and spread band" : "mark within the fee band",
      gap,
    };
  // The price where the marginal gain meets the costs: the index, less the fee and spread, on the mark's side.
  const cost = m.feeRatio + spreadIn;
  const target = side === SHORT ? m.index * (1 + cost) : m.index * (1 - cost);
  const qTarget = Math.sqrt(k * target);
  const caps: Array<[string, number]> = [["index", Math.abs(qTarget - q)]];

  const exitValue = Math.abs(m.positionSize) * spot;
  const opposite = (side === SHORT && m.positionSize > 0) || (side === LONG && m.positionSize < 0);
  // What can be added to the position (beyond what reduces it).
  const openRoom = Math.max(0, s.maxPositionNotional - (opposite ? 0 : m.openNotional));
  const collateralRoom = (m.freeCollateral / (1 / s.leverage + m.feeRatio)) * SAFETY;
  let oiRoom = Infinity;
  if (m.maxOpenInterest > 0) {
    const room = (m.maxOpenInterest - (side === LONG ? m.longOpenInterest : m.shortOpenInterest)) * SAFETY;
    if (room <= 0) oiRoom = 0;
    else if (side === LONG) oiRoom = room >= b ? Infinity : k / (b - room) - q;
    else oiRoom = q - k / (b + room);
  }
  const reducePart = opposite ? exitValue * 0.999 : 0;
  if (m.reduceOnly) {
    caps.push(["reduce-only", reducePart]);
  } else {
    caps.push(["position cap", reducePart + openRoom]);
    caps.push(["collateral", reducePart + collateralRoom]);
    caps.push(["open-interest cap", reducePart + oiRoom]);
  }
  if (m.maxTradeRatio > 0) caps.push(["maxTradeRatio", m.maxTradeRatio * q * SAFETY]);
  if (m.fluctuationLimitRatio > 0) {
    const f = m.fluctuationLimitRatio * SAFETY;
    caps.push(["fluctuation limit", side === LONG ? q * (Math.sqrt(1 + f) - 1) : q * (1 - Math.sqrt(1 - f))]);
  }
  let [capped, quote] = caps[0];
  for (const [name, value] of caps) if (value < quote) [capped, quote] = [name, value];
  if (!(quote >= 1)) return { trade: false, reason: `no room (${capped})`, gap };

  const base = side === LONG ? b - k / (q + quote) : k / (q - quote) - b;
  const priceGain = side === LONG ? base * m.index - quote : quote - base * m.index;
  // Shorts receive a positive premium, longs a negative one.
  const fundingGain = (side === SHORT ? 1 : -1) * base * m.premiumPerDay * (s.horizonSeconds / 86_400);
  // The fees of the trade and of its close, and their spreads at the curve's marginal rates.
  const fees = quote * (2 * m.feeRatio + spreadIn + spreadOut);
  if (priceGain + fundingGain - fees < s.minProfit) {
    return { trade: false, reason: "expected gain below the fees", gap };
  }
  return { trade: true, side, quote, base, priceGain, fundingGain, fees, gap, capped };
}

/** A plain number from 18-decimal fixed point. */
export const wadToNumber = (x: bigint): number => Number(x) / 1e18;
/** 18-decimal fixed point from a plain number, to the micro-unit. */
export const numberToWad = (x: number): bigint => BigInt(Math.floor(x * 1e6)) * 10n ** 12n;

/** What one tick did with one market. */
export type ArbitrageOutcome =
  | { market: string; status: "idle"; reason: string; gap: number }
  | { market: string; status: "traded"; trades: ArbitrageTrade[] }
  | MarketSkipped
  | MarketFailed;

export interface ArbitrageTrade {
  side: "long" | "short";
  quote: bigint;
  txHash: string;
  gapBefore: number;
  gapAfter: number;
  expectedNet: number;
}

export interface ArbitrageBotOptions extends MarketKeeperOptions {
  config: Omit<ArbitrageConfig, "privateKey" | "once" | "pollSeconds">;
}

interface MarketHandles {
  amm: IAmm;
  priceFeed: IPriceFeed;
  asset: string;
}

export class ArbitrageBot extends MarketKeeper<ArbitrageOutcome> {
  readonly #config: ArbitrageBotOptions["config"];
  readonly #handles = new Map<string, MarketHandles>();
  #from = "";

  constructor(options: ArbitrageBotOptions) {
    super(options);
    this.#config = options.config;
  }

  /** Start-up checks, so a wrong address or network fails now with a clear message. */
  async start(): Promise<void> {
    const started = await this.checkStart();
    const { from, balance, paused } = started;
    this.#from = getAddress(from);
    const vault = await this.vault();
    const free = await this.call("freeCollateral", () => vault.freeCollateral(this.#from));
    if (paused) this.logger.warn("the ClearingHouse is paused: no trade can be made until it resumes");
    if (free === 0n) this.logger.warn(`the bot's account ${from} has no free collateral in the Vault: deposit first`);
    const c = this.#config;
    this.logStarted(started, {
      funds: `free collateral ${formatWad(free, 2)}`,
      settings:
        `leverage ${c.leverage}x, max position ${c.maxPositionNotional}, min profit ${c.minProfit}, ` +
        `horizon ${c.horizonSeconds} s, slippage ${c.slippageBps} bps`,
      markets: this.marketsServed,
    });
  }

  protected async prepareTick(): Promise<void> {
    if (this.#from === "") this.#from = getAddress(await this.signer.getAddress());
  }

  /** The line when no market was traded, with each market's reason. */
  protected async idleLine(outcomes: readonly ArbitrageOutcome[]): Promise<string | undefined> {
    if (outcomes.some((o) => o.status !== "idle")) return undefined;
    const reasons: string[] = [];
    for (const o of outcomes)
      if (o.status === "idle")
        reasons.push(`${await this.names.of(o.market)} ${o.reason} (gap ${(o.gap * 100).toFixed(3)}%)`);
    return reasons.length === 0 ? "idle: no markets listed" : `idle: no trade; ${reasons.join("; ")}`;
  }

  async #handlesOf(market: string): Promise<MarketHandles> {
    let h = this.#handles.get(market);
    if (h === undefined) {
      const amm = IAmm__factory.connect(market, this.provider);
      const [feed, asset] = await this.call(`getOracle(${market})`, () => amm.getOracle());
      h = { amm, priceFeed: IPriceFeed__factory.connect(feed, this.provider), asset };
      this.#handles.set(market, h);
    }
    return h;
  }

  /** Reads the market as the planner sees it. */
  async view(market: string): Promise<MarketView | undefined> {
    const { amm, priceFeed, asset } = await this.#handlesOf(market);
    const vault = await this.vault();
    const [reserves, [valid, index], params, limits, oi, [status], position, free, funding, curve] = await Promise.all([
      this.call("getReserves", () => amm.getReserves()),
      this.call("tryGetPrice", () => priceFeed.tryGetPrice(asset)),
      this.call("getMarketParams", () => this.clearingHouse.getMarketParams(market)),
      this.call("getLimits", () => amm.getLimits()),
      this.call("getOpenInterest", () => amm.getOpenInterest()),
      this.call("getMarketStatus", () => this.clearingHouse.getMarketStatus(market)),
      this.call("getPosition", () => this.clearingHouse.getPosition(market, this.#from)),
      this.call("freeCollateral", () => vault.freeCollateral(this.#from)),
      this.call("getFundingState", () => amm.getFundingState()),
      this.#curveOf(amm),
    ]);
    if (!valid) return undefined;
    if (status === 2n) return undefined; // settled
    const spot = (reserves[0] * WAD) / reserves[1];
    // The repeg the next trade makes first: the gap beyond the threshold, and the budget can pay for
    // it (above its floor) or the move costs nothing (it goes against the traders' net position).
    const up = index > spot;
    const costless =
      curve.state.netPosition === 0n || (up ? curve.state.netPosition < 0n : curve.state.netPosition > 0n);
    const gap = spot > index ? spot - index : index - spot;
    const repegDue =
      curve.params.repegThresholdRatio > 0n &&
      gap * WAD > curve.params.repegThresholdRatio * index &&
      (costless || curve.state.budget > curve.params.budgetFloor);
    return {
      quoteReserve: wadToNumber(reserves[0]),
      baseReserve: wadToNumber(reserves[1]),
      index: wadToNumber(index),
      feeRatio: wadToNumber(params.feeRatio),
      maxTradeRatio: wadToNumber(limits.maxTradeRatio),
      fluctuationLimitRatio: wadToNumber(limits.fluctuationLimitRatio),
      maxOpenInterest: wadToNumber(limits.maxOpenInterest),
      longOpenInterest: wadToNumber(oi[0]),
      shortOpenInterest: wadToNumber(oi[1]),
      reduceOnly: status === 1n,
      premiumPerDay: wadToNumber(funding[0]),
      positionSize: wadToNumber(position.size),
      openNotional: wadToNumber(position.openNotional),
      freeCollateral: wadToNumber(free),
      askSpread: spot === 0n ? 0 : wadToNumber(((curve.ask - spot) * WAD) / spot),
      bidSpread: spot === 0n ? 0 : wadToNumber(((spot - curve.bid) * WAD) / spot),
      baseSpread: wadToNumber(curve.params.baseSpreadRatio),
      repegDue,
    };
  }

  /** The market's dynamic curve: its parameters, state and bid/ask (the Amm's own views). */
  async #curveOf(amm: IAmm) {
    const [params, state, [bid, ask]] = await Promise.all([
      this.call("getCurveParams", () => amm.getCurveParams()),
      this.call("getCurveState", () => amm.getCurveState()),
      this.call("getBidAsk", () => amm.getBidAsk()),
    ]);
    return { params, state, bid, ask };
  }

  /** Up to maxTradesPerTick trades toward the index, each planned from the market as it stands. */
  protected async serve(market: string, name: string): Promise<ArbitrageOutcome> {
    const trades: ArbitrageTrade[] = [];
    try {
      for (let i = 0; i < this.#config.maxTradesPerTick; i++) {
        const m = await this.view(market);
        if (m === undefined) return { market, status: "idle", reason: "no valid index or settled", gap: 0 };
        const plan = planTrade(m, this.#config);
        if (!plan.trade) {
          if (trades.length > 0) break;
          return { market, status: "idle", reason: plan.reason, gap: plan.gap };
        }
        const result = await this.#trade(market, plan);
        if ("reason" in result) {
          if (trades.length > 0) break;
          return { market, status: "skipped", reason: result.reason };
        }
        trades.push(result);
      }
      return { market, status: "traded", trades };
    } catch (error) {
      // A failure after a trade: the trades made stand, the rest of the market waits for the next tick.
      if (trades.length === 0) throw error;
      this.logFailure(name, error);
      return { market, status: "traded", trades };
    }
  }

  async #trade(market: string, plan: Extract<Plan, { trade: true }>): Promise<ArbitrageTrade | { reason: string }> {
    const { amm } = await this.#handlesOf(market);
    const leverage = BigInt(this.#config.leverage) * WAD;
    const margin = (numberToWad(plan.quote) * WAD) / leverage;
    const quote = (margin * leverage) / WAD;
    const base = await this.call("previewSwapQuote", () => amm.previewSwapQuote(plan.side, quote));
    const bps = BigInt(this.#config.slippageBps);
    const baseLimit = plan.side === LONG ? (base * (10_000n - bps)) / 10_000n : (base * (10_000n + bps)) / 10_000n;
    const now = await pendingTimestamp(this.provider, this.retry);
    const deadline = BigInt(now + this.#config.txTimeoutSeconds);
    const side = plan.side === LONG ? "long" : "short";
    const name = await this.names.of(market);
    const what = `openPosition(${name}, ${side}, ${formatWad(quote, 2)})`;
    const reason = await this.simulate(what, () =>
      this.clearingHouse.openPosition.staticCall(market, plan.side, margin, leverage, baseLimit, deadline, {
        from: this.#from,
        blockTag: "pending",
      }),
    );
    if (reason !== undefined) {
      this.logger.warn(`skipped ${what}: would revert with ${reason}; not sent`);
      return { reason };
    }
    const sent = await this.send(what, (nonce) =>
      this.clearingHouse.openPosition(market, plan.side, margin, leverage, baseLimit, deadline, { nonce }),
    );
    if ("reason" in sent) {
      this.logger.warn(`skipped ${what}: ${sent.reason}`);
      return { reason: sent.reason };
    }
    await this.tx.confirm(sent.hash);
    const after = await this.view(market);
    const gapAfter = after ? after.quoteReserve / after.baseReserve / after.index - 1 : 0;
    const expectedNet = plan.priceGain + plan.fundingGain - plan.fees;
    this.logger.info(
      `traded ${name} ${side} ${formatWad(quote, 2)} quote (capped by ${plan.capped}) tx=${sent.hash} ` +
        `gap ${(plan.gap * 100).toFixed(3)}% -> ${(gapAfter * 100).toFixed(3)}%, expected price gain ` +
        `${plan.priceGain.toFixed(2)} + funding ${plan.fundingGain.toFixed(2)} - fees ${plan.fees.toFixed(2)}`,
    );
    return { side, quote, txHash: sent.hash, gapBefore: plan.gap, gapAfter, expectedNet };
  }
}
