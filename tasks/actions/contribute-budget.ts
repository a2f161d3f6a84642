import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArgs } from "../commands.js";
import { runTask } from "../run.js";

/** `npx hardhat perp contribute-budget`: see tasks/commands.ts. */
export default (args: TaskArgs, hre: HardhatRuntimeEnvironment) => runTask("contribute-budget", args, hre);
