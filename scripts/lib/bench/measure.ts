/**
 * The measured operations of the gas benchmark, on a live market (see live-market.ts): every user
 * operation in its own block, at fixed timestamps, with the receipt of each.
 *
 * Each trade and margin operation runs in a 30-second bucket whose mark observation an earlier
 * trade already appended, as in a market that trades every few seconds (the first trade of a
 * bucket pays about 5,000 more for it); the funding update is the first index record of its bucket,
 * as when only the funding keeper records the index.
 */
import type { Contract, Interface } from "ethers";
import { MAX_DEADLINE, Side } from "../deploy.js";
import { toWad } from "../fixed.js";
import { BUCKET, crashIndex, publishIndex, sendAt, USDC, type LiveMarket } from "./live-market.js";

export type Receipt = Record<string, string>;

/** Every operation measured, in order, and why an operation was skipped. */
export interface Measurements {
  receipts: Record<string, Receipt>;
  skipped: Record<string, string>;
}

export async function measureOperations(m: LiveMarket): Promise<Measurements> {
  const { connection, clearingHouse: ch, vault, amm, aggregator, market, fundingInterval } = m;
  const { keeper, maker, trader, victims, liquidator } = m.signers;
  const receipts: Record<string, Receipt> = {};
  const skipped: Record<string, string> = {};
  let window = m.windowStart;
  let t = window;
  const measure = async (name: string, send: () => Promise<{ hash: string; wait: () => Promise<unknown> }>) => {
    receipts[name] = await sendAt(connection, t++, send);
  };
  const size = async (who: { address: string }) => (await ch.getPosition(market, who.address)).size;

  // A funding window like the warm-up's: the oracle publishes, the maker trades (appending the
  // bucket's mark observation), the keeper updates funding.
  await publishIndex(connection, amm, aggregator, t++);
  await sendAt(connection, t++, () =>
    ch.connect(maker).openPosition(market, Side.SHORT, toWad(2_000), toWad(3), 0n, MAX_DEADLINE),
  );
  await measure("updateFunding", () => ch.connect(keeper).updateFunding(market));

  const [, claimTailBefore] = await vault.claimQueueBounds(market);
  const c = ch.connect(trader);
  await measure("openPosition", () => c.openPosition(market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE));
  await measure("increasePosition", () => c.openPosition(market, Side.LONG, toWad(500), toWad(5), 0n, MAX_DEADLINE));
  const beforeReduce = await size(trader);
  await measure("reduceByOpenPosition", () =>
    c.openPosition(market, Side.SHORT, toWad(200), toWad(5), 0n, MAX_DEADLINE),
  );
  const afterReduce = await size(trader);
  if (!(afterReduce > 0n && afterReduce < beforeReduce))
    throw new Error(`benchmark set-up: reduce left ${afterReduce}`);
  // Looked up by name: the function is not in today's ABI (nor in its typed bindings).
  const reducePosition =
    (ch.interface as Interface).getFunction("reducePosition") === null ? undefined : "reducePosition";
  if (reducePosition === undefined) {
    skipped.reducePosition = "ClearingHouse has no reducePosition(amm, baseAmount, quoteLimit, deadline) yet";
  } else {
    await measure("reducePosition", () =>
      (c as unknown as Contract).getFunction(reducePosition)(market, afterReduce / 4n, 0n, MAX_DEADLINE),
    );
  }
  await measure("addMargin", () => c.addMargin(market, toWad(100)));
  await measure("removeMargin", () => c.removeMargin(market, toWad(50)));
  await measure("reversePosition", () => c.openPosition(market, Side.SHORT, toWad(2_000), toWad(5), 0n, MAX_DEADLINE));
  if ((await size(trader)) >= 0n) throw new Error("benchmark set-up: the reversal did not reverse");
  await measure("closePosition", () => c.closePosition(market, 0n, MAX_DEADLINE));
  await measure("deposit", () => vault.connect(trader).deposit(USDC(1_000)));
  await measure("withdraw", () => vault.connect(trader).withdraw(USDC(1_000)));
  if (t >= window + BUCKET) throw new Error("benchmark set-up: the measured operations overran their bucket");
  // Every measured trade paid its profit in full: none took the rarer path that queues a claim.
  const [, claimTailAfter] = await vault.claimQueueBounds(market);
  if (claimTailAfter !== claimTailBefore)
    throw new Error(`benchmark set-up: ${claimTailAfter - claimTailBefore} claim(s) queued`);

  // Liquidations: two longs (8x and 10x) caught by a crash of about 9% in three blocks (the
  // fluctuation limit allows 5% a block) that holds for the 15-minute TWAP window while funding
  // and the oracle carry on. The 8x is closed in part, the 10x in whole.
  window += fundingInterval;
  t = window;
  await publishIndex(connection, amm, aggregator, t++);
  await sendAt(connection, t++, () =>
    ch.connect(maker).openPosition(market, Side.SHORT, toWad(2_000), toWad(3), 0n, MAX_DEADLINE),
  );
  await sendAt(connection, t++, () => ch.connect(keeper).updateFunding(market));
  for (const [i, victim] of victims.entries()) {
    await sendAt(connection, t++, () =>
      ch.connect(victim).openPosition(market, Side.LONG, toWad(1_000), toWad(8 + 2 * i), 0n, MAX_DEADLINE),
    );
  }
  // The index falls first (the market's index band lets a risk-increasing trade move the price away
  // from the index by at most 3%): the oracle answers 9% under the spot, recorded by a poke, and the
  // maker's shorts follow it down.
  await crashIndex(connection, amm, aggregator, t++, 91n);
  await sendAt(connection, t++, () => amm.pokeIndex());
  for (let i = 0; i < 3; i++) {
    await sendAt(connection, t++, () =>
      ch.connect(maker).openPosition(market, Side.SHORT, toWad(160_000), toWad(3), 0n, MAX_DEADLINE),
    );
  }
  for (let w = 0; w < 3; w++) {
    window += fundingInterval;
    await publishIndex(connection, amm, aggregator, window);
    await sendAt(connection, window + 2, () => ch.connect(keeper).updateFunding(market));
  }
  // A trade opens the liquidations' bucket, so they do not append its mark observation.
  t = window + BUCKET + 1;
  await sendAt(connection, t++, () =>
    ch.connect(maker).openPosition(market, Side.SHORT, toWad(1_000), toWad(3), 0n, MAX_DEADLINE),
  );
  const l = ch.connect(liquidator);
  for (const [name, victim] of [
    ["liquidatePartial", victims[0]],
    ["liquidateWhole", victims[1]],
  ] as const) {
    await measure(name, () => l.liquidate(market, victim.address));
    const left = await size(victim);
    if ((name === "liquidateWhole") !== (left === 0n)) throw new Error(`benchmark set-up: ${name} left size ${left}`);
  }
  return { receipts, skipped };
}
