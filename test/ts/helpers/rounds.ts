/** What the aggregator-facing tests share: a Chainlink round as raw return data. */
import { AbiCoder } from "ethers";

/** Five 32-byte words, as `latestRoundData` returns them. */
export function roundWords(roundId: bigint, answer: bigint, startedAt: bigint, updatedAt: bigint, answeredIn: bigint) {
  return AbiCoder.defaultAbiCoder().encode(
    ["uint256", "int256", "uint256", "uint256", "uint256"],
    [roundId, answer, startedAt, updatedAt, answeredIn],
  );
}
