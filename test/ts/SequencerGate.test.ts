/**
 * The L2 sequencer gate. The rule ({SequencerUptime}: down, not initialised, in its grace period,
 * up; a feed that cannot answer reads as down) through a harness, every case with its exact error
 * and figures worked out by hand; then the ClearingHouse's own grace period (its default, bounds,
 * owner, event) and that its gated actions use it. The gated actions themselves are tested in
 * regression/Oracle.test.ts and Liquidation.test.ts.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { roundWords } from "./helpers/rounds.js";
import { deployCore, deployMarket, fund } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";
import type { MockAggregator, SequencerUptimeHarness } from "../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const DEFAULT_GRACE = 3600n;
const MIN_GRACE = 600n;
const MAX_GRACE = 86_400n;
const MAX_DEADLINE = 2n ** 256n - 1n;
const LONG = 0;

/** A sequencer uptime feed's status: `down` began `age` seconds before a pinned next block. Returns its timestamp. */
async function setStatus(seq: MockAggregator, down: boolean, age: bigint): Promise<bigint> {
  const now = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(now);
  await seq.setSequencerStatus(down, now - age);
  return now;
}

describe("SequencerGate", function () {
  describe("the rule (SequencerUptime, through a harness)", function () {
    async function deployFixture() {
      const feed: SequencerUptimeHarness = await ethers.deployContract("SequencerUptimeHarness");
      const sequencer: MockAggregator = await ethers.deployContract("MockAggregator", [0]);
      return { feed, sequencer };
    }

    async function sequencerFixture() {
      const base = await deployFixture();
      await base.feed.setFeed(base.sequencer);
      return base;
    }

    async function expectUp(feed: SequencerUptimeHarness) {
      await feed.check(); // does not revert
      expect(await feed.isUp()).to.equal(true);
    }

    async function expectBlocked(feed: SequencerUptimeHarness, error: string, args: unknown[]) {
      await expect(feed.check())
        .to.be.revertedWithCustomError(feed, error)
        .withArgs(...args);
      expect(await feed.isUp()).to.equal(false);
    }

    it("test_checkSequencer_noFeedConfigured", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      expect(await feed.feed()).to.equal(ethers.ZeroAddress);
      await expectUp(feed);
    });

    it("test_gracePeriodBounds", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      expect(await feed.bounds()).to.deep.equal([DEFAULT_GRACE, MIN_GRACE, MAX_GRACE]);
      expect(await feed.gracePeriod()).to.equal(DEFAULT_GRACE);
    });

    it("test_checkSequencer_down", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await setStatus(sequencer, true, 10_000n);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_upWithinGrace", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      const now = await setStatus(sequencer, false, 100n);
      const startedAt = now - 100n;
      await expectBlocked(feed, "GracePeriodNotOver", [startedAt, startedAt + 3600n]);
    });

    it("test_checkSequencer_graceEdge", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      // Up for exactly 3600 s: the grace period still covers this second.
      const now = await setStatus(sequencer, false, DEFAULT_GRACE);
      const startedAt = now - 3600n;
      await expectBlocked(feed, "GracePeriodNotOver", [startedAt, startedAt + 3600n]);
      // 3601 s: over.
      await time.increase(1);
      await expectUp(feed);
    });

    it("test_checkSequencer_upAfterGrace", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await setStatus(sequencer, false, 3601n);
      await expectUp(feed);
    });

    it("test_checkSequencer_downAgainAfterUp", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await setStatus(sequencer, false, 100_000n);
      await expectUp(feed);
      await setStatus(sequencer, true, 0n);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_revertingFeedCountsAsDown", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await setStatus(sequencer, false, 100_000n);
      await sequencer.setReverting(true);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_malformedFeedCountsAsDown", async function () {
      const { feed } = await networkHelpers.loadFixture(sequencerFixture);
      const bad = await ethers.deployContract("MalformedAggregator");
      await bad.setReturnData("0x1234");
      await feed.setFeed(bad);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_revertWithAnUpRoundCountsAsDown", async function () {
      const { feed } = await networkHelpers.loadFixture(sequencerFixture);
      const bad = await ethers.deployContract("MalformedAggregator");
      const now = BigInt(await time.latest());
      // Five words that would read "up for a day" if the call had succeeded.
      await bad.setReturnData(roundWords(1n, 0n, now - 86_400n, now - 86_400n, 1n));
      await feed.setFeed(bad);
      await expectUp(feed);
      await bad.setReverts(true);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_unknownAnswerCountsAsDown", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      const now = BigInt(await time.latest());
      await sequencer.setRoundData(3n, 2n, now - 100_000n, now - 100_000n, 3n);
      await expectBlocked(feed, "SequencerDown", []);
    });

    it("test_checkSequencer_startedAtZero", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      // Uninitialised round: answer 0 ("up") but startedAt 0.
      await sequencer.setRoundData(0n, 0n, 0n, 0n, 0n);
      await expectBlocked(feed, "SequencerRoundNotInitialized", []);
    });

    it("test_checkSequencer_customGracePeriod", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await feed.setGracePeriod(600n);
      const now = await setStatus(sequencer, false, 600n);
      const startedAt = now - 600n;
      await expectBlocked(feed, "GracePeriodNotOver", [startedAt, startedAt + 600n]);
      await time.increase(1);
      await expectUp(feed);
    });

    it("test_checkSequencer_feedRemoved", async function () {
      const { feed, sequencer } = await networkHelpers.loadFixture(sequencerFixture);
      await setStatus(sequencer, true, 0n);
      await expectBlocked(feed, "SequencerDown", []);
      await feed.setFeed(ethers.ZeroAddress);
      await expectUp(feed);
    });
  });

  describe("the ClearingHouse's grace period", function () {
    async function chFixture() {
      const sequencer: MockAggregator = await ethers.deployContract("MockAggregator", [0]);
      const core = await deployCore(ethers, 6, await sequencer.getAddress());
      const amm = await deployMarket(ethers, core, {
        quoteReserve: toWad(1_000_000),
        baseReserve: toWad(10_000),
        feeRatio: toWad("0.001"),
      });
      const [owner, alice] = await ethers.getSigners();
      await fund(core, alice, 10_000n * 10n ** 6n);
      return { ...core, sequencer, amm, owner, alice };
    }

    it("starts at one hour, announced at deployment", async function () {
      const { clearingHouse, sequencer } = await networkHelpers.loadFixture(chFixture);
      expect(await clearingHouse.sequencerGracePeriod()).to.equal(DEFAULT_GRACE);
      expect(await clearingHouse.sequencerFeed()).to.equal(await sequencer.getAddress());
      await expect(clearingHouse.deploymentTransaction())
        .to.emit(clearingHouse, "SequencerGracePeriodSet")
        .withArgs(DEFAULT_GRACE);
    });

    it("is set by the owner only, within 10 minutes to 1 day, with an event", async function () {
      const { clearingHouse, alice } = await networkHelpers.loadFixture(chFixture);
      await expect(clearingHouse.connect(alice).setSequencerGracePeriod(1_200n))
        .to.be.revertedWithCustomError(clearingHouse, "OwnableUnauthorizedAccount")
        .withArgs(alice.address);
      await expect(clearingHouse.setSequencerGracePeriod(MIN_GRACE - 1n))
        .to.be.revertedWithCustomError(clearingHouse, "GracePeriodOutOfBounds")
        .withArgs(MIN_GRACE - 1n, MIN_GRACE, MAX_GRACE);
      await expect(clearingHouse.setSequencerGracePeriod(MAX_GRACE + 1n))
        .to.be.revertedWithCustomError(clearingHouse, "GracePeriodOutOfBounds")
        .withArgs(MAX_GRACE + 1n, MIN_GRACE, MAX_GRACE);
      expect(await clearingHouse.sequencerGracePeriod()).to.equal(DEFAULT_GRACE);
      await expect(clearingHouse.setSequencerGracePeriod(MIN_GRACE))
        .to.emit(clearingHouse, "SequencerGracePeriodSet")
        .withArgs(MIN_GRACE);
      expect(await clearingHouse.sequencerGracePeriod()).to.equal(MIN_GRACE);
      await expect(clearingHouse.setSequencerGracePeriod(MAX_GRACE))
        .to.emit(clearingHouse, "SequencerGracePeriodSet")
        .withArgs(MAX_GRACE);
      // Setting it changes neither the pause flag nor the Vault link that share its slot.
      expect(await clearingHouse.paused()).to.equal(false);
      expect(await clearingHouse.vault()).to.not.equal(ethers.ZeroAddress);
    });

    it("gates an open for exactly the grace period set, and the viewer agrees", async function () {
      const { clearingHouse, viewer, sequencer, amm, alice } = await networkHelpers.loadFixture(chFixture);
      await (await clearingHouse.setSequencerGracePeriod(MIN_GRACE)).wait();
      const market = await amm.getAddress();
      const open = () =>
        clearingHouse.connect(alice).openPosition(market, LONG, toWad(100), toWad(2), 0n, MAX_DEADLINE);
      // Up for exactly 600 s: the grace period still covers this second.
      const now = await setStatus(sequencer, false, MIN_GRACE - 1n);
      const startedAt = now - (MIN_GRACE - 1n);
      await time.setNextBlockTimestamp(now + 1n);
      await expect(open())
        .to.be.revertedWithCustomError(clearingHouse, "GracePeriodNotOver")
        .withArgs(startedAt, startedAt + MIN_GRACE);
      expect(await viewer.isSequencerUp()).to.equal(false);
      // One second later it is over, for the ClearingHouse and the viewer alike.
      await time.setNextBlockTimestamp(startedAt + MIN_GRACE + 1n);
      await expect(open()).to.emit(clearingHouse, "PositionChanged");
      expect(await viewer.isSequencerUp()).to.equal(true);
      // Down: refused with SequencerDown.
      await setStatus(sequencer, true, 0n);
      await expect(open()).to.be.revertedWithCustomError(clearingHouse, "SequencerDown");
      expect(await viewer.isSequencerUp()).to.equal(false);
    });
  });
});
