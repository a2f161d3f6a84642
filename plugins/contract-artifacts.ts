import { overrideTask } from "hardhat/config";
import { definePlugin } from "hardhat/plugins";

/**
 * Solidity tests deploy the contracts built through the IR pipeline from their artifacts
 * (`test/solidity/utils/Artifacts.sol`, `IR_PIPELINE` in hardhat.config.ts). `hardhat test solidity
 * <files>` builds only the test files it is given, so on a fresh clone those artifacts would be
 * missing and after an edit they would be stale: it builds the contracts first (nothing to do when
 * they are up to date). `hardhat test` builds everything before it runs each runner, so it skips this.
 */
export default definePlugin({
  id: "vamm-perp-contract-artifacts",
  tasks: [
    overrideTask(["test", "solidity"])
      .setAction(() => import("./contract-artifacts-action.js"))
      .build(),
  ],
});
