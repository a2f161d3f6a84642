/**
 * The main job: deploys the protocol on the embedded Hardhat network and replays the worked
 * examples of the seed documents step by step (fees off, as in the seeds), printing the pool's
 * reserves, every position and every PnL, then checks that the books balance.
 *
 * Run: `npm run demo`.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { network } from "hardhat";
import type { Amm } from "../typechain-types/index.js";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side, type System } from "./lib/deploy.js";
import { formatWad, toWad } from "./lib/fixed.js";

const { ethers } = await network.create();
const USDC = 10n ** 6n;

async function printPool(amm: Amm): Promise<void> {
  const [quote, base] = await amm.getReserves();
  const price = await amm.getSpotPrice();
  console.log(`    pool: ${formatWad(quote, 6)} quote / ${formatWad(base, 6)} base, price ${formatWad(price, 6)}`);
}

async function printPosition(system: System, amm: Amm, name: string, trader: HardhatEthersSigner): Promise<void> {
  const market = await amm.getAddress();
  const p = await system.clearingHouse.getPosition(market, trader.address);
  if (p.size === 0n) {
    console.log(
      `    ${name}: no position, free collateral ${formatWad(await system.vault.freeCollateral(trader.address), 6)}`,
    );
    return;
  }
  const pnl = await system.clearingHouse.getUnrealizedPnl(market, trader.address);
  console.log(
    `    ${name}: size ${formatWad(p.size, 9)}, margin ${formatWad(p.margin, 2)}, ` +
      `open notional ${formatWad(p.openNotional, 2)}, unrealised PnL ${formatWad(pnl, 6)}`,
  );
}

/** Sends a trade and returns the PositionChanged event's fields. */
async function trade(system: System, send: Promise<{ wait: () => Promise<unknown> }>) {
  const receipt = (await (await send).wait()) as { logs: Array<{ topics: string[]; data: string }> };
  for (const log of receipt.logs) {
    const parsed = system.clearingHouse.interface.parseLog(log);
    if (parsed?.name === "PositionChanged") return parsed.args;
  }
  throw new Error("no PositionChanged event");
}

async function seed002(system: System, alice: HardhatEthersSigner, bob: HardhatEthersSigner): Promise<void> {
  console.log("\nSeed 002: pool of 100,000 quote and 12,500 base (price 8), fees off");
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(100_000), baseReserve: toWad(12_500) });
  const market = await amm.getAddress();
  await printPool(amm);
  const ch = system.clearingHouse;

  console.log("\n1. Alice goes long with 2,000 margin at 2x (notional 4,000)");
  let e = await trade(
    system,
    ch.connect(alice).openPosition(market, Side.LONG, toWad(2_000), toWad(2), 0n, MAX_DEADLINE),
  );
  console.log(`    Alice receives ${formatWad(e.baseDelta, 18)} base`);
  await printPool(amm);

  console.log("\n2. Bob goes long with 2,000 margin at 3x (notional 6,000)");
  e = await trade(system, ch.connect(bob).openPosition(market, Side.LONG, toWad(2_000), toWad(3), 0n, MAX_DEADLINE));
  console.log(`    Bob receives ${formatWad(e.baseDelta, 18)} base`);
  await printPool(amm);
  await printPosition(system, amm, "Alice", alice);
  await printPosition(system, amm, "Bob", bob);

  console.log("\n3. Alice closes");
  e = await trade(system, ch.connect(alice).closePosition(market, 0n, MAX_DEADLINE));
  console.log(`    Alice receives ${formatWad(e.quoteAmount, 18)} quote: PnL ${formatWad(e.realizedPnl, 18)}`);
  await printPool(amm);

  console.log("\n4. Bob closes");
  e = await trade(system, ch.connect(bob).closePosition(market, 0n, MAX_DEADLINE));
  console.log(`    Bob receives ${formatWad(e.quoteAmount, 18)} quote: PnL ${formatWad(e.realizedPnl, 18)}`);
  await printPool(amm);
  await printPosition(system, amm, "Alice", alice);
  await printPosition(system, amm, "Bob", bob);
}

async function seed003(system: System, alice: HardhatEthersSigner, bob: HardhatEthersSigner): Promise<void> {
  console.log("\nSeed 003: pool of 40,000 vDAI and 100 vETH (price 400), fees off");
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(40_000), baseReserve: toWad(100) });
  const market = await amm.getAddress();
  const ch = system.clearingHouse;
  await printPool(amm);

  console.log("\n1. Alice goes 10x long with 100");
  let e = await trade(
    system,
    ch.connect(alice).openPosition(market, Side.LONG, toWad(100), toWad(10), 0n, MAX_DEADLINE),
  );
  console.log(`    Alice receives ${formatWad(e.baseDelta, 18)} vETH`);
  await printPool(amm);

  console.log("\n2. Bob goes 10x short with 100");
  e = await trade(system, ch.connect(bob).openPosition(market, Side.SHORT, toWad(100), toWad(10), 0n, MAX_DEADLINE));
  console.log(`    Bob owes ${formatWad(-(e.baseDelta as bigint), 18)} vETH`);
  await printPool(amm);
  await printPosition(system, amm, "Alice", alice);
  await printPosition(system, amm, "Bob", bob);

  console.log("\n3. Both close");
  await trade(system, ch.connect(alice).closePosition(market, 0n, MAX_DEADLINE));
  await trade(system, ch.connect(bob).closePosition(market, 0n, MAX_DEADLINE));
  await printPool(amm);
}

const system = await deployCore(ethers);
const [, alice, bob] = await ethers.getSigners();
console.log("Deployed on the embedded Hardhat network:");
console.log(`    USDC (6 decimals) ${await system.usdc.getAddress()}`);
console.log(`    Vault             ${await system.vault.getAddress()}`);
console.log(`    ClearingHouse     ${await system.clearingHouse.getAddress()}`);
const deposit = 10_000n * USDC;
for (const t of [alice, bob]) await fund(system, t, deposit);
console.log("Alice and Bob each deposit 10,000 USDC");

await seed002(system, alice, bob);
await seed003(system, alice, bob);

// The books must balance: the Vault's tokens cover every claim, and what Alice won Bob lost.
const vaultTokens = await system.usdc.balanceOf(await system.vault.getAddress());
const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
const free = (await system.vault.freeCollateral(alice.address)) + (await system.vault.freeCollateral(bob.address));
const claims = free + marginPool + insuranceFund;
console.log("\nSolvency check");
console.log(`    vault holds        ${formatWad(vaultTokens * 10n ** 12n, 18)}`);
console.log(
  `    claims             ${formatWad(claims, 18)} (free ${formatWad(free, 18)}, margin pool ${formatWad(marginPool, 18)}, insurance ${formatWad(insuranceFund, 18)})`,
);
console.log(
  `    net trader PnL     ${formatWad(free - 2n * deposit * 10n ** 12n, 18)} (rounding dust, kept by the protocol)`,
);
if (vaultTokens * 10n ** 12n !== claims) throw new Error("SOLVENCY CHECK FAILED: vault balance differs from claims");
if (free > 2n * deposit * 10n ** 12n) throw new Error("SOLVENCY CHECK FAILED: traders hold more than they deposited");
console.log("    OK: the vault's balance equals all claims, and no trader value came from nowhere");
