/**
 * Liquidation keeper: follows every open position from the ClearingHouse's events, reads them in
 * batches through the ClearingHouseViewer every KEEPER_POLL seconds, and liquidates the
 * liquidatable ones with a slippage bound, until SIGINT/SIGTERM (the current tick finishes first;
 * a second signal exits at once).
 *
 * `hardhat run` passes no arguments to scripts: configure it with environment variables, or a
 * .env file in the working directory (see .env.example; the environment wins over the file):
 *
 *   CLEARING_HOUSE=0x... VIEWER=0x... npx hardhat run scripts/keepers/liquidation.ts --network localhost
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { runKeeperScript } from "../lib/keeper-main.js";
import { LiquidationKeeper, readLiquidationKeeperConfig } from "../lib/liquidation-keeper.js";

await runKeeperScript({
  name: "liquidation",
  role: "liquidation",
  readConfig: readLiquidationKeeperConfig,
  create: (signer, config, logger) => new LiquidationKeeper({ signer, config, logger }),
});
