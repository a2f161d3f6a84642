/**
 * The CLI's view and control of each market's dynamic curve: `set-params` with the curve's
 * parameters, the curve table of `markets` (peg, depth, budget, bid/ask, net position) and
 * `contribute-budget`. Every bound is the contract's: a new set of parameters is tried with a
 * `staticCall` of `Amm.setCurveParams` before it is sent, so a value out of range is refused with
 * the contract's own error, decoded (scripts/lib/errors.ts); nothing here restates a bound.
 */
import { CliError, fmt, type MarketInfo, type PerpClient } from "../scripts/lib/client.js";
import { formatPercent, parseDecimal, parseRatio } from "../scripts/lib/fixed.js";
import { formatTable } from "../scripts/lib/format.js";
import { CURVE_PARAM_NAMES, type CurveParams } from "../deploy/defaults.js";
import { CURVE_OPTIONS, kebab, type CurveOption, type Kind } from "./curve-options.js";
import { parseWith, positiveAmount, required, send, signed, str, type CliContext, type TaskArgs } from "./cli.js";

/** A curve option's value as typed: a ratio ("0.5%", "50bps"), a multiple ("5x") or a quote amount. */
function parseCurveValue(option: CurveOption, text: string): bigint {
  const flag = kebab(option.name);
  const value = parseWith(text, flag, (v) =>
    option.kind === "ratio" ? parseRatio(v) : parseDecimal(option.kind === "multiple" ? v.replace(/x$/i, "") : v, 18),
  );
  // The contract's parameters are unsigned: the one check that is a type, not a bound.
  if (value < 0n) throw new CliError(`--${flag} must not be negative, got ${text}`);
  return value;
}

/** A curve parameter as the CLI prints it. */
export function formatCurveValue(kind: Kind, value: bigint): string {
  if (kind === "ratio") return formatPercent(value, 4);
  if (kind === "multiple") return `${fmt(value, 4)}x`;
  return fmt(value, 6);
}

/** Whether any curve option was given. */
export const hasCurveOptions = (args: TaskArgs): boolean => CURVE_OPTIONS.some((o) => str(args, o.name) !== "");

/** The market's curve parameters now, as a plain object. */
export async function readCurveParams(market: MarketInfo): Promise<CurveParams> {
  const current = await market.amm.getCurveParams();
  return Object.fromEntries(CURVE_PARAM_NAMES.map((name) => [name, current[name]])) as CurveParams;
}

/**
 * set-params --market ETH with any curve option, first step: the market's current parameters with
 * those given changed, checked by a staticCall of setCurveParams (the contract's bounds). Run before
 * anything of the command is sent, so a refused value changes nothing.
 */
export async function checkCurveParams(ctx: CliContext, market: MarketInfo, args: TaskArgs): Promise<CurveParams> {
  const next = await readCurveParams(market);
  for (const option of CURVE_OPTIONS) {
    const text = str(args, option.name);
    if (text !== "") next[option.param] = parseCurveValue(option, text);
  }
  await market.amm.connect(ctx.signer).setCurveParams.staticCall(next);
  return next;
}

/** set-params' second step: sends the checked parameters and prints them. */
export async function sendCurveParams(ctx: CliContext, market: MarketInfo, next: CurveParams): Promise<void> {
  await send(ctx, `set ${market.symbol} curve`, () => market.amm.connect(ctx.signer).setCurveParams(next));
  const off = (v: bigint, text: string) => (v === 0n ? "off" : text);
  const v = (param: keyof CurveParams) =>
    formatCurveValue(CURVE_OPTIONS.find((o) => o.param === param)!.kind, next[param]);
  ctx.out.info(
    `${market.symbol} curve: repeg at a gap of ${off(next.repegThresholdRatio, v("repegThresholdRatio"))}; ` +
      `half-spread ${v("baseSpreadRatio")} to ${v("maxSpreadRatio")}; ` +
      `vAMM leverage ${off(next.maxVammLeverage, `at most ${v("maxVammLeverage")}`)} ` +
      `(budget + ${v("fundShareRatio")} of the insurance fund); ` +
      `budget floor ${v("budgetFloor")}, target ${v("budgetTarget")}; ` +
      `depth ${off(next.maxDepthChangeRatio, `${v("maxDepthChangeRatio")} per update`)} ` +
      `within ${v("minDepthRatio")} .. ${v("maxDepthRatio")}`,
  );
}

/** The curve table of `markets`: one row per market. */
export async function curveTable(client: PerpClient): Promise<string> {
  const rows: string[][] = [];
  for (const m of client.markets) {
    const c = await client.curve(m);
    rows.push([
      m.symbol,
      fmt(c.peg, 6),
      `${fmt(c.depth, 4)}x`,
      fmt(c.budget, 2),
      `${fmt(c.budgetFloor, 2)} / ${fmt(c.budgetTarget, 2)}`,
      fmt(c.bid, 4),
      fmt(c.ask, 4),
      c.netPosition === 0n ? "0" : signed(c.netPosition, 6),
    ]);
  }
  return formatTable(["market", "peg", "depth", "budget", "floor / target", "bid", "ask", "net position"], rows);
}

/**
 * contribute-budget --market ETH --amount 1000: moves that much of the caller's free collateral
 * (quote, like a margin) into the market's AMM budget (`ClearingHouse.contributeToBudget`, open to
 * anyone), checked by a staticCall first.
 */
export async function contributeBudget(ctx: CliContext, args: TaskArgs): Promise<void> {
  const { client } = ctx;
  const market = client.market(required(args, "market", "market"));
  const amount = positiveAmount(required(args, "amount", "amount"), "amount");
  const ch = client.clearingHouse.connect(ctx.signer);
  await ch.contributeToBudget.staticCall(market.address, amount);
  const before = (await client.curve(market)).budget;
  await send(ctx, `contribute ${fmt(amount, 6)} to ${market.symbol}'s budget`, () =>
    ch.contributeToBudget(market.address, amount),
  );
  const after = await client.curve(market);
  ctx.out.info(
    `${market.symbol} budget: ${fmt(before, 6)} -> ${fmt(after.budget, 6)} ` +
      `(floor ${fmt(after.budgetFloor, 6)}, target ${fmt(after.budgetTarget, 6)}); ` +
      `your free collateral: ${fmt(await client.vault.freeCollateral(ctx.account), 6)}`,
  );
}
