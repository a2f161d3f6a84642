import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArgs } from "../commands.js";
import { runTask } from "../run.js";

/** `npx hardhat perp remove-margin`: see tasks/commands.ts. */
export default (args: TaskArgs, hre: HardhatRuntimeEnvironment) => runTask("remove-margin", args, hre);
