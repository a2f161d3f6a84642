/**
 * Coverage: the paths no other test reached (found with `npx hardhat test --coverage`). Every
 * expected figure is worked out here from the reserves, the funding premium and the position with
 * bigint arithmetic, or is a named custom error with its arguments.
 */
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { network } from "hardhat";
import { deployClearingHouse, deployCore, deployMarket, deployOracle, fund, MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { abs, mulDivDown, mulDivUp, toWad, WAD, wMulDown } from "../../../scripts/lib/fixed.js";
import type { Amm, ClearingHouse } from "../../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const USDC = (whole: number): bigint => BigInt(whole) * 10n ** 6n;
const DAY = 86_400n;
const MAX_INT256 = 2n ** 255n - 1n;
const ceilDiv = (a: bigint, b: bigint): bigint => (a === 0n ? 0n : (a - 1n) / b + 1n);
/** A price 1,000 market: 1,000,000 quote against 1,000 base. */
const POOL = { quoteReserve: toWad(1_000_000), baseReserve: toWad(1_000) };

async function system(decimals = 6, sequencerFeed?: string) {
  const core = await deployCore(ethers, decimals, sequencerFeed);
  const [, alice, bob, carol, dave, eve, liquidator] = await ethers.getSigners();
  for (const s of [alice, bob, carol, dave, eve, liquidator]) await fund(core, s, USDC(1_000_000));
  return { core, ch: core.clearingHouse, alice, bob, carol, dave, eve, liquidator };
}

async function open(ch: ClearingHouse, who: { address: string }, amm: Amm, side: number, margin: bigint, lev: bigint) {
  const signer = await ethers.getSigner(who.address);
  await (await ch.connect(signer).openPosition(await amm.getAddress(), side, margin, lev, 0n, MAX_DEADLINE)).wait();
}

/** Two funding updates 301 s apart (the first starts the index history); returns the premium and its start. */
async function setPremium(ch: ClearingHouse, amm: Amm): Promise<{ premium: bigint; updatedAt: bigint }> {
  await time.increase(301);
  await (await ch.updateFunding(await amm.getAddress())).wait();
  await time.increase(301);
  await (await ch.updateFunding(await amm.getAddress())).wait();
  const [premium, updatedAt] = await amm.getFundingState();
  return { premium, updatedAt };
}

describe("Coverage: Amm parameter checks", function () {
  it("rejects a zero oracle and funding parameters out of bounds, each with its error", async function () {
    const { core } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    await expect(amm.setOracle(ethers.ZeroAddress, ethers.encodeBytes32String("ETH"))).to.be.revertedWithCustomError(
      amm,
      "ZeroPriceFeed",
    );
    await expect(amm.setFundingParams({ maxPremiumRatio: WAD + 1n, minUpdateInterval: 300, maxAccrualPeriod: 3600 }))
      .to.be.revertedWithCustomError(amm, "RatioTooHigh")
      .withArgs(WAD + 1n);
    await expect(amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 59, maxAccrualPeriod: 3600 }))
      .to.be.revertedWithCustomError(amm, "InvalidFundingWindow")
      .withArgs(59n);
    await expect(amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 86_401, maxAccrualPeriod: 86_401 }))
      .to.be.revertedWithCustomError(amm, "InvalidFundingWindow")
      .withArgs(86_401n);
    await expect(amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 300, maxAccrualPeriod: 299 }))
      .to.be.revertedWithCustomError(amm, "InvalidAccrualPeriod")
      .withArgs(299n, 300n);
    // The bounds themselves are accepted.
    await (await amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 60, maxAccrualPeriod: 60 })).wait();
    const [, , , params] = await amm.getFundingState();
    expect([params.maxPremiumRatio, params.minUpdateInterval, params.maxAccrualPeriod]).to.deep.equal([WAD, 60n, 60n]);
  });
});

