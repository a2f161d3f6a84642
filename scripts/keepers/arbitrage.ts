/**
 * Arbitrage bot: every KEEPER_POLL seconds, trades each market's mark toward its index when the
 * expected price gain and funding beat the fees (see scripts/lib/arbitrage.ts), until
 * SIGINT/SIGTERM (the current tick finishes first; a second signal exits at once). The bot's account
 * needs free collateral in the Vault.
 *
 * `hardhat run` passes no arguments to scripts: configure it with environment variables, or a
 * .env file in the working directory (see .env.example; the environment wins over the file):
 *
 *   CLEARING_HOUSE=0x... ARB_MAX_POSITION=50000 npx hardhat run scripts/keepers/arbitrage.ts --network localhost
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { ArbitrageBot, readArbitrageConfig } from "../lib/arbitrage.js";
import { runKeeperScript } from "../lib/keeper-main.js";

await runKeeperScript({
  name: "arbitrage",
  role: "arbitrage",
  readConfig: readArbitrageConfig,
  create: (signer, config, logger) => new ArbitrageBot({ signer, config, logger }),
});
