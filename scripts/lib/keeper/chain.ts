/** The keeper's signer, its start-up checks against the ClearingHouse, and the pending block's time. */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet, type Provider, type Signer } from "ethers";
import type { IClearingHouse } from "../../../typechain-types/index.js";
import { ConfigError } from "./config.js";
import type { ErrorDecoder } from "../errors.js";
import { withRetry, type RetryOptions } from "./retry.js";

/** The keeper's signer: KEEPER_PRIVATE_KEY, or else the network's first configured account. */
export async function keeperSigner(ethers: HardhatEthers, privateKey?: string): Promise<Signer> {
  if (privateKey !== undefined) return new Wallet(privateKey, ethers.provider);
  const [first] = await ethers.getSigners();
  if (first === undefined) throw new Error("no signer: set KEEPER_PRIVATE_KEY or configure accounts for this network");
  return first;
}

/**
 * Start-up checks every keeper makes, so a wrong address or network fails at once with a clear
 * message: code at the ClearingHouse, an answer to paused(), every configured market listed.
 * Returns what the keeper logs in its first line.
 */
export async function checkClearingHouse(options: {
  signer: Signer;
  clearingHouse: IClearingHouse;
  address: string;
  markets?: readonly string[];
  decoder: ErrorDecoder;
  retry: RetryOptions;
}): Promise<{ chainId: bigint; from: string; balance: bigint; paused: boolean }> {
  const { signer, clearingHouse, address, decoder, retry } = options;
  const provider = signer.provider;
  if (!provider) throw new Error("the keeper's signer has no provider");
  const call = <T>(what: string, fn: () => Promise<T>) => withRetry(what, fn, retry);
  const [network, code] = await Promise.all([
    call("eth_chainId", () => provider.getNetwork()),
    call("eth_getCode", () => provider.getCode(address)),
  ]);
  if (code === "0x") {
    throw new ConfigError([
      `CLEARING_HOUSE: no contract at ${address} on chain ${network.chainId} (wrong address or --network?)`,
    ]);
  }
  let paused: boolean;
  try {
    paused = await call("paused()", () => clearingHouse.paused());
  } catch (error) {
    if (decoder.describe(error) === undefined) throw error;
    throw new ConfigError([`CLEARING_HOUSE: ${address} does not answer paused(): not a ClearingHouse?`]);
  }
  const unlisted: string[] = [];
  for (const market of options.markets ?? []) {
    if (!(await call("isMarketListed", () => clearingHouse.isMarketListed(market)))) {
      unlisted.push(`MARKETS: ${market} is not listed on the ClearingHouse ${address}`);
    }
  }
  if (unlisted.length > 0) throw new ConfigError(unlisted);
  const from = await signer.getAddress();
  const balance = await call("eth_getBalance", () => provider.getBalance(from));
  if (balance === 0n) retry.logger.warn(`signer ${from} has no balance to pay gas`);
  return { chainId: network.chainId, from, balance, paused };
}

/** Creation code that returns block.timestamp: TIMESTAMP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN. */
const TIMESTAMP_PROBE = "0x4260005260206000f3";

/**
 * The time the next transaction will meet: block.timestamp on the pending block. Not the latest
 * block's timestamp, which lags on a dev node (it mines only on transactions, and applies
 * evm_increaseTime only then); and ethers cannot parse the pending block Hardhat's node returns.
 */
export async function pendingTimestamp(provider: Provider, retry: RetryOptions): Promise<number> {
  const timestamp = await withRetry(
    "eth_call block.timestamp",
    () => provider.call({ data: TIMESTAMP_PROBE, blockTag: "pending" }),
    retry,
  );
  return Number(BigInt(timestamp));
}
