/**
 * The Ignition modules in deploy/, deployed exactly as deploy/README.md says: the local system
 * (mocks, core, the ETH and BTC markets) with deploy/parameters/local.json on the embedded network
 * and with opLocal.json on `opLocal` (OP Stack simulated), and the live-network System module (the
 * one deployed to Optimism) on `opLocal` with optimism.json, its external addresses pointed at
 * mocks. Each deployment's wiring is checked against its parameter file, a trade goes round trip
 * through it, and a second deployment with a journal (as on every non-embedded network) sends
 * nothing, adds only what is new, and refuses a changed parameter.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { HardhatArtifactResolver, readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import {
  deploy,
  DeploymentResultType,
  isFuture,
  isModuleParameterRuntimeValue,
  type DeploymentParameters,
  type IgnitionModule,
} from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import { getAddress } from "ethers";
import { artifacts, network } from "hardhat";
import type { EIP1193Provider } from "hardhat/types/providers";
import { MAX_DEADLINE } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import type {
  Amm,
  ChainlinkPriceFeed,
  ClearingHouse,
  ClearingHouseViewer,
  InsuranceFund,
  MockAggregator,
  MockERC20,
  Vault,
} from "../../typechain-types/index.js";
import { CURVE_PARAM_NAMES, parameterDefault } from "../../deploy/defaults.js";
import CoreModule, { ZERO_ADDRESS } from "../../deploy/modules/Core.js";
import LocalMocksModule, {
  SEQUENCER_FEED_DECIMALS,
  USD_FEED_DECIMALS,
  USDC_DECIMALS,
} from "../../deploy/modules/LocalMocks.js";
import LocalSystemModule, { LocalEthMarketModule, LOCAL_MARKETS } from "../../deploy/modules/LocalSystem.js";
import EthMarketModule, { assetKey, buildMarketModule } from "../../deploy/modules/Market.js";
import SystemModule from "../../deploy/modules/System.js";
import SystemWithoutSequencerModule from "../../deploy/modules/SystemWithoutSequencer.js";
import { expectMatchesModel, expectPositionChanged, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { LONG, SHORT, SystemModel, type SideValue, type TradeResult } from "./helpers/model.js";

const parameterFile = (name: string) => fileURLToPath(new URL(`../../deploy/parameters/${name}`, import.meta.url));
const PARAMETER_FILES = {
  local: parameterFile("local.json"),
  opLocal: parameterFile("opLocal.json"),
  optimismSepolia: parameterFile("optimismSepolia.json"),
  optimism: parameterFile("optimism.json"),
} as const;

/** The parameter files as Ignition reads them ("123n" strings become bigints). */
const files: Record<keyof typeof PARAMETER_FILES, DeploymentParameters> = {
  local: await readDeploymentParameters(PARAMETER_FILES.local),
  opLocal: await readDeploymentParameters(PARAMETER_FILES.opLocal),
  optimismSepolia: await readDeploymentParameters(PARAMETER_FILES.optimismSepolia),
  optimism: await readDeploymentParameters(PARAMETER_FILES.optimism),
};

/** A bigint parameter of a parameter file, or its default (deploy/defaults.ts) when the file leaves it out. */
function bigintParameter(parameters: DeploymentParameters, moduleId: string, name: string): bigint {
  const value = parameters[moduleId]?.[name] ?? parameterDefault(moduleId, name);
  if (typeof value !== "bigint") throw new Error(`${moduleId}.${name} is not a bigint: ${String(value)}`);
  return value;
}

/** An address parameter of a parameter file. */
function addressParameter(parameters: DeploymentParameters, moduleId: string, name: string): string {
  const value = parameters[moduleId]?.[name];
  if (typeof value !== "string") throw new Error(`${moduleId}.${name} is not a string: ${String(value)}`);
  return value;
}

/** The error a promise rejects with (chai-as-promised is not registered). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Every parameter a module graph reads, as "ModuleId.name", and whether it has a default. */
function declaredParameters(root: IgnitionModule): Map<string, { required: boolean }> {
  const names = new Map<string, { required: boolean }>();
  const visited = new Set<unknown>();
  const collect = (value: unknown): void => {
    if (value === null || typeof value !== "object" || visited.has(value)) return;
    visited.add(value);
    if (isModuleParameterRuntimeValue(value)) {
      names.set(`${value.moduleId}.${value.name}`, { required: value.defaultValue === undefined });
    } else if (isFuture(value)) {
      // Another future: its own parameters are collected with its module.
    } else {
      Object.values(value).forEach(collect);
    }
  };
  const modules = new Set<IgnitionModule>();
  const walk = (m: IgnitionModule): void => {
    if (modules.has(m)) return;
    modules.add(m);
    for (const future of m.futures) {
      const fields = future as unknown as Record<string, unknown>;
      for (const key of ["constructorArgs", "args", "value", "address", "from", "to", "data"]) collect(fields[key]);
    }
    m.submodules.forEach(walk);
  };
  walk(root);
  return names;
}

