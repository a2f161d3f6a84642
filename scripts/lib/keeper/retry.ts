/** Retries of transient RPC failures with exponential backoff. */
import { errorMessage, isTransientError } from "./errors.js";
import type { Logger } from "./logger.js";

export interface RetryOptions {
  maxRetries: number;
  retryDelayMs: number;
  /** Cap of the doubling delay. */
  maxDelayMs?: number;
  logger: Logger;
  /** Which errors to retry; transient RPC failures by default. */
  retryIf?: (error: unknown) => boolean;
  /** Injected by tests. */
  sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, retrying transient failures up to `maxRetries` times with
 * exponential backoff (delay, 2 x delay, 4 x delay... capped). Any other error is thrown at once.
 * `fn` gets the attempt number (0 first), for calls whose retry differs (a resent transaction).
 */
export async function withRetry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const retryIf = options.retryIf ?? isTransientError;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.maxRetries || !retryIf(error)) throw error;
      const delay = Math.min(options.retryDelayMs * 2 ** attempt, options.maxDelayMs ?? 30_000);
      options.logger.warn(
        `retry ${attempt + 1}/${options.maxRetries} of ${what} in ${delay} ms: ${errorMessage(error)}`,
      );
      await (options.sleep ?? sleep)(delay);
    }
  }
}
