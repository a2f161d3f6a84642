import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type {
  Amm,
  AmmCurveModule,
  ChainlinkPriceFeed,
  ClearingHouse,
  ClearingHouseViewer,
  InsuranceFund,
  MockAggregator,
  MockERC20,
  Vault,
} from "../../typechain-types/index.js";
import { DEFAULT_MARKET_PARAMS, STATIC_CURVE_PARAMS, type CurveParams } from "../../deploy/defaults.js";

export const Side = { LONG: 0, SHORT: 1 } as const;
export const MAX_DEADLINE = 2n ** 256n - 1n;

export interface MarketConfig {
  quoteReserve: bigint;
  baseReserve: bigint;
  initialMarginRatio?: bigint;
  maintenanceMarginRatio?: bigint;
  feeRatio?: bigint;
  maxTradeRatio?: bigint;
  fluctuationLimitRatio?: bigint;
  maxOpenInterest?: bigint;
  /**
   * The dynamic curve's parameters (`Amm.setCurveParams`): those given over the constructor's
   * static defaults (deploy/defaults.ts). Left out, the curve stays static.
   */
  curveParams?: Partial<CurveParams>;
}

export interface System {
  usdc: MockERC20;
  vault: Vault;
  clearingHouse: ClearingHouse;
  insuranceFund: InsuranceFund;
  /** Batched read-only views over the ClearingHouse, for keepers and dApps. */
  viewer: ClearingHouseViewer;
  /** The AmmCurveModule every market's Amm runs by DELEGATECALL (stateless: one serves them all). */
  curveModule: AmmCurveModule;
  owner: HardhatEthersSigner;
}

/**
 * A ClearingHouse with its three modules deployed first (their creation code inside its own would
 * pass the initcode size limit), as the Ignition Core module does. `sequencerFeed`: the L2
 * sequencer uptime feed, address(0) for none.
 */
export async function deployClearingHouse(
  ethers: HardhatEthers,
  owner: string,
  sequencerFeed: string,
): Promise<ClearingHouse> {
  const modules = {
    admin: await (await ethers.deployContract("AdminModule", [sequencerFeed])).getAddress(),
    liquidation: await (await ethers.deployContract("LiquidationModule", [sequencerFeed])).getAddress(),
    settlement: await (await ethers.deployContract("SettlementModule", [sequencerFeed])).getAddress(),
  };
  return (await ethers.deployContract("ClearingHouse", [owner, sequencerFeed, modules])) as unknown as ClearingHouse;
}

/**
 * Deploys the core: a 6-decimal USDC stand-in, the Vault and the ClearingHouse, linked, the
 * insurance fund and the ClearingHouseViewer. With
 * `sequencerFeed` (an L2 sequencer uptime feed), the ClearingHouse gates risk-increasing actions on its status.
 * With `collateral`, that token (any ERC20 at that address) is the Vault's instead of the stand-in.
 */
export async function deployCore(
  ethers: HardhatEthers,
  decimals = 6,
  sequencerFeed?: string,
  collateral?: string,
): Promise<System> {
  const [owner] = await ethers.getSigners();
  const usdc = (collateral === undefined
    ? await ethers.deployContract("MockERC20", ["USD Coin", "USDC", decimals])
    : await ethers.getContractAt("MockERC20", collateral)) as unknown as MockERC20;
  // The Vault names the ClearingHouse as an immutable, so the ClearingHouse comes first.
  const clearingHouse = await deployClearingHouse(ethers, owner.address, sequencerFeed ?? ethers.ZeroAddress);
  const vault = (await ethers.deployContract("Vault", [
    await usdc.getAddress(),
    await clearingHouse.getAddress(),
  ])) as unknown as Vault;
  await (await clearingHouse.setVault(await vault.getAddress())).wait();
  const insuranceFund = (await ethers.deployContract("InsuranceFund", [
    await usdc.getAddress(),
    await vault.getAddress(),
    owner.address,
    "Staked vAMM insurance",
    "svINS",
  ])) as unknown as InsuranceFund;
  await (await clearingHouse.setInsuranceFund(await insuranceFund.getAddress())).wait();
  const viewer = (await ethers.deployContract("ClearingHouseViewer", [
    await clearingHouse.getAddress(),
  ])) as unknown as ClearingHouseViewer;
  const curveModule = (await ethers.deployContract("AmmCurveModule")) as unknown as AmmCurveModule;
  return { usdc, vault, clearingHouse, insuranceFund, viewer, curveModule, owner };
}

