import { definePlugin } from "hardhat/plugins";

/**
 * What the Solidity build prints, for every command that builds (test, run, ignition deploy, the
 * `perp` tasks):
 * - before a first build (no compile cache yet), a line on stderr saying that it takes minutes, so
 *   a newcomer's first `npm run demo` or `npm test` does not look stuck;
 * - no copies of solc's transient-storage warning for OpenZeppelin's `TransientSlot.sol` (see
 *   `isDependencyTransientStorageWarning`). Every other warning still shows.
 */
export default definePlugin({
  id: "vamm-perp-build-output",
  hookHandlers: {
    solidity: () => import("./build-output-hooks.js"),
  },
});
