/**
 * The whole protocol on a local network: the mocks, the Core module with the mock USDC as its
 * collateral, and the ETH market.
 *
 *   npx hardhat ignition deploy deploy/modules/LocalSystem.ts --parameters deploy/parameters/local.json
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildCoreModule } from "./Core.js";
import LocalMocksModule from "./LocalMocks.js";
import { buildMarketModule } from "./Market.js";

/** The Core module (id `Core`) with the mock USDC as the Vault's token. */
export const LocalCoreModule = buildCoreModule((m) => m.useModule(LocalMocksModule).usdc);

/** The ETH market (id `Market_ETH`) on the local Core. */
export const LocalEthMarketModule = buildMarketModule("ETH", LocalCoreModule);

const LocalSystemModule = buildModule("LocalSystem", (m) => {
  const { usdc, ethUsdFeed } = m.useModule(LocalMocksModule);
  const { clearingHouse, vault, priceFeed } = m.useModule(LocalCoreModule);
  const { amm: ethAmm } = m.useModule(LocalEthMarketModule);
  return { usdc, ethUsdFeed, clearingHouse, vault, priceFeed, ethAmm };
});

export default LocalSystemModule;
