/** The simulation's clock and its accounts: block times and addresses that depend on the run only. */
import { getAddress, keccak256, toUtf8Bytes } from "ethers";

export interface Connection {
  ethers: import("@nomicfoundation/hardhat-ethers/types").HardhatEthers;
  provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> };
}

/** Addresses no one holds a key for, impersonated on the embedded network. */
export function accountAddress(label: string): string {
  return getAddress(keccak256(toUtf8Bytes(`vamm-demo:${label}`)).slice(0, 42));
}

/**
 * Makes block timestamps a function of the simulation only: after each mined block the next one
 * is set one second later; `jump` moves the clock forward.
 */
export class Clock {
  now: number;
  readonly #request: Connection["provider"]["request"];

  constructor(provider: Connection["provider"], start: number) {
    this.now = start;
    const request = provider.request.bind(provider);
    this.#request = request;
    provider.request = async (args) => {
      const result = await request(args);
      if (
        args.method === "eth_sendTransaction" ||
        args.method === "eth_sendRawTransaction" ||
        args.method === "evm_mine"
      ) {
        this.now += 1;
        await request({ method: "evm_setNextBlockTimestamp", params: [this.now] });
      }
      return result;
    };
  }

  async init(): Promise<void> {
    await this.#request({ method: "evm_setNextBlockTimestamp", params: [this.now] });
  }

  /** The next block's timestamp becomes at least `t`. */
  async jumpTo(t: number): Promise<void> {
    if (t <= this.now) return;
    this.now = t;
    await this.#request({ method: "evm_setNextBlockTimestamp", params: [t] });
  }
}
