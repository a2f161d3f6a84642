/**
 * What the app is told about the chains it may talk to, served as /deployments.json (dev server,
 * preview) and written into the production build: for every Ignition deployment under
 * deploy/deployments/ (chain-<id>/deployed_addresses.json), its chain id and the addresses by
 * contract name, its markets by symbol. The local chain (31337) is the node at APP_RPC_URL with
 * the deployment APP_DEPLOYMENT_ID when those are set (as `npm run app` and the tests set them);
 * its dev accounts may then be used through the development connector.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const LOCAL_CHAIN_ID = 31337;

export interface ChainDeployment {
  chainId: number;
  /** The local node's URL; undefined for a live network (the wallet's own RPC is used). */
  rpcUrl?: string;
  /** Whether the chain is a local node whose unlocked dev accounts the dev connector may use. */
  dev: boolean;
  /** Contract name (the Ignition future id after "#") -> address. */
  contracts: Record<string, string>;
  /** Markets by symbol, from the `Market_<SYMBOL>#Amm` futures. */
  markets: { symbol: string; amm: string }[];
}

function readDeployment(dir: string, chainId: number, rpcUrl?: string): ChainDeployment | undefined {
  const file = join(dir, "deployed_addresses.json");
  if (!existsSync(file)) return undefined;
  const recorded = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const contracts: Record<string, string> = {};
  const markets: { symbol: string; amm: string }[] = [];
  for (const [future, address] of Object.entries(recorded)) {
    const [moduleId, name] = future.split("#");
    const market = /^Market_([A-Z0-9]+)$/.exec(moduleId);
    if (market && name === "Amm") markets.push({ symbol: market[1], amm: address });
    else contracts[name] ??= address;
  }
  return { chainId, rpcUrl, dev: chainId === LOCAL_CHAIN_ID, contracts, markets };
}

/** Every deployment the app can use, the local one first. */
export function readDeployments(repoRoot: string, env: NodeJS.ProcessEnv = process.env): ChainDeployment[] {
  const base = join(repoRoot, "deploy", "deployments");
  const chains: ChainDeployment[] = [];
  const localId = env.APP_DEPLOYMENT_ID ?? "chain-31337";
  const localUrl = env.APP_RPC_URL ?? "http://127.0.0.1:8545";
  const local = readDeployment(join(base, localId), LOCAL_CHAIN_ID, localUrl);
  if (local) chains.push(local);
  if (existsSync(base)) {
    for (const entry of readdirSync(base)) {
      const id = /^chain-(\d+)$/.exec(entry);
      if (!id || Number(id[1]) === LOCAL_CHAIN_ID) continue;
      const deployment = readDeployment(join(base, entry), Number(id[1]));
      if (deployment) chains.push(deployment);
    }
  }
  return chains;
}
