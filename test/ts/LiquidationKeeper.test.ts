/**
 * The liquidation keeper (scripts/lib/liquidation-keeper.ts) end to end on the embedded network:
 * it discovers positions from events (then only new blocks), leaves healthy positions alone,
 * liquidates the under-margined one once the price move has lasted the TWAP window, pays the
 * liquidator and the insurance fund what the event says, keeps a cooldown after an attempt,
 * survives injected RPC errors without sending twice, and reads its configuration.
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, MAX_DEADLINE, Side } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import { ConfigError } from "../../scripts/lib/keeper/config.js";
import {
  LiquidationKeeper,
  quoteLimitFor,
  readLiquidationKeeperConfig,
  type LiquidationKeeperOptions,
} from "../../scripts/lib/liquidation-keeper.js";
import { flakyProvider, MemoryLogger } from "./helpers/keeper.js";

const { ethers, networkHelpers, provider } = await network.create();
const { time } = networkHelpers;
const USDC = (whole: number): bigint => BigInt(whole) * 10n ** 6n;
const COOLDOWN = 120;

/** One market at 1,000: alice 10x long (will be liquidatable), bob 2x long and carol 4x short (healthy). */
async function deploySystem() {
  const system = await deployCore(ethers);
  const [, alice, bob, carol, whale, keeperAccount] = await ethers.getSigners();
  const amm = await deployMarket(ethers, system, { quoteReserve: toWad(1_000_000), baseReserve: toWad(1_000) });
  const market = await amm.getAddress();
  for (const trader of [alice, bob, carol, whale]) await fund(system, trader, USDC(50_000));
  const ch = system.clearingHouse;
  await (await ch.connect(alice).openPosition(market, Side.LONG, toWad(1_000), toWad(10), 0n, MAX_DEADLINE)).wait();
  await (await ch.connect(bob).openPosition(market, Side.LONG, toWad(1_000), toWad(2), 0n, MAX_DEADLINE)).wait();
  await (await ch.connect(carol).openPosition(market, Side.SHORT, toWad(1_000), toWad(4), 0n, MAX_DEADLINE)).wait();
  return { system, amm, market, alice, bob, carol, whale, keeperAccount };
}
type Deployed = Awaited<ReturnType<typeof deploySystem>>;

/** The whale's short moves the price ~9% down, and the move lasts the 15-minute TWAP window. */
async function crash(d: Deployed) {
  const ch = d.system.clearingHouse;
  await (
    await ch.connect(d.whale).openPosition(d.market, Side.SHORT, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)
  ).wait();
  await time.increase(16 * 60);
}

async function newKeeper(d: Deployed, config: Partial<LiquidationKeeperOptions["config"]> = {}, signer?: Signer) {
  const logger = new MemoryLogger();
  const keeper = new LiquidationKeeper({
    signer: signer ?? d.keeperAccount,
    logger,
    sleep: async () => {},
    config: {
      clearingHouse: await d.system.clearingHouse.getAddress(),
      viewer: await d.system.viewer.getAddress(),
      startBlock: 0,
      logBlockRange: 5_000,
      batchSize: 2,
      cooldownSeconds: COOLDOWN,
      slippageBps: 100,
      pollSeconds: 30,
      maxRetries: 3,
      retryDelayMs: 1,
      txTimeoutSeconds: 10,
      ...config,
    },
  });
  return { keeper, logger };
}

