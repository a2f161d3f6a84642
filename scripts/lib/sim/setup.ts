/** The simulation's first steps: the markets deployed, the accounts funded, the bots started. */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Amm, MockAggregator } from "../../../typechain-types/index.js";
import { DEFAULT_MARKET_PARAMS } from "../../../deploy/defaults.js";
import { ArbitrageBot } from "../arbitrage.js";
import { ClaimsKeeper } from "../claims-keeper.js";
import { deployCore, deployMarket, deployOracle, type System } from "../deploy.js";
import { toWad } from "../fixed.js";
import { FundingKeeper } from "../funding-keeper.js";
import type { Logger } from "../keeper/logger.js";
import { LiquidationKeeper } from "../liquidation-keeper.js";
import { accountAddress, type Clock, type Connection } from "./clock.js";
import type { CurveName } from "./curve.js";
import { ASSETS, type PricePaths } from "./prices.js";
import type { Random } from "./random.js";

export const USDC = 10n ** 6n;
export const QUOTE_RESERVE = 2_000_000;
const FUNDING_INTERVAL = 1_800;
const LEVERAGES = [1, 2, 3, 3, 5, 5, 8, 10];

export interface Market {
  symbol: string;
  amm: Amm;
  address: string;
  aggregator: MockAggregator;
}

export interface Trader {
  signer: HardhatEthersSigner;
  leverage: number;
  /** Chance to follow the last step's move rather than fade it. */
  momentum: number;
}

/** What every step works on. */
export interface World {
  ethers: HardhatEthers;
  provider: Connection["provider"];
  opts: { seed: string; steps: number; traders: number; stepSeconds: number; curve: CurveName };
  paths: PricePaths;
  /** The traders' random draws (their accounts, then their actions). */
  traderRandom: Random;
  clock: Clock;
  /** The first step's time. */
  start: number;
  logger: (name: string) => Logger;
  system: System;
  markets: Market[];
}

export interface Accounts {
  staker: HardhatEthersSigner;
  traders: Trader[];
  arbitrageur: HardhatEthersSigner;
  fundingKeeper: HardhatEthersSigner;
  liquidator: HardhatEthersSigner;
  claimsKeeper: HardhatEthersSigner;
  /** Everyone who may hold collateral in the Vault. */
  all: HardhatEthersSigner[];
  /** Token units staked in the insurance fund, and deposited into it and the Vault in all. */
  stake: bigint;
  deposits: bigint;
}

export interface Bots {
  fundingKeeper: FundingKeeper;
  liquidationKeeper: LiquidationKeeper;
  /** Pays each market's queued claims once its pool holds more than its locked margin. */
  claimsKeeper: ClaimsKeeper;
  arbitrage: ArbitrageBot;
  /** The block the bots (and the event count) start after. */
  startBlock: number;
}

/** Deploys the protocol with `marketCount` markets, each with its mock Chainlink feed. */
export async function setupMarkets(
  ethers: HardhatEthers,
  marketCount: number,
): Promise<Pick<World, "system" | "markets">> {
  const system: System = await deployCore(ethers);
  const markets: Market[] = [];
  let priceFeed;
  for (let m = 0; m < marketCount; m++) {
    const asset = ASSETS[m];
    const amm = await deployMarket(ethers, system, {
      quoteReserve: toWad(QUOTE_RESERVE),
      baseReserve: toWad((QUOTE_RESERVE / asset.price).toFixed(12)),
      feeRatio: DEFAULT_MARKET_PARAMS.feeRatio,
      maxTradeRatio: toWad("0.02"),
      fluctuationLimitRatio: toWad("0.03"),
      maxOpenInterest: toWad(((QUOTE_RESERVE / asset.price) * 0.4).toFixed(12)),
    });
    const oracle = await deployOracle(ethers, system, amm, {
      symbol: asset.symbol,
      price: toWad(asset.price.toFixed(8)),
      priceFeed,
    });
    priceFeed = oracle.priceFeed;
    markets.push({ symbol: asset.symbol, amm, address: await amm.getAddress(), aggregator: oracle.aggregator });
  }
  return { system, markets };
}

/** The account of `label` (see accountAddress), impersonated, with 100 ether for gas. */
export async function impersonate(
  world: Pick<World, "ethers" | "provider">,
  label: string,
): Promise<HardhatEthersSigner> {
  const address = accountAddress(label);
  await world.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await world.provider.request({ method: "hardhat_setBalance", params: [address, "0x56bc75e2d63100000"] });
  return world.ethers.getSigner(address);
}

