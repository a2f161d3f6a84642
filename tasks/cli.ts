/**
 * What every CLI command shares (tasks/commands.ts, tasks/curve.ts): its context, the parsing of the
 * options as the user typed them, and sending a transaction with one line of output.
 */
import type { ContractTransactionReceipt, ContractTransactionResponse, Signer } from "ethers";
import { CliError, fmt, Side, type PerpClient, type SideValue } from "../scripts/lib/client.js";
import { formatPercent, parseDecimal, parseRatio, WAD } from "../scripts/lib/fixed.js";
import type { Output } from "../scripts/lib/format.js";

export type TaskArgs = Readonly<Record<string, string | boolean | undefined>>;

export interface CliContext {
  client: PerpClient;
  signer: Signer;
  /** The signer's address. */
  account: string;
  out: Output;
  /** Test seam: runs after a trade's preview, right before its transaction is sent. */
  beforeSend?: () => Promise<void>;
}

export type Command = (ctx: CliContext, args: TaskArgs) => Promise<void>;

// ---------------------------------------------------------------- option parsing

export const str = (args: TaskArgs, name: string): string => {
  const v = args[name];
  return typeof v === "string" ? v.trim() : "";
};

export function required(args: TaskArgs, name: string, flag: string): string {
  const v = str(args, name);
  if (v === "") throw new CliError(`--${flag} is required`);
  return v;
}

export function parseWith<T>(value: string, flag: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (error) {
    throw new CliError(`--${flag}: ${(error as Error).message}`);
  }
}

/** A positive 18-decimal amount ("100", "1,000.5"). */
export function positiveAmount(value: string, flag: string, decimals = 18): bigint {
  const v = parseWith(value, flag, (x) => parseDecimal(x, decimals));
  if (v <= 0n) throw new CliError(`--${flag} must be a positive amount, got ${value}`);
  return v;
}

export function parseSide(value: string): SideValue {
  const v = value.trim().toLowerCase();
  if (v === "long" || v === "buy") return Side.LONG;
  if (v === "short" || v === "sell") return Side.SHORT;
  throw new CliError(`--side must be long or short, got "${value}"`);
}

/** "5", "5x", "2.5X" -> 18 decimals. */
export function parseLeverage(value: string): bigint {
  const v = parseWith(value.replace(/x$/i, ""), "leverage", (x) => parseDecimal(x, 18));
  if (v <= 0n) throw new CliError(`--leverage must be positive, got ${value}`);
  return v;
}

/** A ratio between 0 and 100%: "0.5%", "50bps", "0.005". */
export function ratioOption(value: string, flag: string, max = WAD): bigint {
  const v = parseWith(value, flag, parseRatio);
  if (v < 0n || v > max) throw new CliError(`--${flag} must be between 0% and ${formatPercent(max)}, got ${value}`);
  return v;
}

export function seconds(value: string, flag: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v <= 0)
    throw new CliError(`--${flag} must be a positive number of seconds, got ${value}`);
  return v;
}

export const sideName = (size: bigint): string => (size > 0n ? "long" : size < 0n ? "short" : "-");
export const signed = (v: bigint, digits = 4): string => (v > 0n ? "+" : "") + fmt(v, digits);

// ---------------------------------------------------------------- sending

/** Sends, waits for the receipt and prints one line with its hash. */
export async function send(
  ctx: CliContext,
  what: string,
  sendTx: () => Promise<ContractTransactionResponse>,
): Promise<ContractTransactionReceipt> {
  const tx = await sendTx();
  let receipt: ContractTransactionReceipt | null;
  try {
    receipt = await tx.wait();
  } catch (error) {
    // A transaction that passed its gas estimate but reverted once mined carries no revert data:
    // replay it as a call on the state of the block it was mined in to learn why (its error, with
    // the data, is thrown); if the replay passes, the original error stands.
    const mined = (error as { receipt?: { blockNumber?: number } }).receipt?.blockNumber;
    if (mined !== undefined && ctx.signer.provider)
      await ctx.signer.provider.call({ to: tx.to, from: tx.from, data: tx.data, value: tx.value, blockTag: mined });
    throw error;
  }
  if (receipt === null) throw new CliError(`${what}: the transaction was dropped`);
  ctx.out.info(`${what}: tx ${receipt.hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
  return receipt;
}
