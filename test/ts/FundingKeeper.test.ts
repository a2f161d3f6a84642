/**
 * The funding keeper (scripts/lib/funding-keeper.ts and the plumbing in scripts/lib/keeper/),
 * driven tick by tick on the embedded network: two markets with a long and a short each, updates
 * when due and only then, the premium it sets and the funding a long then pays (computed here from
 * the prices the test sets), simulation before sending, retries through a flaky provider without
 * double sends, configuration checks, and a clean stop on SIGINT/SIGTERM.
 */
import { EventEmitter } from "node:events";
import { expect } from "chai";
import type { Signer } from "ethers";
import { network } from "hardhat";
import { STATIC_CURVE_PARAMS } from "../../deploy/defaults.js";
import {
  contributeToBudget,
  deployCore,
  deployMarket,
  deployOracle,
  fund,
  MAX_DEADLINE,
  Side,
  toFeedUnits,
} from "../../scripts/lib/deploy.js";
import { formatWad, mulDivUp, toWad, WAD, wDivDown, wMulDown } from "../../scripts/lib/fixed.js";
import {
  describeCurveMove,
  FundingKeeper,
  readFundingKeeperConfig,
  type FundingKeeperOptions,
  type MarketOutcome,
} from "../../scripts/lib/funding-keeper.js";
import { ConfigError } from "../../scripts/lib/keeper/config.js";
import { isTransientError } from "../../scripts/lib/keeper/errors.js";
import { runLoop, Shutdown } from "../../scripts/lib/keeper/loop.js";
import { withRetry } from "../../scripts/lib/keeper/retry.js";
import type { Amm } from "../../typechain-types/index.js";
import { flakyProvider, MemoryLogger, rejectionOf } from "./helpers/keeper.js";

const { ethers, networkHelpers, provider } = await network.create();
const { time } = networkHelpers;

/** The keeper's KEEPER_INTERVAL in these tests (the Amm's minUpdateInterval is 300 s). */
const INTERVAL = 600;
const ONE_DAY = 86_400n;
const USDC = (whole: number): bigint => BigInt(whole) * 10n ** 6n;

/** Two markets (ETH at 3,000, BTC at 60,000), each with a 50,000 long (alice) and a 25,000 short (bob). */
async function deploySystem() {
  const system = await deployCore(ethers);
  const [, alice, bob, keeperAccount] = await ethers.getSigners();
  const eth = await deployMarket(ethers, system, { quoteReserve: toWad(3_000_000), baseReserve: toWad(1_000) });
  const btc = await deployMarket(ethers, system, { quoteReserve: toWad(60_000_000), baseReserve: toWad(1_000) });
  for (const trader of [alice, bob]) await fund(system, trader, USDC(100_000));
  const ch = system.clearingHouse;
  for (const amm of [eth, btc]) {
    const market = await amm.getAddress();
    await (await ch.connect(alice).openPosition(market, Side.LONG, toWad(10_000), toWad(5), 0n, MAX_DEADLINE)).wait();
    await (await ch.connect(bob).openPosition(market, Side.SHORT, toWad(5_000), toWad(5), 0n, MAX_DEADLINE)).wait();
  }
  return { system, eth, btc, alice, bob, keeperAccount };
}

type Deployed = Awaited<ReturnType<typeof deploySystem>>;

async function newKeeper(
  d: Deployed,
  config: Partial<FundingKeeperOptions["config"]> = {},
  signer: Signer = d.keeperAccount,
) {
  const logger = new MemoryLogger();
  const keeper = new FundingKeeper({
    signer,
    logger,
    sleep: async () => {}, // no real backoff in tests
    config: {
      clearingHouse: await d.system.clearingHouse.getAddress(),
      startBlock: 0,
      logBlockRange: 5_000,
      intervalSeconds: INTERVAL,
      pollSeconds: 30,
      maxRetries: 3,
      retryDelayMs: 1,
      txTimeoutSeconds: 10,
      ...config,
    },
  });
  return { keeper, logger };
}

const statuses = (outcomes: MarketOutcome[]) => outcomes.map((o) => o.status);

