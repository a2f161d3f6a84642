/** The mark's change over the last 24 hours, from the market's Swapped events. */
import type { Address } from "viem";
import { useConfig } from "wagmi";
import { getPublicClient } from "wagmi/actions";
import { ammAbi } from "../generated/abis.ts";
import { useChainQuery, useSystem } from "./system.ts";

const WAD = 10n ** 18n;
const DAY = 86_400n;

interface Swap {
  blockNumber: bigint;
  args: { quoteDelta: bigint; baseDelta: bigint; quoteReserve: bigint; baseReserve: bigint };
}

/**
 * (mark now − mark 24 h ago) / mark 24 h ago: the mark 24 h ago is the price after the last swap
 * at or before that time, or before the first swap after it (its reserves less the swap's deltas,
 * which are the pool's). Undefined while loading; 0 without any swap.
 */
export function useChange24h(amm: Address, mark: bigint | undefined): bigint | undefined {
  const config = useConfig();
  const { chainId } = useSystem();
  const q = useChainQuery(["change24h", chainId, amm], async (): Promise<bigint | null> => {
    const client = getPublicClient(config, { chainId })!;
    const swaps = (await client.getContractEvents({
      address: amm,
      abi: ammAbi,
      eventName: "Swapped",
      fromBlock: 0n,
    })) as unknown as Swap[];
    if (swaps.length === 0) return null;
    const latest = await client.getBlock();
    const cutoff = latest.timestamp - DAY;
    const time = async (s: Swap) => (await client.getBlock({ blockNumber: s.blockNumber })).timestamp;
    // The first swap after the cutoff (binary search over the swaps' block times).
    let lo = 0;
    let hi = swaps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((await time(swaps[mid])) <= cutoff) lo = mid + 1;
      else hi = mid;
    }
    const price = (q: bigint, b: bigint) => (b === 0n ? 0n : (q * WAD) / b);
    if (lo > 0) return price(swaps[lo - 1].args.quoteReserve, swaps[lo - 1].args.baseReserve);
    const first = swaps[0].args;
    return price(first.quoteReserve - first.quoteDelta, first.baseReserve - first.baseDelta);
  });
  if (q.data === undefined || mark === undefined) return undefined;
  if (q.data === null || q.data === 0n) return 0n;
  return ((mark - q.data) * WAD) / q.data;
}
