/** What happens in a step: the oracle moves, the traders act, the arbitrage bot and the keepers run. */
import type { ArbitrageOutcome } from "../arbitrage.js";
import { MAX_DEADLINE, Side, toFeedUnits } from "../deploy.js";
import { toWad, WAD } from "../fixed.js";
import { num, type Recorder } from "./recorder.js";
import { QUOTE_RESERVE, type Bots, type Trader, type World } from "./setup.js";

/** Every market's feed answers the price path's price of `step`, recorded in its index history. */
export async function stepOracle(world: World, step: number): Promise<void> {
  for (const [i, m] of world.markets.entries()) {
    const price = toWad(world.paths.prices[i][step].toFixed(8));
    await (await m.aggregator.setAnswer(toFeedUnits(price, 8), BigInt(world.clock.now))).wait();
    // The oracle updater also records the new price in the market's index history (anyone may).
    await (await m.amm.pokeIndex()).wait();
  }
}

/**
 * A few random traders act on random markets: open (following or fading `lastMove`, the last
 * step's index move), close, add to, reduce or add margin to their position.
 */
export async function tradersAct(
  world: World,
  traders: readonly Trader[],
  recorder: Recorder,
  lastMove: readonly number[],
): Promise<void> {
  const { system, markets, traderRandom: random, opts } = world;
  const ch = system.clearingHouse;
  const actions = 2 + random.int(Math.max(2, Math.round(opts.traders / 8)));
  for (let a = 0; a < actions; a++) {
    const t = random.pick(traders);
    const i = random.int(markets.length);
    const market = markets[i].address;
    const trader = ch.connect(t.signer);
    const position = await ch.getPosition(market, t.signer.address);
    const free = num(await system.vault.freeCollateral(t.signer.address));
    // Follow the last move with probability `momentum`, else fade it; no move: a coin toss.
    const up = lastMove[i] === 0 ? random.chance(0.5) : lastMove[i] > 0 === random.chance(t.momentum);
    const maxNotional = QUOTE_RESERVE * 0.015;
    const margin = (lev: number) => Math.min(free * random.uniform(0.05, 0.3), maxNotional / lev);
    const open = async (side: number, lev: number) => {
      const m = margin(lev);
      if (m < 10) return;
      await recorder.attempt(i, () =>
        trader.openPosition(market, side, toWad(m.toFixed(6)), toWad(lev), 0n, MAX_DEADLINE),
      );
    };
    if (position.size === 0n) {
      await open(up ? Side.LONG : Side.SHORT, t.leverage);
      continue;
    }
    const long = position.size > 0n;
    const r = random.next();
    if (r < 0.3) {
      await recorder.attempt(i, () => trader.closePosition(market, 0n, MAX_DEADLINE));
    } else if (r < 0.5) {
      await open(long ? Side.LONG : Side.SHORT, t.leverage);
    } else if (r < 0.65) {
      // Reduce: a third of the open notional at 1x.
      const q = (num(position.openNotional) / 3).toFixed(6);
      await recorder.attempt(i, () =>
        trader.openPosition(market, long ? Side.SHORT : Side.LONG, toWad(q), WAD, 0n, MAX_DEADLINE),
      );
    } else if (r < 0.72) {
      await recorder.attempt(i, () => trader.addMargin(market, toWad((free * 0.1).toFixed(6))));
    }
  }
}

/** The arbitrage bot's tick: it trades the marks back towards the indices. */
export function runArbitrage(bots: Bots): Promise<ArbitrageOutcome[]> {
  return bots.arbitrage.tick();
}

/** The funding keeper's tick, then the liquidation keeper's, then the claims keeper's (losses realised first). */
export async function runKeepers(bots: Bots): Promise<void> {
  await bots.fundingKeeper.tick();
  await bots.liquidationKeeper.tick();
  await bots.claimsKeeper.tick();
}
