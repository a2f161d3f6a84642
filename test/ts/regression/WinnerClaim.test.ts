/**
 * Review finding 3 (issue 13): "a winner's close depends on trade order". Perp v1's test
 * "clearingHouse doesn't have enough balance after close position and ask for InsuranceFund": a
 * 1,000 / 100 pool, no fee; Bob shorts 20 x 5, then Alice shorts 20 x 5 at the lower price. Bob's
 * close pays margin 20 + PnL 21.951219512195121945 = 41.951219512195121945, and the margin pool
 * held the two margins, 40: it reverted InsufficientMarginPool(40e18, 41.95e18) unless Alice closed
 * first. Now each market's profit is paid only from what its losers have realised: Bob's close goes
 * through in either order, the profit Alice has not yet realised is his claim, and payClaims pays it
 * in full once her loss is in the pool. (Her exit costs more than her margin only through the thin
 * pool's price impact: at the mark her ratio is still 12%, so she tops up her margin and closes.)
 *
 * Worked out by hand from the pool's documented rounding (a short of quote Q leaves the base
 * reserve at ceil(q b / (q - Q)); buying base back leaves the quote at ceil(k / newBase)):
 *   Bob's short:   900 / ceil(1e5 / 900) = 111.111111111111111112, he owes 11.111111111111111112
 *   Alice's short: 800 / 125.000000000000000001, she owes 13.888888888888888889
 *   Bob's close:   the base back to 113.888888888888888889, the quote to 878.048780487804878055:
 *                  he pays 78.048780487804878055 for what he sold at 100, PnL +21.951219512195121945
 *   Alice's close: the base back to 100, the quote to 1,000.000000000000000009: she pays
 *                  121.951219512195121954, PnL -21.951219512195121954 (9 wei of rounding stay)
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { SCALE, USDC } from "./setup.js";

const { ethers, networkHelpers } = await network.create();

const BOB_PNL = 21_951_219_512_195_121_945n;
const ALICE_PNL = -21_951_219_512_195_121_954n;
const DEPOSIT = USDC(100);

async function fixture() {
  const system = await deployCore(ethers);
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000), baseReserve: toWad(100) });
  const [, alice, bob, keeper] = await ethers.getSigners();
  for (const t of [alice, bob]) await fund(system, t, DEPOSIT);
  const ch = system.clearingHouse;
  const market = await amm.getAddress();
  await (await ch.connect(bob).openPosition(market, Side.SHORT, toWad(20), toWad(5), 0n, MAX_DEADLINE)).wait();
  await (await ch.connect(alice).openPosition(market, Side.SHORT, toWad(20), toWad(5), 0n, MAX_DEADLINE)).wait();
  return { ...system, ch, amm, market, alice, bob, keeper };
}

type Fx = Awaited<ReturnType<typeof fixture>>;

/** Withdraws every whole token unit of `who`'s free collateral; returns what was withdrawn. */
async function withdrawAll(fx: Fx, who: Fx["alice"]): Promise<bigint> {
  const units = await fx.vault.balanceOf(who.address);
  await (await fx.vault.connect(who).withdraw(units)).wait();
  expect(await fx.vault.freeCollateral(who.address), "less than one token unit stays").to.be.lessThan(SCALE);
  return units;
}

