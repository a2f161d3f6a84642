/**
 * Every failure as the sentence the CLI prints: revert data found in a viem error (or a wallet's)
 * is decoded by the project's one decoder, scripts/lib/errors.js.
 */
import { BaseError } from "viem";
import { ErrorDecoder } from "../../../scripts/lib/errors.js";

let decoder = new ErrorDecoder({ tokenDecimals: 6, tokenSymbol: "USDC" });

/** Names markets by symbol and amounts in the collateral's units in the sentences. */
export function configureDecoder(tokenDecimals: number, tokenSymbol: string, names: Record<string, string>): void {
  const bySymbol = new Map(Object.entries(names).map(([a, s]) => [a.toLowerCase(), s]));
  decoder = new ErrorDecoder({ tokenDecimals, tokenSymbol, nameOf: (a) => bySymbol.get(a.toLowerCase()) ?? a });
}

const isRevertData = (v: unknown): v is string => typeof v === "string" && /^0x[0-9a-fA-F]{8,}$/.test(v);

/** The revert data somewhere in the error's causes (viem keeps it as `raw` or `data`). */
export function findRevertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): string | undefined => {
    if (e === null || typeof e !== "object" || depth > 8 || seen.has(e)) return undefined;
    seen.add(e);
    const x = e as Record<string, unknown>;
    if (isRevertData(x.raw)) return x.raw;
    if (isRevertData(x.data)) return x.data;
    for (const key of ["cause", "error", "data", "info"]) {
      const found = visit(x[key], depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return visit(error, 0);
}

/** The sentence for any failure: a decoded revert, or the wallet's or network's own short message. */
export function explain(error: unknown): string {
  const data = findRevertData(error);
  if (data) return decoder.explainData(data) ?? `the transaction reverted with unknown error ${data.slice(0, 10)}`;
  if (error instanceof BaseError) {
    if (error.name === "UserRejectedRequestError" || /rejected/i.test(error.shortMessage))
      return "you rejected the request in your wallet";
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}
