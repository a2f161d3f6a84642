/**
 * The entry of every keeper script: connects to the network `hardhat run` was given (a node that
 * does not answer is reported with what to do: `npx hardhat node` on a local network), reads the
 * configuration (a .env file in the working directory, then the environment, which wins; an unset
 * CLEARING_HOUSE or VIEWER is taken from the chain's Ignition deployment), picks the keeper's
 * account (see keeperSigner) and logs it with its role, starts the keeper and ticks it every KEEPER_POLL seconds until SIGINT/SIGTERM (the current tick finishes
 * first; a second signal exits at once), or once with KEEPER_ONCE.
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { existsSync } from "node:fs";
import type { Signer } from "ethers";
import { network } from "hardhat";
import { DEPLOYMENTS_DIR, ignitionAddresses } from "./ignition.js";
import { isLocalNetwork, keeperSigner, type KeeperRole } from "./keeper/chain.js";
import { ConfigError, type Env, type KeeperBaseConfig } from "./keeper/config.js";
import { errorMessage, nodeDownHint } from "./keeper/errors.js";
import { consoleLogger, type Logger } from "./keeper/logger.js";
import { runLoop, Shutdown } from "./keeper/loop.js";

export async function runKeeperScript<C extends KeeperBaseConfig>(options: {
  name: string;
  role: KeeperRole;
  readConfig: (env: Env) => C;
  create: (signer: Signer, config: C, logger: Logger) => { start(): Promise<void>; tick(): Promise<unknown> };
}): Promise<void> {
  const logger = consoleLogger(options.name);
  let networkName = "default";
  let local = true;
  try {
    if (existsSync(".env")) process.loadEnvFile(".env");
    const connection = await network.create();
    const { ethers } = connection;
    networkName = connection.networkName;
    const chainId = (await ethers.provider.getNetwork()).chainId;
    local = isLocalNetwork(networkName, chainId);
    const { env, filled } = withDeployment(process.env, ignitionAddresses(DEPLOYMENTS_DIR, chainId));
    const config = options.readConfig(env);
    const { signer, account } = await keeperSigner(ethers, {
      privateKey: config.privateKey,
      role: options.role,
      networkName,
      chainId,
    });
    const keeper = options.create(signer, config, logger);
    logger.info(`network ${networkName}`);
    logger.info(`account ${account}`);
    for (const line of filled) logger.info(`${line} (from the Ignition deployment of chain ${chainId})`);
    await keeper.start();

    // Installed after start-up: until the loop runs, Ctrl-C should just kill the process.
    const shutdown = new Shutdown(logger);
    try {
      const ok = await runLoop({
        tick: () => keeper.tick(),
        pollSeconds: config.pollSeconds,
        shutdown,
        logger,
        once: config.once,
      });
      logger.info("stopped");
      process.exitCode = config.once && !ok ? 1 : 0;
    } finally {
      shutdown.dispose();
    }
  } catch (error) {
    logger.error(
      error instanceof ConfigError
        ? error.message
        : (nodeDownHint(error, networkName, local) ?? `fatal: ${errorMessage(error)}`),
    );
    process.exitCode = 1;
  }
}

/** The contracts a keeper finds in the Ignition deployment when their variable is unset. */
const FROM_DEPLOYMENT = { CLEARING_HOUSE: "ClearingHouse", VIEWER: "ClearingHouseViewer" } as const;

/**
 * The environment with CLEARING_HOUSE and VIEWER taken from the chain's Ignition deployment where
 * they are unset or blank (a variable that is set always wins), and a line for each one taken.
 */
export function withDeployment(env: Env, deployed: Readonly<Record<string, string>>): { env: Env; filled: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const filled: string[] = [];
  for (const [name, contract] of Object.entries(FROM_DEPLOYMENT)) {
    if ((env[name]?.trim() ?? "") !== "" || deployed[contract] === undefined) continue;
    out[name] = deployed[contract];
    filled.push(`${name} ${deployed[contract]}`);
  }
  return { env: out, filled };
}