describe("LiquidationKeeper", function () {
  it("discovers positions, leaves healthy ones alone and liquidates only after the move lasted the TWAP window", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    const { keeper, logger } = await newKeeper(d);
    await keeper.start();
    expect(logger.take().join("\n")).to.match(/started on chain 31337: .* batch 2, cooldown 120 s, slippage 100 bps/);

    let { scan, outcomes } = await keeper.tick();
    expect([scan.positions, scan.batches, scan.liquidatable.length, outcomes.length]).to.deep.equal([3, 2, 0, 0]);
    expect(logger.take()).to.deep.equal(["INFO idle: 3 position(s) in 2 batch(es), none to liquidate"]);

    // The price falls: not yet liquidatable (the TWAP remembers the old price)...
    const ch = d.system.clearingHouse;
    await (
      await ch.connect(d.whale).openPosition(d.market, Side.SHORT, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
    ({ scan, outcomes } = await keeper.tick());
    expect([scan.positions, scan.liquidatable.length]).to.deep.equal([4, 0]);

    // ... until the move has lasted 15 minutes.
    await time.increase(16 * 60);
    const vault = d.system.vault;
    const fundBefore = await vault.insuranceFundBalance();
    const keeperBefore = await vault.freeCollateral(d.keeperAccount);
    const bobBefore = await ch.getPosition(d.market, d.bob);
    ({ scan, outcomes } = await keeper.tick());
    expect(scan.liquidatable.map((p) => p.trader)).to.deep.equal([d.alice.address]);
    expect(outcomes).to.have.length(1);
    const outcome = outcomes[0];
    if (outcome.status !== "liquidated") throw new Error(JSON.stringify(outcome));
    const liq = outcome.liquidation!;
    // The bound: the quote of the liquidation's own preview (a staticCall of it, nothing changed
    // between) less 1%; the close met it.
    expect(outcome.quoteLimit).to.equal(quoteLimitFor(scan.liquidatable[0].view.size, liq.quoteClosed, 100));
    expect(liq.quoteClosed >= outcome.quoteLimit!).to.equal(true);
    expect(liq.baseClosed).to.be.greaterThan(0n);
    expect(liq.badDebt).to.equal(0n);
    // The liquidator's half of the penalty to the keeper, the other half to the insurance fund.
    expect(await vault.freeCollateral(d.keeperAccount)).to.equal(keeperBefore + liq.liquidatorReward);
    expect(await vault.insuranceFundBalance()).to.equal(fundBefore + liq.insurancePenalty);
    expect(liq.liquidatorReward).to.be.greaterThan(0n);
    expect(logger.lines.filter((l) => l.startsWith("INFO liquidated"))).to.have.length(1);
    // Healthy positions untouched.
    expect(await ch.getPosition(d.market, d.bob)).to.deep.equal(bobBefore);
    expect((await d.system.viewer.getPositionView(d.market, d.alice)).liquidatable).to.equal(false);
  });

  it("keeps a cooldown after an attempt, and follows closes incrementally", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    await crash(d);
    // Alice as the keeper: her own liquidation reverts (SelfLiquidation), simulated and not sent.
    const { keeper, logger } = await newKeeper(d, {}, d.alice);
    const nonce = await d.alice.getNonce();
    let { outcomes } = await keeper.tick();
    expect(outcomes.map((o) => o.status)).to.deep.equal(["skipped"]);
    expect(logger.lines).to.include(
      `WARN skipped ${d.alice.address} in ${d.market}: liquidateWithLimit would revert with ` +
        "SelfLiquidation: a trader cannot liquidate their own position; not sent",
    );
    ({ outcomes } = await keeper.tick());
    expect(outcomes.map((o) => o.status)).to.deep.equal(["cooling"]);
    await time.increase(COOLDOWN);
    ({ outcomes } = await keeper.tick());
    expect(outcomes.map((o) => o.status)).to.deep.equal(["skipped"]);
    expect(await d.alice.getNonce(), "nothing sent").to.equal(nonce);

    // Carol closes: the next scan reads only the new blocks and drops her.
    await (await d.system.clearingHouse.connect(d.carol).closePosition(d.market, 0n, MAX_DEADLINE)).wait();
    const { scan } = await keeper.tick();
    expect(scan.positions).to.equal(3);
  });

  it("survives RPC errors: retries with backoff and sends the liquidation once", async function () {
    const d = await networkHelpers.loadFixture(deploySystem);
    await crash(d);
    const { browser, forwarded } = flakyProvider(provider, {
      eth_getLogs: { times: 1 },
      eth_blockNumber: { times: 1 },
      eth_sendTransaction: { times: 1 },
      eth_getTransactionReceipt: { times: 1 },
    });
    const signer = await browser.getSigner(d.keeperAccount.address);
    const { keeper, logger } = await newKeeper(d, {}, signer);
    const nonce = await d.keeperAccount.getNonce();
    const { outcomes } = await keeper.tick();
    expect(outcomes.map((o) => o.status)).to.deep.equal(["liquidated"]);
    expect(forwarded.filter((m) => m === "eth_sendTransaction")).to.have.length(1);
    expect(await d.keeperAccount.getNonce()).to.equal(nonce + 1);
    const retries = logger.lines.filter((l) => /^WARN retry 1\/3 of .*ECONNRESET$/.test(l));
    expect(retries).to.have.length(4);
  });

  it("reads its configuration, VIEWER required", function () {
    const valid = { CLEARING_HOUSE: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };
    try {
      readLiquidationKeeperConfig(valid);
      expect.fail("expected a ConfigError");
    } catch (error) {
      expect((error as ConfigError).problems).to.deep.equal([
        "VIEWER: required: the contract's address (0x followed by 40 hex digits)",
      ]);
    }
    const config = readLiquidationKeeperConfig({
      ...valid,
      VIEWER: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      START_BLOCK: "7",
      BATCH_SIZE: "100",
      COOLDOWN: "30",
      SLIPPAGE_BPS: "50",
    });
    expect(config).to.deep.include({
      viewer: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      startBlock: 7,
      batchSize: 100,
      cooldownSeconds: 30,
      slippageBps: 50,
    });
    expect(quoteLimitFor(1n, 10_000n, 100)).to.equal(9_900n);
    expect(quoteLimitFor(-1n, 10_001n, 100)).to.equal(10_102n);
  });
  it("liquidates a whale to zero over several blocks in a market with every limit on", async function () {
    // A thin market with every limit on: 1% largest trade, 3% price move per block, 200 base of
    // open interest per side. The keeper's bound comes from a staticCall of the liquidation itself,
    // so it holds when a liquidation is capped by the per-block band (a preview of the uncapped
    // size would miss its quote bound every time, and the whale would never be liquidated).
    const system = await deployCore(ethers);
    const [, whale, s1, s2, s3, keeperAccount] = await ethers.getSigners();
    const amm = await deployMarket(ethers, system, {
      quoteReserve: toWad(1_000_000),
      baseReserve: toWad(1_000),
      maxTradeRatio: toWad("0.01"),
      fluctuationLimitRatio: toWad("0.03"),
      maxOpenInterest: toWad(200),
    });
    const market = await amm.getAddress();
    const ch = system.clearingHouse;
    for (const t of [whale, s1, s2, s3]) await fund(system, t, USDC(100_000));
    // The whale: ten 10x longs of 9,000 notional, one per block (each under 1% of the reserve).
    for (let i = 0; i < 10; i++) {
      await (await ch.connect(whale).openPosition(market, Side.LONG, toWad(900), toWad(10), 0n, MAX_DEADLINE)).wait();
    }
    const whaleSize = (await ch.getPosition(market, whale.address)).size;
    // Sellers take the price ~25% down in steps of 9,000 notional, one per block, then the move lasts.
    const sellers = [s1, s2, s3];
    for (let i = 0; (await amm.getSpotPrice()) > toWad(920); i++) {
      const seller = sellers[i % 3];
      await (
        await ch.connect(seller).openPosition(market, Side.SHORT, toWad(4_500), toWad(2), 0n, MAX_DEADLINE)
      ).wait();
    }
    await time.increase(16 * 60);
    const d = { system, market } as unknown as Deployed;
    const { keeper, logger } = await newKeeper(d, { cooldownSeconds: 1 }, keeperAccount);
    await keeper.start();
    const liquidations: { baseClosed: bigint; full: boolean }[] = [];
    for (let tick = 0; tick < 40 && (await ch.getPosition(market, whale.address)).size !== 0n; tick++) {
      const { outcomes } = await keeper.tick();
      for (const o of outcomes) {
        expect(
          o.status,
          JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
        ).to.be.oneOf(["liquidated", "cooling"]);
        if (o.status === "liquidated") liquidations.push(o.liquidation!);
      }
      await time.increase(2);
    }
    expect((await ch.getPosition(market, whale.address)).size, "the whale is liquidated to zero").to.equal(0n);
    // The band capped each block's close: more than one liquidation, and together they closed it all.
    expect(liquidations.length).to.be.greaterThan(1);
    expect(liquidations.reduce((sum, l) => sum + l.baseClosed, 0n)).to.equal(whaleSize);
    expect(liquidations.at(-1)!.full).to.equal(true);
    expect(logger.lines.filter((l) => l.includes("QuoteLimitMissed"))).to.deep.equal([]);
  });
});
