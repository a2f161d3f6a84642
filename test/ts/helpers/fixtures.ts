/**
 * Shared assertions for the TypeScript tests: compare the deployed contracts with the bigint model;
 * and the Vault with its insurance fund on their own, for the tests that play the ClearingHouse.
 */
import { expect } from "chai";
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionResponse } from "ethers";
import type { Amm, ClearingHouse, Vault } from "../../../typechain-types/index.js";
import type { System } from "../../../scripts/lib/deploy.js";
import type { SystemModel, TradeResult } from "./model.js";

export const USDC = (whole: bigint | number): bigint => BigInt(whole) * 10n ** 6n;
/** 10^(18 - 6): USDC units to 18-decimal units. */
export const USDC_SCALE = 10n ** 12n;

/** A staker ready to fill the insurance fund as a test needs: 1,000,000 USDC minted and approved to it. */
export async function readyInsurer(system: System, insurer: HardhatEthersSigner): Promise<void> {
  await (await system.usdc.mint(insurer.address, USDC(1_000_000))).wait();
  await (await system.usdc.connect(insurer).approve(await system.insuranceFund.getAddress(), USDC(1_000_000))).wait();
}

/**
 * A 6-decimal USDC, a Vault whose "ClearingHouse" is the account `ch` (so a test settles income and
 * losses by hand) and an InsuranceFund owned by `owner`, not yet registered with the Vault.
 */
export async function deployVaultAndFund(ethers: HardhatEthers, owner: HardhatEthersSigner, ch: HardhatEthersSigner) {
  const token = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const vault = await ethers.deployContract("Vault", [await token.getAddress(), ch.address]);
  const fund = await ethers.deployContract("InsuranceFund", [
    await token.getAddress(),
    await vault.getAddress(),
    owner.address,
    "Insurance Fund USDC",
    "ifUSDC",
  ]);
  return { token, vault, fund };
}

/** A position's change as the PositionChanged event carries it (after the trader and the market). */
export type PositionChange = Pick<
  TradeResult,
  | "baseDelta"
  | "quoteAmount"
  | "realizedPnl"
  | "fee"
  | "fundingPayment"
  | "freeCollateralDelta"
  | "size"
  | "margin"
  | "openNotional"
>;

/** The PositionChanged event's arguments, in the event's order. */
export function positionChangedArgs(trader: string, amm: string, r: PositionChange): unknown[] {
  return [
    trader,
    amm,
    r.baseDelta,
    r.quoteAmount,
    r.realizedPnl,
    r.fee,
    r.fundingPayment,
    r.freeCollateralDelta,
    r.size,
    r.margin,
    r.openNotional,
  ];
}

/** Asserts the PositionChanged event carries exactly the model's trade. */
export async function expectPositionChanged(
  tx: Promise<ContractTransactionResponse> | ContractTransactionResponse,
  clearingHouse: ClearingHouse,
  trader: string,
  amm: string,
  r: PositionChange,
): Promise<void> {
  await expect(tx)
    .to.emit(clearingHouse, "PositionChanged")
    .withArgs(...positionChangedArgs(trader, amm, r));
}

/** Asserts reserves, open interest, each market's money and claims, the given traders' positions and claims and the Vault ledger equal the model. */
export async function expectMatchesModel(
  model: SystemModel,
  contracts: { vault: Vault; clearingHouse: ClearingHouse; amms: Amm[] },
  traders: string[],
): Promise<void> {
  for (const amm of contracts.amms) {
    const key = await amm.getAddress();
    const m = model.amm(key);
    const [q, b] = await amm.getReserves();
    expect([q, b], "reserves").to.deep.equal([m.quote, m.base]);
    const [longOI, shortOI] = await amm.getOpenInterest();
    expect([longOI, shortOI], "open interest").to.deep.equal([m.longOI, m.shortOI]);
    const money = model.money(key);
    expect(await contracts.vault.marketBalances(key), "pool, locked margin, claims, fund receivable").to.deep.equal([
      money.pool,
      money.lockedMargin,
      model.claims(key),
      model.fundReceivable(key),
    ]);
    for (const t of traders) {
      expect(await contracts.vault.claimOf(key, t), `claim of ${t}`).to.equal(model.claimOf(key, t));
      const p = await contracts.clearingHouse.getPosition(key, t);
      const e = model.position(key, t);
      // The model has no funding (no oracle): every checkpoint stays at the zero index.
      expect([p.size, p.margin, p.openNotional, p.fundingCheckpoint], `position of ${t}`).to.deep.equal([
        e.size,
        e.margin,
        e.openNotional,
        0n,
      ]);
    }
  }
  for (const t of traders) {
    expect(await contracts.vault.freeCollateral(t), `free collateral of ${t}`).to.equal(model.freeOf(t));
  }
  const [marginPool, insuranceFund] = await contracts.vault.getPoolBalances();
  expect([marginPool, insuranceFund], "pool balances").to.deep.equal([model.marginPool, model.insuranceFund]);
}

/** A small deterministic PRNG (xorshift64*), so "random" sequences are the same on every run. */
export function prng(seed: bigint): (bound: bigint) => bigint {
  let s = seed & 0xffffffffffffffffn;
  if (s === 0n) s = 1n;
  return (bound: bigint) => {
    s ^= s >> 12n;
    s ^= (s << 25n) & 0xffffffffffffffffn;
    s ^= s >> 27n;
    const out = (s * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
    return out % bound;
  };
}
