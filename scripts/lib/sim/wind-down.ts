/**
 * The simulation's last steps: every position closed or liquidated, every queued claim paid, every
 * account withdrawn, solvency checked.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { marketMoney, spareForClaims } from "../claims.js";
import { MAX_DEADLINE } from "../deploy.js";
import { runArbitrage, runKeepers, stepOracle } from "./actions.js";
import { readCurveState } from "./curve.js";
import type { Recorder } from "./recorder.js";
import type { MarketMoneyEnd, Solvency } from "./run.js";
import type { Accounts, Bots, World } from "./setup.js";

const SCALE = 10n ** 12n; // 6-decimal token to the Vault's 18 decimals
/** Simulated time between two wind-down rounds. */
export const WIND_DOWN_ROUND_SECONDS = 300;

/** The (account, market index) pairs among `signers` with an open position. */
async function openPositions(world: World, signers: readonly HardhatEthersSigner[]) {
  const open: Array<{ signer: HardhatEthersSigner; i: number }> = [];
  for (const signer of signers) {
    for (const [i, m] of world.markets.entries()) {
      if ((await world.system.clearingHouse.getPosition(m.address, signer.address)).size !== 0n) {
        open.push({ signer, i });
      }
    }
  }
  return open;
}

/**
 * Every trader closes; what cannot close is left to the liquidation keeper, with time passing (the
 * mark TWAP) and the arbitrage bot bringing the mark back to the index between rounds. The
 * arbitrageur closes last. With every position closed, each market's pool holds what its losers
 * realised and the fund's cover of its bad debt: the claims keeper pays every queued claim from it.
 * Then everyone withdraws what the Vault owes them in whole token units. Returns the rounds taken
 * and the token units withdrawn.
 */
export async function windDown(
  world: World,
  accounts: Accounts,
  bots: Bots,
  recorder: Recorder,
): Promise<{ rounds: number; withdrawals: bigint }> {
  const { system, markets, clock, opts } = world;
  let round = 0;
  let t = world.start + opts.steps * opts.stepSeconds;
  const traderSigners = accounts.traders.map((x) => x.signer);
  for (const group of [traderSigners, [accounts.arbitrageur]]) {
    for (let r = 0; r < 30; r++, round++) {
      const open = await openPositions(world, group);
      if (open.length === 0) break;
      for (const { signer, i } of open) {
        await recorder.attempt(i, () =>
          system.clearingHouse.connect(signer).closePosition(markets[i].address, 0n, MAX_DEADLINE),
        );
      }
      t += WIND_DOWN_ROUND_SECONDS;
      await clock.jumpTo(t);
      await stepOracle(world, opts.steps);
      if (group === traderSigners) await runArbitrage(bots);
      await runKeepers(bots);
      await recorder.readEvents();
    }
  }
  await recorder.readEvents();
  await payAllClaims(world, bots);
  await recorder.readEvents();

  let withdrawals = 0n;
  for (const signer of accounts.all) {
    const balance = await system.vault.balanceOf(signer.address);
    if (balance > 0n) {
      await (await system.vault.connect(signer).withdraw(balance)).wait();
      withdrawals += balance;
    }
  }
  return { rounds: round, withdrawals };
}

/**
 * Ticks the claims keeper until no market has both queued claims and pool money beyond its locked
 * margin (each tick pays at most its CLAIMS_PER_TX entries per market).
 */
async function payAllClaims(world: World, bots: Bots): Promise<void> {
  for (let tick = 0; tick < 100; tick++) {
    let payable = false;
    for (const m of world.markets) {
      const money = await marketMoney(world.system.vault, m.address);
      const owed = money.head !== money.tail || money.fundReceivable > 0n;
      if (owed && spareForClaims(money) > 0n) payable = true;
    }
    if (!payable) return;
    await bots.claimsKeeper.tick();
  }
}

