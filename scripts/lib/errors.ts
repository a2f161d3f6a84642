/**
 * The one error decoder of the CLI, the keepers and the demo: revert data decoded against the
 * errors of every protocol contract (and the OpenZeppelin code under them, Panic and Error(string)),
 * each custom error turned into one English sentence with its arguments in human units.
 */
import { decodeBytes32String, Interface, type ErrorFragment, type InterfaceAbi } from "ethers";
import {
  Amm__factory,
  ChainlinkPriceFeed__factory,
  ClearingHouse__factory,
  ClearingHouseViewer__factory,
  InsuranceFund__factory,
  Vault__factory,
} from "../../typechain-types/index.js";
import { formatPercent, formatUnits } from "./fixed.js";
import { errorChain, errorMessage, isTransientError, revertData } from "./keeper/errors.js";

/**
 * OpenZeppelin errors a call may meet that no protocol ABI lists: the collateral token's own
 * ERC-20 errors, and the Address library's under SafeERC20.
 */
const OPENZEPPELIN_ERRORS = [
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InvalidSender(address sender)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC20InvalidApprover(address approver)",
  "error ERC20InvalidSpender(address spender)",
  "error FailedCall()",
  "error AddressEmptyCode(address target)",
];

/** Every error the protocol's contracts (and the OpenZeppelin code under them) may revert with. */
export const PROTOCOL_ABIS: readonly InterfaceAbi[] = [
  ClearingHouse__factory.abi,
  Vault__factory.abi,
  Amm__factory.abi,
  ChainlinkPriceFeed__factory.abi,
  InsuranceFund__factory.abi,
  ClearingHouseViewer__factory.abi,
  OPENZEPPELIN_ERRORS,
];

