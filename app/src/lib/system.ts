/** The deployment of the chain the app talks to, its collateral token, and typed reads and sends on it. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import type { Abi, Address } from "viem";
import { useChainId, useConfig, useConnection, type Config } from "wagmi";
import { readContract, simulateContract, waitForTransactionReceipt, writeContract } from "wagmi/actions";
import { mockErc20Abi, vaultAbi } from "../generated/abis.ts";
import { useDeployments, type ChainDeployment } from "./deployments.ts";
import { explain } from "./errors.ts";

export interface Call {
  address: Address;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
}

/** A read of a view function; the result typed by the caller. */
export function read<T>(config: Config, chainId: number, call: Call, account?: Address): Promise<T> {
  return readContract(config, { ...call, chainId, account } as Parameters<typeof readContract>[1]) as Promise<T>;
}

/** The deployment of the wallet's chain (or, with no wallet, of the first chain); undefined on a wrong network. */
export function useSystem(): {
  deployment: ChainDeployment | undefined;
  chainId: number;
  account: Address | undefined;
  wrongNetwork: boolean;
} {
  const deployments = useDeployments();
  const connection = useConnection();
  const configChainId = useChainId();
  const chainId = connection.isConnected && connection.chainId !== undefined ? connection.chainId : configChainId;
  const deployment = deployments.find((d) => d.chainId === chainId);
  return {
    deployment,
    chainId,
    account: connection.isConnected ? connection.address : undefined,
    wrongNetwork: connection.isConnected && deployment === undefined,
  };
}

/** A query that reads the chain again every second block or so (and after every transaction). */
export function useChainQuery<T>(key: readonly unknown[], fn: () => Promise<T>, enabled = true) {
  return useQuery({ queryKey: ["chain", ...key], queryFn: fn, enabled, refetchInterval: 2_000, retry: false });
}

export interface Token {
  address: Address;
  decimals: number;
  symbol: string;
}

/** The Vault's collateral token. */
export function useToken(): Token | undefined {
  const config = useConfig();
  const { deployment, chainId } = useSystem();
  const vault = deployment?.contracts.Vault;
  const q = useQuery({
    queryKey: ["token", chainId, vault],
    enabled: vault !== undefined,
    staleTime: Infinity,
    queryFn: async (): Promise<Token> => {
      const address = await read<Address>(config, chainId, {
        address: vault!,
        abi: vaultAbi,
        functionName: "collateralToken",
      });
      const call = (functionName: string): Call => ({ address, abi: mockErc20Abi, functionName });
      const [decimals, symbol] = await Promise.all([
        read<number>(config, chainId, call("decimals")),
        read<string>(config, chainId, call("symbol")),
      ]);
      return { address, decimals: Number(decimals), symbol };
    },
  });
  return q.data;
}

export type TxPhase = "pending" | "confirmed" | "failed";
export interface TxState {
  label: string;
  phase: TxPhase;
  text: string;
  hash?: string;
  /** Counts the sends of this panel, so a reader can tell this outcome from the previous one. */
  seq: number;
}

/**
 * Sends transactions one at a time: simulated first (a revert is shown as the CLI's sentence and
 * nothing is sent), then signed by the connected wallet, then awaited. Every read is refreshed
 * after it, whatever the outcome.
 */
export function useTx(): {
  state: TxState | undefined;
  busy: boolean;
  send: (label: string, call: Call) => Promise<boolean>;
} {
  const config = useConfig();
  const queryClient = useQueryClient();
  const { account, chainId } = useSystem();
  const [state, setState] = useState<TxState>();
  const [busy, setBusy] = useState(false);
  const counter = useRef(0);
  const send = useCallback(
    async (label: string, call: Call): Promise<boolean> => {
      setBusy(true);
      const seq = ++counter.current;
      setState({ label, phase: "pending", text: "waiting for the wallet…", seq });
      try {
        const { request } = await simulateContract(config, { ...call, account, chainId } as Parameters<
          typeof simulateContract
        >[1]);
        const hash = await writeContract(config, request as Parameters<typeof writeContract>[1]);
        setState({ label, phase: "pending", text: "pending: waiting for the block…", hash, seq });
        const receipt = await waitForTransactionReceipt(config, { hash, chainId });
        if (receipt.status !== "success") {
          setState({ label, phase: "failed", text: "failed: the transaction reverted", hash, seq });
          return false;
        }
        setState({ label, phase: "confirmed", text: `confirmed in block ${receipt.blockNumber}`, hash, seq });
        return true;
      } catch (error) {
        setState({ label, phase: "failed", text: `failed: ${explain(error)}`, seq });
        return false;
      } finally {
        setBusy(false);
        await queryClient.invalidateQueries({ queryKey: ["chain"] });
      }
    },
    [config, queryClient, account, chainId],
  );
  return { state, busy, send };
}