/**
 * The Vault's tokens equal what it owes (free collateral, every market's pool, the insurance fund)
 * to the wei, the pools hold only rounding dust with no margin locked and no claim left queued (but
 * what an uncovered shortfall and the bad debt charged to the market left unpaid), and no position
 * or open interest is left. `chargedToMarket`: per market, the liquidations' bad debt beyond what
 * the fair price showed (the BadDebtChargedToMarket events).
 */
export async function checkSolvency(
  world: World,
  accounts: Accounts,
  rounds: number,
  chargedToMarket: bigint[],
): Promise<Solvency> {
  const { system, markets } = world;
  const vaultTokens = await system.usdc.balanceOf(await system.vault.getAddress());
  const [marginPool, insuranceFund] = await system.vault.getPoolBalances();
  let freeCollateral = 0n;
  for (const signer of accounts.all) freeCollateral += await system.vault.freeCollateral(signer.address);
  const money: MarketMoneyEnd[] = [];
  for (const m of markets) {
    const b = await system.vault.marketBalances(m.address);
    const budget = world.opts.curve === "dynamic" ? (await readCurveState(m.amm)).budgetWei : 0n;
    money.push({ symbol: m.symbol, pool: b.pool, lockedMargin: b.lockedMargin, claimsPending: b.claims, budget });
  }
  const pools = money.reduce((sum, m) => sum + m.pool, 0n);
  const liabilities = freeCollateral + pools + insuranceFund;
  const stillOpen = (await openPositions(world, [...accounts.traders.map((x) => x.signer), accounts.arbitrageur]))
    .length;
  // Rounding (always in the protocol's favour) may leave dust in the market pools: less than one token unit in all.
  const dustLimit = SCALE;
  const problems: string[] = [];
  if (vaultTokens * SCALE !== liabilities) {
    problems.push(
      `the Vault holds ${vaultTokens * SCALE} (18 decimals) but free collateral, the market pools and the fund add up to ${liabilities}`,
    );
  }
  if (pools !== marginPool) problems.push(`the market pools add up to ${pools}, the Vault's total says ${marginPool}`);
  if (world.opts.curve === "dynamic") {
    // A dynamic curve's budget stays in its market's pool (locked), and so does what the traders
    // lost to repegs that the last funding update has not yet collected into the budget (a repeg's
    // gain is collected only once realised): the pool holds at least the budget.
    for (const m of money) {
      if (m.pool < m.budget)
        problems.push(`${m.symbol}: the pool holds ${m.pool} wei, less than its budget ${m.budget}`);
    }
  } else if (marginPool > dustLimit) {
    problems.push(`the market pools hold ${marginPool} wei, more than rounding dust (${dustLimit})`);
  }
  for (const [i, m] of money.entries()) {
    // The locked margin is the positions' margins net of their pending funding; with none left it
    // keeps what their rounded funding settlements paid beyond the accruals: dust, inside the pool.
    if (m.lockedMargin > m.pool) problems.push(`${m.symbol}: ${m.lockedMargin} of margin still locked`);
    // Unpaid claims can only be what an uncovered shortfall and the bad debt charged to the market
    // left the pool without.
    const { shortfall } = await system.clearingHouse.getMarketStatus(markets[i].address);
    if (m.claimsPending > shortfall + chargedToMarket[i])
      problems.push(
        `${m.symbol}: ${m.claimsPending} of claims still queued, more than the shortfall and the bad debt charged to the market explain`,
      );
  }
  if (stillOpen > 0) problems.push(`${stillOpen} position(s) still open after ${rounds} rounds`);
  for (const m of markets) {
    const [long, short] = await m.amm.getOpenInterest();
    if (long !== 0n || short !== 0n) problems.push(`${m.symbol}: open interest ${long} long, ${short} short left`);
  }
  if (freeCollateral >= BigInt(accounts.all.length) * SCALE) {
    problems.push(`free collateral ${freeCollateral} left beyond sub-unit remainders after every withdrawal`);
  }
  return {
    vaultTokens,
    freeCollateral,
    marginPool,
    insuranceFund,
    liabilities,
    markets: money,
    dustLimit,
    openPositions: stillOpen,
    ok: problems.length === 0,
    problems,
  };
}