export interface DecodeOptions {
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

/**
 * One English sentence per custom error, its arguments in human units: `a` holds the arguments by
 * name, `f` the formatters. A new contract error needs one line here; the test "has a sentence for
 * every error of every contract" names any error that has none.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;
export const SENTENCES: Record<string, (a: Args, f: Formatters) => string> = {
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
    `the position's margin would be ${f.q(a.remainingMargin)} (after the funding it owes and, on a reduce or close, ` +
    `its PnL and fee): add margin first (funding may have eaten it), or the position can only be liquidated`,
  ReduceExceedsPosition: (a, f) =>
    `cannot reduce ${f.n(a.baseAmount)} base: the position holds only ${f.n(a.positionSize)} ` +
    `(close it instead, or send a smaller notional: a repeg before the trade can make it buy back more)`,
  NotDelegated: () => "a module was called directly: call the ClearingHouse or the Amm that deployed it instead",
  InvalidModule: (a) =>
    `${a.module} is not the ClearingHouse module this place needs (its kind or its sequencer feed differs): deploy the modules with the same sequencer feed and pass them in order (admin, liquidation, settlement)`,
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
  SettlementIndexStale: (a, f) =>
    a.indexPrice === 0n
      ? `${f.m(a.amm)} cannot be settled now: its oracle gives no valid index price to back the index TWAP of ${f.n(a.indexTwap)}`
      : `${f.m(a.amm)} cannot be settled at a stale index: its TWAP is ${f.n(a.indexTwap)} but the index is now ` +
        `${f.n(a.indexPrice)} (more than 2% apart); record the index over the next 15 minutes (keepers poke it), then settle`,
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
  // The arguments by position: `length` would read the decoded Result's own array length.
  ClaimIndexOutOfRange: (a, f) =>
    a[2] === 0n
      ? `the claim queue of ${f.m(a[0])} has no entries: there is no entry ${a[1]}`
      : `the claim queue of ${f.m(a[0])} has entries 0 to ${a[2] - 1n}: there is no entry ${a[1]}`,
  // Amm
  InvalidReserves: (a, f) => `invalid reserves: ${f.n(a.quoteReserve)} quote, ${f.n(a.baseReserve)} base`,
  RatioTooHigh: (a, f) => `the ratio ${f.pct(a.ratio)} is above 100%`,
  ZeroClearingHouse: () => "the ClearingHouse address is zero",
  InvalidCurveModule: (a) => `${a[0]} is not an AmmCurveModule (the Amm's constructor checks its kind)`,
  IndexBandExceeded: (a, f) =>
    `the trade would leave the price at ${f.q(a.priceAfter)}, more than ${f.q(a.maxDistance)} from the index of ` +
    `${f.q(a.indexPrice)} and further from it: trade less, or toward the index`,
  IndexBandOutOfRange: (a, f) =>
    `an index band of ${f.pct(a.indexBandRatio)} is out of range (0 for off, or 0.5% to 50%)`,
  IndexBandNotWholeStep: (a, f) =>
    `an index band of ${f.pct(a.indexBandRatio)} is not a whole number of steps of ${f.pct(a.step)} (a millionth of the index)`,
  ZeroSwapAmount: () => "the trade is too small: it swaps zero",
  InsufficientReserve: (a, f) => `the trade would take ${f.n(a.requested)} of a reserve of only ${f.n(a.reserve)}`,
  TradeTooLarge: (a, f) =>
    `the trade of ${f.q(a.quoteAmount)} quote is above this market's limit of ${f.q(a.maxQuoteAmount)}`,
  PriceFluctuationLimitExceeded: (a, f) =>
    `the trade would move the price from ${f.n(a.priceAtBlockStart)} to ${f.n(a.priceAfter)}, beyond this market's per-block limit`,
  OpenInterestCapExceeded: (a, f) =>
    `the open interest would reach ${f.n(a.openInterest)}, above this market's cap of ${f.n(a.maxOpenInterest)} per side`,
  OpenInterestCapTooHigh: (a, f) =>
    `an open interest cap of ${f.n(a.maxOpenInterest)} is above the most one side can hold, ${f.n(a.maxCap)} (0 for off)`,
  CloseExceedsPosition: (a, f) => `cannot close ${f.n(a.baseAmount)} of a position of ${f.n(a.positionSize)}`,
  FundingUpdateTooEarly: (a, f) => `too early for a funding update: the next is due at ${f.time(a.earliest)}`,
  ZeroPriceFeed: () => "the price feed address is zero",
  InvalidFundingWindow: (a) => `the funding interval of ${a.minUpdateInterval} s is outside 60 s .. 1 day`,
  InvalidAccrualPeriod: (a) =>
    `the accrual period of ${a.maxAccrualPeriod} s is shorter than the funding interval of ${a.minUpdateInterval} s`,
  NoIndexPrice: () => "the market has never recorded an index price (poke its index or update funding first)",
  FundingSubsidyRatioOutOfRange: (a, f) =>
    `a funding subsidy budget of ${f.pct(a.maxFundingSubsidyRatio)} of the insurance fund per day is above the maximum of 10%`,
  // Amm: the dynamic curve (IAmmCurve). The ranges are the contract's constants; test/ts/CurveParams.test.ts
  // checks each sentence against them.
  VammLeverageExceeded: (a, f) =>
    `the trade would grow your exposure and the market's net position to ${f.q(a.exposure)} of notional, above the ${f.q(a.maxExposure)} ` +
    `its AMM budget and insurance-fund share back (maxVammLeverage): trade less, or on the other side, or wait for the budget to grow`,
  RepegThresholdOutOfRange: (a, f) =>
    `a repeg threshold of ${f.pct(a.repegThresholdRatio)} is out of range (0 for no repeg, or 0.1% to 20%)`,
  SpreadOutOfRange: (a, f) =>
    `a half-spread of ${f.pct(a.baseSpreadRatio)} capped at ${f.pct(a.maxSpreadRatio)} is out of range ` +
    `(base at most 1%; cap at least the base and at most 5%)`,
  CurveRatioNotWholeStep: (a, f) =>
    `a repeg threshold of ${f.pct(a.repegThresholdRatio)}, a half-spread of ${f.pct(a.baseSpreadRatio)} and a cap of ` +
    `${f.pct(a.maxSpreadRatio)}: each must be a whole number of steps of ${f.pct(a.step)} (a millionth)`,
  VammLeverageOutOfRange: (a, f) =>
    `a vAMM leverage bound of ${f.n(a.maxVammLeverage)}x is out of range (0 for off, or 0.5x to 50x)`,
  FundShareOutOfRange: (a, f) => `an insurance-fund share of ${f.pct(a.fundShareRatio)} is above 100%`,
  BudgetBoundsInvalid: (a, f) =>
    `a budget floor of ${f.q(a.budgetFloor)} with a target of ${f.q(a.budgetTarget)} is invalid (the floor may not exceed the target, nor the target 2^88 - 1, the largest the Amm stores)`,
  DepthBoundsOutOfRange: (a, f) =>
    `depth changes of ${f.pct(a.maxDepthChangeRatio)} per update within ${f.n(a.minDepthRatio)}x .. ${f.n(a.maxDepthRatio)}x ` +
    `are out of range (at most 10% per update; the lowest depth 0.1x to 1x, the highest 1x to 10x)`,
  NetPositionExceedsCurve: (a, f) =>
    `the traders' net position ${f.n(a.netPosition)} cannot be valued on a curve with ${f.n(a.baseReserve)} base`,
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
  RedeemRequestExpired: (a, f) =>
    `the redemption request lapsed at ${f.time(a.expiresAt)}: request again (a new cooldown starts)`,
  RedeemWindowOutOfRange: (a) => `a redemption window of ${a.window} s is out of range (1 to 7 days)`,
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
  SafeCastOverflowedIntToUint: (a) => `an amount that must not be negative is ${a.value}`,
  ERC4626ExceededMaxDeposit: (a, f) =>
    `the deposit of ${f.t(a.assets)} for ${a.receiver} is above the ${f.t(a.max)} the fund accepts now`,
  ERC4626ExceededMaxMint: (a) => `minting ${a.shares} share units for ${a.receiver} is above the ${a.max} allowed now`,
  ERC4626ExceededMaxWithdraw: (a, f) =>
    `${a.owner} may withdraw at most ${f.t(a.max)} now, not ${f.t(a.assets)} (is a redemption request unlocked?)`,
  ERC4626ExceededMaxRedeem: (a) =>
    `${a.owner} may redeem at most ${a.max} share units now, not ${a.shares} (is a redemption request unlocked?)`,
  FailedCall: () => "a call to another contract failed",
  AddressEmptyCode: (a) => `there is no contract at ${a.target}`,
};

/** The error fragments of every protocol contract, deduplicated by selector. */
function protocolErrors(): ErrorFragment[] {
  const bySelector = new Map<string, ErrorFragment>();
  for (const abi of PROTOCOL_ABIS) {
    Interface.from(abi).forEachError((fragment) => bySelector.set(fragment.selector, fragment));
  }
  return [...bySelector.values()];
}

/** A decoded revert: the error's name ("Panic", "Error" for the built-ins) and its sentence. */
export interface DecodedRevert {
  name: string;
  sentence: string;
}

/** Turns reverts into sentences: custom errors by name with their arguments in human units. */
export class ErrorDecoder {
  readonly #iface = new Interface(protocolErrors());
  readonly #f: Formatters;

