/**
 * The claims keeper (scripts/lib/claims-keeper.ts), driven tick by tick against a system deployed
 * on the embedded network: a winner who closes before the losers gets a claim, not a revert; the
 * keeper sends nothing while the market's pool holds no more than its locked margin; it pays the
 * claim, first in, first out, as the losers' closes bring money in (part of it first, the rest
 * after); CLAIMS_PER_TX bounds a transaction; and its configuration is checked.
 *
 * The expected figures come from the x*y=k pool of test/ts/helpers/pricing.ts (written from the
 * NatSpec), never from what the contracts return: a long's profit on a full close is the quote its
 * base sells for less the quote it opened with (no fee, no funding in these markets).
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  ClaimsKeeper,
  readClaimsKeeperConfig,
  type ClaimsKeeperOptions,
  type ClaimsOutcome,
} from "../../scripts/lib/claims-keeper.js";
import { spareForClaims } from "../../scripts/lib/claims.js";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { formatUnits, toWad } from "../../scripts/lib/fixed.js";
import { ConfigError } from "../../scripts/lib/keeper/config.js";
import { LONG, reservesAfterBase, reservesAfterQuote } from "./helpers/pricing.js";
import { MemoryLogger } from "./helpers/keeper.js";

const { ethers, networkHelpers } = await network.create();
const q = (v: bigint): string => formatUnits(v, 18);
const USDC = (whole: number): bigint => BigInt(whole) * 10n ** 6n;

/** An ETH market at 2,000 (2,000,000 quote / 1,000 base), no fee; four traders with 100,000 each. */
async function deploySystem() {
  const system = await deployCore(ethers);
  const signers = await ethers.getSigners();
  const [, alice, bob, carol, dave] = signers;
  const eth = await deployMarket(ethers, system, { quoteReserve: toWad(2_000_000), baseReserve: toWad(1_000) });
  for (const trader of [alice, bob, carol, dave]) await fund(system, trader, USDC(100_000));
  return { system, eth, alice, bob, carol, dave, keeperAccount: signers[signers.length - 4] };
}
type Deployed = Awaited<ReturnType<typeof deploySystem>>;

async function newKeeper(d: Deployed, config: Partial<ClaimsKeeperOptions["config"]> = {}) {
  const logger = new MemoryLogger();
  const keeper = new ClaimsKeeper({
    signer: d.keeperAccount,
    logger,
    sleep: async () => {},
    config: {
      clearingHouse: await d.system.clearingHouse.getAddress(),
      startBlock: 0,
      logBlockRange: 5_000,
      claimsPerTx: 20,
      pollSeconds: 30,
      maxRetries: 0,
      retryDelayMs: 250,
      txTimeoutSeconds: 10,
      ...config,
    },
  });
  return { keeper, logger };
}

/** The pool of the test's market, as the model follows it. */
class Pool {
  quote = toWad(2_000_000);
  base = toWad(1_000);
  /** Opens a long of `notional` quote; returns the base it buys. */
  long(notional: bigint): bigint {
    const r = reservesAfterQuote(this.quote, this.base, LONG, notional);
    this.quote = r.newQuote;
    this.base = r.newBase;
    return r.base;
  }
  /** Closes a long of `size` base opened for `notional`; returns its realised PnL. */
  closeLong(size: bigint, notional: bigint): bigint {
    const r = reservesAfterBase(this.quote, this.base, size, size);
    this.quote = r.newQuote;
    this.base = r.newBase;
    return r.quote - notional;
  }
}