function updated(outcome: MarketOutcome) {
  if (outcome.status !== "updated") throw new Error(`expected an update, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** A Unix time as the error decoder prints it: 1970-01-01T00:00:00Z. */
const isoTime = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");

async function updatedAt(amm: Amm): Promise<bigint> {
  return (await amm.getFundingState()).updatedAt;
}

async function blockTimestampOf(txHash: string): Promise<bigint> {
  const receipt = await ethers.provider.getTransactionReceipt(txHash);
  return BigInt((await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp);
}

describe("FundingKeeper", function () {
  describe("ticks on the embedded network", function () {
    it("updates every market once its last update is older than the interval, logging one line each", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const { keeper, logger } = await newKeeper(d);
      await keeper.start();
      expect(logger.take().join("\n")).to.match(
        /started on chain 31337: .* interval 600 s, markets listed from block 0/,
      );

      await time.increase(INTERVAL);
      const nonceBefore = await d.keeperAccount.getNonce();
      const outcomes = await keeper.tick();

      expect(statuses(outcomes)).to.deep.equal(["updated", "updated"]);
      expect(outcomes.map((o) => o.market)).to.deep.equal([await d.eth.getAddress(), await d.btc.getAddress()]);
      expect(await d.keeperAccount.getNonce()).to.equal(nonceBefore + 2);
      for (const [amm, outcome] of [
        [d.eth, outcomes[0]],
        [d.btc, outcomes[1]],
      ] as const) {
        const { txHash, gasUsed, funding } = updated(outcome);
        expect(await updatedAt(amm)).to.equal(await blockTimestampOf(txHash));
        expect(gasUsed).to.equal((await ethers.provider.getTransactionReceipt(txHash))!.gasUsed);
        // No oracle: no premium could be set.
        expect(funding).to.deep.include({ premium: 0n, markTwap: 0n, indexTwap: 0n });
      }
      const lines = logger.take();
      expect(lines.filter((l) => l.startsWith("INFO market found"))).to.have.length(2);
      const updates = lines.filter((l) => l.startsWith("INFO updated"));
      expect(updates).to.have.length(2);
      for (const [i, outcome] of outcomes.entries()) {
        const { txHash, gasUsed } = updated(outcome);
        expect(updates[i]).to.equal(
          `INFO updated ${outcome.market} tx=${txHash} gas=${gasUsed} premium=0 (no index over the window)`,
        );
      }
    });

    it("does nothing until the interval has passed again, and says so once", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const { keeper, logger } = await newKeeper(d);
      await time.increase(INTERVAL);
      await keeper.tick();
      logger.take();

      await time.increase(INTERVAL - 100);
      const block = await ethers.provider.getBlockNumber();
      const outcomes = await keeper.tick();
      expect(outcomes).to.deep.equal([
        { market: await d.eth.getAddress(), status: "not-due", dueAt: Number(await updatedAt(d.eth)) + INTERVAL },
        { market: await d.btc.getAddress(), status: "not-due", dueAt: Number(await updatedAt(d.btc)) + INTERVAL },
      ]);
      expect(await ethers.provider.getBlockNumber()).to.equal(block);
      const lines = logger.take();
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^INFO idle: 2 market\\(s\\); next due: ${await d.eth.getAddress()} at `));
      await keeper.tick();
      expect(logger.take(), "an unchanged idle line is not repeated").to.deep.equal([]);

      await time.increase(100);
      expect(statuses(await keeper.tick())).to.deep.equal(["updated", "updated"]);
    });

    it("sets the premium from the window's TWAPs, and the long then pays exactly the expected funding", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const { keeper, logger } = await newKeeper(d);
      // Each index starts at its market's initial price, then moves below the mark: longs will pay.
      // ETH: mark about 3,050 over an index of 2,950.5 (within the 10% cap); BTC: mark about 60,050
      // over 50,000, beyond the cap of 5,000.
      const markets = [
        { amm: d.eth, symbol: "ETH", start: toWad(3_000), index: toWad("2950.5") },
        { amm: d.btc, symbol: "BTC", start: toWad(60_000), index: toWad(50_000) },
      ];
      for (const m of markets) {
        const oracle = await deployOracle(ethers, d.system, m.amm, { symbol: m.symbol, price: m.start });
        await (await oracle.aggregator.setAnswer(toFeedUnits(m.index, 8), await time.latest())).wait();
      }

      // First window with an oracle: it starts the index history, and no premium can be set yet.
      await time.increase(INTERVAL);
      const first = await keeper.tick();
      for (const outcome of first) expect(updated(outcome).funding).to.deep.include({ premium: 0n, indexTwap: 0n });

      // Second window: mark and index were constant throughout (no trades, no new oracle answer).
      await time.increase(INTERVAL);
      const second = await keeper.tick();
      const lines = logger.take().filter((l) => l.startsWith("INFO updated"));
      for (const [i, m] of markets.entries()) {
        const [quoteReserve, baseReserve] = await m.amm.getReserves();
        const mark = wDivDown(quoteReserve, baseReserve);
        const { params } = await m.amm.getFundingState();
        expect(params.maxPremiumRatio).to.equal(toWad("0.1"));
        const cap = wMulDown(m.index, params.maxPremiumRatio);
        const premium = mark - m.index < cap ? mark - m.index : cap;
        const { funding, txHash } = updated(second[i]);
        expect(funding).to.deep.equal({
          premium,
          markTwap: mark,
          indexTwap: m.index,
          longIndex: 0n, // the premium was 0 until now
          shortIndex: 0n,
          insuranceFlow: 0n,
        });
        expect(lines[2 + i])
          .to.include(`tx=${txHash}`)
          .and.include(`premium=${formatWad(premium, 6)} `);

        // The long pays from its checkpoint (index 0) for `elapsed` seconds at the new premium.
        const elapsed = 1_800n; // within maxAccrualPeriod (3,600 s), so funding accrues throughout
        const growth = mulDivUp(premium, elapsed, ONE_DAY);
        const market = await m.amm.getAddress();
        const { size } = await d.system.clearingHouse.getPosition(market, d.alice.address);
        const expected = mulDivUp(size, growth, WAD);
        expect(expected).to.be.greaterThan(0n);
        await time.setNextBlockTimestamp((await blockTimestampOf(txHash)) + elapsed);
        const close = await (
          await d.system.clearingHouse.connect(d.alice).closePosition(market, 0n, MAX_DEADLINE)
        ).wait();
        const changed = close!.logs
          .map((log) => d.system.clearingHouse.interface.parseLog(log))
          .find((e) => e?.name === "PositionChanged");
        expect(changed!.args.fundingPayment).to.equal(expected);
      }
      // BTC's premium is the cap: exactly 10% of the index per day.
      expect(lines[3]).to.include("premium=5,000.000000 rate=10.0000%/day (longs pay)");
      expect(lines[3]).to.include("indexTwap=50,000.000000");
    });

    it("logs the dynamic curve's moves an update makes: the repeg toward the index, then the depth", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      // ETH's curve on, its budget (2,000) above its target (1,000): the depth may grow.
      await (
        await d.eth.setCurveParams({
          ...STATIC_CURVE_PARAMS,
          repegThresholdRatio: toWad("0.005"),
          budgetFloor: toWad(200),
          budgetTarget: toWad(1_000),
          maxDepthChangeRatio: toWad("0.01"),
          minDepthRatio: toWad("0.95"),
          maxDepthRatio: toWad(3),
        })
      ).wait();
      await contributeToBudget(d.system, d.eth, d.alice, toWad(2_000));
      const oracle = await deployOracle(ethers, d.system, d.eth, { symbol: "ETH", price: toWad(3_000) });
      const index = toWad("2950.5"); // the mark about 3,050: 3.4% above it
      await (await oracle.aggregator.setAnswer(toFeedUnits(index, 8), await time.latest())).wait();
      const { keeper, logger } = await newKeeper(d, { markets: [await d.eth.getAddress()] });
      await time.increase(INTERVAL);
      await keeper.tick(); // starts the index history: no TWAPs to compare yet
      logger.take();
      const before = await d.eth.getCurveState();

      await time.increase(INTERVAL);
      const [outcome] = await keeper.tick();
      const { curveMoves } = updated(outcome);
      expect(curveMoves.map((m) => m.kind)).to.deep.equal(["repeg", "depth"]);
      const [repeg, depth] = curveMoves;
      // Down to the index: the traders are net long, so the repeg costs the budget nothing (it credits nothing either).
      expect(repeg.before).to.equal(before.peg);
      expect(repeg.after < before.peg).to.equal(true);
      expect(repeg.cost <= 0n).to.equal(true);
      expect(repeg.budgetAfter).to.equal(before.budget);
      // The depth grows by 1%: its cost (the net position's, tiny) fits in the budget above its target.
      expect(depth.after).to.equal((depth.before * 101n) / 100n);
      expect(depth.cost > 0n && depth.budgetAfter === before.budget - depth.cost).to.equal(true);
      const spot = await d.eth.getSpotPrice();
      // At the index, but for the reserves' rounding (the depth scales both).
      const off = spot > index ? spot - index : index - spot;
      expect(off < toWad("0.000001"), `spot ${spot} at the index ${index}`).to.equal(true);
      const line = logger.take().find((l) => l.startsWith("INFO updated"))!;
      expect(line).to.include(`; ${describeCurveMove(repeg)}; ${describeCurveMove(depth)}`);
      // The net long (about 8.2 ETH) loses about 100 a unit: the repeg's cost is about -820.
      expect(line).to.match(
        /; repeg 1\.000000 -> 0\.967\d+ \(cost -81\d\.\d+, budget [\d,.]+\); depth 1\.010000 -> 1\.020100 /,
      );
    });

    it("simulates first: an update that would revert is logged with its decoded error and not sent", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      // An interval below the Amm's minUpdateInterval (300 s): the keeper thinks the markets due
      // before the Amm accepts an update.
      const { keeper, logger } = await newKeeper(d, { intervalSeconds: 60 });
      await time.increase(100);
      const block = await ethers.provider.getBlockNumber();
      const nonce = await d.keeperAccount.getNonce();

      const outcomes = await keeper.tick();

      expect(await ethers.provider.getBlockNumber(), "nothing sent").to.equal(block);
      expect(await d.keeperAccount.getNonce()).to.equal(nonce);
      const lines = logger.take();
      for (const [i, amm] of [d.eth, d.btc].entries()) {
        const market = await amm.getAddress();
        const reason = `FundingUpdateTooEarly: too early for a funding update: the next is due at ${isoTime((await updatedAt(amm)) + 300n)}`;
        expect(outcomes[i]).to.deep.equal({ market, status: "skipped", reason });
        expect(lines).to.include(`WARN skipped ${market}: updateFunding would revert with ${reason}; not sent`);
        expect(lines).to.include(
          `WARN ${market}: KEEPER_INTERVAL 60 s is below its minUpdateInterval 300 s: ` +
            "earlier updates revert, and are simulated and skipped",
        );
      }

      await time.increase(300);
      expect(statuses(await keeper.tick())).to.deep.equal(["updated", "updated"]);
    });
  });

  describe("through a flaky provider", function () {
    it("retries transient RPC errors with backoff and sends each update once", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const { browser, forwarded } = flakyProvider(provider, {
        eth_getLogs: { times: 1 },
        "eth_call(code)": { times: 2 }, // the keeper's clock
        "eth_call@pending": { times: 2 }, // the simulation
        eth_sendTransaction: { times: 1 },
        eth_getTransactionReceipt: { times: 1 },
      });
      const signer = await browser.getSigner(d.keeperAccount.address);
      const { keeper, logger } = await newKeeper(d, {}, signer);
      await time.increase(INTERVAL);
      const nonce = await d.keeperAccount.getNonce();
      const head = await ethers.provider.getBlockNumber();

      const outcomes = await keeper.tick();

      expect(statuses(outcomes)).to.deep.equal(["updated", "updated"]);
      expect(await d.keeperAccount.getNonce(), "one transaction per market").to.equal(nonce + 2);
      expect(forwarded.filter((m) => m === "eth_sendTransaction")).to.have.length(2);
      const eth = outcomes[0].market;
      const retries = logger.lines.flatMap((l) => l.match(/^WARN (retry .*? in \d+ ms): .*ECONNRESET$/)?.[1] ?? []);
      expect(retries).to.deep.equal([
        `retry 1/3 of MarketAdded logs 0..${head} in 1 ms`,
        "retry 1/3 of eth_call block.timestamp in 1 ms",
        "retry 2/3 of eth_call block.timestamp in 2 ms",
        `retry 1/3 of simulate updateFunding(${eth}) in 1 ms`,
        `retry 2/3 of simulate updateFunding(${eth}) in 2 ms`,
        `retry 1/3 of send updateFunding(${eth}) nonce ${nonce} in 1 ms`,
        `retry 1/3 of receipt of ${updated(outcomes[0]).txHash} in 1 ms`,
      ]);
      expect(logger.lines.filter((l) => l.startsWith("WARN")).length, "nothing else went wrong").to.equal(7);
    });

    it("after a send whose error hid its broadcast, sends nothing twice and resynchronises the nonce", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      // The first eth_sendTransaction reaches the node, then the connection drops: the keeper
      // cannot tell it was sent.
      const { browser, forwarded } = flakyProvider(provider, {
        eth_sendTransaction: { times: 1, afterForwarding: true },
      });
      const signer = await browser.getSigner(d.keeperAccount.address);
      const { keeper, logger } = await newKeeper(d, {}, signer);
      await time.increase(INTERVAL);
      const nonce = await d.keeperAccount.getNonce();
      const ethUpdatedBefore = await updatedAt(d.eth);

      const outcomes = await keeper.tick();

      // The first attempt updated ETH. The retry, with the same nonce, is refused before it is sent
      // (its gas estimation reverts now), and BTC goes out with the next nonce, read afresh.
      const eth = await d.eth.getAddress();
      const reason = `FundingUpdateTooEarly: too early for a funding update: the next is due at ${isoTime((await updatedAt(d.eth)) + 300n)}`;
      expect(await updatedAt(d.eth)).to.be.greaterThan(ethUpdatedBefore);
      expect(outcomes[0]).to.deep.equal({ market: eth, status: "skipped", reason });
      expect(logger.lines).to.include(`WARN skipped ${eth}: updateFunding would revert with ${reason}; not sent`);
      expect(outcomes[1].status).to.equal("updated");
      expect(
        forwarded.filter((m) => m === "eth_sendTransaction"),
        "one send per market",
      ).to.have.length(2);
      expect(await d.keeperAccount.getNonce()).to.equal(nonce + 2);

      // The next tick finds ETH up to date rather than sending again.
      expect(statuses(await keeper.tick())).to.deep.equal(["not-due", "not-due"]);
    });
  });

  describe("configuration", function () {
    const valid = { CLEARING_HOUSE: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };

    function problemsOf(env: Record<string, string>): readonly string[] {
      try {
        readFundingKeeperConfig(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      throw new Error("expected a ConfigError");
    }

    it("has defaults for everything but the ClearingHouse, and treats blank values as unset", function () {
      expect(problemsOf({})).to.deep.equal([
        "CLEARING_HOUSE: required: the contract's address (0x followed by 40 hex digits)",
      ]);
      expect(readFundingKeeperConfig({ ...valid, MARKETS: "", KEEPER_INTERVAL: " " })).to.deep.equal({
        clearingHouse: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        markets: undefined,
        startBlock: 0,
        logBlockRange: 5_000,
        pollSeconds: 30,
        maxRetries: 5,
        retryDelayMs: 1_000,
        txTimeoutSeconds: 180,
        privateKey: undefined,
        once: false,
        intervalSeconds: 900,
      });
    });

    it("reads every variable", function () {
      const key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
      const config = readFundingKeeperConfig({
        ...valid,
        MARKETS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512, 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        START_BLOCK: "123",
        KEEPER_INTERVAL: "600",
        KEEPER_POLL: "15",
        KEEPER_MAX_RETRIES: "0",
        KEEPER_RETRY_DELAY_MS: "250",
        KEEPER_TX_TIMEOUT: "60",
        KEEPER_LOG_BLOCK_RANGE: "1000",
        KEEPER_PRIVATE_KEY: key,
        KEEPER_ONCE: "true",
      });
      expect(config).to.deep.equal({
        clearingHouse: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        markets: ["0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"],
        startBlock: 123,
        logBlockRange: 1_000,
        pollSeconds: 15,
        maxRetries: 0,
        retryDelayMs: 250,
        txTimeoutSeconds: 60,
        privateKey: `0x${key}`,
        once: true,
        intervalSeconds: 600,
      });
    });

    it("reports every bad value at once, by name, without echoing a private key", function () {
      const problems = problemsOf({
        CLEARING_HOUSE: "0x5fbdb2315678afecb367f032d93f642f64180aa",
        MARKETS: "0xE7F1725E7734CE288F8367E1BB143E90BB3F0512,0xe7f1725E7734CE288F8367e1Bb143E90bb3F0513,hello",
        START_BLOCK: "-1",
        KEEPER_INTERVAL: "10m",
        KEEPER_POLL: "0",
        KEEPER_MAX_RETRIES: "three",
        KEEPER_PRIVATE_KEY: "0xdeadbeef",
        KEEPER_ONCE: "maybe",
      });
      expect(problems).to.deep.equal([
        'CLEARING_HOUSE: not an address: "0x5fbdb2315678afecb367f032d93f642f64180aa" (expected 0x followed by 40 hex digits)',
        'MARKETS: bad checksum in "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0513" (mistyped? write it all lower case to skip the check)',
        'MARKETS: not an address: "hello" (expected 0x followed by 40 hex digits)',
        'START_BLOCK: not a whole number: "-1"',
        'KEEPER_INTERVAL: not a whole number of seconds: "10m"',
        "KEEPER_POLL: must be at least 1 (seconds)",
        'KEEPER_MAX_RETRIES: not a whole number: "three"',
        "KEEPER_PRIVATE_KEY: not a private key (expected 64 hex digits, got 10 characters; value not shown)",
        'KEEPER_ONCE: not a boolean (use true or false): "maybe"',
      ]);
      const message = new ConfigError(problems).message;
      expect(message).to.not.include("deadbeef");
      expect(problemsOf({ ...valid, KEEPER_INTERVAL: "30" })).to.deep.equal([
        "KEEPER_INTERVAL: must be at least 60 (seconds)",
      ]);
      expect(problemsOf({ ...valid, MARKETS: " , " })).to.deep.equal([
        "MARKETS: lists no address (leave it unset to serve every listed market)",
      ]);
      expect(problemsOf({ ...valid, CLEARING_HOUSE: "0x0000000000000000000000000000000000000000" })).to.deep.equal([
        "CLEARING_HOUSE: the zero address",
      ]);
    });

    it("refuses at start-up an address that is not a ClearingHouse, and markets it does not list", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const noCode = await newKeeper(d, { clearingHouse: d.alice.address });
      const error = await rejectionOf(noCode.keeper.start());
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).problems).to.deep.equal([
        `CLEARING_HOUSE: no contract at ${d.alice.address} on chain 31337 (wrong address or --network?)`,
      ]);

      const usdc = await d.system.usdc.getAddress();
      const notClearingHouse = await newKeeper(d, { clearingHouse: usdc });
      expect(((await rejectionOf(notClearingHouse.keeper.start())) as ConfigError).problems).to.deep.equal([
        `CLEARING_HOUSE: ${usdc} does not answer paused(): not a ClearingHouse?`,
      ]);

      const vault = await d.system.vault.getAddress();
      const unlisted = await newKeeper(d, { markets: [await d.eth.getAddress(), vault] });
      expect(((await rejectionOf(unlisted.keeper.start())) as ConfigError).problems).to.deep.equal([
        `MARKETS: ${vault} is not listed on the ClearingHouse ${await d.system.clearingHouse.getAddress()}`,
      ]);
    });

    it("serves only the configured markets when MARKETS is set", async function () {
      const d = await networkHelpers.loadFixture(deploySystem);
      const btc = await d.btc.getAddress();
      const { keeper } = await newKeeper(d, { markets: [btc] });
      await keeper.start();
      await time.increase(INTERVAL);
      const outcomes = await keeper.tick();
      expect(outcomes.map((o) => [o.market, o.status])).to.deep.equal([[btc, "updated"]]);
    });
  });

  describe("plumbing", function () {
    it("backs off exponentially on transient errors, and gives up after KEEPER_MAX_RETRIES", async function () {
      const logger = new MemoryLogger();
      const delays: number[] = [];
      const options = { maxRetries: 3, retryDelayMs: 100, logger, sleep: async (ms: number) => void delays.push(ms) };
      let calls = 0;
      const flaky = () => {
        calls++;
        return Promise.reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" }));
      };
      const error = await rejectionOf(withRetry("flaky", flaky, options));
      expect((error as { code: string }).code).to.equal("TIMEOUT");
      expect([calls, delays]).to.deep.equal([4, [100, 200, 400]]);

      calls = 0;
      const revert = Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION", data: "0xb5343d72" });
      const reverting = () => {
        calls++;
        return Promise.reject(revert);
      };
      expect(await rejectionOf(withRetry("reverting", reverting, options))).to.equal(revert);
      expect(calls, "a revert is not retried").to.equal(1);
    });

    it("classifies errors: transport failures are transient, reverts are not", function () {
      expect(isTransientError(Object.assign(new Error("x"), { code: "NETWORK_ERROR" }))).to.equal(true);
      expect(isTransientError({ code: "UNKNOWN_ERROR", error: { code: 429, message: "Too Many Requests" } })).to.equal(
        true,
      );
      expect(isTransientError({ code: "SERVER_ERROR", info: { error: { code: -32005 } } })).to.equal(true);
      expect(isTransientError(new Error("fetch failed", { cause: { code: "ECONNREFUSED" } }))).to.equal(true);
      expect(isTransientError({ code: "CALL_EXCEPTION", data: "0xb5343d72" + "00".repeat(32) })).to.equal(false);
      expect(isTransientError(new Error("insufficient funds for gas"))).to.equal(false);
    });

    it("stops on SIGINT/SIGTERM after the current tick, and exits at once on a second signal", async function () {
      const logger = new MemoryLogger();
      const signals = new EventEmitter();
      let forced = 0;
      const shutdown = new Shutdown(logger, signals, () => void forced++);
      const ticks: string[] = [];
      const tick = async () => {
        ticks.push("start");
        signals.emit("SIGTERM");
        await Promise.resolve(); // the tick goes on after the signal
        ticks.push("end");
      };
      // An hour between ticks: the stop must cut the wait short, not sit it out. No clock is read: the
      // loop must be done before any timer could fire (the macrotask below runs only once every
      // pending promise callback has run), so a loop sitting in its hour-long sleep loses the race.
      const stillWaiting = new Promise<"still waiting">((resolve) => setImmediate(() => resolve("still waiting")));
      const outcome = await Promise.race([runLoop({ tick, pollSeconds: 3_600, shutdown, logger }), stillWaiting]);
      expect(outcome, "the loop returned without sitting out its sleep").to.equal(true);
      expect(ticks).to.deep.equal(["start", "end"]);
      expect(logger.take()).to.deep.equal(["INFO stopping (SIGTERM): finishing the current tick"]);

      signals.emit("SIGINT");
      expect(forced).to.equal(1);
      shutdown.dispose();
      expect(signals.listenerCount("SIGINT") + signals.listenerCount("SIGTERM")).to.equal(0);
    });

    it("logs a failed tick and goes on; with `once`, reports the failure", async function () {
      const logger = new MemoryLogger();
      const shutdown = new Shutdown(logger, new EventEmitter());
      let n = 0;
      const tick = async () => {
        if (++n === 1) throw new Error("boom");
        if (n === 2) shutdown.request("test");
      };
      expect(await runLoop({ tick, pollSeconds: 0, shutdown, logger })).to.equal(true);
      expect(n).to.equal(2);
      expect(logger.lines[0]).to.equal("ERROR tick failed: boom");
      const once = await runLoop({
        tick: () => Promise.reject(new Error("boom")),
        pollSeconds: 0,
        shutdown: new Shutdown(logger, new EventEmitter()),
        logger,
        once: true,
      });
      expect(once).to.equal(false);
    });
  });
});
