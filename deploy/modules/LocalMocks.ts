/**
 * Stand-ins for the external contracts the protocol needs, for local networks only (the embedded
 * network, `opLocal`, `localhost`): a 6-decimal USDC whose `mint` is an open faucet, one Chainlink
 * USD aggregator per local market (ETH, BTC; anyone may set their answers), and a Chainlink L2
 * sequencer uptime feed reporting "up" since timestamp 1 (anyone may change it).
 *
 * Parameters (module id `LocalMocks`), aggregator answers in the feeds' 8 decimals:
 * - `ethUsdAnswer` (default 3,000 USD), `btcUsdAnswer` (default 60,000 USD): the first answers.
 * - `answersUpdatedAt` (default 1): that round's timestamp. Ignition cannot read the block time, so
 *   on its own the round is old and a heartbeat check reads it as stale; the LocalSystem module
 *   publishes the answer again stamped with its markets' deployment time.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** Chainlink's crypto/USD feeds answer with 8 decimals. */
export const USD_FEED_DECIMALS = 8;
/** Kept for callers of the first version. */
export const ETH_USD_DECIMALS = USD_FEED_DECIMALS;
/** USDC has 6 decimals on every chain the protocol targets. */
export const USDC_DECIMALS = 6;
/** Chainlink's sequencer uptime feeds answer 0 (up) or 1 (down), with 0 decimals. */
export const SEQUENCER_FEED_DECIMALS = 0;

export const DEFAULT_ETH_USD_ANSWER = 3_000n * 10n ** BigInt(USD_FEED_DECIMALS);
export const DEFAULT_BTC_USD_ANSWER = 60_000n * 10n ** BigInt(USD_FEED_DECIMALS);

const LocalMocksModule = buildModule("LocalMocks", (m) => {
  const usdc = m.contract("MockERC20", ["USD Coin", "USDC", USDC_DECIMALS], { id: "USDC" });

  const updatedAt = m.getParameter<bigint>("answersUpdatedAt", 1n);
  const ethUsdFeed = m.contract("MockAggregator", [USD_FEED_DECIMALS], { id: "EthUsdFeed" });
  const ethUsdAnswer = m.getParameter<bigint>("ethUsdAnswer", DEFAULT_ETH_USD_ANSWER);
  m.call(ethUsdFeed, "setAnswer", [ethUsdAnswer, updatedAt], { id: "EthUsdFeed_setAnswer" });

  const btcUsdFeed = m.contract("MockAggregator", [USD_FEED_DECIMALS], { id: "BtcUsdFeed" });
  const btcUsdAnswer = m.getParameter<bigint>("btcUsdAnswer", DEFAULT_BTC_USD_ANSWER);
  m.call(btcUsdFeed, "setAnswer", [btcUsdAnswer, updatedAt], { id: "BtcUsdFeed_setAnswer" });

  // Up (answer 0) since timestamp 1: the grace period after a restart is long over.
  const sequencerFeed = m.contract("MockAggregator", [SEQUENCER_FEED_DECIMALS], { id: "SequencerUptimeFeed" });
  m.call(sequencerFeed, "setSequencerStatus", [false, 1n], { id: "SequencerUptimeFeed_up" });

  return { usdc, ethUsdFeed, btcUsdFeed, sequencerFeed };
});

export default LocalMocksModule;
