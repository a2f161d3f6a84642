/**
 * The one source of the protocol's default parameters, read by the Ignition modules (deploy/modules),
 * the test deployment helper (scripts/lib/deploy.ts), the demo and the tests' models. The parameter
 * files (deploy/parameters/*.json) state only what differs from these. Where a contract has the
 * same default as a constant or in its constructor, test/ts/defaults.test.ts checks they agree.
 * Ratios and amounts are 18-decimal fixed point; times are in seconds.
 */

/** A market's listing on the ClearingHouse (`addMarket`). */
export const DEFAULT_MARKET_PARAMS = {
  initialMarginRatio: 100_000_000_000_000_000n, // 0.1: at most 10x
  maintenanceMarginRatio: 62_500_000_000_000_000n, // 0.0625
  feeRatio: 1_000_000_000_000_000n, // 0.001 of the notional
};

/** The Amm's funding parameters: its constructor's defaults (`setFundingParams`). */
export const DEFAULT_FUNDING_PARAMS = {
  maxPremiumRatio: 100_000_000_000_000_000n, // 0.1 of the index per day
  minUpdateInterval: 300n, // 5 minutes
  maxAccrualPeriod: 3_600n, // 1 hour
};

/** The ClearingHouse's liquidation rules: its constructor's defaults, in `LiquidationParams` order. */
export const DEFAULT_LIQUIDATION_PARAMS = {
  feeRatio: 12_500_000_000_000_000n, // 0.0125
  partialBuffer: 25_000_000_000_000_000n, // 0.025
  maxSpreadRatio: 100_000_000_000_000_000n, // 0.1
  markTwapInterval: 900n, // 15 minutes
  minPositionNotional: 10_000_000_000_000_000_000n, // 10 (quote)
};

/** `ChainlinkPriceFeed.DEFAULT_GRACE_PERIOD`: risk-increasing actions wait this long after the sequencer is back. */
export const DEFAULT_SEQUENCER_GRACE_PERIOD = 3_600n;

/** The Core module's optional parameters and their defaults, by the parameter files' names. */
export const CORE_PARAMETER_DEFAULTS = {
  sequencerGracePeriod: DEFAULT_SEQUENCER_GRACE_PERIOD,
  liquidationFeeRatio: DEFAULT_LIQUIDATION_PARAMS.feeRatio,
  partialLiquidationBuffer: DEFAULT_LIQUIDATION_PARAMS.partialBuffer,
  maxSpreadRatio: DEFAULT_LIQUIDATION_PARAMS.maxSpreadRatio,
  markTwapInterval: DEFAULT_LIQUIDATION_PARAMS.markTwapInterval,
  minPositionNotional: DEFAULT_LIQUIDATION_PARAMS.minPositionNotional,
};

/**
 * The Amm's index band (`setIndexBand`): a risk-increasing trade may not take the price more than
 * 3% from the index. Below initial - maintenance margin (10% - 6.25% = 3.75%), so a position opened
 * at the edge of the band still has margin left above maintenance when the price returns to the
 * index (the colluding-accounts drain opened 10x longs 10.8% above the index).
 */
export const DEFAULT_INDEX_BAND_RATIO = 30_000_000_000_000_000n; // 0.03

/**
 * The Amm's funding subsidy budget (`setFundingSubsidyRatio`, the Amm's `DEFAULT_FUNDING_SUBSIDY_RATIO`):
 * when the side that receives funding is owed more than the paying side pays, the insurance fund
 * makes up the difference with at most 1% of its balance per day of funding, pro rata over each
 * stretch accrued; beyond that the receiving side gets less. Never "up to the whole fund".
 */
export const DEFAULT_FUNDING_SUBSIDY_RATIO = 10_000_000_000_000_000n; // 0.01 of the fund per day

/**
 * The Amm's dynamic-curve parameters (`setCurveParams`, in `IAmm.CurveParams` order) as its
 * constructor sets them: a static curve (no repeg, no spread, no vAMM leverage bound, fixed k, no
 * budget floor or target). The Ignition modules apply a market's own values from its parameter
 * file (every file turns the curve on; deploy/README.md says why each value); `scripts/lib/deploy.ts`
 * applies only what a test gives. The bounds are the contract's, never restated here.
 */
export const STATIC_CURVE_PARAMS = {
  repegThresholdRatio: 0n, // no repeg
  baseSpreadRatio: 0n, // no spread
  maxSpreadRatio: 0n,
  maxVammLeverage: 0n, // no bound
  fundShareRatio: 0n,
  budgetFloor: 0n,
  budgetTarget: 0n,
  maxDepthChangeRatio: 0n, // fixed k
  minDepthRatio: 1_000_000_000_000_000_000n, // 1x
  maxDepthRatio: 1_000_000_000_000_000_000n, // 1x
};

/** A market's dynamic-curve parameters (`IAmm.CurveParams`), by the parameter files' names. */
export type CurveParams = { [K in keyof typeof STATIC_CURVE_PARAMS]: bigint };

/** The names of the curve parameters, in `IAmm.CurveParams` order. */
export const CURVE_PARAM_NAMES = Object.keys(STATIC_CURVE_PARAMS) as (keyof CurveParams)[];

/** Every market module's optional parameters and their defaults, by the parameter files' names. */
export const MARKET_PARAMETER_DEFAULTS = {
  ...DEFAULT_MARKET_PARAMS,
  ...DEFAULT_FUNDING_PARAMS,
  indexBandRatio: DEFAULT_INDEX_BAND_RATIO,
  maxFundingSubsidyRatio: DEFAULT_FUNDING_SUBSIDY_RATIO,
  ...STATIC_CURVE_PARAMS,
};

/** The default of parameter `name` of Ignition module `moduleId` (`Core`, `Market_ETH`...); undefined if it has none. */
export function parameterDefault(moduleId: string, name: string): bigint | undefined {
  const defaults: Record<string, bigint> =
    moduleId === "Core" ? CORE_PARAMETER_DEFAULTS : moduleId.startsWith("Market_") ? MARKET_PARAMETER_DEFAULTS : {};
  return defaults[name];
}
