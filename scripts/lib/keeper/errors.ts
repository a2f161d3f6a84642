/**
 * What a failed call was: a transient RPC failure worth retrying, a revert carrying data, or
 * neither; and a short message for logs. Naming the revert is scripts/lib/errors.ts's job.
 */
import { isHexString } from "ethers";

export interface ErrorLike {
  code?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  data?: unknown;
  error?: unknown;
  info?: unknown;
  cause?: unknown;
}

/** The error and those it wraps: ethers nests the node's error under `info.error` or `error`, Node under `cause`. */
export function errorChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (e === null || typeof e !== "object" || depth > 6 || chain.includes(e as ErrorLike)) return;
    const x = e as ErrorLike;
    chain.push(x);
    visit(x.error, depth + 1);
    if (x.info !== null && typeof x.info === "object") visit((x.info as ErrorLike).error, depth + 1);
    visit(x.cause, depth + 1);
    // Some nodes nest the revert data one level deeper: { data: { data: "0x..." } }.
    visit(x.data, depth + 1);
  };
  visit(error, 0);
  return chain;
}

/** ethers codes for failures of the transport, not of the call. */
const TRANSIENT_CODES = new Set([
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);
/** 429: HTTP too many requests; -32005: JSON-RPC "limit exceeded", as hosted RPCs rate-limit. */
const TRANSIENT_RPC_CODES = new Set([429, -32005]);
const TRANSIENT_MESSAGE =
  /\btime ?out\b|timed out|socket hang up|ECONNRESET|ECONNREFUSED|ETIMEDOUT|fetch failed|network error|rate limit|too many requests|header not found|service unavailable|bad gateway|cannot connect to the network/i;

/** Revert data carried by the error: a selector at least. */
export function revertData(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    if (typeof e.data === "string" && isHexString(e.data) && e.data.length >= 10) return e.data;
  }
  return undefined;
}

/**
 * Whether retrying may succeed: the RPC endpoint failed (connection, timeout, rate limit, 5xx), not
 * the call. A revert is never transient, even when the node wraps it in a generic error.
 */
export function isTransientError(error: unknown): boolean {
  if (revertData(error) !== undefined) return false;
  return errorChain(error).some(
    (e) =>
      (typeof e.code === "string" && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("UND_ERR_"))) ||
      (typeof e.code === "number" && TRANSIENT_RPC_CODES.has(e.code)) ||
      (typeof e.message === "string" && TRANSIENT_MESSAGE.test(e.message)),
  );
}

/** A short readable message: the error's and the one it wraps, first lines only. */
export function errorMessage(error: unknown): string {
  const messages: string[] = [];
  for (const e of errorChain(error)) {
    const text = typeof e.shortMessage === "string" ? e.shortMessage : e.message;
    if (typeof text !== "string") continue;
    const first = text.split("\n")[0].trim();
    if (first !== "" && !messages.includes(first)) messages.push(first);
  }
  const text = messages.slice(0, 2).join(": ") || String(error);
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

const NODE_DOWN = /ECONNREFUSED|cannot connect to the network|fetch failed/i;

/**
 * For a failure to reach the node at all: what to do about it (on a local network, start
 * `npx hardhat node`); undefined for any other error.
 */
export function nodeDownHint(error: unknown, networkName: string, local: boolean): string | undefined {
  const down = errorChain(error).some(
    (e) =>
      e.code === "ECONNREFUSED" ||
      (typeof e.message === "string" && NODE_DOWN.test(e.message)) ||
      (typeof e.shortMessage === "string" && NODE_DOWN.test(e.shortMessage)),
  );
  if (!down) return undefined;
  return local
    ? `no node answers on the network "${networkName}": start one with \`npx hardhat node\` in another terminal ` +
        "(and deploy the local system there), then start the keeper again"
    : `no node answers on the network "${networkName}": check its RPC URL (the network's configuration variable) and your connection`;
}
