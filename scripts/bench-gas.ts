/**
 * Gas benchmark: gasUsed of each user operation on the embedded network, printed as a table and
 * written to reports/gas.json. Run: `npm run bench:gas`. With `GAS_CHECK=1` (CI) it writes nothing
 * and fails if an operation is over its budget or differs from the committed reports/gas.json.
 *
 * The market runs with its limits switched on (trade size, price fluctuation, open-interest cap)
 * and a 0.1% fee, as in production, and has traded before the measured trader arrives. Each
 * operation gets its own block one second after the last, at fixed timestamps inside one 30-second
 * observation bucket, so the figures do not depend on the wall clock (a trade that also appends a
 * mark-price observation, at most once per 30 s per market, costs about 5,000 more).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "./lib/deploy.js";
import { toWad } from "./lib/fixed.js";

const BUDGETS: Record<string, number> = {
  openPosition: 130_000,
  increasePosition: 100_000,
  reducePosition: 0,
  reversePosition: 0,
  closePosition: 100_000,
  addMargin: 50_000,
  removeMargin: 80_000,
};

const { ethers, networkHelpers } = await network.create();
// Fixed timestamps: start just after a 30-second boundary, one second per block from there.
const start = Math.ceil(((await networkHelpers.time.latest()) + 60) / 30) * 30 + 1;
await networkHelpers.time.setNextBlockTimestamp(start);
const system = await deployCore(ethers);
const amm = await deployMarket(ethers, system, {
  quoteReserve: toWad(10_000_000),
  baseReserve: toWad(5_000),
  feeRatio: toWad("0.001"),
  maxTradeRatio: toWad("0.1"),
  fluctuationLimitRatio: toWad("0.1"),
  maxOpenInterest: toWad(1_000_000),
});
const market = await amm.getAddress();
const [, other, trader] = await ethers.getSigners();
for (const s of [other, trader]) await fund(system, s, 1_000_000n * 10n ** 6n);
const ch = system.clearingHouse;

// The market has traded before: another trader holds a position.
await (await ch.connect(other).openPosition(market, Side.SHORT, toWad(1_000), toWad(3), 0n, MAX_DEADLINE)).wait();

const gas: Record<string, number> = {};
let nextTimestamp = start + 20;
async function measure(name: string, send: () => Promise<{ wait: () => Promise<unknown> }>): Promise<void> {
  await networkHelpers.time.setNextBlockTimestamp(nextTimestamp++);
  const tx = await send();
  const receipt = (await tx.wait()) as { gasUsed: bigint };
  gas[name] = Number(receipt.gasUsed);
}

const t = ch.connect(trader);
await measure("openPosition", () => t.openPosition(market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE));
await measure("increasePosition", () => t.openPosition(market, Side.LONG, toWad(500), toWad(5), 0n, MAX_DEADLINE));
await measure("reducePosition", () => t.openPosition(market, Side.SHORT, toWad(200), toWad(5), 0n, MAX_DEADLINE));
await measure("addMargin", () => t.addMargin(market, toWad(100)));
await measure("removeMargin", () => t.removeMargin(market, toWad(50)));
await measure("reversePosition", () => t.openPosition(market, Side.SHORT, toWad(2_000), toWad(5), 0n, MAX_DEADLINE));
await measure("closePosition", () => t.closePosition(market, 0n, MAX_DEADLINE));

console.log("operation          gasUsed   budget");
for (const [name, used] of Object.entries(gas)) {
  const budget = BUDGETS[name] ? BUDGETS[name].toLocaleString("en-US") : "-";
  const flag = BUDGETS[name] && used > BUDGETS[name] ? "  OVER BUDGET" : "";
  console.log(`${name.padEnd(18)} ${used.toLocaleString("en-US").padStart(7)}  ${budget.padStart(7)}${flag}`);
}
if (process.env.GAS_CHECK) {
  const snapshot = existsSync("reports/gas.json")
    ? (JSON.parse(readFileSync("reports/gas.json", "utf8")) as Record<string, number>)
    : {};
  const problems = Object.entries(gas).flatMap(([name, used]) => [
    ...(BUDGETS[name] && used > BUDGETS[name] ? [`${name}: ${used} is over its budget ${BUDGETS[name]}`] : []),
    ...(snapshot[name] !== used ? [`${name}: ${used} differs from the snapshot ${snapshot[name]}`] : []),
  ]);
  if (problems.length > 0) {
    console.error(problems.join("\n") + "\nRun `npm run bench:gas` and commit reports/gas.json.");
    process.exit(1);
  }
  console.log("gas matches reports/gas.json and every budget");
} else {
  mkdirSync("reports", { recursive: true });
  writeFileSync("reports/gas.json", JSON.stringify(gas, null, 2) + "\n");
  console.log("written reports/gas.json");
}
