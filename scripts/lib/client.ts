/**
 * A thin client over a deployed vAMM system, shared by the CLI (tasks/), the tests and any script:
 * typed handles from typechain found from the ClearingHouse's address alone (its vault(), the
 * Vault's collateral token, the markets from MarketAdded events, each named by its oracle's asset
 * key), the previews and bounds a trade needs (computed here once, rounded as the contracts round),
 * and custom errors decoded into plain English sentences.
 */
import {
  decodeBytes32String,
  getAddress,
  Interface,
  isAddress,
  ZeroHash,
  type ContractRunner,
  type ErrorFragment,
  type Provider,
} from "ethers";
import {
  Amm__factory,
  ChainlinkPriceFeed__factory,
  ClearingHouse__factory,
  ClearingHouseViewer__factory,
  InsuranceFund__factory,
  MockERC20__factory,
  Vault__factory,
  type Amm,
  type ClearingHouse,
  type ClearingHouseViewer,
  type MockERC20,
  type Vault,
} from "../../typechain-types/index.js";
import { abs, formatPercent, formatUnits, mulDivDown, mulDivUp, WAD, wDivDown, wMulUp } from "./fixed.js";
import { errorMessage, isTransientError, revertData } from "./keeper/errors.js";

export const Side = { LONG: 0, SHORT: 1 } as const;
export type SideValue = (typeof Side)[keyof typeof Side];
export const MarketStatusName = ["active", "reduce-only", "settled"] as const;

/** A mistake in what the user asked for (bad input, unknown market): its message is for the user as is. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

export interface MarketInfo {
  address: string;
  /** The oracle's asset key ("ETH"), or the address's first digits when the market has no oracle. */
  symbol: string;
  amm: Amm;
}

export interface ConnectOptions {
  clearingHouse: string;
  /** The ClearingHouseViewer, for position views with the liquidation price (optional). */
  viewer?: string;
  /** The block MarketAdded logs are read from (default 0). */
  startBlock?: number;
  /** Blocks per log query (default 50,000). */
  logBlockRange?: number;
}

/** The plan of an open: what the pool gives now and the bound derived from the slippage. */
export interface OpenQuote {
  notional: bigint;
  fee: bigint;
  /** Free collateral the open locks: margin + fee (an increase or a fresh position). */
  cost: bigint;
  expectedBase: bigint;
  baseLimit: bigint;
  /** Average price of the trade (quote per base). */
  price: bigint;
}

export interface CloseQuote {
  size: bigint;
  exitQuote: bigint;
  quoteLimit: bigint;
  fee: bigint;
}

export class PerpClient {
  readonly markets: MarketInfo[] = [];
  #decoder?: ErrorExplainer;

  private constructor(
    readonly runner: ContractRunner,
    readonly provider: Provider,
    readonly clearingHouse: ClearingHouse,
    readonly vault: Vault,
    readonly collateral: MockERC20,
    readonly collateralDecimals: number,
    readonly collateralSymbol: string,
    readonly viewer: ClearingHouseViewer | undefined,
  ) {}

  /** Connects to the system around `options.clearingHouse` and discovers its markets. */
  static async connect(runner: ContractRunner, options: ConnectOptions): Promise<PerpClient> {
    const provider = runner.provider;
    if (!provider) throw new CliError("the signer or provider given has no network connection");
    if (!isAddress(options.clearingHouse))
      throw new CliError(`the ClearingHouse address "${options.clearingHouse}" is not an address`);
    const address = getAddress(options.clearingHouse);
    if ((await provider.getCode(address)) === "0x")
      throw new CliError(`no contract at ${address} on this network: is the ClearingHouse address right?`);
    const clearingHouse = ClearingHouse__factory.connect(address, runner);
    const vault = Vault__factory.connect(await clearingHouse.vault(), runner);
    const collateral = MockERC20__factory.connect(await vault.collateralToken(), runner);
    const [decimals, symbol] = await Promise.all([collateral.decimals(), collateral.symbol().catch(() => "tokens")]);
    let viewer: ClearingHouseViewer | undefined;
    if (options.viewer) {
      if (!isAddress(options.viewer)) throw new CliError(`the viewer address "${options.viewer}" is not an address`);
      viewer = ClearingHouseViewer__factory.connect(getAddress(options.viewer), runner);
    }
    const client = new PerpClient(runner, provider, clearingHouse, vault, collateral, Number(decimals), symbol, viewer);
    await client.refreshMarkets(options.startBlock ?? 0, options.logBlockRange ?? 50_000);
    return client;
  }

