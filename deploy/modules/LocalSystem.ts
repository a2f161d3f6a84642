/**
 * The whole protocol on a local network (the embedded network, `opLocal`, or a `npx hardhat node`
 * as `localhost`): the mocks, the Core module with the mock USDC as its collateral and the mock
 * sequencer feed, and the ETH and BTC markets on the mock aggregators, each market's AMM budget seeded
 * from test USDC account 0 mints and deposits (LocalBudgetFunds). Finally each aggregator's
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

/**
 * The free collateral the local markets' budgets are seeded from (id `LocalBudgetFunds`): account 0
 * mints `deposit` test USDC (token units, 6 decimals) and deposits it in the Vault. Each market then
 * contributes its `budgetSeed` from it; the files deposit exactly the seeds' sum.
 */
export const LocalBudgetFundsModule = buildModule("LocalBudgetFunds", (m) => {
  const { usdc } = m.useModule(LocalMocksModule);
  const { vault } = m.useModule(LocalCoreModule);
  const deployer = m.getAccount(0);
  const deposit = m.getParameter<bigint>("deposit");
  const mint = m.call(usdc, "mint", [deployer, deposit], { id: "USDC_mint", from: deployer });
  const approve = m.call(usdc, "approve", [vault, deposit], { id: "USDC_approve", from: deployer, after: [mint] });
  m.call(vault, "deposit", [deposit], { id: "Vault_deposit", from: deployer, after: [approve] });
  return { usdc, vault };
});

/** The ETH market (id `Market_ETH`) on the local Core and the mock ETH/USD aggregator, its budget seeded. */
export const LocalEthMarketModule = buildMarketModule(
  "ETH",
  LocalCoreModule,
  (m) => m.useModule(LocalMocksModule).ethUsdFeed,
  LocalBudgetFundsModule,
);
/** The BTC market (id `Market_BTC`) on the local Core and the mock BTC/USD aggregator, its budget seeded. */
export const LocalBtcMarketModule = buildMarketModule(
  "BTC",
  LocalCoreModule,
  (m) => m.useModule(LocalMocksModule).btcUsdFeed,
  LocalBudgetFundsModule,
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
