/**
 * A thin client over a deployed vAMM system, shared by the CLI (tasks/), the tests and any script:
 * typed handles from typechain found from the ClearingHouse's address alone (its vault(), the
 * Vault's collateral token, the markets from MarketAdded events, each named by its oracle's asset
 * key), the previews and bounds a trade needs (computed here once, rounded as the contracts round),
 * and custom errors decoded into plain English sentences.
 */
import {
  Contract,
  decodeBytes32String,
  getAddress,
  isAddress,
  ZeroHash,
  type ContractRunner,
  type ContractTransactionResponse,
  type Provider,
} from "ethers";
import {
  Amm__factory,
  ClearingHouse__factory,
  ClearingHouseViewer__factory,
  IERC20Metadata__factory,
  Vault__factory,
  type Amm,
  type ClearingHouse,
  type ClearingHouseViewer,
  type IERC20Metadata,
  type Vault,
} from "../../typechain-types/index.js";
import { abs, formatUnits, mulDivDown, mulDivUp, WAD, wDivDown, wMulUp } from "./fixed.js";
import { ErrorDecoder } from "./errors.js";
import { LogPager } from "./log-pager.js";

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

/** A market's dynamic curve now, from the Amm's own views (`getCurveState`, `getCurveParams`, `getBidAsk`). */
export interface CurveView {
  /** Product of the repegs' quote factors: 1 at launch (18 decimals). */
  peg: bigint;
  /** Product of the depth changes' factors: 1 at launch (18 decimals). */
  depth: bigint;
  /** The market's AMM budget (quote). */
  budget: bigint;
  budgetFloor: bigint;
  budgetTarget: bigint;
  /** The spot price less and plus the marginal half-spread. */
  bid: bigint;
  ask: bigint;
  /** Longs' total size less shorts' (base): the traders' net position; the market holds the opposite. */
  netPosition: bigint;
}

/** The plan of an open: what the pool gives now and the bound derived from the slippage. */
export interface CloseQuote {
  size: bigint;
  exitQuote: bigint;
  quoteLimit: bigint;
  fee: bigint;
}

export class PerpClient {
  readonly markets: MarketInfo[] = [];
  #decoder?: ErrorDecoder;

  private constructor(
    readonly runner: ContractRunner,
    readonly provider: Provider,
    readonly clearingHouse: ClearingHouse,
    readonly vault: Vault,
    readonly collateral: IERC20Metadata,
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
    const collateral = IERC20Metadata__factory.connect(await vault.collateralToken(), runner);
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
    const pager = new LogPager(this.provider, {
      address: await this.clearingHouse.getAddress(),
      topics: [this.clearingHouse.interface.getEvent("MarketAdded").topicHash],
      startBlock,
      blockRange: range,
    });
    await pager.readTo(latest, (logs) => {
      for (const log of logs) {
        const parsed = this.clearingHouse.interface.parseLog(log);
        if (parsed?.name !== "MarketAdded") continue;
        const amm = getAddress(parsed.args.amm as string);
        if (!found.includes(amm)) found.push(amm);
      }
    });
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

  /** The market's dynamic curve now: peg, depth, budget and its bounds, bid/ask, net position. */
  async curve(market: MarketInfo): Promise<CurveView> {
    const [state, params, [bid, ask]] = await Promise.all([
      market.amm.getCurveState(),
      market.amm.getCurveParams(),
      market.amm.getBidAsk(),
    ]);
    return {
      peg: state.peg,
      depth: state.depth,
      budget: state.budget,
      budgetFloor: params.budgetFloor,
      budgetTarget: params.budgetTarget,
      bid,
      ask,
      netPosition: state.netPosition,
    };
  }

  /**
   * Whether the collateral mints to anyone (the local system's mock USDC): a staticCall of
   * `mint(account, amount)` passes. A real token's `mint` is restricted (or absent) and reverts.
   */
  async hasFaucet(account: string, amount = 1n): Promise<boolean> {
    try {
      await this.#faucetToken(this.runner).mint.staticCall(account, amount, { from: account });
      return true;
    } catch {
      return false;
    }
  }

  /** Mints `amount` token units of the mock collateral to `account` (see {@link hasFaucet}). */
  async faucet(signer: ContractRunner, account: string, amount: bigint): Promise<ContractTransactionResponse> {
    return (await this.#faucetToken(signer).mint(account, amount)) as ContractTransactionResponse;
  }

  #faucetToken(runner: ContractRunner) {
    return new Contract(this.collateral.target, ["function mint(address to, uint256 amount)"], runner);
  }

  /** The plain-English reason of a failed call or transaction. */
  explain(error: unknown): string {
    this.#decoder ??= new ErrorDecoder({
      tokenDecimals: this.collateralDecimals,
      tokenSymbol: this.collateralSymbol,
      nameOf: (a) => this.nameOf(a),
    });
    return explainError(error, this.#decoder);
  }
}

/** `amount x (1 - slippage)` rounded up ("min") or `amount x (1 + slippage)` rounded down ("max"). */
export function slippageBound(amount: bigint, slippage: bigint, kind: "min" | "max"): bigint {
  if (slippage < 0n || slippage >= WAD) throw new CliError(`slippage must be at least 0% and below 100%`);
  if (amount === 0n) return 0n;
  return kind === "min" ? mulDivUp(amount, WAD - slippage, WAD) : mulDivDown(amount, WAD + slippage, WAD);
}

/** The plain-English reason of any error: a CliError's own message, else the decoder's. */
export function explainError(error: unknown, decoder: ErrorDecoder = new ErrorDecoder()): string {
  return error instanceof CliError ? error.message : decoder.explain(error);
}

/** "1.5" quote, "-0.25" base: amounts for tables and messages. */
export const fmt = (value: bigint, maxFraction = 4): string => formatUnits(value, 18, maxFraction);
