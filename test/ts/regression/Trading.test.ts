/**
 * Regression (issue 6): trading attacks. Each test runs the attack and asserts the safe outcome: the
 * revert that stops it (with its named custom error) or that the attackers end with less than they
 * started with.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { deployFixture, DEPLOYED_LIMITS, freeOf, GAS, solvency, TWAP_WINDOW, USDC } from "./setup.js";
import { inOneBlock } from "../helpers/blocks.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

describe("Regression: trading attacks", function () {
  it("colluding long/short pair manufacturing bad debt", async function () {
    // The deployment's limits (10% per trade, 5% per block) and an index at 100.
    const fx = await deployFixture(ethers, { ...DEPLOYED_LIMITS, oracle: true });
    const colluders = [fx.alice, fx.bob, fx.carol, fx.dave];
    const start = await freeOf(fx, colluders);
    const fundBefore = await fx.insuranceFund.totalAssets();
    const open = (who: typeof fx.alice, side: number, margin: string) =>
      fx.ch.connect(who).openPosition(fx.market, side, toWad(margin), toWad(10), 0n, MAX_DEADLINE);
    // Alice long and Bob short, 10x, the same notional: the pair is flat together.
    await (await open(fx.alice, Side.LONG, "2000")).wait();
    await (await open(fx.bob, Side.SHORT, "2000")).wait();
    // Carol walks the price up block by block, inside the fluctuation limit, to just under 10% from
    // the index (beyond it the short would be valued at the index and could not be liquidated).
    await (await open(fx.carol, Side.LONG, "2000")).wait();
    await (await open(fx.carol, Side.LONG, "2000")).wait();
    await (await open(fx.carol, Side.LONG, "600")).wait();
    const spot = await fx.amm.getSpotPrice();
    expect(spot).to.be.lessThan(toWad(110));
    // Held for the TWAP window, Bob's short is below maintenance; Dave liquidates it at the spot.
    await time.increase(TWAP_WINDOW + 60);
    await (await fx.amm.pokeIndex()).wait();
    expect(await fx.ch.getLiquidationMarginRatio(fx.market, fx.bob.address)).to.be.lessThan(toWad("0.0625"));
    while ((await fx.ch.getPosition(fx.market, fx.bob.address)).size !== 0n) {
      await (await fx.ch.connect(fx.dave).liquidate(fx.market, fx.bob.address)).wait();
    }
    // The winners take their profit.
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    await (await fx.ch.connect(fx.carol).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    const end = await freeOf(fx, colluders);
    const fundAfter = await fx.insuranceFund.totalAssets();
    const { claims, held } = await solvency(fx, colluders);
    expect(held).to.be.greaterThanOrEqual(claims);
    expect(fundAfter, "the insurance fund paid no bad debt").to.be.greaterThanOrEqual(fundBefore);
    expect(
      end,
      `the colluders must end with less than they started: gain ${ethers.formatEther(end - start)}, ` +
        `insurance fund ${ethers.formatUnits(fundAfter - fundBefore, 6)}`,
    ).to.be.lessThan(start);
  });

  it("pushing the mark far from the index", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    // The victim: a 5x short at 100.
    await (
      await fx.ch.connect(fx.carol).openPosition(fx.market, Side.SHORT, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    const start = await freeOf(fx, [fx.alice, fx.dave]);
    // The attacker drives the mark ~25% above the index and holds it there past the TWAP window.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(15_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    expect(await fx.amm.getSpotPrice()).to.be.greaterThan(toWad(120));
    await time.increase(TWAP_WINDOW + 60);
    await (await fx.amm.pokeIndex()).wait();
    // At the mark the victim is underwater, but the spot is > 10% from the index and the index
    // favours the victim: the liquidation values it there.
    expect(await fx.ch.getMarginRatio(fx.market, fx.carol.address)).to.be.lessThan(toWad("0.0625"));
    await expect(fx.ch.connect(fx.dave).liquidate(fx.market, fx.carol.address)).to.be.revertedWithCustomError(
      fx.ch,
      "NotLiquidatable",
    );
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    expect(await freeOf(fx, [fx.alice, fx.dave]), "the attacker pays fees and gains nothing").to.be.lessThan(start);
    expect((await fx.ch.getPosition(fx.market, fx.carol.address)).size).to.be.lessThan(0n);
  });

  it("several swaps in one block to beat the fluctuation limit", async function () {
    const fx = await deployFixture(ethers, { fluctuationLimitRatio: toWad("0.05") });
    const priceBefore = await fx.amm.getSpotPrice();
    // Each trade moves the price ~3%: the first fits in 5%, the next two together would not.
    const trade = (who: typeof fx.alice) => () =>
      fx.ch.connect(who).openPosition(fx.market, Side.LONG, toWad(1_500), toWad(10), 0n, MAX_DEADLINE, GAS);
    const { txs, statuses } = await inOneBlock(ethers, [trade(fx.alice), trade(fx.bob), trade(fx.carol)]);
    expect(statuses).to.deep.equal([1, 0, 0]);
    await expect(txs[1]).to.be.revertedWithCustomError(fx.amm, "PriceFluctuationLimitExceeded");
    await expect(txs[2]).to.be.revertedWithCustomError(fx.amm, "PriceFluctuationLimitExceeded");
    const priceAfter = await fx.amm.getSpotPrice();
    expect(priceAfter * 100n).to.be.lessThanOrEqual(priceBefore * 105n);
  });

  it("splitting a trade to dodge the per-trade limit", async function () {
    // Trades up to 1% of the quote reserve (10,000), 5% price move per block.
    const fx = await deployFixture(ethers, { maxTradeRatio: toWad("0.01"), fluctuationLimitRatio: toWad("0.05") });
    const whole = toWad(30_000);
    const baseForWhole = await fx.amm.previewSwapQuote(Side.LONG, whole);
    await expect(
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(3_000), toWad(10), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.amm, "TradeTooLarge");
    // Three pieces of 10,000 in one block (~2% each): the fluctuation limit stops the third.
    const piece = () =>
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE, GAS);
    const { txs, statuses } = await inOneBlock(ethers, [piece, piece, piece]);
    expect(statuses).to.deep.equal([1, 1, 0]);
    await expect(txs[2]).to.be.revertedWithCustomError(fx.amm, "PriceFluctuationLimitExceeded");
    // Spread over blocks the pieces go through, at a price no better than the whole trade's.
    await (await piece()).wait();
    const size = (await fx.ch.getPosition(fx.market, fx.alice.address)).size;
    expect(size, "the split buys no more base than the whole trade would").to.be.lessThanOrEqual(baseForWhole);
  });

  it("open interest beyond the cap", async function () {
    const fx = await deployFixture(ethers, { maxOpenInterest: toWad(100) });
    // ~49.75 base long.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(500), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    // A second account cannot take the long side past 100 base ...
    await expect(
      fx.ch.connect(fx.bob).openPosition(fx.market, Side.LONG, toWad(600), toWad(10), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.amm, "OpenInterestCapExceeded");
    // ... nor the first one by increasing.
    await expect(
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(600), toWad(10), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.amm, "OpenInterestCapExceeded");
    // Reversing through the other side: the new short is capped too.
    await expect(
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.SHORT, toWad(1_600), toWad(10), 0n, MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.amm, "OpenInterestCapExceeded");
    const [longOI, shortOI] = await fx.amm.getOpenInterest();
    expect(longOI).to.be.lessThanOrEqual(toWad(100));
    expect(shortOI).to.equal(0n);
  });

  it("self-trade plus oracle pump plus withdraw against unrealised profit", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    const pair = [fx.alice, fx.bob];
    const start = await freeOf(fx, pair);
    // Alice goes long at full leverage; her accomplice pumps the pool and the index follows.
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(5_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await (
      await fx.ch.connect(fx.bob).openPosition(fx.market, Side.LONG, toWad(24_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await (await fx.oracle!.aggregator.setAnswer(150n * 10n ** 8n, await time.latest())).wait();
    await time.increase(TWAP_WINDOW + 60);
    await (await fx.amm.pokeIndex()).wait();
    expect(await fx.ch.getUnrealizedPnl(fx.market, fx.alice.address)).to.be.greaterThan(toWad(5_000));
    // Unrealised profit does not count toward removing margin: not even 1 wei comes out.
    await expect(fx.ch.connect(fx.alice).removeMargin(fx.market, 1n)).to.be.revertedWithCustomError(
      fx.ch,
      "MarginRatioTooLow",
    );
    // Nor can she withdraw more than her free collateral.
    const freeUnits = await fx.vault.balanceOf(fx.alice.address);
    await expect(fx.vault.connect(fx.alice).withdraw(freeUnits + 1n)).to.be.revertedWithCustomError(
      fx.vault,
      "InsufficientFreeCollateral",
    );
    // Realising the profit takes it from the accomplice: together they lose the fees.
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    await (await fx.ch.connect(fx.bob).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    expect(await freeOf(fx, pair)).to.be.lessThan(start);
  });

  it("winners withdrawing before losers realise", async function () {
    const fx = await deployFixture(ethers);
    const everyone = [fx.alice, fx.bob, fx.carol, fx.dave, fx.erin];
    const open = (who: typeof fx.alice, margin: number, leverage: number) =>
      fx.ch.connect(who).openPosition(fx.market, Side.LONG, toWad(margin), toWad(leverage), 0n, MAX_DEADLINE);
    /** What closing `who`'s long pays now, from the reserves (the pool rounds its reserve up). */
    const gainOf = async (who: typeof fx.alice) => {
      const p = await fx.ch.getPosition(fx.market, who.address);
      const [q, b] = await fx.amm.getReserves();
      return q - (q * b + b + p.size - 1n) / (b + p.size) - p.openNotional;
    };
    // 1. Alice buys first, Bob after her at a higher price: Alice is the winner. She closes first
    // and can run with her margin only: her profit is backed by Bob's unrealised loss, so it is her
    // claim, paid once Bob closes and realises it.
    await (await open(fx.alice, 10_000, 5)).wait();
    await (await open(fx.bob, 10_000, 5)).wait();
    const aliceGain = await gainOf(fx.alice);
    expect(aliceGain).to.be.greaterThan(0n);
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    expect(await fx.vault.claimOf(fx.market, fx.alice.address)).to.equal(aliceGain);
    const aliceUnits = await fx.vault.balanceOf(fx.alice.address);
    expect(aliceUnits).to.be.lessThan(FUNDING_UNITS); // margin back, less the fees
    await (await fx.vault.connect(fx.alice).withdraw(aliceUnits)).wait();
    await (await fx.ch.connect(fx.bob).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    expect(await fx.vault.freeCollateral(fx.bob.address)).to.be.lessThan(FUNDING_UNITS * 10n ** 12n);
    await expect(fx.vault.connect(fx.erin).payClaims(fx.market, 10n))
      .to.emit(fx.vault, "ClaimPaid")
      .withArgs(fx.market, fx.alice.address, aliceGain, 0n);
    expect(aliceUnits + (await fx.vault.balanceOf(fx.alice.address))).to.be.greaterThan(FUNDING_UNITS);

    // 2. At 10x the winner's profit is more than the loser's margin (the loser is underwater). The
    // winner's close no longer reverts: the profit is a claim, the loser is liquidated, the fund
    // covers what it can of the bad debt at the fair price, and what the winner still waits for is
    // the market's uncovered shortfall plus the bad debt charged to the market.
    await (await open(fx.carol, 10_000, 10)).wait();
    await (await open(fx.dave, 10_000, 10)).wait();
    const carolGain = await gainOf(fx.carol);
    expect(carolGain).to.be.greaterThan(toWad(10_000));
    // Only the rounding dust part 1 left in the pool is available beyond the locked margins.
    const available = await fx.vault.profitAvailable(fx.market);
    expect(available < 1000n).to.equal(true);
    await (await fx.ch.connect(fx.carol).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    expect(await fx.vault.claimOf(fx.market, fx.carol.address)).to.equal(carolGain - available);
    await expect(fx.ch.connect(fx.dave).closePosition(fx.market, 0n, MAX_DEADLINE)).to.be.revertedWithCustomError(
      fx.ch,
      "PositionUnderwater",
    );
    const liquidation = await (await fx.ch.connect(fx.erin).liquidate(fx.market, fx.dave.address)).wait();
    const chargedEvent = liquidation!.logs
      .map((log) => fx.ch.interface.parseLog(log))
      .find((e) => e?.name === "BadDebtChargedToMarket");
    const charged: bigint = chargedEvent ? chargedEvent.args.amount : 0n;
    await (await fx.vault.payClaims(fx.market, 10n)).wait();
    const [, shortfall] = await fx.ch.getMarketStatus(fx.market);
    const left = await fx.vault.claimOf(fx.market, fx.carol.address);
    const unbacked = shortfall + charged;
    expect(unbacked).to.be.greaterThan(0n);
    // PnL is zero-sum but for the pool's rounding, in the pool's favour: under one wei of base
    // (~100 wei of quote at this price) per swap, four swaps here.
    expect(left <= unbacked && unbacked - left < 4n * 101n, `${left} vs ${unbacked}`).to.equal(true);
    // Bystanders with free collateral only still get all of it out, and the Vault covers every claim.
    await (await fx.vault.connect(fx.erin).withdraw(FUNDING_UNITS)).wait();
    expect(await fx.usdc.balanceOf(fx.erin.address)).to.equal(FUNDING_UNITS);
    const { claims, held } = await solvency(fx, everyone);
    expect(held).to.be.greaterThanOrEqual(claims);
  });

  it("expired deadline and missed slippage bounds", async function () {
    const fx = await deployFixture(ethers);
    const past = BigInt(await time.latest());
    await expect(fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), 0n, past))
      .to.be.revertedWithCustomError(fx.ch, "DeadlineExpired")
      .withArgs(past, past + 1n);
    // Long: at least 6 base for 500 notional at ~100 is out of reach.
    await expect(
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), toWad(6), MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed");
    // Short: giving at most 4 base for 500 is out of reach.
    await expect(
      fx.ch.connect(fx.alice).openPosition(fx.market, Side.SHORT, toWad(100), toWad(5), toWad(4), MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.ch, "BaseLimitMissed");
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    const now = BigInt(await time.latest());
    await expect(fx.ch.connect(fx.alice).closePosition(fx.market, 0n, now)).to.be.revertedWithCustomError(
      fx.ch,
      "DeadlineExpired",
    );
    // Closing a long for at least 1,000 quote: it is worth ~500.
    await expect(
      fx.ch.connect(fx.alice).closePosition(fx.market, toWad(1_000), MAX_DEADLINE),
    ).to.be.revertedWithCustomError(fx.ch, "QuoteLimitMissed");
    await expect(
      fx.ch.connect(fx.bob).liquidateWithLimit(fx.market, fx.alice.address, 0n, now),
    ).to.be.revertedWithCustomError(fx.ch, "DeadlineExpired");
    expect((await fx.ch.getPosition(fx.market, fx.alice.address)).size).to.be.greaterThan(0n);
  });

  it("funding updated twice in one block", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    await (
      await fx.ch.connect(fx.alice).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(600);
    const update = () => fx.ch.connect(fx.bob).updateFunding(fx.market, GAS);
    const { txs, statuses } = await inOneBlock(ethers, [update, update]);
    expect(statuses).to.deep.equal([1, 0]);
    await expect(txs[1]).to.be.revertedWithCustomError(fx.amm, "FundingUpdateTooEarly");
    // And right after, in the next block, still too early.
    await expect(fx.ch.connect(fx.bob).updateFunding(fx.market)).to.be.revertedWithCustomError(
      fx.amm,
      "FundingUpdateTooEarly",
    );
  });

  it("TWAP pollution within one block", async function () {
    const fx = await deployFixture(ethers);
    await (
      await fx.ch.connect(fx.carol).openPosition(fx.market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)
    ).wait();
    await time.increase(TWAP_WINDOW + 100);
    const spotBefore = await fx.amm.getSpotPrice();
    // The baseline is the same timeline with a harmless round trip in that block instead: any trade
    // moves the history's head, and with it where the TWAP's window may start (up to 30 s early, see
    // IAmm.getMarkTwap), so only the attack's own effect is compared.
    const attackBlock = (await time.latest()) + 1;
    const snapshot = await networkHelpers.takeSnapshot();
    await time.setNextBlockTimestamp(attackBlock);
    await inOneBlock(ethers, [
      () => fx.ch.connect(fx.dave).openPosition(fx.market, Side.SHORT, toWad(1), toWad(1), 0n, MAX_DEADLINE, GAS),
      () => fx.ch.connect(fx.dave).closePosition(fx.market, 0n, MAX_DEADLINE, GAS),
    ]);
    await time.increaseTo(attackBlock + 30);
    const twapWithout = await fx.amm.getMarkTwap(TWAP_WINDOW);
    const ratioWithout = await fx.ch.getLiquidationMarginRatio(fx.market, fx.carol.address);
    await snapshot.restore();

    // Push the price down ~35% and back inside one block.
    await time.setNextBlockTimestamp(attackBlock);
    const { statuses } = await inOneBlock(ethers, [
      () =>
        fx.ch.connect(fx.alice).openPosition(fx.market, Side.SHORT, toWad(20_000), toWad(10), 0n, MAX_DEADLINE, GAS),
      () => fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE, GAS),
    ]);
    expect(statuses).to.deep.equal([1, 1]);
    await time.increaseTo(attackBlock + 30);
    // The block ended where it began (to rounding), and that is all the TWAP sees.
    const spotAfter = await fx.amm.getSpotPrice();
    expect(spotAfter - spotBefore).to.be.lessThan(10n ** 6n);
    expect(spotBefore - spotAfter).to.be.lessThan(10n ** 6n);
    const twapAfter = await fx.amm.getMarkTwap(TWAP_WINDOW);
    expect(twapAfter - twapWithout).to.be.lessThan(10n ** 6n);
    expect(twapWithout - twapAfter).to.be.lessThan(10n ** 6n);
    expect(await fx.ch.getLiquidationMarginRatio(fx.market, fx.carol.address)).to.be.closeTo(ratioWithout, 10n ** 9n);
  });
});

const FUNDING_UNITS = USDC(1_000_000);