  /** Reads MarketAdded logs (in bounded ranges) and names each market by its oracle's asset key. */
  async refreshMarkets(startBlock = 0, range = 50_000): Promise<MarketInfo[]> {
    const latest = await this.provider.getBlockNumber();
    const found: string[] = [];
    for (let from = startBlock; from <= latest; from += range) {
      const events = await this.clearingHouse.queryFilter(
        this.clearingHouse.filters.MarketAdded(),
        from,
        Math.min(from + range - 1, latest),
      );
      for (const e of events) if (!found.includes(getAddress(e.args.amm))) found.push(getAddress(e.args.amm));
    }
    this.markets.length = 0;
    for (const address of found) {
      const amm = Amm__factory.connect(address, this.runner);
      const [, asset] = await amm.getOracle();
      let symbol = address.slice(0, 10);
      if (asset !== ZeroHash) {
        try {
          symbol = decodeBytes32String(asset);
        } catch {
          symbol = asset.slice(0, 10);
        }
      }
      this.markets.push({ address, symbol, amm });
    }
    return this.markets;
  }

  /** A market by symbol ("ETH", "eth", "ETH/USD", "ETH-USD") or address. */
  market(nameOrAddress: string): MarketInfo {
    const wanted = nameOrAddress.trim();
    if (wanted === "") throw new CliError(`no market given: use --market with one of ${this.#marketList()}`);
    if (isAddress(wanted)) {
      const m = this.markets.find((x) => x.address === getAddress(wanted));
      if (m === undefined) throw new CliError(`${getAddress(wanted)} is not a market listed on this ClearingHouse`);
      return m;
    }
    const norm = (s: string) => s.toUpperCase().replace(/[-/]?USDC?$/, "");
    const matches = this.markets.filter((x) => norm(x.symbol) === norm(wanted));
    if (matches.length === 1) return matches[0];
    if (matches.length > 1)
      throw new CliError(
        `"${wanted}" names ${matches.length} markets: give the address (${matches.map((m) => m.address).join(", ")})`,
      );
    throw new CliError(`unknown market "${wanted}": the markets are ${this.#marketList()}`);
  }

  #marketList(): string {
    return this.markets.length === 0 ? "(none listed)" : this.markets.map((m) => m.symbol).join(", ");
  }

  /** The symbol of a market address, for messages; the address when it is not a known market. */
  nameOf(address: string): string {
    return this.markets.find((m) => m.address.toLowerCase() === address.toLowerCase())?.symbol ?? address;
  }

  /** A deadline `seconds` after the latest block's timestamp (the chain's clock, not the machine's). */
  async deadline(seconds: number): Promise<bigint> {
    const block = await this.provider.getBlock("latest");
    return BigInt(block!.timestamp) + BigInt(seconds);
  }

  /**
   * What opening `margin x leverage` on `side` gives now and the base bound for `slippage`: a long
   * receives at least `expected x (1 - slippage)` (rounded up), a short gives at most
   * `expected x (1 + slippage)` (rounded down); a slippage of 0 asks for the preview exactly.
   */
  async quoteOpen(
    market: MarketInfo,
    side: SideValue,
    margin: bigint,
    leverage: bigint,
    slippage: bigint,
  ): Promise<OpenQuote> {
    const notional = mulDivDown(margin, leverage, WAD);
    const params = await this.clearingHouse.getMarketParams(market.address);
    const fee = wMulUp(notional, params.feeRatio);
    const expectedBase = notional === 0n ? 0n : await market.amm.previewSwapQuote(side, notional);
    const baseLimit = slippageBound(expectedBase, slippage, side === Side.LONG ? "min" : "max");
    const price = expectedBase === 0n ? 0n : wDivDown(notional, expectedBase);
    return { notional, fee, cost: margin + fee, expectedBase, baseLimit, price };
  }

  /** What closing `trader`'s whole position gives now, and the quote bound for `slippage`. */
  async quoteClose(market: MarketInfo, trader: string, slippage: bigint): Promise<CloseQuote> {
    const p = await this.clearingHouse.getPosition(market.address, trader);
    if (p.size === 0n) return { size: 0n, exitQuote: 0n, quoteLimit: 0n, fee: 0n };
    const exitQuote = await market.amm.previewSwapBase(p.size, abs(p.size));
    const params = await this.clearingHouse.getMarketParams(market.address);
    // A long receives the quote (at least), a short pays it (at most).
    const quoteLimit = slippageBound(exitQuote, slippage, p.size > 0n ? "min" : "max");
    return { size: p.size, exitQuote, quoteLimit, fee: wMulUp(exitQuote, params.feeRatio) };
  }

  /** The plain-English reason of a failed call or transaction. */
  explain(error: unknown): string {
    this.#decoder ??= new ErrorExplainer({
      tokenDecimals: this.collateralDecimals,
      tokenSymbol: this.collateralSymbol,
      nameOf: (a) => this.nameOf(a),
    });
    return this.#decoder.explain(error);
  }
}