function paid(outcome: ClaimsOutcome) {
  if (outcome.status !== "paid") throw new Error(`expected a payment, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe("ClaimsKeeper", function () {
  it("waits while the pool lacks money, then pays the claim first in, first out as the losers close", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { system, eth, alice, bob, carol, keeperAccount } = d;
    const ch = system.clearingHouse;
    const vault = system.vault;
    const market = await eth.getAddress();
    const open = async (trader: typeof alice, margin: number) =>
      (await ch.connect(trader).openPosition(market, Side.LONG, toWad(margin), toWad(5), 0n, MAX_DEADLINE)).wait();
    const close = async (trader: typeof alice) =>
      (await ch.connect(trader).closePosition(market, 0n, MAX_DEADLINE)).wait();

    // Alice buys first (1,000 x 5), then Bob and Carol (5,000 x 5 each) push the price up.
    const pool = new Pool();
    const aliceSize = pool.long(toWad(5_000));
    const bobSize = pool.long(toWad(25_000));
    const carolSize = pool.long(toWad(25_000));
    await open(alice, 1_000);
    await open(bob, 5_000);
    await open(carol, 5_000);
    expect((await ch.getPosition(market, carol.address)).size).to.equal(carolSize);

    const { keeper, logger } = await newKeeper(d);
    await keeper.start();
    expect(logger.take().join("\n")).to.match(
      new RegExp(`started on chain 31337: .* Vault ${await vault.getAddress()}, .* up to 20 claims per transaction`),
    );
    expect(await keeper.tick()).to.deep.equal([{ market, status: "no-claims" }]);
    const found = logger.take();
    expect(found[0]).to.match(new RegExp(`^INFO market found: ${market} at ${market} \\(listed in block \\d+\\)$`));
    expect(found.slice(1)).to.deep.equal(["INFO idle: 1 market(s), no claims queued"]);

    // Alice closes first. Her profit (about 252.16) is more than the pool holds beyond the 10,000 of
    // margin backing Bob's and Carol's positions (nothing): all of it is queued, her margin returns.
    const aliceGain = pool.closeLong(aliceSize, toWad(5_000));
    expect(aliceGain > toWad(252) && aliceGain < toWad(253)).to.equal(true);
    const freeBefore = await vault.freeCollateral(alice.address);
    await close(alice);
    expect(await vault.freeCollateral(alice.address)).to.equal(freeBefore + toWad(1_000));
    expect(await vault.claimOf(market, alice.address)).to.equal(aliceGain);

    // The keeper sees the claim but sends nothing: the pool holds exactly its locked margin.
    const nonce = await keeperAccount.getNonce();
    const waiting = await keeper.tick();
    expect(waiting).to.deep.equal([
      {
        market,
        status: "waiting",
        money: {
          pool: toWad(10_000),
          lockedMargin: toWad(10_000),
          claims: aliceGain,
          fundReceivable: 0n,
          head: 0n,
          tail: 1n,
        },
      },
    ]);
    expect(await keeperAccount.getNonce()).to.equal(nonce);
    expect(logger.take()).to.deep.equal([
      `INFO idle: claims wait until their pool holds more than its open positions' margins: ${market} ${q(aliceGain)} in 1 claim(s)`,
    ]);
    await keeper.tick();
    expect(logger.take(), "an unchanged idle line is not repeated").to.deep.equal([]);

    // Carol closes at a loss (about 126.85): that much is now spare, and the keeper pays it to
    // Alice, whose claim stays at the head of the queue for the rest.
    const carolLoss = -pool.closeLong(carolSize, toWad(25_000));
    expect(carolLoss > 0n && carolLoss < aliceGain).to.equal(true);
    await close(carol);
    const first = paid((await keeper.tick())[0]);
    expect(first.paid).to.equal(carolLoss);
    expect(first.payments).to.deep.equal([
      { trader: alice.address, amount: carolLoss, remaining: aliceGain - carolLoss },
    ]);
    expect(first.claimsLeft).to.equal(aliceGain - carolLoss);
    expect(await keeperAccount.getNonce()).to.equal(nonce + 1);
    expect(await vault.freeCollateral(alice.address)).to.equal(freeBefore + toWad(1_000) + carolLoss);
    expect(await vault.claimQueueBounds(market)).to.deep.equal([0n, 1n]);
    const receipt = await ethers.provider.getTransactionReceipt(first.txHash);
    expect(first.gasUsed).to.equal(receipt!.gasUsed);
    expect(logger.take()).to.deep.equal([
      `INFO paid 1 claim(s) in ${market}: ${q(carolLoss)} in all tx=${first.txHash} gas=${first.gasUsed}; ` +
        `${q(carolLoss)} to ${alice.address} (${q(aliceGain - carolLoss)} left); ` +
        `${q(aliceGain - carolLoss)} still queued`,
    ]);
    // Nothing more is spare: the next tick waits again.
    expect((await keeper.tick())[0].status).to.equal("waiting");
    expect(logger.take()).to.have.length(1);

    // Bob closes at a loss that covers the rest: the keeper pays it, and the queue is empty. The
    // pool keeps only the pool's rounding (in the protocol's favour): the losses exceed the profit
    // by a few wei.
    const bobLoss = -pool.closeLong(bobSize, toWad(25_000));
    expect(bobLoss >= aliceGain - carolLoss).to.equal(true);
    await close(bob);
    const second = paid((await keeper.tick())[0]);
    expect(second.payments).to.deep.equal([{ trader: alice.address, amount: aliceGain - carolLoss, remaining: 0n }]);
    expect(second.claimsLeft).to.equal(0n);
    expect(await vault.claimOf(market, alice.address)).to.equal(0n);
    expect(await vault.freeCollateral(alice.address)).to.equal(freeBefore + toWad(1_000) + aliceGain);
    expect(await vault.claimQueueBounds(market)).to.deep.equal([1n, 1n]);
    const left = await vault.marketBalances(market);
    expect([left.pool, left.lockedMargin, left.claims]).to.deep.equal([carolLoss + bobLoss - aliceGain, 0n, 0n]);
    expect(carolLoss + bobLoss - aliceGain < 10_000n).to.equal(true);
    expect(logger.take()).to.deep.equal([
      `INFO paid 1 claim(s) in ${market}: ${q(aliceGain - carolLoss)} in all tx=${second.txHash} gas=${second.gasUsed}; ` +
        `${q(aliceGain - carolLoss)} to ${alice.address}; queue empty`,
    ]);
    expect(await keeper.tick()).to.deep.equal([{ market, status: "no-claims" }]);
  });

  it("pays at most CLAIMS_PER_TX claims per transaction, in the order they were queued", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { system, eth, alice, bob, dave } = d;
    const ch = system.clearingHouse;
    const market = await eth.getAddress();
    const pool = new Pool();
    const sizes = [pool.long(toWad(5_000)), pool.long(toWad(5_000)), pool.long(toWad(50_000))];
    for (const [trader, margin] of [
      [alice, 1_000],
      [dave, 1_000],
      [bob, 10_000],
    ] as const)
      await (
        await ch.connect(trader).openPosition(market, Side.LONG, toWad(margin), toWad(5), 0n, MAX_DEADLINE)
      ).wait();
    // Alice, then Dave close with a profit (about 277.72 and 224.69), both queued; Bob's close pays in.
    const aliceGain = pool.closeLong(sizes[0], toWad(5_000));
    const daveGain = pool.closeLong(sizes[1], toWad(5_000));
    const bobLoss = -pool.closeLong(sizes[2], toWad(50_000));
    for (const trader of [alice, dave, bob])
      await (await ch.connect(trader).closePosition(market, 0n, MAX_DEADLINE)).wait();
    expect(await system.vault.claimOf(market, alice.address)).to.equal(aliceGain);
    expect(await system.vault.claimOf(market, dave.address)).to.equal(daveGain);
    expect(await system.vault.claimAt(market, 1)).to.deep.equal([dave.address, daveGain]);
    expect(bobLoss >= aliceGain + daveGain).to.equal(true);
    expect(spareForClaims(await system.vault.marketBalances(market))).to.equal(bobLoss);

    const { keeper } = await newKeeper(d, { claimsPerTx: 1 });
    const first = paid((await keeper.tick())[0]);
    expect(first.payments).to.deep.equal([{ trader: alice.address, amount: aliceGain, remaining: 0n }]);
    expect(first.claimsLeft).to.equal(daveGain);
    const second = paid((await keeper.tick())[0]);
    expect(second.payments).to.deep.equal([{ trader: dave.address, amount: daveGain, remaining: 0n }]);
    expect(second.claimsLeft).to.equal(0n);
    expect((await system.vault.marketBalances(market)).pool).to.equal(bobLoss - aliceGain - daveGain);
  });

  it("reads and checks its configuration", function () {
    const ch = "0x" + "12".repeat(20);
    const config = readClaimsKeeperConfig({ CLEARING_HOUSE: ch });
    expect(config.claimsPerTx).to.equal(20);
    expect(config.pollSeconds).to.equal(30);
    expect(readClaimsKeeperConfig({ CLEARING_HOUSE: ch, CLAIMS_PER_TX: "5" }).claimsPerTx).to.equal(5);
    let error: unknown;
    try {
      readClaimsKeeperConfig({ CLAIMS_PER_TX: "0" });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.deep.equal([
      "CLEARING_HOUSE: required: the contract's address (0x followed by 40 hex digits)",
      "CLAIMS_PER_TX: must be at least 1 (claims)",
    ]);
  });
});
