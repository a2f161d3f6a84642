import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { TaskArguments } from "hardhat/types/tasks";

/** Builds `contracts/` (their artifacts) before the Solidity tests run, unless told not to compile. */
export default async function buildContractsFirst(
  args: TaskArguments,
  hre: HardhatRuntimeEnvironment,
  runSuper: (args: TaskArguments) => Promise<unknown>,
): Promise<unknown> {
  if (args.noCompile !== true) await hre.tasks.getTask("build").run({ noTests: true, quiet: true });
  return runSuper(args);
}