/** The deployed system, typed; the mocks are there only on the local system. */
interface Deployed {
  clearingHouse: ClearingHouse;
  vault: Vault;
  priceFeed: ChainlinkPriceFeed;
  insuranceFund: InsuranceFund;
  viewer: ClearingHouseViewer;
  amms: Record<string, Amm>;
  usdc: MockERC20;
  feeds: Record<string, MockAggregator>;
  /** The sequencer uptime feed; none on a chain without one (the ClearingHouse then checks nothing). */
  sequencerFeed: MockAggregator | undefined;
}

type Connection = Awaited<ReturnType<typeof network.create>>;

/** Deploys LocalSystem through Ignition with a parameter file, as the README's command does. */
async function deployLocal(connection: Connection, parameters: string | DeploymentParameters): Promise<Deployed> {
  const d = await connection.ignition.deploy(LocalSystemModule, { parameters });
  return {
    clearingHouse: d.clearingHouse as unknown as ClearingHouse,
    vault: d.vault as unknown as Vault,
    priceFeed: d.priceFeed as unknown as ChainlinkPriceFeed,
    insuranceFund: d.insuranceFund as unknown as InsuranceFund,
    viewer: d.viewer as unknown as ClearingHouseViewer,
    amms: { ETH: d.ethAmm as unknown as Amm, BTC: d.btcAmm as unknown as Amm },
    usdc: d.usdc as unknown as MockERC20,
    feeds: { ETH: d.ethUsdFeed as unknown as MockAggregator, BTC: d.btcUsdFeed as unknown as MockAggregator },
    sequencerFeed: d.sequencerFeed as unknown as MockAggregator,
  };
}

/**
 * Deploys a live-network system module (System, or SystemWithoutSequencer when the file has no
 * sequencer feed) with a live parameter file whose external addresses (USDC, the Chainlink
 * aggregators, the sequencer uptime feed) are replaced by fresh mocks: the same module and the
 * same market parameters as on Optimism.
 */
async function deployLiveWithMocks(connection: Connection, liveParameters: DeploymentParameters): Promise<Deployed> {
  const withSequencer = liveParameters.Core?.sequencerFeed !== undefined;
  const mocks = await connection.ignition.deploy(LocalMocksModule, {
    parameters: { LocalMocks: { ethUsdAnswer: 3_000n * 10n ** 8n, btcUsdAnswer: 60_000n * 10n ** 8n } },
  });
  const latest = await connection.ethers.provider.getBlock("latest");
  for (const feed of [mocks.ethUsdFeed, mocks.btcUsdFeed]) {
    const [, answer] = await feed.latestRoundData();
    await (await feed.setAnswer(answer, latest!.timestamp)).wait();
  }
  const parameters: DeploymentParameters = {
    ...liveParameters,
    Core: {
      ...liveParameters.Core,
      collateralToken: await mocks.usdc.getAddress(),
      ...(withSequencer ? { sequencerFeed: await mocks.sequencerFeed.getAddress() } : {}),
    },
    Market_ETH: { ...liveParameters.Market_ETH, feed: await mocks.ethUsdFeed.getAddress() },
    Market_BTC: { ...liveParameters.Market_BTC, feed: await mocks.btcUsdFeed.getAddress() },
  };
  const d = await connection.ignition.deploy(withSequencer ? SystemModule : SystemWithoutSequencerModule, {
    parameters,
  });
  return {
    clearingHouse: d.clearingHouse as unknown as ClearingHouse,
    vault: d.vault as unknown as Vault,
    priceFeed: d.priceFeed as unknown as ChainlinkPriceFeed,
    insuranceFund: d.insuranceFund as unknown as InsuranceFund,
    viewer: d.viewer as unknown as ClearingHouseViewer,
    amms: { ETH: d.ethAmm as unknown as Amm, BTC: d.btcAmm as unknown as Amm },
    usdc: mocks.usdc as unknown as MockERC20,
    feeds: { ETH: mocks.ethUsdFeed as unknown as MockAggregator, BTC: mocks.btcUsdFeed as unknown as MockAggregator },
    sequencerFeed: withSequencer ? (mocks.sequencerFeed as unknown as MockAggregator) : undefined,
  };
}

