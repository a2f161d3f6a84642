/**
 * The benchmark's traders: seeded, with a long/short bias that follows the index's recent trend
 * (the last TREND_STEPS steps), so a fall fills the short side and a rise the long side. On the
 * static curve that one-sided flow is what runs into the open-interest cap and leaves the mark
 * behind the index; with no arbitrage bot nothing else brings it back.
 */
import { MAX_DEADLINE, Side } from "../deploy.js";
import { toWad, WAD } from "../fixed.js";
import { num, type Recorder } from "../sim/recorder.js";
import { QUOTE_RESERVE, type Trader, type World } from "../sim/setup.js";

/** Steps of index history the traders' trend looks back over. */
const TREND_STEPS = 3;
/** The trend (relative index move over TREND_STEPS) at which the bias is about three quarters of its maximum. */
const TREND_SCALE = 0.02;
/** Largest bias: a long chance of 0.5 +/- this. */
const MAX_BIAS = 0.4;

/** The chance that a trader wants to be long at `step`: 0.5 without a trend, towards 0.1 or 0.9 with one. */
export function longChance(prices: readonly number[], step: number): number {
  const past = prices[Math.max(0, step - TREND_STEPS)];
  const trend = prices[step] / past - 1;
  return 0.5 + MAX_BIAS * Math.tanh(trend / TREND_SCALE);
}

/**
 * A few random traders act: without a position they open on the side the trend favours (drawn
 * with `longChance`); with one they close it (more often when it is against the trend), add to
 * it, reduce it or add margin. Reverts are counted by the recorder, not thrown.
 */
export async function trendTradersAct(world: World, traders: readonly Trader[], recorder: Recorder, step: number) {
  const { system, markets, traderRandom: random, paths } = world;
  const ch = system.clearingHouse;
  const market = markets[0].address;
  const pLong = longChance(paths.prices[0], step);
  const actions = 2 + random.int(Math.max(2, Math.round(traders.length / 6)));
  for (let a = 0; a < actions; a++) {
    const t = random.pick(traders);
    const trader = ch.connect(t.signer);
    const position = await ch.getPosition(market, t.signer.address);
    const free = num(await system.vault.freeCollateral(t.signer.address));
    const wantLong = random.chance(pLong);
    const maxNotional = QUOTE_RESERVE * 0.015;
    const open = async (side: number) => {
      const margin = Math.min(free * random.uniform(0.05, 0.3), maxNotional / t.leverage);
      if (margin < 10) return;
      await recorder.attempt(0, () =>
        trader.openPosition(market, side, toWad(margin.toFixed(6)), toWad(t.leverage), 0n, MAX_DEADLINE),
      );
    };
    if (position.size === 0n) {
      await open(wantLong ? Side.LONG : Side.SHORT);
      continue;
    }
    const long = position.size > 0n;
    const against = long !== wantLong;
    const r = random.next();
    if (r < (against ? 0.5 : 0.2)) {
      await recorder.attempt(0, () => trader.closePosition(market, 0n, MAX_DEADLINE));
    } else if (r < 0.55) {
      if (!against) await open(long ? Side.LONG : Side.SHORT);
    } else if (r < 0.7) {
      const quote = (num(position.openNotional) / 3).toFixed(6);
      await recorder.attempt(0, () =>
        trader.openPosition(market, long ? Side.SHORT : Side.LONG, toWad(quote), WAD, 0n, MAX_DEADLINE),
      );
    } else if (r < 0.77) {
      await recorder.attempt(0, () => trader.addMargin(market, toWad((free * 0.1).toFixed(6))));
    }
  }
}
