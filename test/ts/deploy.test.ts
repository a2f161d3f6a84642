/**
 * The Ignition modules in deploy/: the local system deployed through Ignition with
 * deploy/parameters/local.json, its wiring checked against the parameter file, one trade round
 * trip through it, and what a second deployment does.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HardhatArtifactResolver, readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import {
  deploy,
  isFuture,
  isModuleParameterRuntimeValue,
  type DeploymentParameters,
  type IgnitionModule,
} from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import { artifacts, network } from "hardhat";
import { MAX_DEADLINE } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import type {
  Amm,
  ChainlinkPriceFeed,
  ClearingHouse,
  MockAggregator,
  MockERC20,
  Vault,
} from "../../typechain-types/index.js";
import CoreModule, { ZERO_ADDRESS } from "../../deploy/modules/Core.js";
import { ETH_USD_DECIMALS, USDC_DECIMALS } from "../../deploy/modules/LocalMocks.js";
import LocalSystemModule from "../../deploy/modules/LocalSystem.js";
import EthMarketModule, { buildMarketModule } from "../../deploy/modules/Market.js";
import { expectMatchesModel, expectPositionChanged, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { LONG, SystemModel } from "./helpers/model.js";

const { ethers, ignition, networkHelpers, provider } = await network.create();

const parameterFile = (name: string) => fileURLToPath(new URL(`../../deploy/parameters/${name}`, import.meta.url));
const LOCAL_PARAMETERS_FILE = parameterFile("local.json");
const OP_SEPOLIA_PARAMETERS_FILE = parameterFile("optimismSepolia.json");

/** local.json as Ignition reads it ("123n" strings become bigints). */
const localParameters: DeploymentParameters = await readDeploymentParameters(LOCAL_PARAMETERS_FILE);

/** A bigint parameter of local.json. */
function localParameter(moduleId: string, name: string): bigint {
  const value = localParameters[moduleId]?.[name];
  if (typeof value !== "bigint") throw new Error(`local.json: ${moduleId}.${name} is not a bigint: ${String(value)}`);
  return value;
}

const market = (name: string) => localParameter("Market_ETH", name);

async function deployLocalSystem() {
  const deployed = await ignition.deploy(LocalSystemModule, { parameters: LOCAL_PARAMETERS_FILE });
  return {
    usdc: deployed.usdc as unknown as MockERC20,
    ethUsdFeed: deployed.ethUsdFeed as unknown as MockAggregator,
    clearingHouse: deployed.clearingHouse as unknown as ClearingHouse,
    vault: deployed.vault as unknown as Vault,
    priceFeed: deployed.priceFeed as unknown as ChainlinkPriceFeed,
    ethAmm: deployed.ethAmm as unknown as Amm,
  };
}

type LocalSystem = Awaited<ReturnType<typeof deployLocalSystem>>;

async function addressesOf(system: LocalSystem): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(system).map(async ([name, contract]) => [name, await contract.getAddress()] as const),
  );
  return Object.fromEntries(entries);
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

