/** Sequential sends from one signer with self-managed nonces, and their receipts. */
import type { Provider, Signer, TransactionReceipt } from "ethers";
import { errorMessage } from "./errors.js";
import { sleep, withRetry, type RetryOptions } from "./retry.js";

/** Nonce errors from a node that already has the transaction (an earlier attempt got through). */
const NONCE_USED = /nonce (is |has )?(too low|already been used)|already known|replacement transaction underpriced/i;

const RECEIPT_POLL_MS = 1_000;

/**
 * Sends a keeper's transactions from one signer, one at a time, with nonces it assigns itself, so
 * a resent transaction cannot be doubled; transient send failures are retried with the same nonce.
 */
export class TxSender {
  readonly #signer: Signer;
  readonly #provider: Provider;
  readonly #retry: RetryOptions;
  readonly #txTimeoutSeconds: number;
  /** The next nonce to use; undefined: read it from the chain before the next send. */
  #nonce: number | undefined;

  constructor(signer: Signer, options: { retry: RetryOptions; txTimeoutSeconds: number }) {
    if (!signer.provider) throw new Error("the keeper's signer has no provider");
    this.#signer = signer;
    this.#provider = signer.provider;
    this.#retry = options.retry;
    this.#txTimeoutSeconds = options.txTimeoutSeconds;
  }

  /** Forgets the nonce: the next send reads it from the chain (each tick, and after any doubt). */
  resync(): void {
    this.#nonce = undefined;
  }

  /**
   * Sends with the next nonce (`send` builds the transaction with it) and returns its hash. On
   * failure the nonce is re-read before the next send, and the error is thrown: a revert in gas
   * estimation (the state changed since the simulation) for the caller to decode.
   */
  async send(what: string, send: (nonce: number) => Promise<{ hash: string }>): Promise<string> {
    const nonce = await this.#nextNonce();
    try {
      const tx = await withRetry(
        `send ${what} nonce ${nonce}`,
        async (attempt) => {
          try {
            return await send(nonce);
          } catch (error) {
            // The same nonce again: if the node already has it, an earlier attempt got through
            // despite its error. Do not guess: the next tick reads the state afresh.
            if (attempt > 0 && NONCE_USED.test(errorMessage(error))) {
              throw new Error(`nonce ${nonce} is taken: an earlier attempt may have been sent; rechecking next tick`);
            }
            throw error;
          }
        },
        this.#retry,
      );
      this.#nonce = nonce + 1;
      return tx.hash;
    } catch (error) {
      this.#nonce = undefined;
      throw error;
    }
  }

  /** The successful receipt of `hash`; throws if it is not mined within KEEPER_TX_TIMEOUT or reverted. */
  async confirm(hash: string): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.#txTimeoutSeconds * 1000;
    let receipt: TransactionReceipt | null;
    for (;;) {
      receipt = await withRetry(`receipt of ${hash}`, () => this.#provider.getTransactionReceipt(hash), this.#retry);
      if (receipt !== null || Date.now() >= deadline) break;
      await sleep(RECEIPT_POLL_MS);
    }
    if (receipt === null) {
      this.#nonce = undefined;
      throw new Error(`tx ${hash} not mined within ${this.#txTimeoutSeconds} s; later ticks send nothing until it is`);
    }
    if (receipt.status !== 1) throw new Error(`tx ${hash} reverted on-chain (gas ${receipt.gasUsed})`);
    return receipt;
  }

  /**
   * The nonce for the next send. The keeper waits for each transaction before the next, so it
   * counts them itself; it sends nothing while an earlier transaction of its account is pending
   * (stuck for want of gas, say), as a new one would only queue behind it.
   */
  async #nextNonce(): Promise<number> {
    if (this.#nonce !== undefined) return this.#nonce;
    const from = await this.#signer.getAddress();
    const count = (tag: string) =>
      withRetry("eth_getTransactionCount", () => this.#provider.getTransactionCount(from, tag), this.#retry);
    const [mined, pending] = await Promise.all([count("latest"), count("pending")]);
    if (pending > mined) {
      throw new Error(`${pending - mined} earlier transaction(s) from ${from} still pending; not sending behind them`);
    }
    this.#nonce = mined;
    return mined;
  }
}
