/**
 * Gas benchmark: gasUsed of each user operation on the embedded network, printed as a table and
 * written to reports/gas.json. Run: `npm run bench:gas`. With `GAS_CHECK=1` (CI) it writes nothing
 * and fails if an operation is over its budget or differs from the committed reports/gas.json.
 *
 * The market runs as in production: limits switched on (trade size, price fluctuation,
 * open-interest cap), a 0.1% fee, an oracle index (a mock Chainlink aggregator, cheaper to read
 * than a real proxy) and funding running: the index sits 1% above the mark so shorts pay longs, and
 * the shorts, the heavier side, pay the insurance fund its share on every accrual (the common
 * case; when the fund cannot pay receivers in full, the trade that finds out writes one more slot).
 * Another trader holds a short before the measured trader arrives. Each operation gets its own
 * block one second after the last, at fixed timestamps inside one 30-second observation bucket, so
 * the figures do not depend on the wall clock (a trade that also appends a mark-price observation,
 * at most once per 30 s per market, costs about 5,000 more).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { network } from "hardhat";
import { deployCore, deployMarket, deployOracle, fund, MAX_DEADLINE, Side } from "./lib/deploy.js";
import { toWad } from "./lib/fixed.js";

// The issues' budgets. Funding (issue 3) put open, increase and updateFunding over theirs: see the
// README's gas section and the issue notes. Every run prints the misses.
const BUDGETS: Record<string, number> = {
  openPosition: 130_000,
  increasePosition: 100_000,
  reducePosition: 0,
  reversePosition: 0,
  closePosition: 100_000,
  addMargin: 50_000,
  removeMargin: 80_000,
  updateFunding: 45_000,
  liquidatePartial: 150_000,
  liquidateFull: 150_000,
};
// What CI enforces until the misses are fixed: no operation may grow past today's figure + ~1%.
const CEILINGS: Record<string, number> = {
  openPosition: 136_500,
  increasePosition: 106_800,
  closePosition: 100_000,
  addMargin: 50_000,
  removeMargin: 80_000,
  updateFunding: 137_800,
  liquidatePartial: 150_000,
  liquidateFull: 150_000,
};

const { ethers, networkHelpers } = await network.create();
// Fixed timestamps from a 30-second boundary on, so the figures do not depend on the wall clock.
const base = Math.ceil(((await networkHelpers.time.latest()) + 60) / 30) * 30;
await networkHelpers.time.setNextBlockTimestamp(base + 1);
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
// Index 1% above the mark price of 2,000: the premium will be negative, shorts pay.
const oracle = await deployOracle(ethers, system, amm, { symbol: "ETH", price: toWad(2_020) });
const [, other, trader, victimA, victimB, liquidator] = await ethers.getSigners();
for (const s of [other, trader, victimA, victimB]) await fund(system, s, 1_000_000n * 10n ** 6n);
// A keeper that has liquidated before holds free collateral: its reward updates a non-zero slot.
await fund(system, liquidator, 10n ** 6n);
const ch = system.clearingHouse;

// The market has traded before: another trader holds a short, the heavier side.
await (await ch.connect(other).openPosition(market, Side.SHORT, toWad(5_000), toWad(3), 0n, MAX_DEADLINE)).wait();
// Two funding windows: the first starts the index history, the second sets a premium.
await networkHelpers.time.setNextBlockTimestamp(base + 331);
await (await ch.updateFunding(market)).wait();
await networkHelpers.time.setNextBlockTimestamp(base + 661);
await (await ch.updateFunding(market)).wait();

const gas: Record<string, number> = {};
// The measured operations share one 30-second bucket with a trade just before them, so none of
// them pays for appending a mark observation (that trade does).
const start = base + 690;
await networkHelpers.time.setNextBlockTimestamp(start);
await (await ch.connect(other).openPosition(market, Side.SHORT, toWad(100), toWad(3), 0n, MAX_DEADLINE)).wait();
let nextTimestamp = start + 1;
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
// A funding window later: the keeper's call (records the index, closes the window).
nextTimestamp = start + 301;
await measure("updateFunding", () => ch.connect(other).updateFunding(market));
const [premium] = await amm.getFundingState();
if (premium >= 0n) throw new Error(`benchmark set-up: expected shorts to pay, premium ${premium}`);

// Liquidations: two longs (8x and 10x) caught by a crash of about 9% that holds for the 15-minute
// TWAP window, with the oracle following the mark. The 8x is closed in part, the 10x in full.
await networkHelpers.time.setNextBlockTimestamp(start + 302);
await (await ch.connect(victimA).openPosition(market, Side.LONG, toWad(1_000), toWad(8), 0n, MAX_DEADLINE)).wait();
await networkHelpers.time.setNextBlockTimestamp(start + 303);
await (await ch.connect(victimB).openPosition(market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)).wait();
for (const [i, notional] of [400_000, 80_000].entries()) {
  await networkHelpers.time.setNextBlockTimestamp(start + 304 + i);
  await (
    await ch.connect(other).openPosition(market, Side.SHORT, toWad(notional / 4), toWad(4), 0n, MAX_DEADLINE)
  ).wait();
}
const crashed = await amm.getSpotPrice();
const later = start + 330 + 1_200;
await networkHelpers.time.setNextBlockTimestamp(later - 20);
await (await oracle.aggregator.setAnswer(crashed / 10n ** 10n, later - 20)).wait();
await networkHelpers.time.setNextBlockTimestamp(later - 19);
await (await amm.pokeIndex()).wait();
// A trade in the measured bucket, so the liquidations do not append the mark observation.
await networkHelpers.time.setNextBlockTimestamp(later);
await (await ch.connect(other).openPosition(market, Side.SHORT, toWad(100), toWad(3), 0n, MAX_DEADLINE)).wait();
nextTimestamp = later + 1;
// GAS_PARTS=1: also print what the views a liquidation reads cost on their own (less 21,000).
if (process.env.GAS_PARTS) {
  const est = async (label: string, to: string, data: string) =>
    console.log(label, (await ethers.provider.estimateGas({ to, data })) - 21_000n);
  await est("getValuationPrices", market, amm.interface.encodeFunctionData("getValuationPrices", [900]));
  await est("getFundingIndices", market, amm.interface.encodeFunctionData("getFundingIndices", [0]));
  await est("getMarkTwap", market, amm.interface.encodeFunctionData("getMarkTwap", [900]));
}
const l = ch.connect(liquidator);
for (const [name, victim] of [
  ["liquidatePartial", victimA],
  ["liquidateFull", victimB],
] as const) {
  await measure(name, () => l.liquidate(market, victim.address));
  const left = await ch.getPosition(market, victim.address);
  if ((name === "liquidateFull") !== (left.size === 0n)) {
    throw new Error(`benchmark set-up: ${name} left size ${left.size}`);
  }
}

console.log("operation          gasUsed   budget");
for (const [name, used] of Object.entries(gas)) {
  const budget = BUDGETS[name] ? BUDGETS[name].toLocaleString("en-US") : "-";
  const flag = BUDGETS[name] && used > BUDGETS[name] ? "  OVER BUDGET (known, see README)" : "";
  console.log(`${name.padEnd(18)} ${used.toLocaleString("en-US").padStart(7)}  ${budget.padStart(7)}${flag}`);
}
if (process.env.GAS_CHECK) {
  const snapshot = existsSync("reports/gas.json")
    ? (JSON.parse(readFileSync("reports/gas.json", "utf8")) as Record<string, number>)
    : {};
  const problems = Object.entries(gas).flatMap(([name, used]) => [
    ...(CEILINGS[name] && used > CEILINGS[name] ? [`${name}: ${used} is over its ceiling ${CEILINGS[name]}`] : []),
    ...(snapshot[name] !== used ? [`${name}: ${used} differs from the snapshot ${snapshot[name]}`] : []),
  ]);
  if (problems.length > 0) {
    console.error(problems.join("\n") + "\nRun `npm run bench:gas` and commit reports/gas.json.");
    process.exit(1);
  }
  console.log("gas matches reports/gas.json and every ceiling");
} else {
  mkdirSync("reports", { recursive: true });
  writeFileSync("reports/gas.json", JSON.stringify(gas, null, 2) + "\n");
  console.log("written reports/gas.json");
}
