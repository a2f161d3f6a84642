import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArgs } from "../commands.js";
import { runTask } from "../run.js";

/** `npx hardhat perp pay-claims`: see tasks/commands.ts. */
export default (args: TaskArgs, hre: HardhatRuntimeEnvironment) => runTask("pay-claims", args, hre);
