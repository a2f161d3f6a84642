/**
 * The whole protocol on a live network that has no Chainlink L2 sequencer uptime feed (OP Sepolia):
 * as System.ts, but the Core module is built without a sequencer feed, so the ClearingHouse's
 * sequencer feed is address(0): it makes no sequencer check, and
 * risk-increasing actions do not pay for one. The parameter file has no `Core.sequencerFeed`.
 *
 *   npx hardhat ignition deploy deploy/modules/SystemWithoutSequencer.ts --network optimismSepolia \
 *     --parameters deploy/parameters/optimismSepolia.json --verify
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { CoreWithoutSequencerModule } from "./Core.js";
import { buildMarketModule } from "./Market.js";

/** The ETH market (id `Market_ETH`) on the Core module without a sequencer feed. */
export const EthMarketWithoutSequencerModule = buildMarketModule("ETH", CoreWithoutSequencerModule);
/** The BTC market (id `Market_BTC`) on the Core module without a sequencer feed. */
export const BtcMarketWithoutSequencerModule = buildMarketModule("BTC", CoreWithoutSequencerModule);

const SystemWithoutSequencerModule = buildModule("SystemWithoutSequencer", (m) => {
  const { clearingHouse, vault, priceFeed, insuranceFund, viewer } = m.useModule(CoreWithoutSequencerModule);
  const { amm: ethAmm } = m.useModule(EthMarketWithoutSequencerModule);
  const { amm: btcAmm } = m.useModule(BtcMarketWithoutSequencerModule);
  return { clearingHouse, vault, priceFeed, insuranceFund, viewer, ethAmm, btcAmm };
});

export default SystemWithoutSequencerModule;
