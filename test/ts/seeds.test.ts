/**
 * The worked examples of the design documents (fees 0, 10% initial / 6.25% maintenance margin).
 *
 * Each figure is worked out twice, independently of the contracts:
 *  - exactly, with rational arithmetic (the real-number answer of x*y=k with k held constant), and
 *  - with the Amm's DOCUMENTED rounding (the reserve the pool computes is rounded up:
 *    long by quote newBase = ceil(q*b/(q+Q)); short by quote newBase = ceil(q*b/(q-Q));
 *    close a long of s newQuote = ceil(q*b/(b+s)); close a short of s newQuote = ceil(q*b/(b-s));
 *    k = q*b of the current reserves).
 * The contracts must equal the rounding model to the wei, and stay within TOLERANCE_WEI of the
 * exact values, always on the pool's side.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { mulDivUp, toWad, WAD } from "../../scripts/lib/fixed.js";
import { USDC } from "./helpers/fixtures.js";
import { Rational } from "./helpers/rational.js";

const { ethers, networkHelpers } = await network.create();

/**
 * Tolerance between a contract amount and the exact rational one, in wei. Each swap rounds one
 * reserve up by less than 1 wei; that error reaches later amounts multiplied by the price (about 8
 * to 10 quote per base in seed 002, 1/400 base per quote in seed 003), so after at most four swaps an
 * amount is off by well under 4 x (1 + 10) wei. 64 wei leaves a margin and is still 1e-16 of a unit.
 */
const TOLERANCE_WEI = 64n;

const R = Rational.of;

/** Asserts `actual` (wei) is at most the exact value and within tolerance of it: the trader's side of a trade. */
function expectAtMostExact(actual: bigint, exact: Rational, what: string) {
  const gap = exact.weiAbove(actual); // exact - actual, in wei
  expect(gap.cmp(R(0)), `${what}: never above the exact value`).to.be.at.least(0);
  expect(gap.cmp(R(TOLERANCE_WEI)), `${what}: within ${TOLERANCE_WEI} wei of exact`).to.be.at.most(0);
}

/** Asserts `actual` (wei) is at least the exact value and within tolerance of it: what the trader owes. */
function expectAtLeastExact(actual: bigint, exact: Rational, what: string) {
  const gap = exact.weiAbove(actual).neg(); // actual - exact, in wei
  expect(gap.cmp(R(0)), `${what}: never below the exact value`).to.be.at.least(0);
  expect(gap.cmp(R(TOLERANCE_WEI)), `${what}: within ${TOLERANCE_WEI} wei of exact`).to.be.at.most(0);
}

/** Reads the PositionChanged event of a mined trade. */
async function positionChanged(system: Awaited<ReturnType<typeof deployCore>>, hash: string) {
  const receipt = await ethers.provider.getTransactionReceipt(hash);
  for (const log of receipt!.logs) {
    const parsed = system.clearingHouse.interface.parseLog(log);
    if (parsed?.name === "PositionChanged") return parsed.args;
  }
  throw new Error("no PositionChanged event");
}

// ------------------------------------------------------------------------------------------------
// Seed 002: 100,000 quote / 12,500 base; Alice 2x long with 2000, Bob 3x long with 2000, both close.
// ------------------------------------------------------------------------------------------------

/** Exact rational values of seed 002 (units, not wei). */
function seed002Exact() {
  const q0 = R(100000);
  const b0 = R(12500);
  const k = q0.mul(b0);
  const q1 = q0.add(R(4000)); // Alice's notional: 2000 x 2
  const b1 = k.div(q1);
  const aliceBase = b0.sub(b1);
  const q2 = q1.add(R(6000)); // Bob's notional: 2000 x 3
  const b2 = k.div(q2);
  const bobBase = b1.sub(b2);
  const b3 = b2.add(aliceBase); // Alice sells her base back
  const q3 = k.div(b3);
  const aliceOut = q2.sub(q3);
  const b4 = b3.add(bobBase); // Bob sells his
  const q4 = k.div(b4);
  const bobOut = q3.sub(q4);
  return {
    aliceBase,
    bobBase,
    aliceOut,
    bobOut,
    alicePnl: aliceOut.sub(R(4000)),
    bobPnl: bobOut.sub(R(6000)),
    finalQuote: q4,
    finalBase: b4,
  };
}

