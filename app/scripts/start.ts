/**
 * `npm run app`: a Hardhat node on 127.0.0.1 (port 8545, or a free one when 8545 is taken), the
 * local system deployed on it with Ignition, test USDC for the dev accounts and a few open
 * positions (none with `npm --prefix app run start -- --no-seed`), and the app's dev server on
 * 127.0.0.1. Ctrl-C stops all of it.
 */
import { join } from "node:path";
import { createServer } from "vite";
import { freePort, portIsFree, REPO_ROOT, startLocalChain } from "./local-chain.ts";

const seedActivity = !process.argv.includes("--no-seed");
const port = (await portIsFree(8545)) ? 8545 : await freePort();
// On 8545 the deployment is the one the CLI and the keepers read for `--network localhost`.
const deploymentId = port === 8545 ? "chain-31337" : `app-${port}`;
console.log(`starting a Hardhat node on 127.0.0.1:${port} and deploying the local system (Ignition)...`);
const chain = await startLocalChain({ port, deploymentId, seedActivity });
process.env.APP_RPC_URL = chain.rpcUrl;
process.env.APP_DEPLOYMENT_ID = chain.deploymentId;

const server = await createServer({
  configFile: join(REPO_ROOT, "app", "vite.config.ts"),
  server: { host: "127.0.0.1", port: 5173, strictPort: false },
});
await server.listen();
const url = server.resolvedUrls?.local[0] ?? "http://127.0.0.1:5173/";
console.log(`\nnode:  ${chain.rpcUrl} (chain 31337, Ignition deployment ${chain.deploymentId})`);
console.log(`app:   ${url}`);
console.log('connect with "Dev account" (the node\'s unlocked account #1); Ctrl-C stops the node and the app\n');

let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log("stopping the app and the node...");
  chain.stop();
  await server.close();
  process.exit(0);
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