describe("Regression: a winner's close does not depend on trade order (Perp v1's 'ask for InsuranceFund')", function () {
  it("the set-up: both shorts hold 20 of margin each, all of it locked, and the figures of the Perp v1 test", async function () {
    const fx = await networkHelpers.loadFixture(fixture);
    expect((await fx.ch.getPosition(fx.market, fx.bob.address)).size).to.equal(-11_111_111_111_111_111_112n);
    expect((await fx.ch.getPosition(fx.market, fx.alice.address)).size).to.equal(-13_888_888_888_888_888_889n);
    expect(await fx.amm.getReserves()).to.deep.equal([toWad(800), 125_000_000_000_000_000_001n]);
    expect(await fx.vault.marketBalances(fx.market)).to.deep.equal([toWad(40), toWad(40), 0n, 0n]);
    expect(await fx.vault.profitAvailable(fx.market)).to.equal(0n);
  });

  it("Bob closes first: his close goes through, his unpaid profit is a claim of 21.951219512195121945, paid in full once Alice closes", async function () {
    const fx = await networkHelpers.loadFixture(fixture);
    // The preview says it too: margin 20 paid, the profit waits as a claim.
    const preview = await fx.viewer.previewClose(fx.market, fx.bob.address);
    expect([preview.realizedPnl, preview.payout, preview.claim]).to.deep.equal([BOB_PNL, toWad(20), BOB_PNL]);
    const close = fx.ch.connect(fx.bob).closePosition(fx.market, 0n, MAX_DEADLINE);
    await expect(close)
      .to.emit(fx.ch, "PositionChanged")
      .withArgs(
        fx.bob.address,
        fx.market,
        11_111_111_111_111_111_112n,
        78_048_780_487_804_878_055n,
        BOB_PNL,
        0n,
        0n,
        toWad(20),
        0n,
        0n,
        0n,
      );
    await expect(close).to.emit(fx.vault, "ClaimQueued").withArgs(fx.market, fx.bob.address, 0n, BOB_PNL, BOB_PNL);
    // Nobody else's money paid him: the pool still holds Alice's margin, locked.
    expect(await fx.vault.marketBalances(fx.market)).to.deep.equal([toWad(20), toWad(20), BOB_PNL, 0n]);
    expect(await fx.vault.payClaims.staticCall(fx.market, 1n)).to.equal(0n);
    // Alice's loss (21.951219512195121954) is more than her 20 of margin: she tops it up and closes.
    await expect(fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE))
      .to.be.revertedWithCustomError(fx.ch, "PositionUnderwater")
      .withArgs(toWad(20) + ALICE_PNL);
    await (await fx.ch.connect(fx.alice).addMargin(fx.market, toWad(2))).wait();
    await expect(fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE))
      .to.emit(fx.ch, "PositionChanged")
      .withArgs(
        fx.alice.address,
        fx.market,
        13_888_888_888_888_888_889n,
        121_951_219_512_195_121_954n,
        ALICE_PNL,
        0n,
        0n,
        toWad(22) + ALICE_PNL,
        0n,
        0n,
        0n,
      );
    // Her loss is in the pool: 21.951219512195121954 against a claim of 21.951219512195121945.
    expect(await fx.vault.marketBalances(fx.market)).to.deep.equal([-ALICE_PNL, 0n, BOB_PNL, 0n]);
    await expect(fx.vault.connect(fx.keeper).payClaims(fx.market, 1n))
      .to.emit(fx.vault, "ClaimPaid")
      .withArgs(fx.market, fx.bob.address, BOB_PNL, 0n);
    expect(await fx.vault.marketBalances(fx.market)).to.deep.equal([9n, 0n, 0n, 0n]); // the pool's rounding
    // Both withdraw in full: Bob 100 + 21.951219 (to the token unit), Alice 100 - 21.951220.
    expect(await withdrawAll(fx, fx.bob)).to.equal(DEPOSIT + BOB_PNL / SCALE);
    expect(await withdrawAll(fx, fx.alice)).to.equal((toWad(100) + ALICE_PNL) / SCALE);
    expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(USDC(121) + 951_219n);
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(USDC(78) + 48_780n);
  });

  it("Alice closes first: nobody has a profit to wait for, both close and withdraw in full", async function () {
    const fx = await networkHelpers.loadFixture(fixture);
    // Closing in the reverse order of the opens retraces the curve: ~0 PnL each (8 wei of rounding for Bob).
    await (await fx.ch.connect(fx.alice).closePosition(fx.market, 0n, MAX_DEADLINE)).wait();
    await expect(fx.ch.connect(fx.bob).closePosition(fx.market, 0n, MAX_DEADLINE))
      .to.emit(fx.ch, "PositionChanged")
      .withArgs(
        fx.bob.address,
        fx.market,
        11_111_111_111_111_111_112n,
        toWad(100) + 8n,
        -8n,
        0n,
        0n,
        toWad(20) - 8n,
        0n,
        0n,
        0n,
      )
      .and.not.to.emit(fx.vault, "ClaimQueued");
    expect(await fx.vault.marketBalances(fx.market)).to.deep.equal([8n, 0n, 0n, 0n]);
    expect(await withdrawAll(fx, fx.alice)).to.equal(DEPOSIT);
    expect(await withdrawAll(fx, fx.bob)).to.equal(DEPOSIT - 1n);
  });
});
