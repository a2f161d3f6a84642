/**
 * One market: an Amm bound to the Core module's ClearingHouse, its index registered in the Core's
 * ChainlinkPriceFeed (Chainlink aggregator, heartbeat, sane price bounds) and set as the Amm's
 * oracle, its funding parameters, and its listing on the ClearingHouse with its margin and fee
 * ratios. Each market is its own module, `Market_<SYMBOL>` (e.g. `Market_ETH`), so it has its own
 * parameters and its own futures, and adding a market to a deployed system sends only its own
 * transactions.
 *
 * Parameters (module id `Market_<SYMBOL>`), ratios and amounts 18-decimal fixed point:
 * - `quoteReserve`, `baseReserve` (required): the initial virtual reserves; the price is their ratio.
 * - `maxTradeRatio`, `fluctuationLimitRatio`, `maxOpenInterest` (required; 0 switches a limit off):
 *   the Amm's risk limits, settable later by its owner.
 * - `initialMarginRatio`, `maintenanceMarginRatio`, `feeRatio` (defaults in deploy/defaults.ts):
 *   the ClearingHouse's market parameters.
 * - `feed` (required on live networks; locally the mock aggregator is wired in): the Chainlink
 *   aggregator (proxy) of the asset's USD price. The price feed reads its decimals when it is set.
 * - `heartbeat` (required, seconds): the oldest answer the price feed accepts.
 * - `minPrice`, `maxPrice` (required, 18 decimals): the sane range of the answer; outside it the
 *   index is invalid (funding pauses, liquidation falls back to the mark price).
 * - `maxPremiumRatio`, `minUpdateInterval`, `maxAccrualPeriod` (defaults in deploy/defaults.ts):
 *   `Amm.setFundingParams`.
 * - `indexBandRatio` (default in deploy/defaults.ts, 3%): `Amm.setIndexBand`, how far from the
 *   index a risk-increasing trade may take the price.
 * - `maxFundingSubsidyRatio` (default in deploy/defaults.ts, 1% a day): `Amm.setFundingSubsidyRatio`,
 *   the most of the insurance fund a day of this market's funding may draw.
 * - The dynamic curve, `Amm.setCurveParams` (defaults in deploy/defaults.ts: the constructor's static
 *   curve): `repegThresholdRatio`, `baseSpreadRatio`, `maxSpreadRatio`, `maxVammLeverage`,
 *   `fundShareRatio`, `budgetFloor`, `budgetTarget`, `maxDepthChangeRatio`, `minDepthRatio`,
 *   `maxDepthRatio`; the contract checks its bounds (deploy/README.md argues each file's values).
 * - `budgetSeed` (required, quote, only when the module is built with a seed's funds, as on the
 *   local system): what account 0 contributes to the market's AMM budget once it is listed
 *   (`ClearingHouse.contributeToBudget`), from the free collateral that module gives it.
 *
 * The asset key in the price feed is the symbol as a bytes32 string (`encodeBytes32String("ETH")`).
 * The Amm's owner is the ClearingHouse's owner, read from the chain. The owner-only calls are sent
 * from account 0 (see Core.ts).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { IgnitionModule } from "@nomicfoundation/ignition-core";
import { encodeBytes32String } from "ethers";
import { CURVE_PARAM_NAMES, MARKET_PARAMETER_DEFAULTS as DEFAULTS } from "../defaults.js";
import CoreModule, { type ContractSource, type CoreModuleType } from "./Core.js";

// The defaults live in deploy/defaults.ts; re-exported for the modules' existing importers.
export { DEFAULT_FUNDING_PARAMS } from "../defaults.js";

/** The module id of a market: `Market_ETH` for "ETH". */
export function marketModuleId(symbol: string): string {
  // Ignition ids are letters, digits and underscores; upper case keeps one id per market.
  if (!/^[A-Z][A-Z0-9]*$/.test(symbol)) {
    throw new Error(`Market symbol must be upper-case letters and digits, starting with a letter: "${symbol}"`);
  }
  return `Market_${symbol}`;
}

/** The market's key in the ChainlinkPriceFeed: the symbol as a bytes32 string. */
export function assetKey(symbol: string): string {
  return encodeBytes32String(symbol);
}

/**
 * Builds the module of the `symbol` market on `core` (the live-network Core module by default; the
 * local system passes its own, wired to the mock USDC). With `feed`, the market's aggregator comes
 * from there (a local mock) instead of the `feed` parameter. With `seedFunds`, a module that gives
 * account 0 free collateral in the Vault, the market's budget is seeded from it (`budgetSeed`).
 */
