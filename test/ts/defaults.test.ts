/**
 * deploy/defaults.ts against the contracts: where a contract carries the same default (a constant,
 * or a value its constructor sets), the two agree, so the one TypeScript source cannot drift from
 * the chain. The values themselves are checked against their meaning (0.1 = 10x leverage...).
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  CORE_PARAMETER_DEFAULTS,
  DEFAULT_FUNDING_PARAMS,
  DEFAULT_FUNDING_SUBSIDY_RATIO,
  DEFAULT_LIQUIDATION_PARAMS,
  DEFAULT_MARKET_PARAMS,
  DEFAULT_SEQUENCER_GRACE_PERIOD,
  MARKET_PARAMETER_DEFAULTS,
  parameterDefault,
  STATIC_CURVE_PARAMS,
  CURVE_PARAM_NAMES,
} from "../../deploy/defaults.js";
import { deployCore, deployMarket } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";

const { ethers } = await network.create();

describe("Default parameters (deploy/defaults.ts)", function () {
  it("are the ones the protocol documents: 10x, 6.25% maintenance, 0.1% fee, 1.25% penalty...", function () {
    expect(DEFAULT_MARKET_PARAMS).to.deep.equal({
      initialMarginRatio: toWad("0.1"),
      maintenanceMarginRatio: toWad("0.0625"),
      feeRatio: toWad("0.001"),
    });
    expect(DEFAULT_FUNDING_PARAMS).to.deep.equal({
      maxPremiumRatio: toWad("0.1"),
      minUpdateInterval: 5n * 60n,
      maxAccrualPeriod: 60n * 60n,
    });
    expect(DEFAULT_LIQUIDATION_PARAMS).to.deep.equal({
      feeRatio: toWad("0.0125"),
      partialBuffer: toWad("0.025"),
      maxSpreadRatio: toWad("0.1"),
      markTwapInterval: 15n * 60n,
      minPositionNotional: toWad(10),
    });
    expect(DEFAULT_SEQUENCER_GRACE_PERIOD).to.equal(60n * 60n);
    expect(DEFAULT_FUNDING_SUBSIDY_RATIO, "1% of the insurance fund a day").to.equal(toWad("0.01"));
  });

  it("agree with the ClearingHouse's, the Amm's and the price feed's own defaults", async function () {
    const system = await deployCore(ethers);
    const p = await system.clearingHouse.getLiquidationParams();
    expect({
      feeRatio: p.feeRatio,
      partialBuffer: p.partialBuffer,
      maxSpreadRatio: p.maxSpreadRatio,
      markTwapInterval: p.markTwapInterval,
      minPositionNotional: p.minPositionNotional,
    }).to.deep.equal(DEFAULT_LIQUIDATION_PARAMS);

    const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000), baseReserve: toWad(1) });
    const { params: funding } = await amm.getFundingState();
    expect({
      maxPremiumRatio: funding.maxPremiumRatio,
      minUpdateInterval: funding.minUpdateInterval,
      maxAccrualPeriod: funding.maxAccrualPeriod,
    }).to.deep.equal(DEFAULT_FUNDING_PARAMS);
    expect(await amm.DEFAULT_FUNDING_SUBSIDY_RATIO()).to.equal(DEFAULT_FUNDING_SUBSIDY_RATIO);
    expect(await amm.getFundingSubsidyRatio()).to.equal(DEFAULT_FUNDING_SUBSIDY_RATIO);
    const market = await system.clearingHouse.getMarketParams(await amm.getAddress());
    expect([market.initialMarginRatio, market.maintenanceMarginRatio]).to.deep.equal([
      DEFAULT_MARKET_PARAMS.initialMarginRatio,
      DEFAULT_MARKET_PARAMS.maintenanceMarginRatio,
    ]);

    // The dynamic curve starts static: every feature off, depth fixed at 1x.
    const curve = await amm.getCurveParams();
    expect(Object.fromEntries(CURVE_PARAM_NAMES.map((name) => [name, curve[name]]))).to.deep.equal(STATIC_CURVE_PARAMS);
    const fields = amm.interface.getFunction("getCurveParams").outputs[0].components!.map((c) => c.name);
    expect(fields, "IAmmCurve.CurveParams order").to.deep.equal(CURVE_PARAM_NAMES);

    // The ClearingHouse starts with the default grace period (SequencerUptime.DEFAULT_GRACE_PERIOD).
    expect(await system.clearingHouse.sequencerGracePeriod()).to.equal(DEFAULT_SEQUENCER_GRACE_PERIOD);
  });

  it("give the Ignition modules' optional parameters by their files' names", function () {
    expect(parameterDefault("Core", "liquidationFeeRatio")).to.equal(toWad("0.0125"));
    expect(parameterDefault("Core", "sequencerGracePeriod")).to.equal(3_600n);
    expect(parameterDefault("Market_ETH", "maintenanceMarginRatio")).to.equal(toWad("0.0625"));
    expect(parameterDefault("Market_BTC", "minUpdateInterval")).to.equal(300n);
    expect(parameterDefault("Market_ETH", "quoteReserve"), "required: no default").to.equal(undefined);
    expect(parameterDefault("LocalMocks", "feeRatio"), "another module's").to.equal(undefined);
    expect(Object.keys(CORE_PARAMETER_DEFAULTS)).to.have.length(6);
    expect(parameterDefault("Market_ETH", "indexBandRatio")).to.equal(toWad("0.03"));
    expect(parameterDefault("Market_ETH", "maxFundingSubsidyRatio")).to.equal(toWad("0.01"));
    expect(parameterDefault("Market_ETH", "repegThresholdRatio"), "the static curve: no repeg").to.equal(0n);
    expect(parameterDefault("Market_BTC", "minDepthRatio")).to.equal(toWad(1));
    expect(parameterDefault("Market_ETH", "budgetSeed"), "local only, required there").to.equal(undefined);
    expect(Object.keys(MARKET_PARAMETER_DEFAULTS)).to.have.length(8 + CURVE_PARAM_NAMES.length);
  });
});