/** Seed 002 with the documented rounding, in wei. */
function seed002Rounded() {
  let q = toWad(100000);
  let b = toWad(12500);
  // Alice: long by quote 4000.
  let newQ = q + toWad(4000);
  let newB = mulDivUp(q, b, newQ);
  const aliceBase = b - newB;
  [q, b] = [newQ, newB];
  const afterAlice = { q, b };
  // Bob: long by quote 6000.
  newQ = q + toWad(6000);
  newB = mulDivUp(q, b, newQ);
  const bobBase = b - newB;
  [q, b] = [newQ, newB];
  const afterBob = { q, b };
  // Alice closes her long: base goes in, quote comes out.
  newB = b + aliceBase;
  newQ = mulDivUp(q, b, newB);
  const aliceOut = q - newQ;
  [q, b] = [newQ, newB];
  const afterAliceClose = { q, b };
  // Bob closes.
  newB = b + bobBase;
  newQ = mulDivUp(q, b, newB);
  const bobOut = q - newQ;
  [q, b] = [newQ, newB];
  return {
    aliceBase,
    bobBase,
    aliceOut,
    bobOut,
    alicePnl: aliceOut - toWad(4000),
    bobPnl: bobOut - toWad(6000),
    afterAlice,
    afterBob,
    afterAliceClose,
    final: { q, b },
  };
}

const FUNDING = USDC(10_000);

async function seed002Fixture() {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(100000), baseReserve: toWad(12500) });
  const [, alice, bob] = await ethers.getSigners();
  await fund(system, alice, FUNDING);
  await fund(system, bob, FUNDING);
  const ammAddress = await amm.getAddress();
  return { system, amm, ammAddress, alice, bob };
}

/** Runs the whole of seed 002, keeping every trade's hash and the reserves after each step. */
async function seed002PlayedFixture() {
  const fx = await seed002Fixture();
  const { system, ammAddress, alice, bob, amm } = fx;
  const ch = system.clearingHouse;
  const reserves: Array<[bigint, bigint]> = [];
  const aliceOpen = await ch
    .connect(alice)
    .openPosition(ammAddress, Side.LONG, toWad(2000), toWad(2), 0n, MAX_DEADLINE);
  reserves.push(await amm.getReserves().then((r) => [r[0], r[1]] as [bigint, bigint]));
  const aliceSize = (await ch.getPosition(ammAddress, alice.address)).size;
  const bobOpen = await ch.connect(bob).openPosition(ammAddress, Side.LONG, toWad(2000), toWad(3), 0n, MAX_DEADLINE);
  reserves.push(await amm.getReserves().then((r) => [r[0], r[1]] as [bigint, bigint]));
  const bobSize = (await ch.getPosition(ammAddress, bob.address)).size;
  const aliceClose = await ch.connect(alice).closePosition(ammAddress, 0n, MAX_DEADLINE);
  reserves.push(await amm.getReserves().then((r) => [r[0], r[1]] as [bigint, bigint]));
  const bobClose = await ch.connect(bob).closePosition(ammAddress, 0n, MAX_DEADLINE);
  reserves.push(await amm.getReserves().then((r) => [r[0], r[1]] as [bigint, bigint]));
  // Alice closed first: her profit waited as a claim until Bob's close realised his loss; paid now.
  const paid = await system.vault.payClaims(ammAddress, 1n);
  return {
    ...fx,
    aliceSize,
    bobSize,
    reserves,
    hashes: {
      aliceOpen: aliceOpen.hash,
      bobOpen: bobOpen.hash,
      aliceClose: aliceClose.hash,
      bobClose: bobClose.hash,
      paid: paid.hash,
    },
  };
}