/** The wiring of a deployed system against the parameter file it was deployed with. */
function describeWiring(
  getConnection: () => Connection,
  getSystem: () => Promise<Deployed>,
  parameters: DeploymentParameters,
  options: { local: boolean },
) {
  const core = (name: string) => bigintParameter(parameters, "Core", name);

  it("links the ClearingHouse, the Vault, the insurance fund and the viewer to each other", async function () {
    const { clearingHouse, vault, insuranceFund, viewer, priceFeed, usdc } = await getSystem();
    const chAddress = await clearingHouse.getAddress();
    expect(await vault.clearingHouse()).to.equal(chAddress);
    expect(await clearingHouse.vault()).to.equal(await vault.getAddress());
    expect(await vault.insuranceFund()).to.equal(await insuranceFund.getAddress());
    expect(await insuranceFund.vault()).to.equal(await vault.getAddress());
    expect(await viewer.clearingHouse()).to.equal(chAddress);
    expect(await vault.collateralToken()).to.equal(await usdc.getAddress());
    expect(await insuranceFund.asset()).to.equal(await usdc.getAddress());
    expect(await clearingHouse.paused()).to.equal(false);
    const [usdcDecimals, shareName] = await Promise.all([usdc.decimals(), insuranceFund.name()]);
    expect([usdcDecimals, shareName]).to.deep.equal([BigInt(USDC_DECIMALS), "Staked vAMM insurance"]);
  });

  it("sets the liquidation rules, the sequencer feed and its grace period from the file", async function () {
    const { clearingHouse, viewer, sequencerFeed } = await getSystem();
    const p = await clearingHouse.getLiquidationParams();
    expect([p.feeRatio, p.partialBuffer, p.maxSpreadRatio, p.markTwapInterval, p.minPositionNotional]).to.deep.equal([
      core("liquidationFeeRatio"),
      core("partialLiquidationBuffer"),
      core("maxSpreadRatio"),
      core("markTwapInterval"),
      core("minPositionNotional"),
    ]);
    expect(await clearingHouse.sequencerGracePeriod()).to.equal(core("sequencerGracePeriod"));
    expect(await viewer.isSequencerUp()).to.equal(true);
    if (sequencerFeed === undefined) {
      // No sequencer feed: the ClearingHouse makes no check at all.
      expect(await clearingHouse.sequencerFeed()).to.equal(ZERO_ADDRESS);
    } else {
      expect(await sequencerFeed.decimals()).to.equal(BigInt(SEQUENCER_FEED_DECIMALS));
      expect(await clearingHouse.sequencerFeed()).to.equal(await sequencerFeed.getAddress());
    }
  });

  it("makes account 0 the owner of every owned contract", async function () {
    const { clearingHouse, priceFeed, insuranceFund, amms } = await getSystem();
    const [deployer] = await getConnection().ethers.getSigners();
    for (const contract of [clearingHouse, priceFeed, insuranceFund, ...Object.values(amms)]) {
      expect(await contract.owner()).to.equal(deployer.address);
    }
  });

  for (const symbol of LOCAL_MARKETS) {
    const market = (name: string) => bigintParameter(parameters, `Market_${symbol}`, name);

    it(`${symbol}: lists the Amm with the file's reserves, limits, margin, fee and funding parameters`, async function () {
      const { clearingHouse, amms } = await getSystem();
      const amm = amms[symbol];
      const address = await amm.getAddress();
      expect(await clearingHouse.isMarketListed(address)).to.equal(true);
      expect(await amm.clearingHouse()).to.equal(await clearingHouse.getAddress());
      expect(await amm.getReserves()).to.deep.equal([market("quoteReserve"), market("baseReserve")]);
      const limits = await amm.getLimits();
      expect([limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest]).to.deep.equal([
        market("maxTradeRatio"),
        market("fluctuationLimitRatio"),
        market("maxOpenInterest"),
      ]);
      const params = await clearingHouse.getMarketParams(address);
      expect([params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio]).to.deep.equal([
        market("initialMarginRatio"),
        market("maintenanceMarginRatio"),
        market("feeRatio"),
      ]);
      const { params: funding } = await amm.getFundingState();
      expect([funding.maxPremiumRatio, funding.minUpdateInterval, funding.maxAccrualPeriod]).to.deep.equal([
        market("maxPremiumRatio"),
        market("minUpdateInterval"),
        market("maxAccrualPeriod"),
      ]);
      expect(await amm.getIndexBand()).to.equal(market("indexBandRatio"));
      expect(await amm.getIndexBand()).to.equal(toWad("0.03"));
      expect(await amm.getFundingSubsidyRatio()).to.equal(market("maxFundingSubsidyRatio"));
      expect(await amm.getFundingSubsidyRatio()).to.equal(toWad("0.01"));
      expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
    });

    it(`${symbol}: sets the file's dynamic curve and, on the local system, seeds its budget`, async function () {
      const { amms } = await getSystem();
      const amm = amms[symbol];
      const curve = await amm.getCurveParams();
      expect(Object.fromEntries(CURVE_PARAM_NAMES.map((name) => [name, curve[name]]))).to.deep.equal(
        Object.fromEntries(CURVE_PARAM_NAMES.map((name) => [name, market(name)])),
      );
      // Every file turns the curve on (its values are argued in deploy/README.md).
      expect(curve.repegThresholdRatio).to.equal(toWad("0.005"));
      const state = await amm.getCurveState();
      const seed = options.local ? market("budgetSeed") : 0n;
      expect([state.peg, state.depth, state.budget, state.netPosition]).to.deep.equal([toWad(1), toWad(1), seed, 0n]);
      if (options.local) {
        expect(seed).to.equal(market("budgetTarget"));
        // LocalBudgetFunds deposited exactly the seeds: account 0 keeps no free collateral.
        const [deployer] = await getConnection().ethers.getSigners();
        expect(await (await getSystem()).vault.freeCollateral(deployer.address)).to.equal(0n);
      }
    });

    it(`${symbol}: registers its aggregator in the price feed with the file's heartbeat and bounds`, async function () {
      const { amms, priceFeed, feeds } = await getSystem();
      const [oracle, asset] = await amms[symbol].getOracle();
      expect([oracle, asset]).to.deep.equal([await priceFeed.getAddress(), assetKey(symbol)]);
      const config = await priceFeed.getAssetConfig(assetKey(symbol));
      expect(config.feed).to.equal(await feeds[symbol].getAddress());
      expect([config.heartbeat, config.feedDecimals, config.minPrice, config.maxPrice]).to.deep.equal([
        market("heartbeat"),
        BigInt(USD_FEED_DECIMALS),
        market("minPrice"),
        market("maxPrice"),
      ]);
      // The index is valid right after the deployment, and agrees with the pool's initial price.
      const [, answer] = await feeds[symbol].latestRoundData();
      const price = answer * 10n ** BigInt(18 - USD_FEED_DECIMALS);
      expect(await priceFeed.getPrice(assetKey(symbol))).to.equal(price);
      if (options.local) expect(await amms[symbol].getSpotPrice()).to.equal(price);
    });
  }

  if (options.local) {
    it("deploys the mocks: 6-decimal USDC with an open faucet, 8-decimal aggregators at the file's answers", async function () {
      const { usdc, feeds } = await getSystem();
      const [, stranger] = await getConnection().ethers.getSigners();
      expect([await usdc.name(), await usdc.symbol()]).to.deep.equal(["USD Coin", "USDC"]);
      await (await usdc.connect(stranger).mint(stranger.address, USDC(1_000))).wait();
      expect(await usdc.balanceOf(stranger.address)).to.equal(USDC(1_000));
      for (const [symbol, name] of [
        ["ETH", "ethUsdAnswer"],
        ["BTC", "btcUsdAnswer"],
      ] as const) {
        const [roundId, answer] = await feeds[symbol].latestRoundData();
        // Round 1 from LocalMocks, round 2 published again at the market's deployment time.
        expect([roundId, answer]).to.deep.equal([2n, bigintParameter(parameters, "LocalMocks", name)]);
      }
    });
  }

  for (const [symbol, side] of [
    ["ETH", LONG],
    ["BTC", SHORT],
  ] as const) {
    it(`${symbol}: deposit, open a ${side === LONG ? "long" : "short"}, close it and withdraw, exactly as the model says`, async function () {
      await tradeRoundTrip(getConnection().ethers, await getSystem(), parameters, symbol, side);
    });
  }
}

