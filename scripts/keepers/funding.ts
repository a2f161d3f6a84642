/**
 * Funding keeper: calls ClearingHouse.updateFunding(amm) on every market whose last funding update
 * is older than KEEPER_INTERVAL, every KEEPER_POLL seconds, until SIGINT/SIGTERM (the current tick
 * finishes first; a second signal exits at once).
 *
 * `hardhat run` passes no arguments to scripts: configure it with environment variables, or a
 * .env file in the working directory (see .env.example; the environment wins over the file):
 *
 *   CLEARING_HOUSE=0x... KEEPER_INTERVAL=600 npx hardhat run scripts/keepers/funding.ts --network localhost
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { existsSync } from "node:fs";
import { network } from "hardhat";
import { FundingKeeper, readFundingKeeperConfig } from "../lib/funding-keeper.js";
import { ConfigError, consoleLogger, errorMessage, keeperSigner, runLoop, Shutdown } from "../lib/keeper.js";

const logger = consoleLogger("funding");

async function main(): Promise<number> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = readFundingKeeperConfig(process.env);
  const { ethers, networkName } = await network.create();
  const signer = await keeperSigner(ethers, config.privateKey);
  const keeper = new FundingKeeper({ signer, config, logger });
  logger.info(`network ${networkName}`);
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
    return config.once && !ok ? 1 : 0;
  } finally {
    shutdown.dispose();
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  logger.error(error instanceof ConfigError ? error.message : `fatal: ${errorMessage(error)}`);
  process.exitCode = 1;
}