/** Every parameter a module graph reads, as "ModuleId.name". */
function declaredParameters(root: IgnitionModule): Set<string> {
  const names = new Set<string>();
  const visited = new Set<unknown>();
  const collect = (value: unknown): void => {
    if (value === null || typeof value !== "object" || visited.has(value)) return;
    visited.add(value);
    if (isModuleParameterRuntimeValue(value)) {
      names.add(`${value.moduleId}.${value.name}`);
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

describe("Ignition deployment (deploy/)", function () {
  describe("parameter files", function () {
    it('local.json: the "123n" strings are read as exact bigints', function () {
      expect(market("quoteReserve")).to.equal(toWad(3_000_000));
      expect(market("baseReserve")).to.equal(toWad(1_000));
      expect(market("maxTradeRatio")).to.equal(toWad("0.1"));
      expect(market("fluctuationLimitRatio")).to.equal(toWad("0.05"));
      expect(market("maxOpenInterest")).to.equal(toWad(10_000));
      expect(market("initialMarginRatio")).to.equal(toWad("0.1"));
      expect(market("maintenanceMarginRatio")).to.equal(toWad("0.0625"));
      expect(market("feeRatio")).to.equal(toWad("0.001"));
      // 8 decimals, as Chainlink's ETH/USD answers: 3,000 USD.
      expect(localParameter("LocalMocks", "ethUsdAnswer")).to.equal(3_000n * 10n ** BigInt(ETH_USD_DECIMALS));
    });

    for (const [file, module] of [
      [LOCAL_PARAMETERS_FILE, LocalSystemModule],
      [OP_SEPOLIA_PARAMETERS_FILE, EthMarketModule],
    ] as const) {
      it(`${path.basename(file)}: every key is a parameter of ${module.id} (a typo would be ignored)`, async function () {
        // Ignition ignores keys no module reads: a misspelt optional parameter silently keeps its default.
        const parameters = await readDeploymentParameters(file);
        const declared = declaredParameters(module);
        for (const [moduleId, values] of Object.entries(parameters)) {
          for (const name of Object.keys(values)) {
            expect(declared, `${path.basename(file)}`).to.include(`${moduleId}.${name}`);
          }
        }
      });
    }
  });

  describe("LocalSystem", function () {
    it("links the Vault and the ClearingHouse to each other, with the mock USDC as collateral", async function () {
      const { usdc, vault, clearingHouse } = await networkHelpers.loadFixture(deployLocalSystem);
      expect(await vault.clearingHouse()).to.equal(await clearingHouse.getAddress());
      expect(await clearingHouse.vault()).to.equal(await vault.getAddress());
      expect(await vault.collateralToken()).to.equal(await usdc.getAddress());
      expect(await clearingHouse.paused()).to.equal(false);
    });

    it("lists the ETH market with the parameter file's reserves, limits and market parameters", async function () {
      const { clearingHouse, ethAmm } = await networkHelpers.loadFixture(deployLocalSystem);
      const amm = await ethAmm.getAddress();
      expect(await clearingHouse.isMarketListed(amm)).to.equal(true);
      expect(await ethAmm.clearingHouse()).to.equal(await clearingHouse.getAddress());
      expect(await ethAmm.getReserves()).to.deep.equal([market("quoteReserve"), market("baseReserve")]);
      expect(await ethAmm.getSpotPrice()).to.equal(toWad(3_000));
      const limits = await ethAmm.getLimits();
      expect([limits.maxTradeRatio, limits.fluctuationLimitRatio, limits.maxOpenInterest]).to.deep.equal([
        market("maxTradeRatio"),
        market("fluctuationLimitRatio"),
        market("maxOpenInterest"),
      ]);
      const params = await clearingHouse.getMarketParams(amm);
      expect([params.initialMarginRatio, params.maintenanceMarginRatio, params.feeRatio]).to.deep.equal([
        market("initialMarginRatio"),
        market("maintenanceMarginRatio"),
        market("feeRatio"),
      ]);
      expect(await ethAmm.getOpenInterest()).to.deep.equal([0n, 0n]);
    });

    it("makes account 0 the owner of the ClearingHouse, the Amm and the price feed", async function () {
      const { clearingHouse, ethAmm, priceFeed } = await networkHelpers.loadFixture(deployLocalSystem);
      const [deployer] = await ethers.getSigners();
      expect(await clearingHouse.owner()).to.equal(deployer.address);
      expect(await ethAmm.owner()).to.equal(deployer.address);
      expect(await priceFeed.owner()).to.equal(deployer.address);
      expect(await priceFeed.sequencerFeed()).to.equal(ZERO_ADDRESS);
      expect(await priceFeed.gracePeriod()).to.equal(await priceFeed.DEFAULT_GRACE_PERIOD());
    });

    it("deploys the mocks as parameterised: 6-decimal USDC, 8-decimal ETH/USD feed", async function () {
      const { usdc, ethUsdFeed } = await networkHelpers.loadFixture(deployLocalSystem);
      expect([await usdc.name(), await usdc.symbol(), await usdc.decimals()]).to.deep.equal([
        "USD Coin",
        "USDC",
        BigInt(USDC_DECIMALS),
      ]);
      expect(await ethUsdFeed.decimals()).to.equal(BigInt(ETH_USD_DECIMALS));
      const [roundId, answer, , updatedAt] = await ethUsdFeed.latestRoundData();
      expect([roundId, answer, updatedAt]).to.deep.equal([1n, localParameter("LocalMocks", "ethUsdAnswer"), 1n]);
    });

    it("trades: deposit, open a long, close it and withdraw, exactly as the model says", async function () {
      const { usdc, vault, clearingHouse, ethAmm } = await networkHelpers.loadFixture(deployLocalSystem);
      const [, trader] = await ethers.getSigners();
      const amm = await ethAmm.getAddress();
      const model = new SystemModel();
      model.addMarket(amm, market("quoteReserve"), market("baseReserve"), {
        initialMarginRatio: market("initialMarginRatio"),
        maintenanceMarginRatio: market("maintenanceMarginRatio"),
        feeRatio: market("feeRatio"),
      });
      const contracts = { vault, clearingHouse, amms: [ethAmm] };

      const deposit = USDC(10_000);
      await usdc.mint(trader.address, deposit);
      await usdc.connect(trader).approve(await vault.getAddress(), deposit);
      await vault.connect(trader).deposit(deposit);
      model.deposit(trader.address, deposit * USDC_SCALE);

      // 1,000 margin at 5x: 5,000 notional, a fee of 5.
      const margin = toWad(1_000);
      const leverage = toWad(5);
      const opened = model.open(trader.address, amm, LONG, margin, leverage);
      expect(opened.fee).to.equal(toWad(5));
      await expectPositionChanged(
        clearingHouse.connect(trader).openPosition(amm, LONG, margin, leverage, 0n, MAX_DEADLINE),
        clearingHouse,
        trader.address,
        amm,
        opened,
      );
      await expectMatchesModel(model, contracts, [trader.address]);
      expect((await ethAmm.getOpenInterest())[0]).to.equal(opened.size);

      const closed = model.close(trader.address, amm);
      await expectPositionChanged(
        clearingHouse.connect(trader).closePosition(amm, 0n, MAX_DEADLINE),
        clearingHouse,
        trader.address,
        amm,
        closed,
      );
      await expectMatchesModel(model, contracts, [trader.address]);
      expect((await clearingHouse.getPosition(amm, trader.address)).size).to.equal(0n);
      expect(model.ledgerTotal()).to.equal(deposit * USDC_SCALE);

      // Everything left is free collateral again and goes home.
      const balance = await vault.balanceOf(trader.address);
      expect(balance).to.be.greaterThan(deposit - USDC(11)); // two fees of about 5, and rounding dust
      await vault.connect(trader).withdraw(balance);
      expect(await usdc.balanceOf(trader.address)).to.equal(balance);
    });

    it("refuses an owner other than account 0: the setVault call is sent from account 0 and reverts", async function () {
      await networkHelpers.loadFixture(deployLocalSystem);
      const [, other] = await ethers.getSigners();
      const parameters = { ...localParameters, Core: { owner: other.address } };
      const error = await rejectionOf(ignition.deploy(LocalSystemModule, { parameters }));
      expect(error.message).to.match(/Core#ClearingHouse\.setVault[\s\S]*OwnableUnauthorizedAccount/);
    });
  });

  describe("deploying twice", function () {
    it("ignition.deploy on the in-process network keeps no journal: a second deploy is a fresh system", async function () {
      // Ignition gives edr-simulated networks an in-memory journal per call (deploymentDir undefined),
      // so it cannot recognise a module it deployed before: this pins that, it is not a wish.
      const first = await addressesOf(await networkHelpers.loadFixture(deployLocalSystem));
      const second = await addressesOf(await deployLocalSystem());
      for (const name of Object.keys(first)) expect(second[name], name).to.not.equal(first[name]);
    });

    it("with a deployment journal, as on a live network, a second deploy sends nothing and returns the same addresses", async function () {
      await networkHelpers.loadFixture(deployLocalSystem);
      const deploymentDir = await mkdtemp(path.join(tmpdir(), "vamm-ignition-"));
      try {
        const accounts = (await provider.request({ method: "eth_accounts" })) as string[];
        const deployOnce = () =>
          deploy({
            artifactResolver: new HardhatArtifactResolver(artifacts),
            provider,
            deploymentDir,
            ignitionModule: LocalSystemModule,
            deploymentParameters: localParameters,
            accounts,
          });
        const first = await deployOnce();
        expect(first.type).to.equal("SUCCESSFUL_DEPLOYMENT");
        const blockAfterFirst = await ethers.provider.getBlockNumber();
        const second = await deployOnce();
        expect(second).to.deep.equal(first);
        expect(await ethers.provider.getBlockNumber()).to.equal(blockAfterFirst);
      } finally {
        await rm(deploymentDir, { recursive: true, force: true });
      }
    });
  });

  describe("module ids", function () {
    it("gives each market its own module id and rejects symbols Ignition cannot use", function () {
      expect(EthMarketModule.id).to.equal("Market_ETH");
      expect(buildMarketModule("BTC").id).to.equal("Market_BTC");
      expect(CoreModule.id).to.equal("Core");
      expect(LocalSystemModule.id).to.equal("LocalSystem");
      for (const bad of ["", "eth", "1INCH", "ETH-USD", "ETH/USD"]) {
        expect(() => buildMarketModule(bad), bad).to.throw(/Market symbol/);
      }
    });
  });
});
