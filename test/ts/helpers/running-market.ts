/**
 * A market as it runs in production, for tests that compare a view with the trade or the views it
 * stands for: spot 2,000 (10,000,000 / 5,000), a 0.1% fee, every limit on (10% largest trade, 10%
 * move per block, 1,000,000 base of open interest per side) and an oracle index 1% above the spot,
 * so shorts pay longs once funding is updated. The given traders hold 1,000,000 USDC each in the Vault.
 */
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { deployCore, deployMarket, deployOracle, fund } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { USDC } from "./fixtures.js";

export async function deployLimitedMarket(ethers: HardhatEthers, traders: HardhatEthersSigner[]) {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, {
    quoteReserve: toWad(10_000_000),
    baseReserve: toWad(5_000),
    feeRatio: toWad("0.001"),
    maxTradeRatio: toWad("0.1"),
    fluctuationLimitRatio: toWad("0.1"),
    maxOpenInterest: toWad(1_000_000),
  });
  await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(2_020) });
  for (const t of traders) await fund(system, t, USDC(1_000_000));
  return { system, amm, market: await amm.getAddress(), ch: system.clearingHouse };
}
