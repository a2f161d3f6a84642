/**
 * The curve configurations of the demo and the economics benchmark. "static": the Amm as deployed
 * (every dynamic feature off: fixed peg and depth, no spread, no budget). "dynamic": the
 * parameters below, set by the owner with `Amm.setCurveParams`, and each market's AMM budget
 * seeded by a treasury account through the ClearingHouse's permissionless `contributeToBudget`.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Log } from "ethers";
import { Amm__factory, type Amm } from "../../../typechain-types/index.js";
import type { IAmmCurve } from "../../../typechain-types/contracts/Amm.js";
import { toWad } from "../fixed.js";
import type { World } from "./setup.js";
import { impersonate, USDC } from "./setup.js";

export type CurveName = "static" | "dynamic";

/** The curve's state at a sample (peg and depth as multiples of launch; budget in quote). */
export interface CurveState {
  peg: number;
  depth: number;
  budget: number;
  /** The budget in wei. */
  budgetWei: bigint;
}

/**
 * A repeg or a depth change, from the Amm's events (cost in quote: + the budget paid, - a gain), or
 * a funding update's collection of such gains into the budget ("collect": cost = - the amount), or
 * the budget's cover of a liquidation's bad debt ("badDebt": cost = the amount), or its share of a
 * funding accrual's imbalance ("funding": cost = what it paid, - what it took).
 */
export interface CurveEvent {
  kind: "repeg" | "depth" | "collect" | "badDebt" | "funding";
  cost: number;
}

/** Whether the contracts of this checkout have the dynamic curve. */
export const DYNAMIC_CURVE_AVAILABLE = true;

/** The budget a treasury seeds each market with (quote): 1% of the simulation's 2,000,000 quote reserve. */
export const BUDGET_SEED = 20_000;

/**
 * The dynamic curve's parameters for the simulation's markets (2,000,000 quote reserve, a 50,000
 * insurance fund), as a production market would start them:
 * - repeg when the price is 0.25% from the index (half the 0.5% mean gap the issue aims at: a trade
 *   moves the price after its repeg, so a threshold at the goal would leave the mean about at it);
 * - a 0.05% base half-spread (half the 0.1% fee), at most 1%;
 * - |net| x price at most 3x (budget + 20% of the fund): 3 x (20,000 + 10,000) = 90,000 quote at
 *   the start, about the benchmark's 50-ETH open-interest cap of one side;
 * - the budget's floor 2,000 (10% of the seed) and target 10,000 (half of it): the depth grows
 *   while the budget is above the target and shrinks when it falls;
 * - the depth moves at most 2% per funding update, within 0.5x..2x of launch.
 */
export const DYNAMIC_CURVE_PARAMS: IAmmCurve.CurveParamsStruct = {
  repegThresholdRatio: toWad("0.0025"),
  baseSpreadRatio: toWad("0.0005"),
  maxSpreadRatio: toWad("0.01"),
  maxVammLeverage: toWad(3),
  fundShareRatio: toWad("0.2"),
  budgetFloor: toWad(2_000),
  budgetTarget: toWad(10_000),
  maxDepthChangeRatio: toWad("0.02"),
  minDepthRatio: toWad("0.5"),
  maxDepthRatio: toWad(2),
};

/**
 * Turns the dynamic curve on for every market of `world` and seeds each budget with BUDGET_SEED
 * from a treasury account; returns the treasury (it may hold collateral in the Vault).
 */
export async function enableDynamicCurve(world: World): Promise<HardhatEthersSigner> {
  const { system, markets } = world;
  const treasury = await impersonate(world, "treasury");
  const vault = await system.vault.getAddress();
  const amount = BigInt(BUDGET_SEED) * USDC * BigInt(markets.length);
  await (await system.usdc.mint(treasury.address, amount)).wait();
  await (await system.usdc.connect(treasury).approve(vault, amount)).wait();
  await (await system.vault.connect(treasury).deposit(amount)).wait();
  for (const m of markets) {
    await (await m.amm.setCurveParams(DYNAMIC_CURVE_PARAMS)).wait();
    await (await system.clearingHouse.connect(treasury).contributeToBudget(m.address, toWad(BUDGET_SEED))).wait();
  }
  return treasury;
}

/** The curve's peg, depth and budget now. */
export async function readCurveState(amm: Amm): Promise<CurveState> {
  const s = await amm.getCurveState();
  return {
    peg: Number(s.peg) / 1e18,
    depth: Number(s.depth) / 1e18,
    budget: Number(s.budget) / 1e18,
    budgetWei: s.budget,
  };
}

const iface = Amm__factory.createInterface();

/** A repeg, depth change, gains collection, bad-debt cover or funding share among the Amm's logs, else undefined. */
export function parseCurveEvent(log: Log): CurveEvent | undefined {
  const parsed = iface.parseLog(log);
  if (parsed?.name === "Repegged") return { kind: "repeg", cost: Number(parsed.args.cost as bigint) / 1e18 };
  if (parsed?.name === "DepthChanged") return { kind: "depth", cost: Number(parsed.args.cost as bigint) / 1e18 };
  if (parsed?.name === "BudgetSpentOnBadDebt")
    return { kind: "badDebt", cost: Number(parsed.args.amount as bigint) / 1e18 };
  if (parsed?.name === "GainsCollected") return { kind: "collect", cost: -Number(parsed.args.amount as bigint) / 1e18 };
  if (parsed?.name === "BudgetFundingFlow")
    return { kind: "funding", cost: -Number(parsed.args.amount as bigint) / 1e18 };
  return undefined;
}
