/** The keeper's signer, its start-up checks against the ClearingHouse, and the pending block's time. */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet, type Provider, type Signer } from "ethers";
import type { IClearingHouse } from "../../../typechain-types/index.js";
import { ConfigError } from "./config.js";
import type { ErrorDecoder } from "../errors.js";
import { withRetry, type RetryOptions } from "./retry.js";

/** Each keeper's dev account on a local node, counted from the end of the node's accounts (1 = the last). */
export const LOCAL_KEEPER_ACCOUNT = { funding: 1, liquidation: 2, arbitrage: 3, claims: 4 } as const;
export type KeeperRole = keyof typeof LOCAL_KEEPER_ACCOUNT;

/** The local networks: Hardhat's in-process ones and a `npx hardhat node` on this machine. */
export function isLocalNetwork(networkName: string, chainId: bigint): boolean {
  return (
    ["default", "hardhat", "localhost", "hardhatMainnet", "opLocal"].includes(networkName) ||
    (chainId === 31337n && networkName !== "optimism" && networkName !== "optimismSepolia")
  );
}

/**
 * The keeper's signer and a line saying which account it is and why. With KEEPER_PRIVATE_KEY, that
 * key. Without it, only on a local network: a dev account of its own, counted from the end of the
 * node's accounts (the funding keeper the last, the liquidator the one before, the arbitrage bot the
 * one before that, the claims keeper the one before that), so a keeper never signs as account 0, the deployer and the CLI's default
 * trader. On a live network no configured account is used by default: the key is required.
 */
export async function keeperSigner(
  ethers: Pick<HardhatEthers, "getSigners" | "provider">,
  options: { privateKey?: string; role: KeeperRole; networkName: string; chainId: bigint },
): Promise<{ signer: Signer; account: string }> {
  const { privateKey, role, networkName, chainId } = options;
  if (privateKey !== undefined) {
    const wallet = new Wallet(privateKey, ethers.provider);
    return { signer: wallet, account: `${wallet.address} (KEEPER_PRIVATE_KEY) as the ${role} keeper` };
  }
  if (!isLocalNetwork(networkName, chainId))
    throw new ConfigError([
      `KEEPER_PRIVATE_KEY: required on the live network "${networkName}" (chain ${chainId}): a keeper never ` +
        "signs with the network's configured account by default (the deployer's or a trader's); give it a key of its own",
    ]);
  const signers = await ethers.getSigners();
  const fromEnd = LOCAL_KEEPER_ACCOUNT[role];
  const index = signers.length - fromEnd;
  if (index < 1)
    throw new ConfigError([
      `KEEPER_PRIVATE_KEY: the network "${networkName}" has ${signers.length} accounts, too few for a dev account ` +
        `of the ${role} keeper's own (it takes #${signers.length - fromEnd} from the end, never #0)`,
    ]);
  return {
    signer: signers[index],
    account:
      `${signers[index].address} (dev account #${index} of the local node's ${signers.length}, the ${role} keeper's own; ` +
      "the CLI signs with #0) as the " +
      role +
      " keeper",
  };
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