describe("Coverage: ClearingHouse edge paths", function () {
  it("setInsuranceFund needs the Vault; the views answer for a trader without a position", async function () {
    const [owner, stranger] = await ethers.getSigners();
    const fresh = await deployClearingHouse(ethers, owner.address, ethers.ZeroAddress);
    await expect(fresh.setInsuranceFund(stranger.address)).to.be.revertedWithCustomError(fresh, "VaultNotSet");

    const { core, ch } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    expect(await ch.getPendingFunding(market, stranger.address)).to.equal(0n);
    expect(await ch.getLiquidationMarginRatio(market, stranger.address)).to.equal(0n);
  });

  it("a reduction whose base rounds up to the whole position closes it and returns the margin", async function () {
    const { core, ch, alice } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    await open(ch, alice, amm, Side.LONG, toWad(100), toWad(5));
    const p = await ch.getPosition(market, alice);
    const [q, b] = await amm.getReserves();
    const k = q * b;
    // Closing the long leaves a quote reserve of ceil(k / (b + S)): the exit value. One wei more
    // quote reserve (a short of one wei less than the exit value) still rounds the base reserve up
    // to b + S, so the "reduction" takes the whole position.
    const exitValue = q - ceilDiv(k, b + p.size);
    const notional = exitValue - 1n;
    expect(await amm.previewSwapBase(p.size, p.size)).to.equal(exitValue);
    expect(ceilDiv(k, q - notional)).to.equal(b + p.size);
    expect(await amm.previewSwapQuote(Side.SHORT, notional)).to.equal(p.size);

    const freeBefore = await core.vault.freeCollateral(alice);
    const remaining = p.margin + notional - p.openNotional; // margin + realised PnL, no fee, no funding
    await expect(ch.connect(alice).openPosition(market, Side.SHORT, notional, WAD, 0n, MAX_DEADLINE))
      .to.emit(ch, "PositionChanged")
      .withArgs(alice.address, market, -p.size, notional, notional - p.openNotional, 0n, 0n, remaining, 0n, 0n, 0n);
    const after = await ch.getPosition(market, alice);
    expect([after.size, after.margin, after.openNotional, after.fundingCheckpoint]).to.deep.equal([0n, 0n, 0n, 0n]);
    expect(await core.vault.freeCollateral(alice)).to.equal(freeBefore + remaining);
    expect(await amm.getOpenInterest()).to.deep.equal([0n, 0n]);
  });

  it("a position worth nothing at spot has an unbounded margin ratio", async function () {
    const { core, ch, alice } = await system();
    // Price 0.5: one wei of notional buys one wei of base, worth floor(0.5) = 0 at spot.
    const amm = await deployMarket(ethers, core, { quoteReserve: toWad(500), baseReserve: toWad(1_000) });
    const market = await amm.getAddress();
    expect(await amm.previewSwapQuote(Side.LONG, 1n)).to.equal(1n);
    await open(ch, alice, amm, Side.LONG, 1n, WAD);
    const p = await ch.getPosition(market, alice);
    expect([p.size, p.margin, p.openNotional]).to.deep.equal([1n, 1n, 1n]);
    const [q, b] = await amm.getReserves();
    expect(mulDivDown(1n, q, b)).to.equal(0n);
    expect(await ch.getUnrealizedPnl(market, alice)).to.equal(-1n);
    // Equity 1 - 1 = 0 over a notional of 0: the ratio is int256 max, not a division by zero.
    expect(await ch.getMarginRatio(market, alice)).to.equal(MAX_INT256);
  });

  it("growing a position whose funding ate its margin reverts PositionUnderwater with the margin after funding", async function () {
    const { core, ch, alice, bob } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    await deployOracle(ethers, core, amm, { symbol: "ETH", price: toWad(1_000) });
    // Funding up to 100% of the index a day, accruing for two days.
    await (
      await amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 300, maxAccrualPeriod: 2 * 86_400 })
    ).wait();
    await open(ch, alice, amm, Side.LONG, toWad(100), toWad(10));
    // Bob's long lifts the mark to ~2,250: alice's long is deep in profit.
    await open(ch, bob, amm, Side.LONG, toWad(50_000), toWad(10));
    const { premium, updatedAt } = await setPremium(ch, amm);
    // markTwap - indexTwap (~1,250) is above the bound, 100% of the 1,000 index.
    expect(premium).to.equal(toWad(1_000));

    const p = await ch.getPosition(market, alice);
    const elapsed = 12n * 3600n;
    const longIndex = ceilDiv(premium * elapsed, DAY); // what a long unit has paid since the period began
    const owed = ceilDiv(p.size * (longIndex - p.fundingCheckpoint), WAD);
    const marginAfterFunding = p.margin - owed;
    expect(marginAfterFunding).to.be.lessThan(-toWad(1));
    // With its profit the position still meets the initial margin, so the check that follows is the margin's sign.
    const [q, b] = await amm.getReserves();
    const notionalBefore = mulDivDown(p.size, q, b);
    expect(marginAfterFunding + notionalBefore - p.openNotional).to.be.greaterThan(wMulDown(notionalBefore, toWad("0.1")));

    await time.setNextBlockTimestamp(updatedAt + elapsed);
    await expect(ch.connect(alice).openPosition(market, Side.LONG, toWad(1), WAD, 0n, MAX_DEADLINE))
      .to.be.revertedWithCustomError(ch, "PositionUnderwater")
      .withArgs(marginAfterFunding);
  });
});

