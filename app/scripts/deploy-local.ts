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

const url = process.env.APP_RPC_URL ?? "http://127.0.0.1:8545";
const deploymentId = process.env.APP_DEPLOYMENT_ID ?? "chain-31337";
const seedActivity = process.env.APP_SEED_ACTIVITY === "1";

const { ignition, ethers } = await network.create({ network: "localhost", override: { url } });
const system = await ignition.deploy(LocalSystemModule, {
  parameters: "deploy/parameters/local.json",
  deploymentId,
});
const signers = await ethers.getSigners();
const usdc = system.usdc;
const decimals = await usdc.decimals();
const units = (n: number): bigint => BigInt(n) * 10n ** decimals;

// Test money for the first ten dev accounts.
for (const signer of signers.slice(0, 10)) {
  await (await usdc.mint(signer.address, units(100_000))).wait();
}
// The deployer stakes in the insurance fund, so it covers bad debt and its shares have a price.
const fundAddress = await system.insuranceFund.getAddress();
await (await usdc.connect(signers[0]).approve(fundAddress, units(20_000))).wait();
await (await system.insuranceFund.connect(signers[0]).deposit(units(20_000), signers[0].address)).wait();

if (seedActivity) {
  const vault = await system.vault.getAddress();
  const wad = (n: number): bigint => BigInt(Math.round(n * 1e6)) * 10n ** 12n;
  const deadline = 2n ** 256n - 1n;
  const trades: [number, unknown, number, number, number][] = [
    [8, system.ethAmm, 0, 1_000, 3],
    [9, system.ethAmm, 1, 500, 2],
    [8, system.btcAmm, 1, 2_000, 2],
  ];
  for (const [index, amm, side, margin, leverage] of trades) {
    const trader = signers[index];
    await (await usdc.connect(trader).approve(vault, units(5_000))).wait();
    await (await system.vault.connect(trader).deposit(units(5_000))).wait();
    const ammAddress = await (amm as typeof system.ethAmm).getAddress();
    await (
      await system.clearingHouse
        .connect(trader)
        .openPosition(ammAddress, side, wad(margin), wad(leverage), 0n, deadline)
    ).wait();
  }
}
console.log(`deployed LocalSystem (${deploymentId}) at ${url}`);