export function buildMarketModule(
  symbol: string,
  core: CoreModuleType = CoreModule,
  feed?: ContractSource,
  seedFunds?: IgnitionModule,
) {
  return buildModule(marketModuleId(symbol), (m) => {
    const { clearingHouse, priceFeed, ammCurveModule } = m.useModule(core);
    const deployer = m.getAccount(0);

    const quoteReserve = m.getParameter<bigint>("quoteReserve");
    const baseReserve = m.getParameter<bigint>("baseReserve");
    const limits = {
      maxTradeRatio: m.getParameter<bigint>("maxTradeRatio"),
      fluctuationLimitRatio: m.getParameter<bigint>("fluctuationLimitRatio"),
      maxOpenInterest: m.getParameter<bigint>("maxOpenInterest"),
    };
    const marketParams = {
      initialMarginRatio: m.getParameter<bigint>("initialMarginRatio", DEFAULTS.initialMarginRatio),
      maintenanceMarginRatio: m.getParameter<bigint>("maintenanceMarginRatio", DEFAULTS.maintenanceMarginRatio),
      feeRatio: m.getParameter<bigint>("feeRatio", DEFAULTS.feeRatio),
    };
    const fundingParams = {
      maxPremiumRatio: m.getParameter<bigint>("maxPremiumRatio", DEFAULTS.maxPremiumRatio),
      minUpdateInterval: m.getParameter<bigint>("minUpdateInterval", DEFAULTS.minUpdateInterval),
      maxAccrualPeriod: m.getParameter<bigint>("maxAccrualPeriod", DEFAULTS.maxAccrualPeriod),
    };
    const aggregator = feed === undefined ? m.getParameter<string>("feed") : feed(m);
    const heartbeat = m.getParameter<bigint>("heartbeat");
    const minPrice = m.getParameter<bigint>("minPrice");
    const maxPrice = m.getParameter<bigint>("maxPrice");
    const asset = assetKey(symbol);

    const owner = m.staticCall(clearingHouse, "owner", [], 0, { id: "ClearingHouse_owner" });
    const amm = m.contract("Amm", [clearingHouse, quoteReserve, baseReserve, limits, owner, ammCurveModule]);

    // Owner-only calls, sent from account 0 (see Core.ts).
    const setAsset = m.call(priceFeed, "setAsset", [asset, aggregator, heartbeat, minPrice, maxPrice], {
      id: "PriceFeed_setAsset",
      from: deployer,
    });
    const setOracle = m.call(amm, "setOracle", [priceFeed, asset], {
      id: "Amm_setOracle",
      from: deployer,
      after: [setAsset],
    });
    const setFundingParams = m.call(amm, "setFundingParams", [fundingParams], {
      id: "Amm_setFundingParams",
      from: deployer,
    });
    const indexBandRatio = m.getParameter<bigint>("indexBandRatio", DEFAULTS.indexBandRatio);
    const setIndexBand = m.call(amm, "setIndexBand", [indexBandRatio], { id: "Amm_setIndexBand", from: deployer });
    const subsidyRatio = m.getParameter<bigint>("maxFundingSubsidyRatio", DEFAULTS.maxFundingSubsidyRatio);
    const setSubsidy = m.call(amm, "setFundingSubsidyRatio", [subsidyRatio], {
      id: "Amm_setFundingSubsidyRatio",
      from: deployer,
    });
    // The dynamic curve: each parameter from the file, else the constructor's static default.
    const curveParams = Object.fromEntries(
      CURVE_PARAM_NAMES.map((name) => [name, m.getParameter<bigint>(name, DEFAULTS[name])]),
    );
    const setCurveParams = m.call(amm, "setCurveParams", [curveParams], {
      id: "Amm_setCurveParams",
      from: deployer,
    });
    // Listed last: a market is open to trading only once its index, funding and curve are configured.
    const addMarket = m.call(clearingHouse, "addMarket", [amm, marketParams], {
      id: "ClearingHouse_addMarket",
      from: deployer,
      after: [setOracle, setFundingParams, setIndexBand, setSubsidy, setCurveParams],
    });
    if (seedFunds !== undefined) {
      m.call(clearingHouse, "contributeToBudget", [amm, m.getParameter<bigint>("budgetSeed")], {
        id: "ClearingHouse_contributeToBudget",
        from: deployer,
        after: [addMarket, seedFunds],
      });
    }

    return { amm };
  });
}

/** The ETH market on the live-network Core module. */
const EthMarketModule = buildMarketModule("ETH");

export default EthMarketModule;