describe("Coverage: funding when the insurance fund cannot pay", function () {
  it("with shorts paying and an empty fund, the longs' index stays put (the long base is rebased)", async function () {
    const { core, ch, alice } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    // Index 1,200 above a mark of ~1,002: shorts pay longs, at the 10% cap of 120 a day.
    await deployOracle(ethers, core, amm, { symbol: "ETH", price: toWad(1_200) });
    await open(ch, alice, amm, Side.LONG, toWad(100), toWad(10));
    const { premium, updatedAt } = await setPremium(ch, amm);
    expect(premium).to.equal(-toWad(120));
    expect((await core.vault.getPoolBalances())[1]).to.equal(0n);

    // With a fund, the longs would receive floor(120 x 1000 s / 1 day) per unit.
    const received = (-premium * 1000n) / DAY;
    const paid = ceilDiv(-premium * 1000n, DAY);
    await time.setNextBlockTimestamp(updatedAt + 1000n);
    // Nobody is short and the fund is empty: alice's long receives nothing.
    const tx = ch.connect(alice).openPosition(market, Side.LONG, toWad(1), WAD, 0n, MAX_DEADLINE);
    await expect(tx).to.emit(ch, "PositionChanged");
    const receipt = await (await tx).wait();
    const changed = receipt!.logs.map((l) => ch.interface.parseLog(l)).find((e) => e?.name === "PositionChanged");
    expect(changed!.args.fundingPayment).to.equal(0n);
    const indices = await amm.getFundingIndices(0n);
    expect([indices.longIndex, indices.shortIndex, indices.insuranceFlow]).to.deep.equal([0n, -paid, 0n]);
    expect(received).to.be.greaterThan(0n);
    expect((await ch.getPosition(market, alice)).fundingCheckpoint).to.equal(0n);
  });
});

