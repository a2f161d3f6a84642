/**
 * Review finding 2 (issue 13): "one shared margin pool lets a shortfall in one market be paid by
 * another market's traders". The colluding cycle with a 10,000 fund left a shortfall of 17,759 in
 * ETH; the group netted +26,432 (the fund and BTC's margins), and an honest 2x BTC long with 50,000
 * of margin could not close (InsufficientMarginPool: the shared pool held 32,240).
 *
 * Now every market's money is its own. With the index band on, the group cannot walk the price far
 * enough to leave bad debt (finding 1's test), so the ETH shortfall here comes from an index gap the
 * band cannot stop: the group holds both sides (L long 10x just under the band's top, W short 10x
 * down to just over its bottom), the index gaps from 3,000 to 2,400, Y shorts toward it, and L is
 * liquidated with bad debt far beyond a small insurance fund. The winners' profit is paid from
 * L's margin and the fund's cover only; the rest waits as claims that BTC's pool never pays. The
 * honest BTC long closes and withdraws in full, and the group, whose take is bounded by the fund,
 * nets less than nothing.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, fund, MAX_DEADLINE, Side, toFeedUnits } from "../../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../../scripts/lib/fixed.js";
import { DEFAULT_INDEX_BAND_RATIO, DEFAULT_MARKET_PARAMS } from "../../../deploy/defaults.js";
import { sqrtFloor } from "../helpers/liquidation-model.js";
import { deployParameterisedMarket } from "./deployed-market.js";
import { SCALE, TWAP_WINDOW, USDC } from "./setup.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const ETH_INDEX = toWad(3_000);
const GAP_INDEX = toWad(2_400);
const BTC_INDEX = toWad(60_000);
/** A small insurance fund: 100 USDC staked (it also holds the fees it has taken). */
const STAKE = USDC(100);
const GROUP_DEPOSIT = USDC(200_000);
const HONEST_DEPOSIT = USDC(100_000);
const TEN_X = toWad(10);

/** The markets: the default margins, fee and index band; no per-trade, per-block or open-interest limits. */
const MARKET = {
  ...DEFAULT_MARKET_PARAMS,
  maxTradeRatio: 0n,
  fluctuationLimitRatio: 0n,
  maxOpenInterest: 0n,
  indexBandRatio: DEFAULT_INDEX_BAND_RATIO,
};

/** The quote a trade on `side` needs to take the spot from reserves (q, b) to about `price` (never past it). */
function quoteToReach(q: bigint, b: bigint, side: number, price: bigint): bigint {
  const target = sqrtFloor((q * b * price) / WAD);
  return side === Side.LONG ? target - q : q - target - 1n;
}

async function fixture() {
  const system = await deployCore(ethers);
  const eth = await deployParameterisedMarket(
    ethers,
    system,
    { ...MARKET, quoteReserve: toWad(3_000_000), baseReserve: toWad(1_000) },
    "ETH",
    ETH_INDEX,
  );
  const btc = await deployParameterisedMarket(
    ethers,
    system,
    { ...MARKET, quoteReserve: toWad(30_000_000), baseReserve: toWad(500) },
    "BTC",
    BTC_INDEX,
  );
  const [, honest, w, l, y, keeper, staker] = await ethers.getSigners();
  await fund(system, honest, HONEST_DEPOSIT);
  for (const s of [w, l, y]) await fund(system, s, GROUP_DEPOSIT);
  await (await system.usdc.mint(staker.address, STAKE)).wait();
  await (await system.usdc.connect(staker).approve(await system.insuranceFund.getAddress(), STAKE)).wait();
  await (await system.insuranceFund.connect(staker).deposit(STAKE, staker.address)).wait();
  return { ...system, ch: system.clearingHouse, eth, btc, honest, w, l, y, keeper };
}