/**
 * One trader's round trip through `symbol`, every step checked against the bigint model, with the
 * file's dynamic curve on: the markets' budgets (the local seeds; on a live network, where nothing
 * is seeded, a contribution first, without which the vAMM leverage bound refuses the first
 * imbalance) are locked money in their pools, and each trade's spread (the Amm's own
 * `previewSpreadFee`) is paid like the fee into the budget.
 */
async function tradeRoundTrip(
  ethers: HardhatEthers,
  system: Deployed,
  parameters: DeploymentParameters,
  symbol: string,
  side: SideValue,
) {
  const { usdc, vault, clearingHouse } = system;
  const ammContract = system.amms[symbol];
  const market = (name: string) => bigintParameter(parameters, `Market_${symbol}`, name);
  const [deployer, trader, funder] = await ethers.getSigners();
  const amm = await ammContract.getAddress();
  const model = new SystemModel();
  let contributed = 0n;
  // Every market's pool counts in the Vault's margin pool: the model holds both, with their budgets.
  for (const s of LOCAL_MARKETS) {
    const contract = system.amms[s];
    const [quoteReserve, baseReserve] = await contract.getReserves();
    const key = await contract.getAddress();
    model.addMarket(key, quoteReserve, baseReserve, {
      initialMarginRatio: bigintParameter(parameters, `Market_${s}`, "initialMarginRatio"),
      maintenanceMarginRatio: bigintParameter(parameters, `Market_${s}`, "maintenanceMarginRatio"),
      feeRatio: bigintParameter(parameters, `Market_${s}`, "feeRatio"),
    });
    // ClearingHouse.contributeToBudget: free collateral into the pool, locked.
    const { budget } = await contract.getCurveState();
    model.deposit(deployer.address, budget);
    model.settle(deployer.address, key, -budget, 0n, budget);
    contributed += budget;
  }
  const contracts = { vault, clearingHouse, amms: [ammContract] };

  const deposit = USDC(10_000);
  await (await usdc.mint(trader.address, deposit)).wait();
  await (await usdc.connect(trader).approve(await vault.getAddress(), deposit)).wait();
  await (await vault.connect(trader).deposit(deposit)).wait();
  model.deposit(trader.address, deposit * USDC_SCALE);

  // 1,000 margin at 5x: 5,000 notional, a fee of 5 at the files' 0.1%.
  const margin = toWad(1_000);
  const leverage = toWad(5);
  if ((await ammContract.getCurveState()).budget === 0n) {
    // Nothing backs an imbalance yet (no budget, an empty insurance fund): the bound refuses it.
    await expect(
      clearingHouse.connect(trader).openPosition(amm, side, margin, leverage, 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(ammContract, "VammLeverageExceeded");
    const target = market("budgetTarget");
    await (await usdc.mint(funder.address, target / USDC_SCALE)).wait();
    await (await usdc.connect(funder).approve(await vault.getAddress(), target / USDC_SCALE)).wait();
    await (await vault.connect(funder).deposit(target / USDC_SCALE)).wait();
    await (await clearingHouse.connect(funder).contributeToBudget(amm, target)).wait();
    model.deposit(funder.address, target);
    model.settle(funder.address, amm, -target, 0n, target);
    contributed += target;
  }
  const budgetBefore = (await ammContract.getCurveState()).budget;
  const preview = model.clone().open(trader.address, amm, side, margin, leverage);
  const openSpread = await ammContract.previewSpreadFee(preview.baseDelta, preview.quoteAmount);
  expect(openSpread, "the file's spread is on").to.be.greaterThan(0n);
  const opened = withSpread(model.open(trader.address, amm, side, margin, leverage), openSpread);
  model.settle(trader.address, amm, -openSpread, 0n, openSpread);
  await expectPositionChanged(
    clearingHouse.connect(trader).openPosition(amm, side, margin, leverage, 0n, MAX_DEADLINE),
    clearingHouse,
    trader.address,
    amm,
    opened,
  );
  await expectMatchesModel(model, contracts, [trader.address]);
  expect((await ammContract.getOpenInterest())[side]).to.equal(opened.size < 0n ? -opened.size : opened.size);
  expect((await ammContract.getCurveState()).budget).to.equal(budgetBefore + openSpread);

  const closing = model.clone().close(trader.address, amm);
  const closeSpread = await ammContract.previewSpreadFee(closing.baseDelta, closing.quoteAmount);
  const closed = withSpread(model.close(trader.address, amm), closeSpread);
  model.settle(trader.address, amm, -closeSpread, 0n, closeSpread);
  await expectPositionChanged(
    clearingHouse.connect(trader).closePosition(amm, 0n, MAX_DEADLINE),
    clearingHouse,
    trader.address,
    amm,
    closed,
  );
  await expectMatchesModel(model, contracts, [trader.address]);
  expect((await clearingHouse.getPosition(amm, trader.address)).size).to.equal(0n);
  expect((await ammContract.getCurveState()).budget).to.equal(budgetBefore + openSpread + closeSpread);

  // Nothing was created or lost: the ledger holds the deposit and every budget contribution.
  expect(model.ledgerTotal()).to.equal(deposit * USDC_SCALE + contributed);

  const balance = await vault.balanceOf(trader.address);
  expect(balance).to.be.greaterThan(deposit - USDC(15)); // two fees of about 5, two spreads of about 1.25, dust
  await (await vault.connect(trader).withdraw(balance)).wait();
  expect(await usdc.balanceOf(trader.address)).to.equal(balance);
  // The Vault still holds every other claim: the fees (the insurance fund's), the budgets (the markets' pools).
  expect(await usdc.balanceOf(await vault.getAddress())).to.equal(deposit - balance + contributed / USDC_SCALE);
}

/** A trade's result with its spread paid like the fee: in the event's fee, out of what the trader receives. */
function withSpread(r: TradeResult, spread: bigint): TradeResult {
  return { ...r, fee: r.fee + spread, freeCollateralDelta: r.freeCollateralDelta - spread };
}

/**
 * Deploys `module` with Ignition's own `deploy` and a journal in `deploymentDir`, as
 * `hardhat ignition deploy` does on every network that is not the embedded one.
 */
function journalledDeploy(
  provider: EIP1193Provider,
  deploymentDir: string,
  module: IgnitionModule,
  deploymentParameters: DeploymentParameters,
  accounts: string[],
) {
  return deploy({
    artifactResolver: new HardhatArtifactResolver(artifacts),
    provider,
    deploymentDir,
    ignitionModule: module,
    deploymentParameters,
    accounts,
  });
}

async function withJournal<T>(run: (deploymentDir: string) => Promise<T>): Promise<T> {
  const deploymentDir = await mkdtemp(path.join(tmpdir(), "vamm-ignition-"));
  try {
    return await run(deploymentDir);
  } finally {
    await rm(deploymentDir, { recursive: true, force: true });
  }
}

/** What a second deployment does, on `connection`, with `parameters` (the network's file). */
function describeRedeploy(getConnection: () => Connection, parameters: DeploymentParameters) {
  const accountsOf = async (c: Connection) => (await c.provider.request({ method: "eth_accounts" })) as string[];

  it("with a journal, as on a live network, a second deployment sends nothing and returns the same addresses", async function () {
    const c = getConnection();
    const accounts = await accountsOf(c);
    await withJournal(async (dir) => {
      const first = await journalledDeploy(c.provider, dir, LocalSystemModule, parameters, accounts);
      expect(first.type).to.equal(DeploymentResultType.SUCCESSFUL_DEPLOYMENT);
      const blockAfterFirst = await c.ethers.provider.getBlockNumber();
      const second = await journalledDeploy(c.provider, dir, LocalSystemModule, parameters, accounts);
      expect(second).to.deep.equal(first);
      expect(await c.ethers.provider.getBlockNumber()).to.equal(blockAfterFirst);
    });
  });

  it("adding a market to a deployed system sends only that market's transactions", async function () {
    const c = getConnection();
    const accounts = await accountsOf(c);
    await withJournal(async (dir) => {
      // First the mocks, the core and ETH; then the whole local system (BTC added) on the same journal.
      const first = await journalledDeploy(c.provider, dir, LocalEthMarketModule, parameters, accounts);
      if (first.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) throw new Error(first.type);
      const blockAfterFirst = await c.ethers.provider.getBlockNumber();
      const second = await journalledDeploy(c.provider, dir, LocalSystemModule, parameters, accounts);
      if (second.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) throw new Error(second.type);
      for (const [id, contract] of Object.entries(first.contracts)) {
        expect(second.contracts[id]?.address, id).to.equal(contract.address);
      }
      expect(second.contracts["Market_BTC#Amm"].address).to.not.equal(first.contracts["Market_ETH#Amm"].address);
      // The BTC Amm, setAsset, setOracle, setFundingParams, setIndexBand, setFundingSubsidyRatio,
      // setCurveParams, addMarket, contributeToBudget (its seed, from the funds the first run
      // deposited), and the two answers published again at deployment time: one transaction a block.
      expect((await c.ethers.provider.getBlockNumber()) - blockAfterFirst).to.equal(11);
    });
  });

  it("a changed parameter of something already deployed is refused, not redeployed", async function () {
    const c = getConnection();
    const accounts = await accountsOf(c);
    await withJournal(async (dir) => {
      await journalledDeploy(c.provider, dir, LocalSystemModule, parameters, accounts);
      const blockAfterFirst = await c.ethers.provider.getBlockNumber();
      const changed = {
        ...parameters,
        Market_ETH: {
          ...parameters.Market_ETH,
          quoteReserve: bigintParameter(parameters, "Market_ETH", "quoteReserve") * 2n,
        },
      };
      const second = await journalledDeploy(c.provider, dir, LocalSystemModule, changed, accounts);
      expect(second.type).to.equal(DeploymentResultType.RECONCILIATION_ERROR);
      expect(JSON.stringify(second)).to.include("Market_ETH#Amm");
      expect(await c.ethers.provider.getBlockNumber()).to.equal(blockAfterFirst);
    });
  });
}

describe("Ignition deployment (deploy/)", function () {
  describe("parameter files", function () {
    it('local.json: the "123n" strings are read as exact bigints', function () {
      const eth = (name: string) => bigintParameter(files.local, "Market_ETH", name);
      const btc = (name: string) => bigintParameter(files.local, "Market_BTC", name);
      expect(eth("quoteReserve")).to.equal(toWad(3_000_000));
      expect(eth("baseReserve")).to.equal(toWad(1_000));
      expect(btc("quoteReserve")).to.equal(toWad(6_000_000));
      expect(btc("baseReserve")).to.equal(toWad(100));
      expect(eth("maxTradeRatio")).to.equal(toWad("0.1"));
      expect(eth("fluctuationLimitRatio")).to.equal(toWad("0.05"));
      expect(eth("maxOpenInterest")).to.equal(toWad(9)); // 0.9% of the base reserve: see CapsVsMargins
      expect(eth("initialMarginRatio")).to.equal(toWad("0.1"));
      expect(eth("maintenanceMarginRatio")).to.equal(toWad("0.0625"));
      expect(eth("feeRatio")).to.equal(toWad("0.001"));
      expect(eth("heartbeat")).to.equal(86_400n);
      expect(eth("minPrice")).to.equal(toWad(10));
      // 8 decimals, as Chainlink's USD feeds answer: 3,000 and 60,000 USD, the pools' prices.
      expect(bigintParameter(files.local, "LocalMocks", "ethUsdAnswer")).to.equal(3_000n * 10n ** 8n);
      expect(bigintParameter(files.local, "LocalMocks", "btcUsdAnswer")).to.equal(60_000n * 10n ** 8n);
    });

    it("every file states only what differs from deploy/defaults.ts", function () {
      for (const [name, parameters] of Object.entries(files)) {
        for (const [moduleId, values] of Object.entries(parameters)) {
          for (const [key, value] of Object.entries(values)) {
            const fallback = parameterDefault(moduleId, key);
            expect(
              fallback === undefined || value !== fallback,
              `${name}.json: ${moduleId}.${key} restates its default`,
            ).to.equal(true);
          }
        }
      }
    });

    for (const [name, module] of [
      ["local", LocalSystemModule],
      ["opLocal", LocalSystemModule],
      ["optimismSepolia", SystemWithoutSequencerModule],
      ["optimism", SystemModule],
    ] as const) {
      it(`${name}.json: every key is a parameter of ${module.id} and every required one is there`, function () {
        // Ignition ignores keys no module reads: a misspelt optional parameter silently keeps its default.
        const parameters = files[name];
        const declared = declaredParameters(module);
        for (const [moduleId, values] of Object.entries(parameters)) {
          for (const key of Object.keys(values)) expect([...declared.keys()], name).to.include(`${moduleId}.${key}`);
        }
        for (const [key, { required }] of declared) {
          if (!required) continue;
          const [moduleId, parameter] = key.split(".");
          const value = parameters[moduleId]?.[parameter];
          // (Not `.to.not.equal(undefined)`: the bigint-aware chai matchers refuse to compare with undefined.)
          expect(value === undefined || value === null, `${name}.json: ${key} is missing`).to.equal(false);
        }
      });
    }

    for (const name of ["optimismSepolia", "optimism"] as const) {
      it(`${name}.json: the external addresses are well-formed checksummed addresses`, function () {
        const parameters = files[name];
        const addresses = [
          addressParameter(parameters, "Core", "collateralToken"),
          addressParameter(parameters, "Market_ETH", "feed"),
          addressParameter(parameters, "Market_BTC", "feed"),
          ...(name === "optimism" ? [addressParameter(parameters, "Core", "sequencerFeed")] : []),
        ];
        for (const address of addresses) expect(getAddress(address)).to.equal(address);
        expect(addresses[0]).to.not.equal(ZERO_ADDRESS);
        expect(addresses[1]).to.not.equal(addresses[2]);
      });
    }

    it("optimism.json checks the sequencer and accepts Chainlink's OP heartbeat (1,200 s) with margin", function () {
      expect(addressParameter(files.optimism, "Core", "sequencerFeed")).to.equal(
        "0x371EAD81c9102C9BF4874A9075FFFf170F2Ee389",
      );
      for (const symbol of LOCAL_MARKETS) {
        const heartbeat = bigintParameter(files.optimism, `Market_${symbol}`, "heartbeat");
        expect(heartbeat > 1_200n && heartbeat <= 3_600n, symbol).to.equal(true);
      }
    });
  });

  for (const [label, networkName, fileName] of [
    ["LocalSystem on the embedded network, local.json", undefined, "local"],
    ["LocalSystem on opLocal (OP Stack), opLocal.json", "opLocal", "opLocal"],
  ] as const) {
    describe(label, function () {
      let connection: Connection;
      const getSystem = () =>
        connection.networkHelpers.loadFixture(async function localSystem() {
          return deployLocal(connection, PARAMETER_FILES[fileName]);
        });
      before(async function () {
        connection = await network.create(networkName === undefined ? undefined : { network: networkName });
      });
      after(async function () {
        await connection.close();
      });

      it(`runs on a ${networkName === undefined ? "generic (L1)" : "OP"} chain`, async function () {
        expect(connection.networkConfig.chainType ?? "generic").to.equal(networkName === undefined ? "generic" : "op");
      });

      describeWiring(() => connection, getSystem, files[fileName], { local: true });

      if (networkName === "opLocal") {
        it("gives its receipts the OP Stack's L1 data fee fields", async function () {
          const { usdc } = await getSystem();
          const [, someone] = await connection.ethers.getSigners();
          const tx = await usdc.connect(someone).mint(someone.address, 1n);
          const receipt = (await connection.provider.request({
            method: "eth_getTransactionReceipt",
            params: [tx.hash],
          })) as { l1Fee?: string; l1GasUsed?: string };
          // The simulated L1 fee scalars start at 0, so the fee is 0, but the calldata is priced.
          expect(receipt.l1Fee).to.be.a("string");
          expect(BigInt(receipt.l1GasUsed ?? "0")).to.be.greaterThan(0n);
        });
      }

      if (networkName === undefined) {
        it("refuses an owner other than account 0: the owner-only calls are sent from account 0 and revert", async function () {
          await getSystem();
          const [, other] = await connection.ethers.getSigners();
          const parameters = { ...files.local, Core: { ...files.local.Core, owner: other.address } };
          const error = await rejectionOf(connection.ignition.deploy(LocalSystemModule, { parameters }));
          expect(error.message).to.match(
            /Core#ClearingHouse\.(setVault|setSequencerGracePeriod)[\s\S]*OwnableUnauthorizedAccount/,
          );
        });

        it("ignition.deploy on the embedded network keeps no journal: a second deploy is a fresh system", async function () {
          // Ignition gives edr-simulated networks an in-memory journal per call (deploymentDir undefined),
          // so it cannot recognise a module it deployed before: this pins that, it is not a wish.
          const first = await getSystem();
          const second = await deployLocal(connection, PARAMETER_FILES.local);
          expect(await second.clearingHouse.getAddress()).to.not.equal(await first.clearingHouse.getAddress());
        });
      }

      describe("deploying again", function () {
        describeRedeploy(() => connection, files[fileName]);
      });
    });
  }

  describe("System (the Optimism module) on opLocal, optimism.json with mocks for the external contracts", function () {
    let connection: Connection;
    const getSystem = () =>
      connection.networkHelpers.loadFixture(async function liveSystem() {
        return deployLiveWithMocks(connection, files.optimism);
      });
    before(async function () {
      connection = await network.create({ network: "opLocal" });
    });
    after(async function () {
      await connection.close();
    });

    describeWiring(() => connection, getSystem, files.optimism, { local: false });

    it("refuses a file without the collateral token before sending anything", async function () {
      const { collateralToken: _, ...core } = files.optimism.Core;
      const blockBefore = await connection.ethers.provider.getBlockNumber();
      const error = await rejectionOf(
        connection.ignition.deploy(SystemModule, { parameters: { ...files.optimism, Core: core } }),
      );
      expect(error.message).to.match(/collateralToken/);
      expect(await connection.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    });

    it("refuses a market whose feed is not an aggregator (setAsset reads its decimals)", async function () {
      const { usdc } = await getSystem();
      const [, stranger] = await connection.ethers.getSigners();
      const parameters = {
        ...files.optimism,
        Core: { ...files.optimism.Core, collateralToken: await usdc.getAddress(), sequencerFeed: ZERO_ADDRESS },
        Market_ETH: { ...files.optimism.Market_ETH, feed: stranger.address },
        Market_BTC: { ...files.optimism.Market_BTC, feed: stranger.address },
      };
      const error = await rejectionOf(connection.ignition.deploy(SystemModule, { parameters }));
      expect(error.message).to.match(/PriceFeed_setAsset/);
    });
  });

  describe("SystemWithoutSequencer (the OP Sepolia module) on opLocal, optimismSepolia.json with mocks", function () {
    let connection: Connection;
    const getSystem = () =>
      connection.networkHelpers.loadFixture(async function liveSystemWithoutSequencer() {
        return deployLiveWithMocks(connection, files.optimismSepolia);
      });
    before(async function () {
      connection = await network.create({ network: "opLocal" });
    });
    after(async function () {
      await connection.close();
    });

    describeWiring(() => connection, getSystem, files.optimismSepolia, { local: false });

    it("System (with a sequencer check) refuses a file without the sequencer feed before sending anything", async function () {
      const blockBefore = await connection.ethers.provider.getBlockNumber();
      const error = await rejectionOf(connection.ignition.deploy(SystemModule, { parameters: files.optimismSepolia }));
      expect(error.message).to.match(/sequencerFeed/);
      expect(await connection.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    });
  });

  describe("module ids", function () {
    it("gives each market its own module id and rejects symbols Ignition cannot use", function () {
      expect(EthMarketModule.id).to.equal("Market_ETH");
      expect(buildMarketModule("BTC").id).to.equal("Market_BTC");
      expect(CoreModule.id).to.equal("Core");
      expect(LocalSystemModule.id).to.equal("LocalSystem");
      expect(SystemModule.id).to.equal("System");
      expect(SystemWithoutSequencerModule.id).to.equal("SystemWithoutSequencer");
      expect(assetKey("ETH")).to.equal("0x" + Buffer.from("ETH").toString("hex").padEnd(64, "0"));
      for (const bad of ["", "eth", "1INCH", "ETH-USD", "ETH/USD"]) {
        expect(() => buildMarketModule(bad), bad).to.throw(/Market symbol/);
      }
    });
  });
});