/** `amount x (1 - slippage)` rounded up ("min") or `amount x (1 + slippage)` rounded down ("max"). */
export function slippageBound(amount: bigint, slippage: bigint, kind: "min" | "max"): bigint {
  if (slippage < 0n || slippage >= WAD) throw new CliError(`slippage must be at least 0% and below 100%`);
  if (amount === 0n) return 0n;
  return kind === "min" ? mulDivUp(amount, WAD - slippage, WAD) : mulDivDown(amount, WAD + slippage, WAD);
}

// ---------------------------------------------------------------- errors

/** Every error the protocol's contracts (and the OpenZeppelin code under them) may revert with. */
export const PROTOCOL_ABIS = [
  ClearingHouse__factory.abi,
  Vault__factory.abi,
  Amm__factory.abi,
  ChainlinkPriceFeed__factory.abi,
  InsuranceFund__factory.abi,
  ClearingHouseViewer__factory.abi,
  MockERC20__factory.abi,
] as const;

export interface ExplainOptions {
  /** The collateral token's decimals and symbol, for the errors in token units. */
  tokenDecimals?: number;
  tokenSymbol?: string;
  /** Names a market address ("ETH"); the address itself when unknown. */
  nameOf?: (address: string) => string;
}

type Formatters = {
  /** An 18-decimal quote amount. */
  q: (v: bigint) => string;
  /** A token amount in token units. */
  t: (v: bigint) => string;
  /** An 18-decimal ratio, as a percentage. */
  pct: (v: bigint) => string;
  /** A price or base amount (18 decimals). */
  n: (v: bigint) => string;
  /** A market address. */
  m: (a: string) => string;
  /** A Unix time. */
  time: (v: bigint) => string;
  /** A bytes32 asset key. */
  asset: (v: string) => string;
};

const PANICS: Record<number, string> = {
  0x01: "an internal assertion failed",
  0x11: "an amount overflowed or went below zero",
  0x12: "a division by zero",
  0x21: "an invalid enum value (is the side long or short?)",
  0x32: "an index out of bounds",
};