describe("Coverage: global settlement", function () {
  it("refuses to settle at an index price of zero", async function () {
    const { core, ch } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    // A price feed that answers tryGetPrice with (true, 0) to any call: PUSH1 1 PUSH1 0 MSTORE
    // PUSH1 64 PUSH1 0 RETURN. No Chainlink feed can (it rejects answers <= 0); any IPriceFeed may.
    const feed = ethers.Wallet.createRandom().address;
    await networkHelpers.setCode(feed, "0x600160005260406000f3");
    await (await amm.setOracle(feed, ethers.encodeBytes32String("ZERO"))).wait();
    await expect(amm.pokeIndex()).to.emit(amm, "IndexRecorded").withArgs(0n);
    expect(await amm.getIndexTwap(900)).to.equal(0n);
    await expect(ch.settleMarket(market)).to.be.revertedWithCustomError(ch, "NoSettlementPrice").withArgs(market);
  });

  it("settles the funding accrued at shutdown into the fund, and an underwater position's claim is zero", async function () {
    const { core, ch, alice } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    // Index 800 under a mark of ~1,002: longs pay, at the 10% cap of 80 a day.
    await deployOracle(ethers, core, amm, { symbol: "ETH", price: toWad(800) });
    await open(ch, alice, amm, Side.LONG, toWad(100), toWad(10));
    const { premium, updatedAt } = await setPremium(ch, amm);
    expect(premium).to.equal(toWad(80));
    const p = await ch.getPosition(market, alice);
    const [q, b] = await amm.getReserves();
    const [, fundBefore] = await core.vault.getPoolBalances();

    // Settled 1,000 s into the period: alice's long pays, no short receives, the fund takes it all.
    const longIndex = ceilDiv(premium * 1000n, DAY);
    const flow = (p.size * longIndex) / WAD;
    await time.setNextBlockTimestamp(updatedAt + 1000n);
    await expect(ch.settleMarket(market))
      .to.emit(ch, "MarketSettled")
      .withArgs(market, toWad(800), p.size, 0n)
      .and.to.emit(amm, "FundingUpdated")
      .withArgs(0n, 0n, 0n, longIndex, (premium * 1000n) / DAY, flow);
    expect((await core.vault.getPoolBalances())[1]).to.equal(fundBefore + flow);

    // At 800 the 10x long entered at ~1,002 is worth less than nothing: its claim is 0 and nothing is paid.
    const held = p.margin - ceilDiv(p.size * longIndex, WAD);
    expect(held + wMulDown(p.size, toWad(800)) - p.openNotional).to.be.lessThan(0n);
    const freeBefore = await core.vault.freeCollateral(alice);
    const fundMid = (await core.vault.getPoolBalances())[1];
    await expect(ch.settlePosition(market, alice))
      .to.emit(ch, "SettlementRecorded")
      .withArgs(alice.address, market, 0n)
      .and.not.to.emit(ch, "SettlementPaid");
    expect(await core.vault.freeCollateral(alice)).to.equal(freeBefore);
    // The pool value is what the market's pool held at the shutdown: Alice's margin less the flow
    // the fund took out of it (the fees went to the fund when paid). The last position recorded
    // completes the settlement: what it holds beyond the (zero) claims goes to the fund.
    expect(held <= p.margin - flow).to.equal(true);
    const poolValue = p.margin - flow;
    const s = await ch.getSettlement(market);
    expect([s.poolValue, s.claims]).to.deep.equal([poolValue, 0n]);
    expect((await core.vault.getPoolBalances())[1]).to.equal(fundMid + poolValue);
    await expect(ch.settlePosition(market, alice))
      .to.be.revertedWithCustomError(ch, "NoPosition")
      .withArgs(alice.address, market);
  });

  it("pays nothing when the market's pool is worth nothing, whatever the claim", async function () {
    const { core, ch, carol, dave, eve } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const other = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    const oracle = await deployOracle(ethers, core, amm, { symbol: "ETH", price: toWad(3_000) });
    // Eve's margin in another market is hers alone: it never pays carol's profit.
    await open(ch, eve, other, Side.LONG, toWad(50_000), WAD);
    await open(ch, carol, amm, Side.LONG, toWad(10_000), toWad(10));
    await open(ch, dave, amm, Side.LONG, toWad(10_000), toWad(10));
    // Carol's profit from dave's price move, ~18,000, is more than dave's 10,000 margin; dave has
    // realised nothing, so none of it is available: all of it is carol's claim.
    const pc = await ch.getPosition(market, carol);
    const [qc, bc] = await amm.getReserves();
    const gain = qc - ceilDiv(qc * bc, bc + pc.size) - pc.openNotional;
    expect(gain > toWad(10_000)).to.equal(true);
    await (await ch.connect(carol).closePosition(market, 0n, MAX_DEADLINE)).wait();
    expect(await core.vault.claimOf(market, carol)).to.equal(gain);
    const p = await ch.getPosition(market, dave);
    // The market's pool holds dave's margin only, and carol's claim is queued against it.
    const poolValue = p.margin - gain;
    expect(poolValue).to.be.lessThan(0n);

    // The index says 3,000: dave's claim is large, but the pool behind it is worth less than nothing.
    await (await oracle.aggregator.setAnswer(300_000_000_000n, BigInt(await time.latest()))).wait();
    await (await amm.pokeIndex()).wait();
    await (await ch.settleMarket(market)).wait();
    const claim = p.margin + wMulDown(p.size, toWad(3_000)) - p.openNotional;
    const freeBefore = await core.vault.freeCollateral(dave);
    await expect(ch.settlePosition(market, dave))
      .to.emit(ch, "SettlementRecorded")
      .withArgs(dave.address, market, claim)
      .and.to.emit(ch, "SettlementPaid")
      .withArgs(dave.address, market, 0n);
    const s = await ch.getSettlement(market);
    expect([s.poolValue, s.claims]).to.deep.equal([poolValue, claim]);
    expect(await core.vault.freeCollateral(dave)).to.equal(freeBefore);
    expect((await ch.getPosition(market, dave)).margin).to.equal(0n);
    // Dave's margin, no longer locked, goes to carol's earlier claim; Eve's market is untouched.
    const carolFree = await core.vault.freeCollateral(carol);
    const eveMarket = await core.vault.marketBalances(await other.getAddress());
    await expect(core.vault.payClaims(market, 1n))
      .to.emit(core.vault, "ClaimPaid")
      .withArgs(market, carol.address, p.margin, gain - p.margin);
    expect(await core.vault.freeCollateral(carol)).to.equal(carolFree + p.margin);
    expect(await core.vault.marketBalances(await other.getAddress())).to.deep.equal(eveMarket);
    expect((await core.vault.marketBalances(market)).pool).to.equal(0n);
  });
});

