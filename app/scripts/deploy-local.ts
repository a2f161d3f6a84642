/**
 * Deploys the local system (deploy/modules/LocalSystem.ts with deploy/parameters/local.json, as
 * `npx hardhat ignition deploy` does) to the node at APP_RPC_URL under the Ignition deployment id
 * APP_DEPLOYMENT_ID, then mints test USDC to the node's dev accounts and stakes a little in the
 * insurance fund. With APP_SEED_ACTIVITY=1 two dev accounts also open positions, so the markets
 * show open interest. Run from the repository root by app/scripts/local-chain.ts:
 *   APP_RPC_URL=http://127.0.0.1:8545 APP_DEPLOYMENT_ID=chain-31337 npx hardhat run app/scripts/deploy-local.ts
 */
import { network } from "hardhat";
import LocalSystemModule from "../../deploy/modules/LocalSystem.js";
import {
  ClearingHouse__factory,
  InsuranceFund__factory,
  MockERC20__factory,
  Vault__factory,
} from "../../typechain-types/index.js";

const url = process.env.APP_RPC_URL ?? "http://127.0.0.1:8545";
const deploymentId = process.env.APP_DEPLOYMENT_ID ?? "chain-31337";
const seedActivity = process.env.APP_SEED_ACTIVITY === "1";

const { ignition, ethers } = await network.create({ network: "localhost", override: { url } });
const deployed = await ignition.deploy(LocalSystemModule, {
  parameters: "deploy/parameters/local.json",
  deploymentId,
});
const signers = await ethers.getSigners();
const [owner] = signers;
const usdc = MockERC20__factory.connect(await deployed.usdc.getAddress(), owner);
const vault = Vault__factory.connect(await deployed.vault.getAddress(), owner);
const fund = InsuranceFund__factory.connect(await deployed.insuranceFund.getAddress(), owner);
const clearingHouse = ClearingHouse__factory.connect(await deployed.clearingHouse.getAddress(), owner);
const decimals = await usdc.decimals();
const units = (n: number): bigint => BigInt(n) * 10n ** decimals;

// Test money for the first ten dev accounts.
for (const signer of signers.slice(0, 10)) {
  await (await usdc.mint(signer.address, units(100_000))).wait();
}
// The deployer stakes in the insurance fund, so it covers bad debt and its shares have a price.
await (await usdc.approve(await fund.getAddress(), units(20_000))).wait();
await (await fund.deposit(units(20_000), owner.address)).wait();

if (seedActivity) {
  const wad = (n: number): bigint => BigInt(n) * 10n ** 18n;
  const eth = await deployed.ethAmm.getAddress();
  const btc = await deployed.btcAmm.getAddress();
  // [dev account, market, side (0 long, 1 short), margin, leverage]
  const trades: [number, string, number, number, number][] = [
    [8, eth, 0, 1_000, 3],
    [9, eth, 1, 500, 2],
    [8, btc, 1, 2_000, 2],
  ];
  for (const [index, amm, side, margin, leverage] of trades) {
    const trader = signers[index];
    await (await usdc.connect(trader).approve(await vault.getAddress(), units(5_000))).wait();
    await (await vault.connect(trader).deposit(units(5_000))).wait();
    const deadline = 2n ** 256n - 1n;
    await (
      await clearingHouse.connect(trader).openPosition(amm, side, wad(margin), wad(leverage), 0n, deadline)
    ).wait();
  }
}
console.log(`deployed LocalSystem (${deploymentId}) at ${url}`);
