/**
 * The curve options of `perp set-params` (tasks/curve.ts uses them): what each sets and how it is
 * typed. Free of contract bindings, so tasks/index.ts (loaded with the Hardhat config) can read it.
 */
import type { CurveParams } from "../deploy/defaults.js";

/** How a curve parameter is typed on the command line and printed. */
export type Kind = "ratio" | "multiple" | "amount";

export interface CurveOption {
  /** The task option (camelCase; typed in kebab case: `--repeg-threshold`). */
  name: string;
  /** The `IAmm.CurveParams` field it sets. */
  param: keyof CurveParams;
  kind: Kind;
  description: string;
}

/** `set-params`'s curve options, in `IAmm.CurveParams` order. */
export const CURVE_OPTIONS: readonly CurveOption[] = [
  {
    name: "repegThreshold",
    param: "repegThresholdRatio",
    kind: "ratio",
    description: "Curve: mark-index gap that repegs the curve to the index, e.g. 0.5% (0 = never)",
  },
  { name: "baseSpread", param: "baseSpreadRatio", kind: "ratio", description: "Curve: base half-spread, e.g. 0.025%" },
  { name: "maxSpread", param: "maxSpreadRatio", kind: "ratio", description: "Curve: largest half-spread, e.g. 1%" },
  {
    name: "maxVammLeverage",
    param: "maxVammLeverage",
    kind: "multiple",
    description: "Curve: largest |net position| x price over the market's funds, e.g. 5x (0 = off)",
  },
  {
    name: "fundShare",
    param: "fundShareRatio",
    kind: "ratio",
    description: "Curve: share of the insurance fund counted in the market's funds, e.g. 25%",
  },
  {
    name: "budgetFloor",
    param: "budgetFloor",
    kind: "amount",
    description: "Curve: budget (quote) that repegs and depth changes never spend",
  },
  {
    name: "budgetTarget",
    param: "budgetTarget",
    kind: "amount",
    description: "Curve: budget (quote) above which the depth grows",
  },
  {
    name: "maxDepthChange",
    param: "maxDepthChangeRatio",
    kind: "ratio",
    description: "Curve: depth change per funding update, e.g. 1% (0 = fixed k)",
  },
  {
    name: "minDepth",
    param: "minDepthRatio",
    kind: "multiple",
    description: "Curve: smallest depth, a multiple of the launch depth, e.g. 0.95x",
  },
  {
    name: "maxDepth",
    param: "maxDepthRatio",
    kind: "multiple",
    description: "Curve: largest depth, a multiple of the launch depth, e.g. 3x",
  },
];

export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
