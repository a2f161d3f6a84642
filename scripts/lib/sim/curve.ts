/**
 * The curve configurations of the demo and the economics benchmark. "static": the Amm as deployed
 * (fixed peg and depth, no spread, no budget). "dynamic": filled in once the dynamic-curve
 * contracts land.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Log } from "ethers";
import type { Amm } from "../../../typechain-types/index.js";
import type { World } from "./setup.js";

export type CurveName = "static" | "dynamic";

/** The curve's state at a sample (peg and depth as multiples of launch; budget in quote). */
export interface CurveState {
  peg: number;
  depth: number;
  budget: number;
  /** The budget in wei. */
  budgetWei: bigint;
}

/** A repeg or a depth change, from the Amm's events (cost in quote: + the budget paid, - a gain). */
export interface CurveEvent {
  kind: "repeg" | "depth";
  cost: number;
}

/** Whether the contracts of this checkout have the dynamic curve. */
export const DYNAMIC_CURVE_AVAILABLE = false;

/** The budget a treasury seeds each market with (quote). */
export const BUDGET_SEED = 20_000;

/**
 * Turns the dynamic curve on for every market of `world` and seeds each budget from a treasury
 * account; returns the treasury (it may hold collateral in the Vault).
 */
export async function enableDynamicCurve(_world: World): Promise<HardhatEthersSigner> {
  throw new Error("the dynamic curve is not in this checkout's contracts");
}

/** The curve's peg, depth and budget now. */
export async function readCurveState(_amm: Amm): Promise<CurveState> {
  throw new Error("the dynamic curve is not in this checkout's contracts");
}

/** A repeg or depth change of the Amm's logs, else undefined. */
export function parseCurveEvent(_log: Log): CurveEvent | undefined {
  return undefined;
}
