/**
 * The L1 data fee on a simulated OP Stack network (`chainType: "op"`). The node prices each
 * transaction's L1 data from the L1Block predeploy's storage, as op-geth does, and puts the result
 * in the receipt (`l1GasUsed`, `l1Fee`, `l1BaseFeeScalar`, ...). Hardhat's simulated L1Block starts
 * with both fee scalars at 0 (OP Mainnet's values sit in the slot, but not where the contract's
 * `baseFeeScalar()` and `blobBaseFeeScalar()` read them), so every L1 fee would be 0: this writes
 * the slot as the contract lays it out, with fixed L1 prices, so the fee is that of OP Mainnet's
 * pricing at those prices.
 */
import type { Connection } from "./live-market.js";

/** The L1Block predeploy (its storage is what the fee is computed from). */
const L1_BLOCK = "0x4200000000000000000000000000000000000015";
/** The GasPriceOracle predeploy, which reads the L1Block. */
const GAS_PRICE_ORACLE = "0x420000000000000000000000000000000000000F";

/** OP Mainnet's Ecotone fee scalars (the ones Hardhat ships for OP Mainnet), and fixed L1 prices. */
export const L1_FEE_PARAMS = {
  baseFeeScalar: 5_227n,
  blobBaseFeeScalar: 1_014_213n,
  l1BaseFeeGwei: 10n,
  blobBaseFeeGwei: 1n,
} as const;

const GWEI = 10n ** 9n;
const word = (value: bigint) => "0x" + value.toString(16).padStart(64, "0");

/**
 * Writes `L1_FEE_PARAMS` into the L1Block: slot 1 the L1 base fee; slot 3 packs, from the low
 * bits, sequenceNumber (uint64), blobBaseFeeScalar (uint32), baseFeeScalar (uint32); slot 7 the
 * blob base fee. Checks that the GasPriceOracle reads them back.
 */
export async function setL1FeeParams(connection: Connection): Promise<void> {
  const { ethers, provider } = connection;
  const p = L1_FEE_PARAMS;
  const slot3 = (p.baseFeeScalar << 96n) | (p.blobBaseFeeScalar << 64n);
  for (const [slot, value] of [
    [1, p.l1BaseFeeGwei * GWEI],
    [3, slot3],
    [7, p.blobBaseFeeGwei * GWEI],
  ] as const) {
    await provider.request({ method: "hardhat_setStorageAt", params: [L1_BLOCK, word(BigInt(slot)), word(value)] });
  }
  const oracle = new ethers.Contract(
    GAS_PRICE_ORACLE,
    [
      "function baseFeeScalar() view returns (uint32)",
      "function blobBaseFeeScalar() view returns (uint32)",
      "function l1BaseFee() view returns (uint256)",
      "function blobBaseFee() view returns (uint256)",
    ],
    ethers.provider,
  );
  const read = [
    await oracle.baseFeeScalar(),
    await oracle.blobBaseFeeScalar(),
    await oracle.l1BaseFee(),
    await oracle.blobBaseFee(),
  ];
  const expected = [p.baseFeeScalar, p.blobBaseFeeScalar, p.l1BaseFeeGwei * GWEI, p.blobBaseFeeGwei * GWEI];
  if (read.some((value, i) => value !== expected[i])) {
    throw new Error(`the GasPriceOracle reads ${read.join(", ")}, not the L1 fee parameters ${expected.join(", ")}`);
  }
}
