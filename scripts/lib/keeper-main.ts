/**
 * The entry of every keeper script: reads the configuration (a .env file in the working directory,
 * then the environment, which wins), connects to the network `hardhat run` was given, starts the
 * keeper and ticks it every KEEPER_POLL seconds until SIGINT/SIGTERM (the current tick finishes
 * first; a second signal exits at once), or once with KEEPER_ONCE.
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { existsSync } from "node:fs";
import type { Signer } from "ethers";
import { network } from "hardhat";
import { keeperSigner, type KeeperRole } from "./keeper/chain.js";
import { ConfigError, type Env, type KeeperBaseConfig } from "./keeper/config.js";
import { errorMessage } from "./keeper/errors.js";
import { consoleLogger, type Logger } from "./keeper/logger.js";
import { runLoop, Shutdown } from "./keeper/loop.js";

export async function runKeeperScript<C extends KeeperBaseConfig>(options: {
  name: string;
  role: KeeperRole;
  readConfig: (env: Env) => C;
  create: (signer: Signer, config: C, logger: Logger) => { start(): Promise<void>; tick(): Promise<unknown> };
}): Promise<void> {
  const logger = consoleLogger(options.name);
  try {
    if (existsSync(".env")) process.loadEnvFile(".env");
    const config = options.readConfig(process.env);
    const { ethers, networkName } = await network.create();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const { signer, account } = await keeperSigner(ethers, {
      privateKey: config.privateKey,
      role: options.role,
      networkName,
      chainId,
    });
    const keeper = options.create(signer, config, logger);
    logger.info(`network ${networkName}`);
    logger.info(`account ${account}`);
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
    logger.error(error instanceof ConfigError ? error.message : `fatal: ${errorMessage(error)}`);
    process.exitCode = 1;
  }
}