/**
 * Impersonated accounts with ether for gas: a staker puts 50,000 in the insurance fund, each trader
 * deposits a random 2,000..20,000 into the Vault, the arbitrageur 1,000,000; the keepers hold none
 * (the claims keeper's payClaims is permissionless: it needs gas only).
 */
export async function fundAccounts(world: World): Promise<Accounts> {
  const { system, traderRandom } = world;
  const vaultAddress = await system.vault.getAddress();
  const account = (label: string) => impersonate(world, label);
  let deposits = 0n;
  const fund = async (signer: HardhatEthersSigner, amount: bigint): Promise<void> => {
    await (await system.usdc.mint(signer.address, amount)).wait();
    await (await system.usdc.connect(signer).approve(vaultAddress, amount)).wait();
    await (await system.vault.connect(signer).deposit(amount)).wait();
    deposits += amount;
  };

  const staker = await account("staker");
  const stake = 50_000n * USDC;
  await (await system.usdc.mint(staker.address, stake)).wait();
  await (await system.usdc.connect(staker).approve(await system.insuranceFund.getAddress(), stake)).wait();
  await (await system.insuranceFund.connect(staker).deposit(stake, staker.address)).wait();
  deposits += stake;

  const traders: Trader[] = [];
  for (let i = 0; i < world.opts.traders; i++) {
    const signer = await account(`trader-${i}`);
    await fund(signer, BigInt(Math.round(traderRandom.uniform(2_000, 20_000))) * USDC);
    traders.push({ signer, leverage: traderRandom.pick(LEVERAGES), momentum: traderRandom.uniform(0.3, 0.8) });
  }
  const arbitrageur = await account("arbitrageur");
  await fund(arbitrageur, 1_000_000n * USDC);
  const fundingKeeper = await account("funding-keeper");
  const liquidator = await account("liquidator");
  const claimsKeeper = await account("claims-keeper");
  const all = [
    system.owner,
    staker,
    ...traders.map((t) => t.signer),
    arbitrageur,
    fundingKeeper,
    liquidator,
    claimsKeeper,
  ];
  return { staker, traders, arbitrageur, fundingKeeper, liquidator, claimsKeeper, all, stake, deposits };
}

/** The funding, liquidation and claims keepers and the arbitrage bot, started from the current block. */
export async function startBots(world: World, accounts: Accounts): Promise<Bots> {
  const { ethers, system, markets, logger, opts } = world;
  const startBlock = await ethers.provider.getBlockNumber();
  const common = {
    clearingHouse: await system.clearingHouse.getAddress(),
    markets: markets.map((m) => m.address),
    startBlock,
    logBlockRange: 5_000,
    maxRetries: 0,
    retryDelayMs: 250,
    txTimeoutSeconds: 600,
  };
  const fundingKeeper = new FundingKeeper({
    signer: accounts.fundingKeeper,
    logger: logger("funding"),
    config: { ...common, intervalSeconds: FUNDING_INTERVAL, pollSeconds: opts.stepSeconds },
  });
  const liquidationKeeper = new LiquidationKeeper({
    signer: accounts.liquidator,
    logger: logger("liquidation"),
    config: {
      ...common,
      viewer: await system.viewer.getAddress(),
      batchSize: 250,
      cooldownSeconds: 60,
      slippageBps: 300,
      pollSeconds: opts.stepSeconds,
    },
  });
  const claimsKeeper = new ClaimsKeeper({
    signer: accounts.claimsKeeper,
    logger: logger("claims"),
    config: { ...common, claimsPerTx: 20, pollSeconds: opts.stepSeconds },
  });
  const arbitrage = new ArbitrageBot({
    signer: accounts.arbitrageur,
    logger: logger("arbitrage"),
    config: {
      ...common,
      leverage: 3,
      maxPositionNotional: 500_000,
      minProfit: 5,
      horizonSeconds: 3_600,
      slippageBps: 100,
      maxTradesPerTick: 3,
    },
  });
  await fundingKeeper.start();
  await liquidationKeeper.start();
  await claimsKeeper.start();
  await arbitrage.start();
  return { fundingKeeper, liquidationKeeper, claimsKeeper, arbitrage, startBlock };
}
