/**
 * Stand-ins for the external contracts the protocol needs, for local networks only: a 6-decimal
 * USDC (anyone may mint) and a Chainlink ETH/USD aggregator (anyone may set its answer).
 *
 * Parameters (module id `LocalMocks`):
 * - `ethUsdAnswer`: the aggregator's first answer, in the feed's 8 decimals (default 3,000 USD).
 * - `ethUsdUpdatedAt`: that round's timestamp (default 1). Ignition cannot read the block time, so
 *   the round is old: a ChainlinkPriceFeed with a heartbeat reads it as stale until a script calls
 *   `setAnswer(answer, block.timestamp)`.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** Chainlink's ETH/USD feeds answer with 8 decimals. */
export const ETH_USD_DECIMALS = 8;
/** USDC has 6 decimals on every chain the protocol targets. */
export const USDC_DECIMALS = 6;

const LocalMocksModule = buildModule("LocalMocks", (m) => {
  const usdc = m.contract("MockERC20", ["USD Coin", "USDC", USDC_DECIMALS], { id: "USDC" });

  const ethUsdFeed = m.contract("MockAggregator", [ETH_USD_DECIMALS], { id: "EthUsdFeed" });
  const ethUsdAnswer = m.getParameter<bigint>("ethUsdAnswer", 3_000n * 10n ** BigInt(ETH_USD_DECIMALS));
  const ethUsdUpdatedAt = m.getParameter<bigint>("ethUsdUpdatedAt", 1n);
  m.call(ethUsdFeed, "setAnswer", [ethUsdAnswer, ethUsdUpdatedAt], { id: "EthUsdFeed_setAnswer" });

  return { usdc, ethUsdFeed };
});

export default LocalMocksModule;