describe("Coverage: ClearingHouseViewer", function () {
  it("has no liquidation price for an unlevered long, nor for a short whose funding ate margin and notional", async function () {
    const { core, ch, alice, bob } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    const viewer = core.viewer;
    await open(ch, alice, amm, Side.LONG, toWad(1_000), WAD);
    const pa = await ch.getPosition(market, alice);
    expect(pa.margin).to.equal(pa.openNotional);
    expect(await viewer.getLiquidationPrice(market, alice)).to.equal(0n);

    // Index 10,000 over a mark of ~1,000 with funding up to 100% a day: shorts pay ~9,000 a day per unit.
    await deployOracle(ethers, core, amm, { symbol: "ETH", price: toWad(10_000) });
    await (
      await amm.setFundingParams({ maxPremiumRatio: WAD, minUpdateInterval: 300, maxAccrualPeriod: 2 * 86_400 })
    ).wait();
    await open(ch, bob, amm, Side.SHORT, toWad(100), toWad(10));
    const { premium, updatedAt } = await setPremium(ch, amm);
    expect(premium).to.be.lessThan(-toWad(8_000));
    await time.increaseTo(updatedAt + 6n * 3600n);
    const p = await ch.getPosition(market, bob);
    // The short index has fallen by what a short unit paid: ceil(|premium| x 6 h / 1 day).
    const paid = ceilDiv(-premium * 6n * 3600n, DAY);
    const owed = ceilDiv(abs(p.size) * (paid + p.fundingCheckpoint), WAD);
    expect(await ch.getPendingFunding(market, bob)).to.equal(owed);
    expect(p.margin - owed + p.openNotional).to.be.lessThanOrEqual(0n);
    expect(await viewer.getLiquidationPrice(market, bob)).to.equal(0n);
    expect((await viewer.getPositionView(market, bob)).liquidationPrice).to.equal(0n);
  });

  it("closes the whole position when the rest would be under minPositionNotional, as the ClearingHouse does", async function () {
    const { core, ch, alice, bob, liquidator } = await system();
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    await open(ch, alice, amm, Side.LONG, toWad(1_000), toWad(10));
    // Bob's short takes the price ~4% down: alice's ratio lands between the penalty and maintenance.
    await open(ch, bob, amm, Side.SHORT, toWad(10_000), toWad(3));
    await time.increase(16 * 60);
    const params = await ch.getLiquidationParams();
    let v = await core.viewer.getPositionView(market, alice);
    const mmr = (await ch.getMarketParams(market)).maintenanceMarginRatio;
    expect(v.liquidatable).to.equal(true);
    expect(v.liquidationMarginRatio).to.be.greaterThanOrEqual(params.feeRatio);
    expect(v.liquidationMarginRatio).to.be.lessThan(mmr);
    // By default a partial close: ceil(|S| (target - r) / (target - penalty)).
    const target = mmr + params.partialBuffer;
    const partial = mulDivUp(v.size, target - BigInt(v.liquidationMarginRatio), target - params.feeRatio);
    expect((await ch.connect(liquidator).liquidate.staticCall(market, alice)).baseClosed).to.equal(partial);
    expect(partial).to.be.lessThan(v.size);

    // With a minimum position of 1,000,000 quote the rest would be too small: all of it.
    await (
      await ch.setLiquidationParams({
        feeRatio: params.feeRatio,
        partialBuffer: params.partialBuffer,
        maxSpreadRatio: params.maxSpreadRatio,
        markTwapInterval: params.markTwapInterval,
        minPositionNotional: toWad(1_000_000),
      })
    ).wait();
    v = await core.viewer.getPositionView(market, alice);
    const preview = await ch.connect(liquidator).liquidate.staticCall(market, alice, { blockTag: "pending" });
    expect([preview.baseClosed, preview.full]).to.deep.equal([v.size, true]);
    const wholeQuote = await amm.previewSwapBase(v.size, v.size);
    expect(preview.quoteClosed).to.equal(wholeQuote);
    await expect(ch.connect(liquidator).liquidate(market, alice))
      .to.emit(ch, "PositionLiquidated")
      .withArgs(alice.address, market, liquidator.address, v.size, wholeQuote, anyValue, anyValue, 0n, 0n, true);
  });

  it("reads a position as not liquidatable while the sequencer is down", async function () {
    const uptime = await ethers.deployContract("MockAggregator", [0]);
    const now = BigInt(await time.latest());
    await (await uptime.setSequencerStatus(false, now - 7200n)).wait(); // up for two hours, past the grace period
    const { core, ch, alice, bob, liquidator } = await system(6, await uptime.getAddress());
    const amm = await deployMarket(ethers, core, POOL);
    const market = await amm.getAddress();
    await open(ch, alice, amm, Side.LONG, toWad(1_000), toWad(10));
    await open(ch, bob, amm, Side.SHORT, toWad(10_000), toWad(5));
    await time.increase(16 * 60);
    expect((await core.viewer.getPositionView(market, alice)).liquidatable).to.equal(true);

    await (await uptime.setSequencerStatus(true, BigInt(await time.latest()))).wait();
    const v = await core.viewer.getPositionView(market, alice);
    expect(v.liquidatable).to.equal(false);
    expect(await core.viewer.isSequencerUp()).to.equal(false);
    // As the ClearingHouse: a liquidation now reverts on the sequencer check.
    await expect(ch.connect(liquidator).liquidate(market, alice)).to.be.revertedWithCustomError(ch, "SequencerDown");
  });
});
