/**
 * Claims keeper: every KEEPER_POLL seconds, calls Vault.payClaims(market, CLAIMS_PER_TX) on every
 * market whose claim queue is not empty and whose pool holds more than its locked margin, paying
 * the queued claims first in, first out, until SIGINT/SIGTERM (the current tick finishes first; a
 * second signal exits at once). payClaims is permissionless: the keeper's account needs only gas.
 *
 * `hardhat run` passes no arguments to scripts: configure it with environment variables, or a
 * .env file in the working directory (see .env.example; the environment wins over the file):
 *
 *   CLEARING_HOUSE=0x... CLAIMS_PER_TX=20 npx hardhat run scripts/keepers/claims.ts --network localhost
 *
 * Exit codes: 0 after a clean stop, 1 on a configuration error (or, with KEEPER_ONCE, a failed tick).
 */
import { ClaimsKeeper, readClaimsKeeperConfig } from "../lib/claims-keeper.js";
import { runKeeperScript } from "../lib/keeper-main.js";

await runKeeperScript({
  name: "claims",
  role: "claims",
  readConfig: readClaimsKeeperConfig,
  create: (signer, config, logger) => new ClaimsKeeper({ signer, config, logger }),
});
