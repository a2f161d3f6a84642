/**
 * A market as deploy/parameters/<file>.json deploys it, for the regression tests that replay a
 * review's figures on the deployed parameters: the file is read at run time (so a test follows it
 * when it changes), every parameter the file leaves out takes its default from deploy/defaults.ts.
 * The oracle is a mock aggregator at the given index, recorded in the market (pokeIndex).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parameterDefault } from "../../../deploy/defaults.js";
import { deployMarket, deployOracle, type System } from "../../../scripts/lib/deploy.js";

/** One Ignition module's parameters from a parameter file, as bigints ("...n" strings). */
export function moduleParameters(file: string, moduleId: string): Record<string, bigint> {
  const path = fileURLToPath(new URL(`../../../deploy/parameters/${file}`, import.meta.url));
  const all = JSON.parse(readFileSync(path, "utf8")) as Record<string, Record<string, unknown>>;
  const out: Record<string, bigint> = {};
  for (const [name, value] of Object.entries(all[moduleId] ?? {})) {
    if (typeof value === "string" && /^\d+n$/.test(value)) out[name] = BigInt(value.slice(0, -1));
    else if (typeof value === "number") out[name] = BigInt(value);
  }
  return out;
}

/** A parameter of `moduleId` in `file`, or its default; throws if it has neither. */
export function parameter(file: string, moduleId: string, name: string): bigint {
  const value = moduleParameters(file, moduleId)[name] ?? parameterDefault(moduleId, name);
  if (value === undefined) throw new Error(`${file}: ${moduleId}.${name} is neither set nor defaulted`);
  return value;
}

export interface DeployedMarketParams {
  quoteReserve: bigint;
  baseReserve: bigint;
  maxTradeRatio: bigint;
  fluctuationLimitRatio: bigint;
  maxOpenInterest: bigint;
  initialMarginRatio: bigint;
  maintenanceMarginRatio: bigint;
  feeRatio: bigint;
  indexBandRatio: bigint;
}

/** The market `moduleId` of `file` (e.g. "optimism.json", "Market_ETH"). */
export function marketParams(file: string, moduleId: string): DeployedMarketParams {
  const p = (name: string) => parameter(file, moduleId, name);
  return {
    quoteReserve: p("quoteReserve"),
    baseReserve: p("baseReserve"),
    maxTradeRatio: p("maxTradeRatio"),
    fluctuationLimitRatio: p("fluctuationLimitRatio"),
    maxOpenInterest: p("maxOpenInterest"),
    initialMarginRatio: p("initialMarginRatio"),
    maintenanceMarginRatio: p("maintenanceMarginRatio"),
    feeRatio: p("feeRatio"),
    indexBandRatio: p("indexBandRatio"),
  };
}

/** Deploys and lists the market with `params`, its oracle at `index` (recorded) and its index band. */
export async function deployParameterisedMarket(
  ethers: HardhatEthers,
  system: System,
  params: DeployedMarketParams,
  symbol: string,
  index: bigint,
) {
  const amm = await deployMarket(ethers, system, params);
  const oracle = await deployOracle(ethers, system, amm, { symbol, price: index });
  await (await amm.setIndexBand(params.indexBandRatio)).wait();
  await (await amm.pokeIndex()).wait();
  return { amm, market: await amm.getAddress(), oracle };
}

/** Sets the ClearingHouse's liquidation rules to the Core module's of `file` (or their defaults). */
export async function applyLiquidationParams(system: System, file: string): Promise<void> {
  const p = (name: string) => parameter(file, "Core", name);
  await (
    await system.clearingHouse.setLiquidationParams({
      feeRatio: p("liquidationFeeRatio"),
      partialBuffer: p("partialLiquidationBuffer"),
      maxSpreadRatio: p("maxSpreadRatio"),
      markTwapInterval: p("markTwapInterval"),
      minPositionNotional: p("minPositionNotional"),
    })
  ).wait();
}
