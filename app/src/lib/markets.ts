/** Market figures for every market of the deployment: mark, index, funding, open interest, risk parameters. */
import type { Address } from "viem";
import { useConfig } from "wagmi";
import { ammAbi, clearingHouseAbi, priceFeedAbi } from "../generated/abis.ts";
import { read, useChainQuery, useSystem } from "./system.ts";

export interface MarketData {
  symbol: string;
  amm: Address;
  mark: bigint;
  index: bigint | undefined;
  /** Premium: quote per base per day. */
  premium: bigint;
  longOi: bigint;
  shortOi: bigint;
  maxOi: bigint;
  initialMarginRatio: bigint;
  maintenanceMarginRatio: bigint;
  feeRatio: bigint;
  status: number;
  /** The dynamic curve (issue 14): peg and depth (1e18 at launch), the AMM budget, the net position, bid and ask. */
  curve: {
    peg: bigint;
    depth: bigint;
    budget: bigint;
    netPosition: bigint;
    bid: bigint;
    ask: bigint;
  };
}

const ZERO = "0x0000000000000000000000000000000000000000";

export function useMarkets() {
  const config = useConfig();
  const { deployment, chainId } = useSystem();
  const ch = deployment?.contracts.ClearingHouse;
  return useChainQuery(
    ["markets", chainId, ch],
    async (): Promise<MarketData[]> =>
      Promise.all(
        (deployment?.markets ?? []).map(async ({ symbol, amm }) => {
          const a = (functionName: string, args: readonly unknown[] = []) =>
            read<unknown>(config, chainId, { address: amm, abi: ammAbi, functionName, args });
          const c = (functionName: string) =>
            read<unknown>(config, chainId, { address: ch!, abi: clearingHouseAbi, functionName, args: [amm] });
          const [mark, funding, oi, limits, params, status, oracle, curveState, bidAsk] = (await Promise.all([
            a("getSpotPrice"),
            a("getFundingState"),
            a("getOpenInterest"),
            a("getLimits"),
            c("getMarketParams"),
            c("getMarketStatus"),
            a("getOracle"),
            a("getCurveState"),
            a("getBidAsk"),
          ])) as [
            bigint,
            readonly [bigint, bigint, bigint, unknown],
            readonly [bigint, bigint],
            { maxOpenInterest: bigint },
            { initialMarginRatio: bigint; maintenanceMarginRatio: bigint; feeRatio: bigint },
            readonly [number, bigint],
            readonly [Address, `0x${string}`],
            { peg: bigint; depth: bigint; budget: bigint; netPosition: bigint },
            readonly [bigint, bigint],
          ];
          let index: bigint | undefined;
          if (oracle[0] !== ZERO) {
            const [valid, price] = await read<readonly [boolean, bigint]>(config, chainId, {
              address: oracle[0],
              abi: priceFeedAbi,
              functionName: "tryGetPrice",
              args: [oracle[1]],
            }).catch(() => [false, 0n] as const);
            if (valid) index = price;
          }
          if (index === undefined) index = (await a("getIndexTwap", [0n]).catch(() => undefined)) as bigint | undefined;
          return {
            symbol,
            amm,
            mark,
            index,
            premium: funding[0],
            longOi: oi[0],
            shortOi: oi[1],
            maxOi: BigInt(limits.maxOpenInterest),
            initialMarginRatio: BigInt(params.initialMarginRatio),
            maintenanceMarginRatio: BigInt(params.maintenanceMarginRatio),
            feeRatio: BigInt(params.feeRatio),
            status: Number(status[0]),
            curve: {
              peg: curveState.peg,
              depth: curveState.depth,
              budget: curveState.budget,
              netPosition: curveState.netPosition,
              bid: bidAsk[0],
              ask: bidAsk[1],
            },
          };
        }),
      ),
    ch !== undefined,
  );
}
