/** The addresses Ignition recorded, shared by the CLI and the keepers. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** Where the project's Ignition deployments are kept (hardhat.config.ts: paths.ignition = ./deploy). */
export const DEPLOYMENTS_DIR = path.join("deploy", "deployments");

/** Addresses Ignition recorded for this chain, by contract name (the part after "#"). */
export function ignitionAddresses(dir: string, chainId: bigint): Record<string, string> {
  const file = path.join(dir, `chain-${chainId}`, "deployed_addresses.json");
  if (!existsSync(file)) return {};
  const recorded = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const byName: Record<string, string> = {};
  for (const [future, address] of Object.entries(recorded)) byName[future.split("#").pop()!] ??= address;
  return byName;
}
