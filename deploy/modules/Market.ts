/**
 * One market: an Amm bound to the Core module's ClearingHouse, listed on it. Each market is its own
 * module, `Market_<SYMBOL>` (e.g. `Market_ETH`), so it has its own parameters and its own futures.
 *
 * Parameters (module id `Market_<SYMBOL>`), all 18-decimal fixed point:
 * - `quoteReserve`, `baseReserve` (required): the initial virtual reserves; the price is their ratio.
 * - `maxTradeRatio`, `fluctuationLimitRatio`, `maxOpenInterest` (required; 0 switches a limit off):
 *   the Amm's risk limits, settable later by its owner.
 * - `initialMarginRatio` (default 0.1), `maintenanceMarginRatio` (default 0.0625), `feeRatio`
 *   (default 0.001): the ClearingHouse's market parameters.
 *
 * The Amm's owner is the ClearingHouse's owner, read from the chain. `addMarket` is owner-only and
 * sent from account 0 (see Core.ts).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import CoreModule, { type CoreModuleType } from "./Core.js";

export const DEFAULT_INITIAL_MARGIN_RATIO = 100_000_000_000_000_000n; // 0.1
export const DEFAULT_MAINTENANCE_MARGIN_RATIO = 62_500_000_000_000_000n; // 0.0625
export const DEFAULT_FEE_RATIO = 1_000_000_000_000_000n; // 0.001

/** The module id of a market: `Market_ETH` for "ETH". */
export function marketModuleId(symbol: string): string {
  // Ignition ids are letters, digits and underscores; upper case keeps one id per market.
  if (!/^[A-Z][A-Z0-9]*$/.test(symbol)) {
    throw new Error(`Market symbol must be upper-case letters and digits, starting with a letter: "${symbol}"`);
  }
  return `Market_${symbol}`;
}

/**
 * Builds the module of the `symbol` market on `core` (the live-network Core module by default; the
 * local system passes its own, wired to the mock USDC).
 */
export function buildMarketModule(symbol: string, core: CoreModuleType = CoreModule) {
  return buildModule(marketModuleId(symbol), (m) => {
    const { clearingHouse } = m.useModule(core);

    const quoteReserve = m.getParameter<bigint>("quoteReserve");
    const baseReserve = m.getParameter<bigint>("baseReserve");
    const limits = {
      maxTradeRatio: m.getParameter<bigint>("maxTradeRatio"),
      fluctuationLimitRatio: m.getParameter<bigint>("fluctuationLimitRatio"),
      maxOpenInterest: m.getParameter<bigint>("maxOpenInterest"),
    };
    const marketParams = {
      initialMarginRatio: m.getParameter<bigint>("initialMarginRatio", DEFAULT_INITIAL_MARGIN_RATIO),
      maintenanceMarginRatio: m.getParameter<bigint>("maintenanceMarginRatio", DEFAULT_MAINTENANCE_MARGIN_RATIO),
      feeRatio: m.getParameter<bigint>("feeRatio", DEFAULT_FEE_RATIO),
    };

    const owner = m.staticCall(clearingHouse, "owner", [], 0, { id: "ClearingHouse_owner" });
    const amm = m.contract("Amm", [clearingHouse, quoteReserve, baseReserve, limits, owner]);
    // Owner-only: sent from account 0, like setVault (see Core.ts).
    m.call(clearingHouse, "addMarket", [amm, marketParams], { id: "ClearingHouse_addMarket", from: m.getAccount(0) });

    return { amm };
  });
}

/** The ETH market on the live-network Core module. */
const EthMarketModule = buildMarketModule("ETH");

export default EthMarketModule;
