/**
 * What the regression tests share: one market (1,000,000 / 10,000, spot 100, 0.1% fee) with funded
 * traders and a staked insurance fund, optionally an oracle at 100 and the market's risk limits, plus
 * a helper to total what a group of accounts holds (several transactions in one block: helpers/blocks.ts).
 */
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { deployCore, deployMarket, deployOracle, fund } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";

export const USDC = (whole: bigint | number): bigint => BigInt(whole) * 10n ** 6n;
export const SCALE = 10n ** 12n;
export const FUNDING = USDC(1_000_000);
export const STAKE = USDC(5_000);
export const FEE = toWad("0.001");
/** Longer than the 900 s mark TWAP window. */
export const TWAP_WINDOW = 900;
/** An explicit gas limit, for transactions sent with automine off (no estimate against a pending state). */
export const GAS = { gasLimit: 3_000_000n };
/** The deployment's limits (deploy/parameters/local.json): 10% per trade, 5% per block. */
export const DEPLOYED_LIMITS = { maxTradeRatio: toWad("0.1"), fluctuationLimitRatio: toWad("0.05") };

export interface FixtureOptions {
  maxTradeRatio?: bigint;
  fluctuationLimitRatio?: bigint;
  maxOpenInterest?: bigint;
  oracle?: boolean;
  stake?: bigint;
  feeRatio?: bigint;
  /** The L2 sequencer uptime feed the ClearingHouse gates on (none by default). */
  sequencerFeed?: string;
}

export async function deployFixture(ethers: HardhatEthers, options: FixtureOptions = {}) {
  const system = await deployCore(ethers, 6, options.sequencerFeed);
  const amm = await deployMarket(ethers, system, {
    quoteReserve: toWad(1_000_000),
    baseReserve: toWad(10_000),
    feeRatio: options.feeRatio ?? FEE,
    maxTradeRatio: options.maxTradeRatio,
    fluctuationLimitRatio: options.fluctuationLimitRatio,
    maxOpenInterest: options.maxOpenInterest,
  });
  const signers = await ethers.getSigners();
  const [owner, alice, bob, carol, dave, erin, staker, stranger] = signers;
  const oracle = options.oracle
    ? await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(100) })
    : undefined;
  for (const t of [alice, bob, carol, dave, erin]) await fund(system, t, FUNDING);
  const stake = options.stake ?? STAKE;
  if (stake > 0n) {
    await (await system.usdc.mint(staker.address, stake)).wait();
    await (await system.usdc.connect(staker).approve(await system.insuranceFund.getAddress(), stake)).wait();
    await (await system.insuranceFund.connect(staker).deposit(stake, staker.address)).wait();
  }
  return {
    ...system,
    ch: system.clearingHouse,
    amm,
    market: await amm.getAddress(),
    oracle,
    owner,
    alice,
    bob,
    carol,
    dave,
    erin,
    staker,
    stranger,
  };
}

export type Fx = Awaited<ReturnType<typeof deployFixture>>;

/** Free collateral (18 decimals) summed over `who`. */
export async function freeOf(fx: Fx, who: HardhatEthersSigner[]): Promise<bigint> {
  let total = 0n;
  for (const w of who) total += await fx.vault.freeCollateral(w.address);
  return total;
}

/**
 * The Vault's token balance against every claim on it (the given traders' free collateral, the
 * margin pool and the insurance account), both in 18 decimals.
 */
export async function solvency(fx: Fx, traders: HardhatEthersSigner[]) {
  const [marginPool, insurance] = await fx.vault.getPoolBalances();
  const claims = (await freeOf(fx, traders)) + marginPool + insurance;
  const held = (await fx.usdc.balanceOf(await fx.vault.getAddress())) * SCALE;
  return { claims, held };
}
