/**
 * What the liquidation and settlement tests share: one market (1,000,000 / 10,000, spot 100, 0.1%
 * fee) with four funded traders and an insurer, optionally an oracle, and the bigint model fed the
 * same set-up.
 */
import { DEFAULT_MARKET_PARAMS } from "../../../deploy/defaults.js";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { deployCore, deployMarket, deployOracle, fund, MAX_DEADLINE } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import type { MockAggregator } from "../../../typechain-types/index.js";
import { expectPositionChanged, readyInsurer, USDC, USDC_SCALE } from "./fixtures.js";
import { SystemModel, type SideValue } from "./model.js";

export const Q0 = toWad(1_000_000);
export const B0 = toWad(10_000); // spot price 100
export const IMR = DEFAULT_MARKET_PARAMS.initialMarginRatio; // 0.1
export const MMR = DEFAULT_MARKET_PARAMS.maintenanceMarginRatio; // 0.0625
export const FEE = DEFAULT_MARKET_PARAMS.feeRatio; // 0.1% trading fee (none on a liquidation)
export const PARAMS = { initialMarginRatio: IMR, maintenanceMarginRatio: MMR, feeRatio: FEE };
export const FUNDING = USDC(200_000);
/** Longer than markTwapInterval (900 s): after it, the mark TWAP is the spot price. */
export const IDLE = 1000;

/** Deploys the market; with `withOracle`, a mock aggregator at 100 feeds its index. */
export async function deployLiquidationFixture(ethers: HardhatEthers, withOracle: boolean, q0 = Q0, b0 = B0) {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: q0, baseReserve: b0, feeRatio: FEE });
  const [owner, alice, bob, carol, dave, insurer] = await ethers.getSigners();
  let aggregator: MockAggregator | undefined;
  if (withOracle)
    aggregator = (await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(100) })).aggregator;
  for (const t of [alice, bob, carol, dave]) await fund(system, t, FUNDING);
  // A staker who fills the insurance fund (through the InsuranceFund vault) as a test needs.
  await readyInsurer(system, insurer);
  return {
    ...system,
    ch: system.clearingHouse,
    amm,
    ammAddress: await amm.getAddress(),
    q0,
    b0,
    aggregator,
    owner,
    alice,
    bob,
    carol,
    dave,
    insurer,
  };
}

export type LiquidationFx = Awaited<ReturnType<typeof deployLiquidationFixture>>;
export type Signer = LiquidationFx["alice"];

/** The model of the fixture's market and deposits. */
export function modelOf(fx: LiquidationFx): SystemModel {
  const model = new SystemModel();
  model.addMarket(fx.ammAddress, fx.q0, fx.b0, PARAMS);
  for (const t of [fx.alice, fx.bob, fx.carol, fx.dave]) model.deposit(t.address, FUNDING * USDC_SCALE);
  return model;
}

/** Opens on the chain and in the model, and checks the PositionChanged event against the model. */
export async function openModelled(
  fx: LiquidationFx,
  model: SystemModel,
  t: Signer,
  side: SideValue,
  margin: number,
  leverage: number,
) {
  const r = model.open(t.address, fx.ammAddress, side, toWad(margin), toWad(leverage));
  await expectPositionChanged(
    fx.ch.connect(t).openPosition(fx.ammAddress, side, toWad(margin), toWad(leverage), 0n, MAX_DEADLINE),
    fx.ch,
    t.address,
    fx.ammAddress,
    r,
  );
  return r;
}