/**
 * Deploys one Amm bound to the ClearingHouse and lists it: the margin ratios of deploy/defaults.ts
 * unless given, but no fee and no limits unless given, so tests see only what they set.
 */
export async function deployMarket(ethers: HardhatEthers, system: System, config: MarketConfig): Promise<Amm> {
  const amm = (await ethers.deployContract("Amm", [
    await system.clearingHouse.getAddress(),
    config.quoteReserve,
    config.baseReserve,
    {
      maxTradeRatio: config.maxTradeRatio ?? 0n,
      fluctuationLimitRatio: config.fluctuationLimitRatio ?? 0n,
      maxOpenInterest: config.maxOpenInterest ?? 0n,
    },
    system.owner.address,
    await system.curveModule.getAddress(),
  ])) as unknown as Amm;
  await (
    await system.clearingHouse.addMarket(await amm.getAddress(), {
      initialMarginRatio: config.initialMarginRatio ?? DEFAULT_MARKET_PARAMS.initialMarginRatio,
      maintenanceMarginRatio: config.maintenanceMarginRatio ?? DEFAULT_MARKET_PARAMS.maintenanceMarginRatio,
      feeRatio: config.feeRatio ?? 0n,
    })
  ).wait();
  if (config.curveParams !== undefined)
    await (await amm.setCurveParams({ ...STATIC_CURVE_PARAMS, ...config.curveParams })).wait();
  return amm;
}

/**
 * `funder` contributes `amount` (18 decimals) to `amm`'s AMM budget (`ClearingHouse.contributeToBudget`),
 * from free collateral it is first given: minted and deposited here.
 */
export async function contributeToBudget(
  system: System,
  amm: Amm,
  funder: HardhatEthersSigner,
  amount: bigint,
): Promise<void> {
  const decimals = await system.usdc.decimals();
  // Token units rounded up, so the deposit covers the 18-decimal amount.
  const scale = 10n ** (18n - decimals);
  await fund(system, funder, (amount + scale - 1n) / scale);
  await (await system.clearingHouse.connect(funder).contributeToBudget(await amm.getAddress(), amount)).wait();
}

/** Mints `amount` token units to `trader` and deposits them into the Vault. */
export async function fund(system: System, trader: HardhatEthersSigner, amount: bigint): Promise<void> {
  await (await system.usdc.mint(trader.address, amount)).wait();
  await (await system.usdc.connect(trader).approve(await system.vault.getAddress(), amount)).wait();
  await (await system.vault.connect(trader).deposit(amount)).wait();
}

export interface Oracle {
  priceFeed: ChainlinkPriceFeed;
  aggregator: MockAggregator;
  asset: string;
}

/** Price of `price` (a decimal string or bigint in 18 decimals) in the aggregator's own units. */
export function toFeedUnits(price18: bigint, decimals: number): bigint {
  return decimals >= 18 ? price18 * 10n ** BigInt(decimals - 18) : price18 / 10n ** BigInt(18 - decimals);
}

/**
 * Gives `amm` an index: a mock Chainlink aggregator (8 decimals unless told) answering `price`
 * (18 decimals) now, registered under `symbol` in a ChainlinkPriceFeed (a new one unless one is
 * passed), with a one-day heartbeat and wide bounds, and set as the Amm's oracle.
 */
export async function deployOracle(
  ethers: HardhatEthers,
  system: System,
  amm: Amm,
  options: { symbol: string; price: bigint; decimals?: number; priceFeed?: ChainlinkPriceFeed },
): Promise<Oracle> {
  const decimals = options.decimals ?? 8;
  const priceFeed =
    options.priceFeed ??
    ((await ethers.deployContract("ChainlinkPriceFeed", [system.owner.address])) as unknown as ChainlinkPriceFeed);
  const aggregator = (await ethers.deployContract("MockAggregator", [decimals])) as unknown as MockAggregator;
  const latest = await ethers.provider.getBlock("latest");
  await (await aggregator.setAnswer(toFeedUnits(options.price, decimals), BigInt(latest!.timestamp))).wait();
  const asset = ethers.encodeBytes32String(options.symbol);
  await (await priceFeed.setAsset(asset, await aggregator.getAddress(), 86_400, 1n, 2n ** 127n)).wait();
  await (await amm.setOracle(await priceFeed.getAddress(), asset)).wait();
  return { priceFeed, aggregator, asset };
}