/** One English sentence per custom error, its arguments in human units. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;
const MESSAGES: Record<string, (a: Args, f: Formatters) => string> = {
  // ClearingHouse
  ZeroAddress: () => "an address given is zero",
  VaultAlreadySet: (a) => `the Vault is already linked (${a.vault})`,
  VaultNotBoundToThisClearingHouse: (a) => `the Vault ${a.vault} belongs to another ClearingHouse (${a.boundTo})`,
  VaultNotSet: () => "the ClearingHouse has no Vault linked yet",
  EnforcedPause: () => "trading is paused by the operator",
  ExpectedPause: () => "trading is not paused",
  MarketNotListed: (a, f) => `the market ${f.m(a.amm)} is not listed`,
  MarketAlreadyListed: (a, f) => `the market ${f.m(a.amm)} is already listed`,
  AmmNotBoundToThisClearingHouse: (a) => `the Amm ${a.amm} answers to another ClearingHouse (${a.boundTo})`,
  InvalidMarginRatios: (a, f) =>
    `invalid margin ratios: initial ${f.pct(a.initialMarginRatio)}, maintenance ${f.pct(a.maintenanceMarginRatio)} ` +
    `(need 0 < maintenance < initial <= 100%)`,
  FeeRatioTooHigh: (a, f) => `the fee of ${f.pct(a.feeRatio)} is above the maximum of ${f.pct(a.maxFeeRatio)}`,
  DeadlineExpired: (a, f) =>
    `the deadline (${f.time(a.deadline)}) passed before the transaction was mined (${f.time(a.timestamp)})`,
  ZeroAmount: () => "the amount is zero",
  ZeroNotional: () => "margin x leverage is zero",
  LeverageTooHigh: (a, f) =>
    `leverage ${f.n(a.leverage)}x is too high: this market allows at most ${f.n(a.maxLeverage)}x`,
  NoPosition: (a, f) => `${a.trader} has no position in ${f.m(a.amm)}`,
  BaseLimitMissed: (a, f) =>
    `slippage exceeded: the trade would move ${f.n(a.baseAmount)} base against your bound of ${f.n(a.baseLimit)} ` +
    `(the price moved; retry or allow more slippage)`,
  QuoteLimitMissed: (a, f) =>
    `slippage exceeded: the close would exchange ${f.q(a.quoteAmount)} quote against your bound of ${f.q(a.quoteLimit)} ` +
    `(the price moved; retry or allow more slippage)`,
  MarginRatioTooLow: (a, f) =>
    `the position's margin ratio would be ${f.pct(a.marginRatio)}, below the ${f.pct(a.requiredRatio)} required`,
  PositionUnderwater: (a, f) =>
    `the position is underwater (its margin after PnL and fee would be ${f.q(a.remainingMargin)}): it can only be liquidated`,
  InsufficientMargin: (a, f) => `the position has ${f.q(a.margin)} margin, less than the ${f.q(a.requested)} asked`,
  NotLiquidatable: (a, f) =>
    `the position is not liquidatable: margin ratio ${f.pct(a.marginRatio)} is at or above maintenance ${f.pct(a.maintenanceMarginRatio)}`,
  LiquidationLimitReached: (a, f) =>
    `${f.m(a.amm)} moved as far as its price limit allows this block: liquidate in the next`,
  SelfLiquidation: () => "a trader cannot liquidate their own position",
  MarketReduceOnly: (a, f) => `${f.m(a.amm)} is reduce-only after an uncovered bad debt: positions can only shrink`,
  MarketIsSettled: (a, f) => `${f.m(a.amm)} has been settled: only settling positions remains`,
  MarketNotSettled: (a, f) => `${f.m(a.amm)} has not been settled`,
  NoSettlementPrice: (a, f) => `${f.m(a.amm)} has no valid index TWAP to settle at`,
  SettlementIncomplete: (a, f) =>
    `settlement payouts wait until every position is recorded: longs ${f.n(a.recordedLong)} of ${f.n(a.openLong)}, ` +
    `shorts ${f.n(a.recordedShort)} of ${f.n(a.openShort)}`,
  InvalidLiquidationParams: () => "the liquidation parameters are out of bounds",
  // Vault
  OnlyClearingHouse: (a) => `only the ClearingHouse may do this (caller ${a.caller})`,
  OnlyInsuranceFund: (a) => `only the insurance fund contract may do this (caller ${a.caller})`,
  InsuranceFundAlreadySet: (a) => `the insurance fund is already set (${a.insuranceFund})`,
  InsufficientInsuranceFund: (a, f) =>
    `the insurance fund holds ${f.q(a.available)}, less than the ${f.q(a.needed)} needed`,
  UnsupportedDecimals: (a) => `the token's ${a.decimals} decimals are outside 6..18`,
  UnsupportedTransferAmount: (a, f) =>
    `the Vault received ${f.t(a.received)} instead of ${f.t(a.expected)}: fee-on-transfer and rebasing tokens are refused`,
  InsufficientFreeCollateral: (a, f) =>
    `insufficient collateral: ${a.trader} has ${f.q(a.available)} free in the Vault but ${f.q(a.needed)} is needed (deposit more)`,
  InsufficientMarginPool: (a, f) =>
    `the margin pool holds ${f.q(a.available)}, less than the ${f.q(a.needed)} to pay out (losing positions must be liquidated first)`,
  // Amm
  InvalidReserves: (a, f) => `invalid reserves: ${f.n(a.quoteReserve)} quote, ${f.n(a.baseReserve)} base`,
  RatioTooHigh: (a, f) => `the ratio ${f.pct(a.ratio)} is above 100%`,
  ZeroClearingHouse: () => "the ClearingHouse address is zero",
  ZeroSwapAmount: () => "the trade is too small: it swaps zero",
  InsufficientReserve: (a, f) => `the trade would take ${f.n(a.requested)} of a reserve of only ${f.n(a.reserve)}`,
  TradeTooLarge: (a, f) =>
    `the trade of ${f.q(a.quoteAmount)} quote is above this market's limit of ${f.q(a.maxQuoteAmount)}`,
  PriceFluctuationLimitExceeded: (a, f) =>
    `the trade would move the price from ${f.n(a.priceAtBlockStart)} to ${f.n(a.priceAfter)}, beyond this market's per-block limit`,
  OpenInterestCapExceeded: (a, f) =>
    `the open interest would reach ${f.n(a.openInterest)}, above this market's cap of ${f.n(a.maxOpenInterest)} per side`,
  CloseExceedsPosition: (a, f) => `cannot close ${f.n(a.baseAmount)} of a position of ${f.n(a.positionSize)}`,
  FundingUpdateTooEarly: (a, f) => `too early for a funding update: the next is due at ${f.time(a.earliest)}`,
  ZeroPriceFeed: () => "the price feed address is zero",
  InvalidFundingWindow: (a) => `the funding interval of ${a.minUpdateInterval} s is outside 60 s .. 1 day`,
  InvalidAccrualPeriod: (a) =>
    `the accrual period of ${a.maxAccrualPeriod} s is shorter than the funding interval of ${a.minUpdateInterval} s`,
  NoIndexPrice: () => "the market has never recorded an index price (poke its index or update funding first)",
  // Price feed
  ZeroAssetKey: () => "the asset key is empty",
  ZeroFeedAddress: (a, f) => `the feed address of ${f.asset(a.asset)} is zero`,
  ZeroHeartbeat: (a, f) => `the heartbeat of ${f.asset(a.asset)} is zero`,
  InvalidPriceBounds: (a, f) =>
    `invalid price bounds for ${f.asset(a.asset)}: ${f.n(a.minPrice)} .. ${f.n(a.maxPrice)}`,
  UnsupportedFeedDecimals: (a, f) => `the feed of ${f.asset(a.asset)} has ${a.feedDecimals} decimals, more than 18`,
  GracePeriodOutOfBounds: (a) =>
    `the grace period of ${a.gracePeriod} s is outside ${a.minGracePeriod} .. ${a.maxGracePeriod} s`,
  UnknownAsset: (a, f) => `the price feed does not know the asset ${f.asset(a.asset)}`,
  FeedCallFailed: (a, f) => `the oracle of ${f.asset(a.asset)} failed to answer`,
  ZeroRoundId: (a, f) => `the oracle of ${f.asset(a.asset)} returned round 0`,
  IncompleteRound: (a, f) => `the oracle of ${f.asset(a.asset)} has an incomplete round ${a.roundId}`,
  UpdatedAtInFuture: (a, f) => `the oracle of ${f.asset(a.asset)} answered from the future (${f.time(a.updatedAt)})`,
  StalePrice: (a, f) =>
    `the price of ${f.asset(a.asset)} is stale: last updated ${f.time(a.updatedAt)}, older than its ${a.heartbeat} s heartbeat`,
  NonPositiveAnswer: (a, f) => `the oracle of ${f.asset(a.asset)} answered ${a.answer}, not a positive price`,
  PriceOutOfBounds: (a, f) =>
    `the price ${f.n(a.price)} of ${f.asset(a.asset)} is outside its sane range ${f.n(a.minPrice)} .. ${f.n(a.maxPrice)}`,
  SequencerDown: () => "the L2 sequencer is down: opening positions and removing margin wait until it is back",
  SequencerRoundNotInitialized: () => "the sequencer uptime feed has no round yet",
  GracePeriodNotOver: (a, f) =>
    `the sequencer is back up, but risk-increasing actions wait until ${f.time(a.gracePeriodEnd)}`,
  // Insurance fund
  AssetMismatch: (a) => `the fund's asset ${a.asset} is not the Vault's collateral ${a.vaultCollateral}`,
  ZeroAssets: () => "zero assets",
  ZeroShares: () => "zero shares",
  ZeroReceiver: () => "the receiver is the zero address",
  RedeemRequestOpen: (a, f) => `a redemption request is already open, unlocking at ${f.time(a.unlockAt)}`,
  NoRedeemRequest: () => "there is no redemption request",
  CooldownNotElapsed: (a, f) => `the cooldown ends at ${f.time(a.unlockAt)}`,
  CooldownOutOfRange: (a) => `the cooldown of ${a.cooldown} s is out of range`,
  // Viewer
  LengthMismatch: (a) => `${a.amms} markets for ${a.traders} traders`,
  // OpenZeppelin
  OwnableUnauthorizedAccount: (a) => `${a.account} is not the owner: only the operator may do this`,
  OwnableInvalidOwner: (a) => `${a.owner} cannot be the owner`,
  ReentrancyGuardReentrantCall: () => "a reentrant call was refused",
  ERC20InsufficientBalance: (a, f) =>
    `insufficient token balance: ${a.sender} holds ${f.t(a.balance)}, needs ${f.t(a.needed)}`,
  ERC20InsufficientAllowance: (a, f) =>
    `insufficient allowance: ${a.spender} may spend ${f.t(a.allowance)}, needs ${f.t(a.needed)}`,
  ERC20InvalidApprover: (a) => `invalid approver ${a.approver}`,
  ERC20InvalidReceiver: (a) => `invalid receiver ${a.receiver}`,
  ERC20InvalidSender: (a) => `invalid sender ${a.sender}`,
  ERC20InvalidSpender: (a) => `invalid spender ${a.spender}`,
  SafeERC20FailedOperation: (a) => `the token ${a.token} refused the transfer`,
  SafeCastOverflowedUintDowncast: (a) => `an amount does not fit in ${a.bits} bits`,
  SafeCastOverflowedIntDowncast: (a) => `an amount does not fit in ${a.bits} bits`,
  SafeCastOverflowedUintToInt: () => "an amount is too large",
};

/** The error fragments of every protocol contract, deduplicated by selector. */
function protocolErrors(): ErrorFragment[] {
  const bySelector = new Map<string, ErrorFragment>();
  for (const abi of PROTOCOL_ABIS) {
    Interface.from(abi).forEachError((fragment) => bySelector.set(fragment.selector, fragment));
  }
  return [...bySelector.values()];
}

