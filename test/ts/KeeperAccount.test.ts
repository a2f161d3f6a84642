/**
 * Which account a keeper signs with (scripts/lib/keeper/chain.ts keeperSigner): KEEPER_PRIVATE_KEY
 * when given; on a local network without it, a dev account of the keeper's own counted from the end
 * of the node's accounts (never #0, the CLI's and the deployer's); on a live network, none: the key
 * is required.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Wallet } from "ethers";
import { ConfigError } from "../../scripts/lib/keeper/config.js";
import { isLocalNetwork, keeperSigner } from "../../scripts/lib/keeper/chain.js";

const { ethers } = await network.create();

describe("Keeper accounts", function () {
  it("on a local network: each keeper its own dev account from the end, never account 0", async function () {
    const signers = await ethers.getSigners();
    const n = signers.length;
    const base = { networkName: "localhost", chainId: 31337n };
    const funding = await keeperSigner(ethers, { ...base, role: "funding" });
    const liquidation = await keeperSigner(ethers, { ...base, role: "liquidation" });
    const arbitrage = await keeperSigner(ethers, { ...base, role: "arbitrage" });
    expect(await funding.signer.getAddress()).to.equal(signers[n - 1].address);
    expect(await liquidation.signer.getAddress()).to.equal(signers[n - 2].address);
    expect(await arbitrage.signer.getAddress()).to.equal(signers[n - 3].address);
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
});
