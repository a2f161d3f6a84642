/**
 * Keepers for a newcomer. Which account a keeper signs with (scripts/lib/keeper/chain.ts
 * keeperSigner): KEEPER_PRIVATE_KEY when given; on a local network without it, a dev account of the
 * keeper's own counted from the end of the node's accounts (never #0, the CLI's and the deployer's);
 * on a live network, none: the key is required. And the CLI's language: markets by symbol in the
 * logs, addresses from the Ignition deployment, an idle line with its reason, a node-down hint.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Wallet } from "ethers";
import { ArbitrageBot, readArbitrageConfig } from "../../scripts/lib/arbitrage.js";
import { deployCore, deployMarket, deployOracle } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import { withDeployment } from "../../scripts/lib/keeper-main.js";
import { ConfigError } from "../../scripts/lib/keeper/config.js";
import { isLocalNetwork, keeperSigner } from "../../scripts/lib/keeper/chain.js";
import { nodeDownHint } from "../../scripts/lib/keeper/errors.js";
import { MemoryLogger } from "./helpers/keeper.js";

const { ethers } = await network.create();

describe("Keeper accounts", function () {
  it("on a local network: each keeper its own dev account from the end, never account 0", async function () {
    const signers = await ethers.getSigners();
    const n = signers.length;
    const base = { networkName: "localhost", chainId: 31337n };
    const funding = await keeperSigner(ethers, { ...base, role: "funding" });
    const liquidation = await keeperSigner(ethers, { ...base, role: "liquidation" });
    const arbitrage = await keeperSigner(ethers, { ...base, role: "arbitrage" });
    const claims = await keeperSigner(ethers, { ...base, role: "claims" });
    expect(await funding.signer.getAddress()).to.equal(signers[n - 1].address);
    expect(await liquidation.signer.getAddress()).to.equal(signers[n - 2].address);
    expect(await arbitrage.signer.getAddress()).to.equal(signers[n - 3].address);
    expect(await claims.signer.getAddress()).to.equal(signers[n - 4].address);
    expect(funding.account).to.equal(
      `${signers[n - 1].address} (dev account #${n - 1} of the local node's ${n}, the funding keeper's own; ` +
        "the CLI signs with #0) as the funding keeper",
    );
  });

  it("with KEEPER_PRIVATE_KEY: that key, anywhere", async function () {
    const key = "0x" + "11".repeat(32);
    const { signer, account } = await keeperSigner(ethers, {
      privateKey: key,
      role: "liquidation",
      networkName: "optimism",
      chainId: 10n,
    });
    const address = new Wallet(key).address;
    expect(await signer.getAddress()).to.equal(address);
    expect(account).to.equal(`${address} (KEEPER_PRIVATE_KEY) as the liquidation keeper`);
  });

  it("on a live network without a key: refused, even when the network has a configured account", async function () {
    let error: unknown;
    try {
      await keeperSigner(ethers, { role: "arbitrage", networkName: "optimismSepolia", chainId: 11155420n });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.deep.equal([
      'KEEPER_PRIVATE_KEY: required on the live network "optimismSepolia" (chain 11155420): a keeper never signs ' +
        "with the network's configured account by default (the deployer's or a trader's); give it a key of its own",
    ]);
    expect(isLocalNetwork("opLocal", 31337n)).to.equal(true);
    expect(isLocalNetwork("optimism", 10n)).to.equal(false);
  });

  it("the arbitrage bot names markets by symbol and says why it is idle", async function () {
    const system = await deployCore(ethers);
    const eth = await deployMarket(ethers, system, {
      quoteReserve: toWad(2_000_000),
      baseReserve: toWad(1_000),
      feeRatio: toWad("0.001"),
    });
    await deployOracle(ethers, system, eth, { symbol: "ETH", price: toWad(2_000) });
    const signers = await ethers.getSigners();
    const logger = new MemoryLogger();
    const config = readArbitrageConfig({ CLEARING_HOUSE: await system.clearingHouse.getAddress() });
    const bot = new ArbitrageBot({ signer: signers[signers.length - 3], config, logger });
    await bot.start();
    logger.take();
    const outcomes = await bot.tick();
    expect(outcomes.map((o) => o.status)).to.deep.equal(["idle"]);
    const market = await eth.getAddress();
    const listedIn = (await system.clearingHouse.queryFilter(system.clearingHouse.filters.MarketAdded()))[0]
      .blockNumber;
    // Mark 2,000,000 / 1,000 = 2,000 = the index: a gap of 0, inside the 2 x 0.1% fee band.
    expect(logger.take()).to.deep.equal([
      `INFO market found: ETH at ${market} (listed in block ${listedIn})`,
      "INFO idle: no trade; ETH mark within the fee band (gap 0.000%)",
    ]);
    await bot.tick();
    expect(logger.take(), "the same idle line is not repeated").to.deep.equal([]);
  });

  it("takes unset addresses from the Ignition deployment; a set variable wins", function () {
    const deployed = { ClearingHouse: "0x" + "c1".repeat(20), ClearingHouseViewer: "0x" + "e1".repeat(20) };
    const mine = "0x" + "ab".repeat(20);
    expect(withDeployment({ CLEARING_HOUSE: mine, VIEWER: " " }, deployed)).to.deep.equal({
      env: { CLEARING_HOUSE: mine, VIEWER: deployed.ClearingHouseViewer },
      filled: [`VIEWER ${deployed.ClearingHouseViewer}`],
    });
    expect(withDeployment({}, {}).filled).to.deep.equal([]);
  });

  it("a node that does not answer: start `npx hardhat node` (local), check the RPC URL (live)", function () {
    const hardhat = new Error(
      'Cannot connect to the network "localhost".\nPlease make sure your node is running, and check your internet connection and networks config',
    );
    expect(nodeDownHint(hardhat, "localhost", true)).to.equal(
      'no node answers on the network "localhost": start one with `npx hardhat node` in another terminal ' +
        "(and deploy the local system there), then start the keeper again",
    );
    const refused = Object.assign(new Error("request failed"), { cause: { code: "ECONNREFUSED" } });
    expect(nodeDownHint(refused, "optimism", false)).to.equal(
      'no node answers on the network "optimism": check its RPC URL (the network\'s configuration variable) and your connection',
    );
    expect(nodeDownHint(new Error("execution reverted"), "localhost", true)).to.equal(undefined);
  });
});
