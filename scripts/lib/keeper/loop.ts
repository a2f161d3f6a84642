/** The poll loop, and a clean stop on SIGINT/SIGTERM. */
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";

type Signal = "SIGINT" | "SIGTERM";

/** What signals arrive on: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: Signal, listener: () => void): unknown;
  off(signal: Signal, listener: () => void): unknown;
}

/**
 * Turns the first SIGINT/SIGTERM into a request to stop after the current tick (a transaction half
 * way through is waited for, so the next start finds a clean nonce), and a second one into an
 * immediate exit, for an operator who will not wait.
 */
export class Shutdown {
  #requested = false;
  readonly #wakers = new Set<() => void>();
  readonly #listeners: Array<[Signal, () => void]>;

  constructor(
    private readonly logger: Logger,
    private readonly source: SignalSource = process,
    private readonly forceExit: () => void = () => process.exit(130),
  ) {
    this.#listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => [signal, () => this.#onSignal(signal)]);
    for (const [signal, listener] of this.#listeners) source.on(signal, listener);
  }

  get requested(): boolean {
    return this.#requested;
  }

  request(reason: string): void {
    if (this.#requested) return;
    this.#requested = true;
    this.logger.info(`stopping (${reason}): finishing the current tick`);
    for (const wake of this.#wakers) wake();
  }

  /** Waits `ms`, or less if a stop is requested meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.#requested) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }

  dispose(): void {
    for (const [signal, listener] of this.#listeners) this.source.off(signal, listener);
  }

  #onSignal(signal: Signal): void {
    if (!this.#requested) return this.request(signal);
    this.logger.warn(`${signal} again: exiting now`);
    this.forceExit();
  }
}

/**
 * Ticks every `pollSeconds` until a stop is requested (or once). A failed tick is logged and the
 * loop goes on: the next tick starts from the chain's state. Returns whether the last tick succeeded.
 */
export async function runLoop(options: {
  tick: () => Promise<unknown>;
  pollSeconds: number;
  shutdown: Shutdown;
  logger: Logger;
  once?: boolean;
}): Promise<boolean> {
  let ok = true;
  while (!options.shutdown.requested) {
    try {
      await options.tick();
      ok = true;
    } catch (error) {
      ok = false;
      options.logger.error(`tick failed: ${errorMessage(error)}`);
    }
    if (options.once) break;
    await options.shutdown.sleep(options.pollSeconds * 1000);
  }
  return ok;
}
