/**
 * The arbitrage bot on a market with the dynamic curve on (issue 14): it reads the curve from the
 * Amm's own views (bid/ask, parameters, budget), leaves a due repeg to the curve (a trade of its own
 * would pay for a move the curve makes first), and otherwise trades with the spreads counted.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { ArbitrageBot, readArbitrageConfig } from "../../scripts/lib/arbitrage.js";
import { contributeToBudget, deployCore, deployMarket, deployOracle } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { MemoryLogger } from "./helpers/keeper.js";

const { ethers, networkHelpers } = await network.create();
const USDC = (n: bigint) => n * 10n ** 6n;

describe("Arbitrage bot on a dynamic curve", function () {
  async function fixture() {
    const system = await deployCore(ethers);
    // ETH at 2,000, a 0.1% fee, the curve of the parameter files (sized to this pool) but for a 2%
    // repeg threshold: with 0.5%, a gap under it is too small to pay the fees and spreads.
    const eth = await deployMarket(ethers, system, {
      quoteReserve: toWad(2_000_000),
      baseReserve: toWad(1_000),
      feeRatio: toWad("0.001"),
      curveParams: {
        repegThresholdRatio: toWad("0.02"),
        baseSpreadRatio: toWad("0.00025"),
        maxSpreadRatio: toWad("0.01"),
        maxVammLeverage: toWad(5),
        fundShareRatio: toWad("0.25"),
        budgetFloor: toWad(360),
        budgetTarget: toWad(1_800),
        maxDepthChangeRatio: toWad("0.01"),
        minDepthRatio: toWad("0.95"),
        maxDepthRatio: toWad(3),
      },
    });
    const { aggregator } = await deployOracle(ethers, system, eth, { symbol: "ETH", price: toWad(2_000) });
    const signers = await ethers.getSigners();
    await contributeToBudget(system, eth, signers[1], toWad(5_000));
    const bot = signers[signers.length - 3];
    await (await system.usdc.mint(bot.address, USDC(100_000n))).wait();
    await (await system.usdc.connect(bot).approve(await system.vault.getAddress(), USDC(100_000n))).wait();
    await (await system.vault.connect(bot).deposit(USDC(100_000n))).wait();
    const logger = new MemoryLogger();
    const config = readArbitrageConfig({ CLEARING_HOUSE: await system.clearingHouse.getAddress() });
    const arbitrage = new ArbitrageBot({ signer: bot, config, logger });
    await arbitrage.start();
    return { system, eth, aggregator, arbitrage, logger };
  }

  /** The oracle answers `price` (18 decimals) now, recorded by the market. */
  async function setIndex(f: Awaited<ReturnType<typeof fixture>>, price: bigint) {
    const latest = await ethers.provider.getBlock("latest");
    await (await f.aggregator.setAnswer(price / 10n ** 10n, BigInt(latest!.timestamp))).wait();
    await (await f.eth.pokeIndex()).wait();
  }

  it("reads the spreads from the Amm's bid and ask", async function () {
    const f = await networkHelpers.loadFixture(fixture);
    const view = (await f.arbitrage.view(await f.eth.getAddress()))!;
    const [bid, ask] = await f.eth.getBidAsk();
    const spot = await f.eth.getSpotPrice();
    // At launch (no skew, no gap, the budget above its target) both sides pay the base half-spread
    // (and a wei of the skew a one-wei trade adds, rounded up).
    expect(bid < spot && spot < ask).to.equal(true);
    expect(view.askSpread).to.equal(Number(((ask - spot) * WAD) / spot) / 1e18);
    expect(view.bidSpread).to.equal(Number(((spot - bid) * WAD) / spot) / 1e18);
    expect(Math.abs(view.askSpread! - 0.00025) < 1e-12 && Math.abs(view.bidSpread! - 0.00025) < 1e-12).to.equal(true);
    expect(view.repegDue).to.equal(false);
  });

  it("leaves a due repeg to the curve, and trades a gap under the threshold with the spreads counted", async function () {
    const f = await networkHelpers.loadFixture(fixture);
    const market = await f.eth.getAddress();
    // The index 3% above the mark: beyond the 2% threshold, and the budget can pay (nothing is held).
    await setIndex(f, toWad(2_060));
    expect((await f.arbitrage.view(market))!.repegDue).to.equal(true);
    let outcomes = await f.arbitrage.tick();
    // 2,000 / 2,060 - 1: the mark under the index.
    expect(outcomes).to.deep.equal([
      { market, status: "idle", reason: "the curve repegs toward the index at the next trade", gap: 2_000 / 2_060 - 1 },
    ]);
    // 1.5% above: under the threshold, well beyond the fees' and spreads' 0.25% band: the bot buys.
    await setIndex(f, toWad(2_030));
    expect((await f.arbitrage.view(market))!.repegDue).to.equal(false);
    outcomes = await f.arbitrage.tick();
    expect(outcomes[0].status, (outcomes[0] as { reason?: string }).reason).to.equal("traded");
    const spot = await f.eth.getSpotPrice();
    // It stops short of the index by the fee and the ask's spread (and the skew the trade adds).
    expect(spot < (toWad(2_030) * (WAD - toWad("0.00125"))) / WAD).to.equal(true);
    expect(spot > toWad(2_000)).to.equal(true);
  });
});
