/**
 * The whole protocol on a local network (the embedded network, `opLocal`, or a `npx hardhat node`
 * as `localhost`): the mocks, the Core module with the mock USDC as its collateral and the mock
 * sequencer feed, and the ETH and BTC markets on the mock aggregators. Finally each aggregator's
 * answer is published again, stamped with its market's deployment time, so the index prices are
 * fresh when the deployment ends (a script or keeper keeps them fresh after that).
 *
 *   npx hardhat ignition deploy deploy/modules/LocalSystem.ts --parameters deploy/parameters/local.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildCoreModule } from "./Core.js";
import LocalMocksModule from "./LocalMocks.js";
import { buildMarketModule } from "./Market.js";

/** The markets of the local system, in the order they are listed. */
export const LOCAL_MARKETS = ["ETH", "BTC"] as const;

/** The Core module (id `Core`) on the mock USDC and the mock sequencer feed. */
export const LocalCoreModule = buildCoreModule({
  collateral: (m) => m.useModule(LocalMocksModule).usdc,
  sequencerFeed: (m) => m.useModule(LocalMocksModule).sequencerFeed,
});

/** The ETH market (id `Market_ETH`) on the local Core and the mock ETH/USD aggregator. */
export const LocalEthMarketModule = buildMarketModule(
  "ETH",
  LocalCoreModule,
  (m) => m.useModule(LocalMocksModule).ethUsdFeed,
);
/** The BTC market (id `Market_BTC`) on the local Core and the mock BTC/USD aggregator. */
export const LocalBtcMarketModule = buildMarketModule(
  "BTC",
  LocalCoreModule,
  (m) => m.useModule(LocalMocksModule).btcUsdFeed,
);

const LocalSystemModule = buildModule("LocalSystem", (m) => {
  const { usdc, ethUsdFeed, btcUsdFeed, sequencerFeed } = m.useModule(LocalMocksModule);
  const { clearingHouse, vault, priceFeed, insuranceFund, viewer } = m.useModule(LocalCoreModule);
  const { amm: ethAmm } = m.useModule(LocalEthMarketModule);
  const { amm: btcAmm } = m.useModule(LocalBtcMarketModule);

  // Ignition cannot read the block time, but each Amm records its deployment time as the start of
  // its first funding period: publish each mock's answer again with that timestamp.
  for (const [symbol, feed, amm] of [
    ["ETH", ethUsdFeed, ethAmm],
    ["BTC", btcUsdFeed, btcAmm],
  ] as const) {
    const answer = m.staticCall(feed, "latestRoundData", [], 1, { id: `${symbol}_answer`, after: [LocalMocksModule] });
    const deployedAt = m.staticCall(amm, "getFundingState", [], "updatedAt", { id: `${symbol}_deployedAt` });
    m.call(feed, "setAnswer", [answer, deployedAt], { id: `${symbol}_publishAtDeployment` });
  }

  return {
    usdc,
    ethUsdFeed,
    btcUsdFeed,
    sequencerFeed,
    clearingHouse,
    vault,
    priceFeed,
    insuranceFund,
    viewer,
    ethAmm,
    btcAmm,
  };
});

export default LocalSystemModule;
