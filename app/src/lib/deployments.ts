/** The deployments the app may use (served as /deployments.json) and the wagmi config built on them. */
import { createContext, useContext } from "react";
import { createConfig, http, injected, mock, type Config, type CreateConnectorFn } from "wagmi";
import { hardhat, optimism, optimismSepolia } from "wagmi/chains";
import type { Address, Chain } from "viem";

export interface ChainDeployment {
  chainId: number;
  rpcUrl?: string;
  dev: boolean;
  contracts: Record<string, Address>;
  markets: { symbol: string; amm: Address }[];
}

const KNOWN: Record<number, Chain> = {
  [hardhat.id]: hardhat,
  [optimism.id]: optimism,
  [optimismSepolia.id]: optimismSepolia,
};

export async function loadDeployments(): Promise<ChainDeployment[]> {
  const response = await fetch("/deployments.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`/deployments.json: HTTP ${response.status}`);
  return ((await response.json()) as { chains: ChainDeployment[] }).chains;
}

/** The local node's unlocked accounts (eth_accounts); none when it does not answer. */
export async function devAccounts(rpcUrl: string): Promise<Address[]> {
  try {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_accounts", params: [] }),
    });
    return ((await response.json()) as { result?: Address[] }).result ?? [];
  } catch {
    return [];
  }
}

export function chainOf(d: ChainDeployment): Chain {
  const known = KNOWN[d.chainId];
  const base: Chain = known ?? {
    id: d.chainId,
    name: `Chain ${d.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  };
  return d.rpcUrl ? { ...base, rpcUrls: { default: { http: [d.rpcUrl] } } } : base;
}

/**
 * wagmi config: an injected wallet, and on a local node its dev accounts through wagmi's mock
 * connector, which sends eth_sendTransaction to the node (whose accounts are unlocked). The dev
 * connector uses account #1 (account #0 deployed the system and staked in the insurance fund).
 */
export function buildConfig(deployments: ChainDeployment[], dev: Address[]): Config {
  const chains = deployments.map(chainOf);
  if (chains.length === 0) chains.push(hardhat);
  const connectors: CreateConnectorFn[] = [injected({ shimDisconnect: true })];
  if (dev.length > 1) connectors.push(mock({ accounts: [dev[1], ...dev.slice(2)] as [Address, ...Address[]] }));
  const transports = Object.fromEntries(chains.map((c) => [c.id, http(c.rpcUrls.default.http[0])]));
  return createConfig({
    chains: chains as [Chain, ...Chain[]],
    connectors,
    transports,
    pollingInterval: 1_000,
  });
}

export const DeploymentsContext = createContext<ChainDeployment[]>([]);
export const useDeployments = (): ChainDeployment[] => useContext(DeploymentsContext);
