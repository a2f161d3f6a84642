/**
 * Runs one CLI command: connects to the network Hardhat was given (`--network`), picks the signer
 * (`--from`: an account index or address; the first account by default), finds the ClearingHouse
 * (`--clearing-house`, else CLEARING_HOUSE, else the Ignition deployment of this chain), runs the
 * command, and turns any failure into one plain line on stderr and a failed Result (exit code 1).
 */
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { getAddress, isAddress } from "ethers";
import { CliError, explainError, PerpClient } from "../scripts/lib/client.js";
import { DEPLOYMENTS_DIR, ignitionAddresses } from "../scripts/lib/ignition.js";
import { consoleOutput, type Output } from "../scripts/lib/format.js";
import { COMMANDS, type TaskArgs } from "./commands.js";

export interface RunOptions {
  out?: Output;
  env?: Readonly<Record<string, string | undefined>>;
  /** Test seam: see CliContext.beforeSend. */
  beforeSend?: () => Promise<void>;
  /** Where Ignition keeps its deployments (default deploy/deployments). */
  deploymentsDir?: string;
}

export type TaskResult = { success: true; value: undefined } | { success: false; error: string };

export async function runTask(
  name: string,
  args: TaskArgs,
  hre: Pick<HardhatRuntimeEnvironment, "network">,
  options: RunOptions = {},
): Promise<TaskResult> {
  const out = options.out ?? consoleOutput;
  const env = options.env ?? process.env;
  let client: PerpClient | undefined;
  try {
    const command = COMMANDS[name];
    if (command === undefined) throw new CliError(`unknown command ${name}`);
    const connection = await hre.network.getOrCreate();
    const { ethers } = connection;
    const signer = await pickSigner(ethers, typeof args.from === "string" ? args.from.trim() : "");
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const deploymentsDir = options.deploymentsDir ?? DEPLOYMENTS_DIR;
    const deployed = ignitionAddresses(deploymentsDir, chainId);
    const given = (arg: unknown, envName: string): string | undefined =>
      (typeof arg === "string" && arg.trim() !== "" ? arg.trim() : undefined) ?? env[envName]?.trim();
    const pick = (arg: unknown, envName: string, contract: string): string | undefined =>
      given(arg, envName) ?? deployed[contract];
    const inProcess = connection.networkConfig?.type === "edr-simulated";
    const networkName = connection.networkName ?? "default";
    const clearingHouse = pick(args.clearingHouse, "CLEARING_HOUSE", "ClearingHouse");
    if (clearingHouse === undefined || clearingHouse === "")
      throw new CliError(
        `no ClearingHouse on the network "${networkName}": give --clearing-house <address> or set CLEARING_HOUSE` +
          (inProcess ? `; ${START_A_NODE}` : ", or deploy there with Ignition"),
      );
    if (isAddress(clearingHouse) && (await ethers.provider.getCode(clearingHouse)) === "0x" && inProcess) {
      const recorded = given(args.clearingHouse, "CLEARING_HOUSE") === undefined;
      throw new CliError(
        recorded
          ? `no deployment on the network "${networkName}": ${path.join(deploymentsDir, `chain-${chainId}`)} records the ` +
              `ClearingHouse at ${getAddress(clearingHouse)} for a node (the in-process network shares its chain id ` +
              `but starts empty on every command); ${START_A_NODE}`
          : `no contract at ${getAddress(clearingHouse)} on the in-process network "${networkName}", which starts empty on ` +
              `every command; ${START_A_NODE}`,
      );
    }
    const startBlock = Number(env.START_BLOCK ?? 0);
    client = await PerpClient.connect(signer, {
      clearingHouse,
      viewer: pick(args.viewer, "VIEWER", "ClearingHouseViewer") || undefined,
      startBlock: Number.isInteger(startBlock) && startBlock >= 0 ? startBlock : 0,
    });
    await command({ client, signer, account: await signer.getAddress(), out, beforeSend: options.beforeSend }, args);
    return { success: true, value: undefined };
  } catch (error) {
    const message = client ? client.explain(error) : explainError(error);
    out.error(`Error: ${message}`);
    return { success: false, error: message };
  }
}

/** What to do when the CLI runs against the in-process network, where nothing is deployed. */
export const START_A_NODE =
  "start `npx hardhat node` in another terminal, deploy the local system there " +
  "(`npx hardhat ignition deploy deploy/modules/LocalSystem.ts --network localhost --parameters deploy/parameters/local.json`) " +
  "and pass `--network localhost`";

type Ethers = Awaited<ReturnType<HardhatRuntimeEnvironment["network"]["getOrCreate"]>>["ethers"];

/** `--from`: an index into the network's accounts, an address among them, or (blank) the first. */
async function pickSigner(ethers: Ethers, from: string) {
  const signers = await ethers.getSigners();
  if (from === "") {
    if (signers.length === 0) throw new CliError("this network has no accounts configured: set a deployer key");
    return signers[0];
  }
  if (/^\d+$/.test(from)) {
    const signer = signers[Number(from)];
    if (signer === undefined) throw new CliError(`--from ${from}: this network has ${signers.length} accounts`);
    return signer;
  }
  if (!isAddress(from)) throw new CliError(`--from "${from}" is neither an account index nor an address`);
  const found = signers.find((s) => s.address === getAddress(from));
  return found ?? ethers.getSigner(getAddress(from));
}
