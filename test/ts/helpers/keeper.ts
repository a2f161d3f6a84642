/** Test helpers shared by the keepers' tests: a logger that keeps its lines, a flaky provider, rejections. */
import { BrowserProvider, type Eip1193Provider } from "ethers";
import type { Logger } from "../../../scripts/lib/keeper/logger.js";

export class MemoryLogger implements Logger {
  lines: string[] = [];
  info = (line: string): void => void this.lines.push(`INFO ${line}`);
  warn = (line: string): void => void this.lines.push(`WARN ${line}`);
  error = (line: string): void => void this.lines.push(`ERROR ${line}`);
  /** The lines logged since the last call. */
  take(): string[] {
    const lines = this.lines;
    this.lines = [];
    return lines;
  }
}

/** The error a promise rejects with (chai-as-promised is not registered). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/**
 * An ethers provider over the network's own that fails as told: `failures[key]` times, before the
 * request reaches the node or after (the answer is lost). The key is the method; for eth_call,
 * "eth_call@<block tag>" for a call to a contract and "eth_call(code)" for code run without one.
 * Records what reached the node.
 */
export function flakyProvider(
  inner: Eip1193Provider,
  failures: Record<string, { times: number; afterForwarding?: boolean }>,
) {
  const forwarded: string[] = [];
  const eip1193: Eip1193Provider = {
    request: async (args) => {
      const params = (args.params ?? []) as unknown[];
      const call = params[0] as { to?: string } | undefined;
      // eth_call without `to` runs code: the keeper's probe of block.timestamp.
      const key =
        args.method !== "eth_call" ? args.method : call?.to ? `eth_call@${String(params[1])}` : "eth_call(code)";
      const failure = failures[key];
      const fail = failure !== undefined && failure.times > 0;
      if (fail) failure.times--;
      if (fail && !failure.afterForwarding) throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      const result = await inner.request(args);
      forwarded.push(args.method);
      if (fail) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      return result;
    },
  };
  // cacheTimeout -1: ethers would otherwise answer a retry within 250 ms with the cached failure.
  return { browser: new BrowserProvider(eip1193, undefined, { cacheTimeout: -1 }), forwarded };
}
