import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArgs } from "../commands.js";
import { runTask } from "../run.js";

/** `npx hardhat perp reduce`: see tasks/commands.ts. */
export default (args: TaskArgs, hre: HardhatRuntimeEnvironment) => runTask("reduce", args, hre);
