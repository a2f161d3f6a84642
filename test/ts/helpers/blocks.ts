/** Several transactions in one block: what same-block limits and races are tested with. */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse, TransactionReceipt } from "ethers";

/**
 * Sends every transaction with automine off, in order, then mines them into one block (at
 * `timestamp`, when given); returns the transactions, their receipts and statuses (1 mined, 0
 * reverted). Throws if they did not all land in that one block. Transactions sent with automine off
 * need an explicit gas limit (no estimate against a pending state).
 */
export async function inOneBlock(
  ethers: HardhatEthers,
  sends: ReadonlyArray<() => Promise<ContractTransactionResponse>>,
  options: { timestamp?: bigint } = {},
): Promise<{ txs: ContractTransactionResponse[]; receipts: TransactionReceipt[]; statuses: number[] }> {
  await ethers.provider.send("evm_setAutomine", [false]);
  const txs: ContractTransactionResponse[] = [];
  try {
    for (const send of sends) txs.push(await send());
    if (options.timestamp !== undefined)
      await ethers.provider.send("evm_setNextBlockTimestamp", [`0x${options.timestamp.toString(16)}`]);
    await ethers.provider.send("evm_mine", []);
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
  const receipts = await Promise.all(txs.map((tx) => ethers.provider.getTransactionReceipt(tx.hash)));
  const blocks = new Set(receipts.map((r) => r?.blockNumber));
  if (receipts.includes(null) || blocks.size !== 1) throw new Error("the transactions did not land in one block");
  const mined = receipts as TransactionReceipt[];
  if (options.timestamp !== undefined) {
    const block = await ethers.provider.getBlock(mined[0].blockNumber);
    if (BigInt(block!.timestamp) !== options.timestamp)
      throw new Error(`the block's timestamp is ${block!.timestamp}, not ${options.timestamp}`);
  }
  return { txs, receipts: mined, statuses: mined.map((r) => r.status ?? 0) };
}