describe("Seed 002: two longs on a 100,000 / 12,500 pool, fees 0", function () {
  it("exact rational arithmetic reproduces the worked example's figures", function () {
    const x = seed002Exact();
    // 480.769230769230769230769... : 12500 * 4000 / 104000 = 6250/13
    expect(x.aliceBase.eq(new Rational(6250n, 13n))).to.equal(true);
    expect(x.aliceBase.floorWad()).to.equal(toWad("480.769230769230769230"));
    expect(x.bobBase.floorWad()).to.equal(toWad("655.594405594405594405"));
    expect(x.aliceOut.floorWad()).to.equal(toWad("4464.944649446494464944"));
    expect(x.alicePnl.floorWad()).to.equal(toWad("464.944649446494464944"));
    expect(x.bobOut.floorWad()).to.equal(toWad("5535.055350553505535055"));
    expect(x.bobPnl.ceilWad()).to.equal(-toWad("464.944649446494464944"));
    // Zero-sum and path independence: the pool is back where it started.
    expect(x.alicePnl.add(x.bobPnl).eq(R(0))).to.equal(true);
    expect(x.finalQuote.eq(R(100000))).to.equal(true);
    expect(x.finalBase.eq(R(12500))).to.equal(true);
  });

  it("opening longs gives exactly the rounding model's base, never more than the exact amount", async function () {
    const { system, aliceSize, bobSize, reserves, hashes } = await networkHelpers.loadFixture(seed002PlayedFixture);
    const x = seed002Exact();
    const m = seed002Rounded();

    expect(aliceSize).to.equal(m.aliceBase);
    expect(bobSize).to.equal(m.bobBase);
    expect(reserves[0]).to.deep.equal([m.afterAlice.q, m.afterAlice.b]);
    expect(reserves[1]).to.deep.equal([m.afterBob.q, m.afterBob.b]);
    expectAtMostExact(aliceSize, x.aliceBase, "Alice's base");
    expectAtMostExact(bobSize, x.bobBase, "Bob's base");

    const aliceEv = await positionChanged(system, hashes.aliceOpen);
    expect(aliceEv.baseDelta).to.equal(m.aliceBase);
    expect(aliceEv.quoteAmount).to.equal(toWad(4000));
    expect(aliceEv.margin).to.equal(toWad(2000));
    expect(aliceEv.openNotional).to.equal(toWad(4000));
    expect(aliceEv.freeCollateralDelta).to.equal(-toWad(2000));
    const bobEv = await positionChanged(system, hashes.bobOpen);
    expect(bobEv.baseDelta).to.equal(m.bobBase);
    expect(bobEv.quoteAmount).to.equal(toWad(6000));
    expect(bobEv.openNotional).to.equal(toWad(6000));
  });

  it("closing pays exactly the rounding model's quote, never more than the exact amount", async function () {
    const { system, reserves, hashes, alice, ammAddress } = await networkHelpers.loadFixture(seed002PlayedFixture);
    const x = seed002Exact();
    const m = seed002Rounded();

    const aliceEv = await positionChanged(system, hashes.aliceClose);
    expect(aliceEv.quoteAmount).to.equal(m.aliceOut);
    expect(aliceEv.realizedPnl).to.equal(m.alicePnl);
    // Bob's loss is not realised yet when Alice closes: her margin comes home, her profit is a claim.
    expect(aliceEv.freeCollateralDelta).to.equal(toWad(2000));
    const aliceTx = system.vault.interface;
    const receipt = await ethers.provider.getTransactionReceipt(hashes.aliceClose);
    const queued = receipt!.logs.map((l) => aliceTx.parseLog(l)).filter((e) => e?.name === "ClaimQueued");
    expect(queued.map((e) => [...e!.args])).to.deep.equal([[ammAddress, alice.address, 0n, m.alicePnl, m.alicePnl]]);
    expect(aliceEv.size).to.equal(0n);
    expect(aliceEv.fee).to.equal(0n);
    expect(reserves[2]).to.deep.equal([m.afterAliceClose.q, m.afterAliceClose.b]);
    expectAtMostExact(aliceEv.quoteAmount, x.aliceOut, "Alice's close");
    expectAtMostExact(aliceEv.realizedPnl, x.alicePnl, "Alice's PnL");

    const bobEv = await positionChanged(system, hashes.bobClose);
    expect(bobEv.quoteAmount).to.equal(m.bobOut);
    expect(bobEv.realizedPnl).to.equal(m.bobPnl);
    expect(bobEv.freeCollateralDelta).to.equal(toWad(2000) + m.bobPnl);
    expectAtMostExact(bobEv.quoteAmount, x.bobOut, "Bob's close");
    expectAtMostExact(bobEv.realizedPnl, x.bobPnl, "Bob's PnL");
    // Bob's loss paid Alice's claim in full.
    await expect(hashes.paid).to.emit(system.vault, "ClaimPaid").withArgs(ammAddress, alice.address, m.alicePnl, 0n);
  });

  it("PnL lands in free collateral: Alice gains and Bob loses 464.94 quote", async function () {
    const { system, alice, bob, ammAddress } = await networkHelpers.loadFixture(seed002PlayedFixture);
    const m = seed002Rounded();
    const x = seed002Exact();
    const start = FUNDING * 10n ** 12n;
    expect(await system.vault.freeCollateral(alice.address)).to.equal(start + m.alicePnl);
    expect(await system.vault.freeCollateral(bob.address)).to.equal(start + m.bobPnl);
    expectAtMostExact((await system.vault.freeCollateral(alice.address)) - start, x.alicePnl, "Alice's PnL");
    expectAtMostExact((await system.vault.freeCollateral(bob.address)) - start, x.bobPnl, "Bob's PnL");
    // Positions are gone and the margin pool is empty again.
    expect((await system.clearingHouse.getPosition(ammAddress, alice.address)).size).to.equal(0n);
    expect((await system.clearingHouse.getPosition(ammAddress, bob.address)).size).to.equal(0n);
    const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
    expect(insuranceFund).to.equal(0n);
    // Whatever the traders lost to rounding stays in the margin pool: the books balance to the wei.
    expect(marginPool).to.equal(-(m.alicePnl + m.bobPnl));
  });

  it("reserves return to 100,000 / 12,500 within tolerance, with k never below the start", async function () {
    const { reserves, amm } = await networkHelpers.loadFixture(seed002PlayedFixture);
    const x = seed002Exact();
    const m = seed002Rounded();
    const [q, b] = reserves[3];
    expect([q, b]).to.deep.equal([m.final.q, m.final.b]);
    expect(await amm.getReserves()).to.deep.equal([m.final.q, m.final.b]);
    expect(b).to.equal(toWad(12500)); // the base reserve is exact: both sizes went back in
    expectAtLeastExact(q, x.finalQuote, "final quote reserve");
    // The pool's rounding gain equals the traders' rounding loss, to the wei.
    expect(q - toWad(100000)).to.equal(-(m.alicePnl + m.bobPnl));
    // k never decreases along the way.
    let k = toWad(100000) * toWad(12500);
    for (const [rq, rb] of reserves) {
      expect(rq * rb >= k).to.equal(true);
      k = rq * rb;
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Seed 003: 40,000 vDAI / 100 vETH; Alice 10x long with 100, then Bob 10x short with 100.
// ------------------------------------------------------------------------------------------------

async function seed003Fixture() {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(40000), baseReserve: toWad(100) });
  const [, alice, bob] = await ethers.getSigners();
  await fund(system, alice, USDC(1000));
  await fund(system, bob, USDC(1000));
  return { system, amm, ammAddress: await amm.getAddress(), alice, bob };
}

describe("Seed 003: 10x long then 10x short on a 40,000 / 100 pool, fees 0", function () {
  const k = R(40000).mul(R(100));
  const exactBaseAfterAlice = k.div(R(41000)); // 4,000,000 / 41,000 = 97.5609756097560975609...
  const exactAliceBase = R(100).sub(exactBaseAfterAlice);
  const exactBobBase = k.div(R(40000)).sub(exactBaseAfterAlice);

  it("exact rational arithmetic reproduces the worked example's figures", function () {
    expect(exactAliceBase.floorWad()).to.equal(toWad("2.439024390243902439"));
    expect(exactBaseAfterAlice.eq(new Rational(4000n, 41n))).to.equal(true);
    expect(exactBaseAfterAlice.floorWad()).to.equal(toWad("97.560975609756097560"));
    // Bob's short of the same notional owes exactly the base Alice took.
    expect(exactBobBase.eq(exactAliceBase)).to.equal(true);
  });

  it("Alice's 10x long gets the rounding model's base and moves the pool to 41,000 / ceil(4,000,000/41,000)", async function () {
    const { system, amm, ammAddress, alice } = await networkHelpers.loadFixture(seed003Fixture);
    const tx = system.clearingHouse
      .connect(alice)
      .openPosition(ammAddress, Side.LONG, toWad(100), toWad(10), 0n, MAX_DEADLINE);
    // Rounding model: newBase = ceil(q*b/(q+Q)).
    const newBase = mulDivUp(toWad(40000), toWad(100), toWad(41000));
    const base = toWad(100) - newBase;
    await expect(tx)
      .to.emit(system.clearingHouse, "PositionChanged")
      .withArgs(alice.address, ammAddress, base, toWad(1000), 0n, 0n, 0n, -toWad(100), base, toWad(100), toWad(1000));
    await expect(tx).to.emit(amm, "Swapped").withArgs(toWad(1000), -base, toWad(41000), newBase);
    expect(base).to.equal(toWad("2.439024390243902439"));
    expectAtMostExact(base, exactAliceBase, "Alice's base");
    expect(await amm.getReserves()).to.deep.equal([toWad(41000), newBase]);
    expect(newBase).to.equal(exactBaseAfterAlice.ceilWad());
    expect(await system.vault.freeCollateral(alice.address)).to.equal(toWad(900));
  });

  it("Bob's 10x short owes the rounding model's base, at least the exact amount, and returns the pool to 40,000 / 100", async function () {
    const { system, amm, ammAddress, alice, bob } = await networkHelpers.loadFixture(seed003Fixture);
    const ch = system.clearingHouse;
    await ch.connect(alice).openPosition(ammAddress, Side.LONG, toWad(100), toWad(10), 0n, MAX_DEADLINE);
    const q1 = toWad(41000);
    const b1 = mulDivUp(toWad(40000), toWad(100), q1);
    // Rounding model: newBase = ceil(q*b/(q-Q)), owed = newBase - b.
    const b2 = mulDivUp(q1, b1, q1 - toWad(1000));
    const owed = b2 - b1;
    const tx = ch.connect(bob).openPosition(ammAddress, Side.SHORT, toWad(100), toWad(10), 0n, MAX_DEADLINE);
    await expect(tx)
      .to.emit(ch, "PositionChanged")
      .withArgs(bob.address, ammAddress, -owed, toWad(1000), 0n, 0n, 0n, -toWad(100), -owed, toWad(100), toWad(1000));
    expectAtLeastExact(owed, exactBobBase, "Bob's base owed");

    const [q, b] = await amm.getReserves();
    expect([q, b]).to.deep.equal([toWad(40000), b2]);
    expect(q).to.equal(toWad(40000)); // the quote reserve is exact: Bob took out what Alice put in
    expectAtLeastExact(b, R(100), "base reserve after Bob"); // the pool keeps the rounding dust
    expect(q * b >= toWad(40000) * toWad(100)).to.equal(true);
    // Spot price is back to 400 (rounded down, so at most 400).
    expect(await amm.getSpotPrice()).to.equal((q * WAD) / b);
    expect(await amm.getSpotPrice()).to.be.at.most(toWad(400));
    const [longOI, shortOI] = await amm.getOpenInterest();
    expect([longOI, shortOI]).to.deep.equal([toWad(100) - b1, owed]);
  });
});