  constructor(options: DecodeOptions = {}) {
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

  /** The name and sentence of revert data (`0x` + selector + arguments); undefined when not decodable. */
  decodeData(data: string): DecodedRevert | undefined {
    let parsed;
    try {
      parsed = this.#iface.parseError(data);
    } catch {
      return undefined;
    }
    if (parsed === null) return undefined;
    if (parsed.name === "Error") return { name: "Error", sentence: `reverted: ${parsed.args[0]}` };
    if (parsed.name === "Panic") {
      const code = Number(parsed.args[0]);
      return { name: "Panic", sentence: `the contract failed: ${PANICS[code] ?? `panic 0x${code.toString(16)}`}` };
    }
    const sentence = SENTENCES[parsed.name];
    return {
      name: parsed.name,
      sentence:
        sentence === undefined
          ? `${parsed.name}(${parsed.args.map(String).join(", ")})`
          : sentence(parsed.args as unknown as Args, this.#f),
    };
  }

  /** The sentence of revert data; undefined when it is not decodable. */
  explainData(data: string): string | undefined {
    return this.decodeData(data)?.sentence;
  }

  /**
   * What a failed call reverted with, for the keepers' logs and the demo's counts; undefined when it
   * did not revert (an RPC failure). A revert with unknown or no data gets a name too.
   */
  decodeError(error: unknown): DecodedRevert | undefined {
    const data = revertData(error);
    if (data === undefined) {
      if (isTransientError(error)) return undefined;
      const reverted = errorChain(error).some(
        (e) => e.code === "CALL_EXCEPTION" || (typeof e.message === "string" && /revert/i.test(e.message)),
      );
      return reverted ? { name: "NoData", sentence: "a revert without data" } : undefined;
    }
    return (
      this.decodeData(data) ?? { name: "UnknownError", sentence: `an unknown error (selector ${data.slice(0, 10)})` }
    );
  }

  /** "Name: sentence" for a keeper's log line; undefined when the call did not revert (an RPC failure). */
  describe(error: unknown): string | undefined {
    const decoded = this.decodeError(error);
    return decoded && `${decoded.name}: ${decoded.sentence}`;
  }

  /** A plain message for any error: a decoded revert, or the RPC failure. */
  explain(error: unknown): string {
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
