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
import { runKeeperScript } from "../lib/keeper-main.js";
import { FundingKeeper, readFundingKeeperConfig } from "../lib/funding-keeper.js";

await runKeeperScript({
  name: "funding",
  role: "funding",
  readConfig: readFundingKeeperConfig,
  create: (signer, config, logger) => new FundingKeeper({ signer, config, logger }),
});
