/**
 * The whole protocol on a live network (Optimism, OP Sepolia): the Core module on the network's
 * USDC, Chainlink aggregators and sequencer uptime feed, and one Market module per symbol of
 * market (ETH, BTC), all from one parameter file.
 *
 *   npx hardhat ignition deploy deploy/modules/System.ts --network optimismSepolia \
 *     --parameters deploy/parameters/optimismSepolia.json --verify
 *
 * To add a market later: add a line `m.useModule(buildMarketModule("SOL"))` below, a `Market_SOL`
 * section to the parameter file, and run the same command again. Ignition's journal knows everything else is
 * done and sends only the new market's transactions.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import CoreModule from "./Core.js";
import EthMarketModule, { buildMarketModule } from "./Market.js";

/** The BTC market (id `Market_BTC`) on the live-network Core module. */
export const BtcMarketModule = buildMarketModule("BTC");

const SystemModule = buildModule("System", (m) => {
  const { clearingHouse, vault, priceFeed, insuranceFund, viewer } = m.useModule(CoreModule);
  const { amm: ethAmm } = m.useModule(EthMarketModule);
  const { amm: btcAmm } = m.useModule(BtcMarketModule);
  return { clearingHouse, vault, priceFeed, insuranceFund, viewer, ethAmm, btcAmm };
});

export default SystemModule;