describe("Regression: a shortfall in one market is never paid by another market's traders (finding 2)", function () {
  it("ETH's shortfall stays in ETH: the honest 2x BTC long closes and withdraws in full, ETH's winners wait, the group nets < 0", async function () {
    const fx = await networkHelpers.loadFixture(fixture);
    const { ch, vault } = fx;
    const eth = fx.eth.market;
    const btc = fx.btc.market;
    const group = [fx.w, fx.l, fx.y];
    const freeOf = async (who: typeof group) => {
      let total = 0n;
      for (const s of who) total += await vault.freeCollateral(s.address);
      return total;
    };
    const open10x = (who: (typeof group)[number], side: number, quote: bigint) =>
      ch.connect(who).openPosition(eth, side, quote / 10n, TEN_X, 0n, MAX_DEADLINE);
    const setEthIndex = async (price: bigint) => {
      await (await fx.eth.oracle.aggregator.setAnswer(toFeedUnits(price, 8), BigInt(await time.latest()))).wait();
      await (await fx.eth.amm.pokeIndex()).wait();
    };

    // The honest trader: 2x long BTC with 50,000 of margin.
    await (await ch.connect(fx.honest).openPosition(btc, Side.LONG, toWad(50_000), toWad(2), 0n, MAX_DEADLINE)).wait();
    const btcMoney = await vault.marketBalances(btc);
    expect([btcMoney.pool, btcMoney.lockedMargin, btcMoney.claims]).to.deep.equal([toWad(50_000), toWad(50_000), 0n]);
    const groupStart = await freeOf(group);

    // The group takes both sides as far as the index band lets it.
    let [q, b] = await fx.eth.amm.getReserves();
    await (await open10x(fx.l, Side.LONG, quoteToReach(q, b, Side.LONG, (ETH_INDEX * 103n) / 100n - WAD))).wait();
    [q, b] = await fx.eth.amm.getReserves();
    await (await open10x(fx.w, Side.SHORT, quoteToReach(q, b, Side.SHORT, (ETH_INDEX * 97n) / 100n + WAD))).wait();
    // The index gaps down 20%; Y's short moves the price toward it (allowed however far from it).
    await setEthIndex(GAP_INDEX);
    [q, b] = await fx.eth.amm.getReserves();
    await (await open10x(fx.y, Side.SHORT, quoteToReach(q, b, Side.SHORT, toWad(2_450)))).wait();
    await time.increase(TWAP_WINDOW + 60);
    await setEthIndex(GAP_INDEX);

    // L's 10x long is deep under water: its liquidation's bad debt is far beyond the fund.
    const [, fundBefore] = await vault.getPoolBalances();
    const receipt = await (await ch.connect(fx.keeper).liquidate(eth, fx.l.address)).wait();
    const liquidated = receipt!.logs
      .map((log) => ch.interface.parseLog(log))
      .find((e) => e?.name === "PositionLiquidated")!.args;
    expect(liquidated.full).to.equal(true);
    expect(liquidated.liquidatorReward).to.equal(0n);
    // The fund covers the bad debt at the fair price (the spot before the close, above the index):
    // what the close's own price impact added is charged to ETH's market, not to the fund.
    const charged: bigint = receipt!.logs
      .map((log) => ch.interface.parseLog(log))
      .find((e) => e?.name === "BadDebtChargedToMarket")!.args.amount;
    expect(charged > 0n && charged < liquidated.badDebt).to.equal(true);
    expect(liquidated.badDebt - charged > fundBefore, "bad debt beyond the fund").to.equal(true);
    expect(liquidated.shortfall).to.equal(liquidated.badDebt - charged - fundBefore);
    const [, fundAfter] = await vault.getPoolBalances();
    expect(fundAfter).to.equal(0n); // the fund covered all it held: nothing was left for the keeper
    const [, shortfall] = await ch.getMarketStatus(eth);
    expect(shortfall).to.equal(liquidated.shortfall);

    // The winners close (a reduce-only market still lets them): their profit beyond L's margin and
    // the fund's cover waits as claims, and payClaims pays what ETH's pool holds, nothing more.
    for (const who of [fx.w, fx.y]) await (await ch.connect(who).closePosition(eth, 0n, MAX_DEADLINE)).wait();
    await (await vault.connect(fx.keeper).payClaims(eth, 10n)).wait();
    const ethMoney = await vault.marketBalances(eth);
    expect(ethMoney.lockedMargin).to.equal(0n);
    expect(ethMoney.claims > 0n, "ETH's winners still wait").to.equal(true);
    // What they wait for is the shortfall and the part charged to the market (less the pool's
    // rounding, in the pool's favour).
    const unbacked = shortfall + charged;
    expect(ethMoney.claims <= unbacked && unbacked - ethMoney.claims < 10_000n, `${ethMoney.claims}`).to.equal(true);
    expect(ethMoney.pool < ethMoney.claims).to.equal(true);
    // BTC's 50,000 sat beside those claims the whole time and was never touched.
    expect(await vault.marketBalances(btc)).to.deep.equal(btcMoney);
    const [allPools] = await vault.getPoolBalances();
    expect(allPools > ethMoney.claims, "the Vault's pools together could have paid them").to.equal(true);
    expect(await vault.payClaims.staticCall(eth, 10n)).to.equal(0n);

    // The honest BTC long closes and withdraws in full: its deposit less its two fees and its
    // rounding (it traded alone against the curve), to the token unit.
    const close = await (await ch.connect(fx.honest).closePosition(btc, 0n, MAX_DEADLINE)).wait();
    const closed = close!.logs
      .map((log) => ch.interface.parseLog(log))
      .find((e) => e?.name === "PositionChanged")!.args;
    const openFee = toWad(100); // 0.1% of 100,000
    expect(closed.freeCollateralDelta).to.equal(toWad(50_000) + closed.realizedPnl - closed.fee);
    expect(closed.realizedPnl <= 0n && closed.realizedPnl > -1_000_000n, "only the curve's rounding").to.equal(true);
    expect(await vault.claimOf(btc, fx.honest.address)).to.equal(0n);
    const units = await vault.balanceOf(fx.honest.address);
    await (await vault.connect(fx.honest).withdraw(units)).wait();
    expect(await vault.freeCollateral(fx.honest.address)).to.be.lessThan(SCALE);
    expect(await fx.usdc.balanceOf(fx.honest.address)).to.equal(
      (toWad(100_000) - openFee - closed.fee + closed.realizedPnl) / SCALE,
    );
    expect(await vault.marketBalances(btc)).to.deep.equal([-closed.realizedPnl, 0n, 0n, 0n]);

    // The group: what it took from the fund is bounded by the fund (100 staked plus the fees it
    // had taken), less than the fees the group paid; its unpaid claims are owed by ETH alone.
    const net = (await freeOf(group)) - groupStart;
    expect(net <= 0n, `the group nets ${net}`).to.equal(true);
  });
});