/** Turns errors into sentences: custom errors by name with their arguments in human units. */
export class ErrorExplainer {
  readonly #iface = new Interface(protocolErrors());
  readonly #f: Formatters;

  constructor(options: ExplainOptions = {}) {
    const decimals = options.tokenDecimals ?? 18;
    const symbol = options.tokenSymbol ?? "";
    this.#f = {
      q: (v) => formatUnits(v, 18, 6),
      t: (v) => `${formatUnits(v, decimals, decimals)}${symbol ? " " + symbol : ""}`,
      pct: (v) => formatPercent(v, 4),
      n: (v) => formatUnits(v, 18, 6),
      m: (a) => options.nameOf?.(a) ?? a,
      time: (v) => new Date(Number(v) * 1000).toISOString().replace(".000Z", "Z"),
      asset: (v) => {
        try {
          return decodeBytes32String(v);
        } catch {
          return v;
        }
      },
    };
  }

  /** Whether this selector names a known protocol error. */
  knows(name: string): boolean {
    return name in MESSAGES;
  }

  /** The sentence for revert data (`0x` + selector + arguments); undefined when it is not decodable. */
  explainData(data: string): string | undefined {
    let parsed;
    try {
      parsed = this.#iface.parseError(data);
    } catch {
      return undefined;
    }
    if (parsed === null) return undefined;
    if (parsed.name === "Error") return `reverted: ${parsed.args[0]}`;
    if (parsed.name === "Panic") {
      const code = Number(parsed.args[0]);
      return `the contract failed: ${PANICS[code] ?? `panic 0x${code.toString(16)}`}`;
    }
    const message = MESSAGES[parsed.name];
    if (message === undefined) return `${parsed.name}(${parsed.args.map(String).join(", ")})`;
    return message(parsed.args as unknown as Args, this.#f);
  }

  /** A plain message for any error: a CliError's own, a decoded revert, or the RPC failure. */
  explain(error: unknown): string {
    if (error instanceof CliError) return error.message;
    const data = revertData(error);
    if (data !== undefined)
      return this.explainData(data) ?? `the transaction reverted with unknown error ${data.slice(0, 10)}`;
    if (error instanceof RangeError) return error.message;
    if (isTransientError(error)) return `the network failed: ${errorMessage(error)}`;
    const text = errorMessage(error);
    if (/revert/i.test(text) || (error as { code?: unknown })?.code === "CALL_EXCEPTION")
      return `the transaction reverted without a reason (${text})`;
    return text;
  }
}

/** "1.5" quote, "-0.25" base: amounts for tables and messages. */
export const fmt = (value: bigint, maxFraction = 4): string => formatUnits(value, 18, maxFraction);
