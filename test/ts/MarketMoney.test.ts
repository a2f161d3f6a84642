/**
 * Money per market (issue 13) through the whole system, against the bigint model (helpers/model.ts):
 * two markets, three traders, a fixed-seed sequence of opens, reduces, reversals, closes, margin
 * moves and payClaims calls. After every step each market's pool, locked margin and claims, every
 * trader's claim and free collateral, the reserves and the positions equal the model's, and every
 * predicted revert happens with its arguments. The model keeps each market's money apart and pays a
 * gain only from what its own pool holds beyond its locked margin and claims, so money crossing
 * markets, or a profit paid out of margin that backs an open position, would show as a mismatch.
 * At the end everyone closes (topping up a position its exit would leave under water), every claim
 * is paid in full, and each pool keeps only the curve's rounding.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { ContractTransactionResponse } from "ethers";
import { deployCore, deployMarket, fund, MAX_DEADLINE } from "../../scripts/lib/deploy.js";
import { toWad, WAD } from "../../scripts/lib/fixed.js";
import { expectMatchesModel, prng, USDC, USDC_SCALE } from "./helpers/fixtures.js";
import { ModelError, SystemModel, type SideValue } from "./helpers/model.js";

const { ethers, networkHelpers } = await network.create();

const FEE = toWad("0.001");
const PARAMS = { initialMarginRatio: toWad("0.1"), maintenanceMarginRatio: toWad("0.0625"), feeRatio: FEE };
const MARKETS = [
  { quoteReserve: toWad(10_000), baseReserve: toWad(100) },
  { quoteReserve: toWad(60_000), baseReserve: toWad(20) },
];
const DEPOSIT = USDC(100_000);

async function fixture() {
  const system = await deployCore(ethers);
  const amms = [];
  for (const m of MARKETS) amms.push(await deployMarket(ethers, system, { ...m, feeRatio: FEE }));
  const [, alice, bob, carol, keeper] = await ethers.getSigners();
  for (const t of [alice, bob, carol]) await fund(system, t, DEPOSIT);
  const markets = await Promise.all(amms.map((a) => a.getAddress()));
  return { system, ch: system.clearingHouse, vault: system.vault, amms, markets, traders: [alice, bob, carol], keeper };
}

describe("Money per market: two markets against the model, step by step", function () {
  it("a fixed-seed sequence keeps every market's pool, locked margin and claims equal to the model's; all claims are paid in the end", async function () {
    const fx = await networkHelpers.loadFixture(fixture);
    const model = new SystemModel();
    fx.markets.forEach((m, i) => model.addMarket(m, MARKETS[i].quoteReserve, MARKETS[i].baseReserve, PARAMS));
    for (const t of fx.traders) model.deposit(t.address, DEPOSIT * USDC_SCALE);
    const addresses = fx.traders.map((t) => t.address);
    const vaultAddress = await fx.vault.getAddress();
    const check = async () => {
      await expectMatchesModel(model, { vault: fx.vault, clearingHouse: fx.ch, amms: fx.amms }, addresses);
      // The tokens cover every free collateral, every market's pool and the fund, exactly; each
      // pool covers its open positions' margins (no profit was paid out of them).
      let free = 0n;
      for (const a of [...addresses, fx.keeper.address]) free += await fx.vault.freeCollateral(a);
      const [pools, insurance] = await fx.vault.getPoolBalances();
      expect((await fx.system.usdc.balanceOf(vaultAddress)) * USDC_SCALE, "tokens").to.equal(free + pools + insurance);
      for (const market of fx.markets) {
        const money = await fx.vault.marketBalances(market);
        expect(money.pool >= money.lockedMargin, "the pool covers its locked margin").to.equal(true);
      }
    };

    /** Runs `predict` on the model and `send` on chain: both succeed, or both revert alike. */
    async function step(predict: () => unknown, send: () => Promise<ContractTransactionResponse>, target: object) {
      let predicted: ModelError | undefined;
      try {
        predict();
      } catch (e) {
        if (!(e instanceof ModelError)) throw e;
        predicted = e;
      }
      if (predicted) {
        await expect(send())
          .to.be.revertedWithCustomError(target as never, predicted.errorName)
          .withArgs(...predicted.args);
        return false;
      }
      await (await send()).wait();
      return true;
    }

    const rand = prng(0x13n);
    let done = 0;
    let claimsQueued = 0;
    let claimsPaid = 0;
    for (let i = 0; i < 60; i++) {
      const m = Number(rand(2n));
      const market = fx.markets[m];
      const t = fx.traders[Number(rand(3n))];
      const held = model.position(market, t.address).size !== 0n;
      const roll = rand(10n);
      const claimsBefore = model.claims(market);
      if (roll === 0n) {
        const paid = model.payClaims(market, 2);
        claimsPaid += paid.length;
        await (await fx.vault.connect(fx.keeper).payClaims(market, 2n)).wait();
        done++;
      } else if (held && roll === 1n) {
        if (
          await step(
            () => model.close(t.address, market),
            () => fx.ch.connect(t).closePosition(market, 0n, MAX_DEADLINE),
            fx.ch,
          )
        )
          done++;
      } else if (held && roll === 2n) {
        const amount = toWad(1) + rand(toWad(50));
        if (
          await step(
            () => model.removeMargin(t.address, market, amount),
            () => fx.ch.connect(t).removeMargin(market, amount),
            fx.ch,
          )
        )
          done++;
      } else {
        const side = Number(rand(2n)) as SideValue;
        const margin = toWad(1) + rand(toWad(400));
        const leverage = WAD + rand(9n) * WAD; // 1x .. 9x
        if (
          await step(
            () => model.open(t.address, market, side, margin, leverage),
            () => fx.ch.connect(t).openPosition(market, side, margin, leverage, 0n, MAX_DEADLINE),
            fx.ch,
          )
        )
          done++;
      }
      if (model.claims(market) > claimsBefore) claimsQueued++;
      await check();
    }
    expect(done).to.be.greaterThan(40);
    expect(claimsQueued, "the sequence queued claims").to.be.greaterThan(0);
    expect(claimsPaid, "payClaims paid some of them on the way").to.be.greaterThan(0);

    // Everyone closes; a position its exit would leave under water is topped up first.
    for (const market of fx.markets) {
      for (const t of fx.traders) {
        if (model.position(market, t.address).size === 0n) continue;
        const err = (() => {
          try {
            model.clone().close(t.address, market);
            return undefined;
          } catch (e) {
            return e as ModelError;
          }
        })();
        if (err !== undefined) {
          expect(err.errorName).to.equal("PositionUnderwater");
          const topUp = -(err.args[0] as bigint) + 1n;
          model.addMargin(t.address, market, topUp);
          await (await fx.ch.connect(t).addMargin(market, topUp)).wait();
        }
        model.close(t.address, market);
        await (await fx.ch.connect(t).closePosition(market, 0n, MAX_DEADLINE)).wait();
      }
      model.payClaims(market);
      await (await fx.vault.payClaims(market, 1_000n)).wait();
      await check();
      // Every claim paid in full; the pool keeps only the curve's rounding (a few wei per swap).
      const money = await fx.vault.marketBalances(market);
      expect([money.lockedMargin, money.claims]).to.deep.equal([0n, 0n]);
      expect(money.pool < 10n ** 6n, `pool dust ${money.pool}`).to.equal(true);
    }
  });
});
