/**
 * ChainlinkPriceFeed: price normalisation, every price fault with its exact error, and the owner's
 * configuration (the L2 sequencer check is the ClearingHouse's: SequencerGate.test.ts). Every expected figure is written out by hand from the
 * inputs (no contract helper computes it). Views run in the context of the latest block, so each
 * time-sensitive test pins the timestamp of the block that publishes the answer.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { roundWords } from "./helpers/rounds.js";
import type { ChainlinkPriceFeed, MalformedAggregator, MockAggregator } from "../../typechain-types/index.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const ETH = ethers.encodeBytes32String("ETH");
const BTC = ethers.keccak256(ethers.toUtf8Bytes("BTC"));
const USDC = ethers.encodeBytes32String("USDC");
const UNKNOWN = ethers.encodeBytes32String("DOGE");

const HEARTBEAT = 3600n;
const ETH_MIN = 100n * 10n ** 18n; // $100
const ETH_MAX = 100_000n * 10n ** 18n; // $100,000
/** $3,000.12345678 with 8 decimals. */
const ETH_ANSWER_8 = 3000_12345678n;
/** The same price in 18 decimals: 3000.12345678 followed by ten more zeros of precision. */
const ETH_PRICE = 3000_123456780000000000n;

const MAX_GRACE = 86_400n;

const MAX_UINT256 = 2n ** 256n - 1n;
const MAX_INT256 = 2n ** 255n - 1n;

/**
 * Publishes `answer` on `agg` as the latest round, `age` seconds old (negative: in the future), in
 * a block whose timestamp is pinned. Returns that timestamp: what the next views see as `now`.
 */
async function publish(agg: MockAggregator, answer: bigint, age: bigint): Promise<bigint> {
  const now = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(now);
  await agg.setAnswer(answer, now - age);
  return now;
}

describe("ChainlinkPriceFeed", function () {
  async function deployFixture() {
    const [owner, other] = await ethers.getSigners();
    const feed: ChainlinkPriceFeed = await ethers.deployContract("ChainlinkPriceFeed", [owner.address]);
    const ethAgg: MockAggregator = await ethers.deployContract("MockAggregator", [8]);
    await publish(ethAgg, ETH_ANSWER_8, 0n);
    await feed.setAsset(ETH, ethAgg, HEARTBEAT, ETH_MIN, ETH_MAX);
    return { feed, ethAgg, owner, other };
  }

  /** Expects getPrice to revert with `error(args)` and tryGetPrice to report (false, 0). */
  async function expectInvalid(feed: ChainlinkPriceFeed, asset: string, error: string, args: unknown[]) {
    await expect(feed.getPrice(asset))
      .to.be.revertedWithCustomError(feed, error)
      .withArgs(...args);
    const [valid, price] = await feed.tryGetPrice(asset);
    expect(valid).to.equal(false);
    expect(price).to.equal(0n);
  }

  /** Expects getPrice to return `expected` and tryGetPrice to report (true, expected). */
  async function expectValid(feed: ChainlinkPriceFeed, asset: string, expected: bigint) {
    expect(await feed.getPrice(asset)).to.equal(expected);
    const [valid, price] = await feed.tryGetPrice(asset);
    expect(valid).to.equal(true);
    expect(price).to.equal(expected);
  }

  describe("normalisation to 18 decimals", function () {
    it("test_getPrice_8Decimals", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      await expectValid(feed, ETH, ETH_PRICE);
    });

    it("test_getPrice_18Decimals", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg = await ethers.deployContract("MockAggregator", [18]);
      // $65,432.123456789012345678: already 18 decimals, passed through unchanged.
      await publish(agg, 65_432_123456789012345678n, 0n);
      await feed.setAsset(BTC, agg, HEARTBEAT, 1n, 10n ** 24n);
      await expectValid(feed, BTC, 65_432_123456789012345678n);
    });

    it("test_getPrice_6Decimals", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg = await ethers.deployContract("MockAggregator", [6]);
      // $0.999871 with 6 decimals = 999871 x 10^12 in 18 decimals.
      await publish(agg, 999_871n, 0n);
      await feed.setAsset(USDC, agg, 86_400, 9n * 10n ** 17n, 11n * 10n ** 17n);
      await expectValid(feed, USDC, 999_871_000_000_000_000n);
    });

    it("test_getPrice_0Decimals", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg = await ethers.deployContract("MockAggregator", [0]);
      await publish(agg, 42n, 0n);
      await feed.setAsset(BTC, agg, HEARTBEAT, 1n, 10n ** 24n);
      await expectValid(feed, BTC, 42_000000000000000000n);
    });

    it("test_getPrice_assetsIndependent", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      const btcAgg = await ethers.deployContract("MockAggregator", [8]);
      await publish(btcAgg, 65_000_00000000n, 0n);
      await feed.setAsset(BTC, btcAgg, HEARTBEAT, ETH_MIN, ETH_MAX);
      await ethAgg.setReverting(true);
      await expectValid(feed, BTC, 65_000n * 10n ** 18n);
      await expectInvalid(feed, ETH, "FeedCallFailed", [ETH]);
    });

    it("test_getPrice_decimalsReadAtConfiguration", async function () {
      // The scale is fixed when the asset is set; the feed changing its decimals afterwards does not
      // change it (the owner sets the asset again; the bounds catch the mismatch meanwhile).
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await ethAgg.setDecimals(18);
      await expectValid(feed, ETH, ETH_PRICE);
    });
  });

  describe("price faults", function () {
    it("test_getPrice_unknownAsset", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      await expectInvalid(feed, UNKNOWN, "UnknownAsset", [UNKNOWN]);
    });

    it("test_getPrice_zeroAnswer", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, 0n, 0n);
      await expectInvalid(feed, ETH, "NonPositiveAnswer", [ETH, 0n]);
    });

    it("test_getPrice_negativeAnswer", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, -1n, 0n);
      await expectInvalid(feed, ETH, "NonPositiveAnswer", [ETH, -1n]);
    });

    it("test_getPrice_zeroRoundId", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      const now = BigInt(await time.latest());
      await ethAgg.setRoundData(0n, ETH_ANSWER_8, now, now, 0n);
      await expectInvalid(feed, ETH, "ZeroRoundId", [ETH]);
    });

    it("test_getPrice_zeroUpdatedAt", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await ethAgg.setRoundData(7n, ETH_ANSWER_8, 0n, 0n, 7n);
      await expectInvalid(feed, ETH, "IncompleteRound", [ETH, 7n]);
    });

    it("test_getPrice_updatedAtInFuture", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      const now = await publish(ethAgg, ETH_ANSWER_8, -1n);
      await expectInvalid(feed, ETH, "UpdatedAtInFuture", [ETH, now + 1n, now]);
    });

    it("test_getPrice_heartbeatEdge", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      // Exactly 3600 s old: still fresh.
      const now = await publish(ethAgg, ETH_ANSWER_8, HEARTBEAT);
      const updatedAt = now - 3600n;
      await expectValid(feed, ETH, ETH_PRICE);
      // One second later, 3601 s old: stale.
      await time.increase(1);
      await expectInvalid(feed, ETH, "StalePrice", [ETH, updatedAt, 3600n, updatedAt + 3601n]);
    });

    it("test_getPrice_stale", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      const now = await publish(ethAgg, ETH_ANSWER_8, 10_000n);
      await expectInvalid(feed, ETH, "StalePrice", [ETH, now - 10_000n, 3600n, now]);
    });

    it("test_getPrice_revertingAggregator", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await ethAgg.setReverting(true);
      await expectInvalid(feed, ETH, "FeedCallFailed", [ETH]);
      // And back: the failure is the feed's, not stuck in the price feed.
      await ethAgg.setReverting(false);
      await expectValid(feed, ETH, ETH_PRICE);
    });

    it("test_getPrice_removedAsset", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      await feed.removeAsset(ETH);
      await expectInvalid(feed, ETH, "UnknownAsset", [ETH]);
    });

    it("test_getPrice_firstFailedCheckNamed", async function () {
      // Round 0 with a zero answer and zero times: the round check comes first.
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await ethAgg.setRoundData(0n, 0n, 0n, 0n, 0n);
      await expectInvalid(feed, ETH, "ZeroRoundId", [ETH]);
      // A stale, negative answer: staleness comes before the answer's sign.
      const now = await publish(ethAgg, -5n, 4000n);
      await expectInvalid(feed, ETH, "StalePrice", [ETH, now - 4000n, 3600n, now]);
    });
  });

  describe("malformed aggregator data", function () {
    async function malformedFixture() {
      const base = await deployFixture();
      const bad: MalformedAggregator = await ethers.deployContract("MalformedAggregator");
      const now = BigInt(await time.latest());
      await bad.setReturnData(roundWords(1n, ETH_ANSWER_8, now, now, 1n));
      await base.feed.setAsset(BTC, bad, HEARTBEAT, ETH_MIN, ETH_MAX);
      return { ...base, bad };
    }

    it("test_getPrice_rawWellFormedWords", async function () {
      // The control: five well-formed words read as a normal round.
      const { feed } = await networkHelpers.loadFixture(malformedFixture);
      await expectValid(feed, BTC, ETH_PRICE);
    });

    it("test_getPrice_emptyReturnData", async function () {
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      await bad.setReturnData("0x");
      await expectInvalid(feed, BTC, "FeedCallFailed", [BTC]);
    });

    it("test_getPrice_shortReturnData", async function () {
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      const now = BigInt(await time.latest());
      // Four words instead of five.
      const four = ethers.AbiCoder.defaultAbiCoder().encode(
        ["uint256", "int256", "uint256", "uint256"],
        [1n, ETH_ANSWER_8, now, now],
      );
      await bad.setReturnData(four);
      await expectInvalid(feed, BTC, "FeedCallFailed", [BTC]);
    });

    it("test_getPrice_longerReturnDataReadsItsFirstFiveWords", async function () {
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      const now = BigInt(await time.latest());
      await bad.setReturnData(roundWords(1n, ETH_ANSWER_8, now, now, 1n) + "ff".repeat(64));
      await expectValid(feed, BTC, ETH_PRICE);
    });

    it("test_getPrice_revertWithFiveWellFormedWordsIsAFailedCall", async function () {
      // The revert data lands where a round would: it must not be read as one.
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      await bad.setReverts(true);
      await expectInvalid(feed, BTC, "FeedCallFailed", [BTC]);
    });

    it("test_getPrice_roundIdAboveUint80", async function () {
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      const now = BigInt(await time.latest());
      await bad.setReturnData(roundWords(2n ** 80n, ETH_ANSWER_8, now, now, 1n));
      await expectInvalid(feed, BTC, "FeedCallFailed", [BTC]);
    });

    it("test_getPrice_answeredInRoundAboveUint80", async function () {
      const { feed, bad } = await networkHelpers.loadFixture(malformedFixture);
      const now = BigInt(await time.latest());
      await bad.setReturnData(roundWords(1n, ETH_ANSWER_8, now, now, 2n ** 80n));
      await expectInvalid(feed, BTC, "FeedCallFailed", [BTC]);
    });
  });

  describe("bounds", function () {
    it("test_getPrice_atMinIsValid", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, 100_00000000n, 0n); // $100.00000000
      await expectValid(feed, ETH, 100n * 10n ** 18n);
    });

    it("test_getPrice_belowMin", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, 99_99999999n, 0n); // $99.99999999
      await expectInvalid(feed, ETH, "PriceOutOfBounds", [ETH, 99_999999990000000000n, ETH_MIN, ETH_MAX]);
    });

    it("test_getPrice_atMaxIsValid", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, 100_000_00000000n, 0n); // $100,000.00000000
      await expectValid(feed, ETH, 100_000n * 10n ** 18n);
    });

    it("test_getPrice_aboveMax", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await publish(ethAgg, 100_000_00000001n, 0n); // $100,000.00000001
      await expectInvalid(feed, ETH, "PriceOutOfBounds", [ETH, 100_000_000000010000000000n, ETH_MIN, ETH_MAX]);
    });

    it("test_getPrice_scalingOverflowSaturates", async function () {
      // int256 max x 10^18 does not fit in 256 bits: reported as the largest uint256, never a panic.
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg = await ethers.deployContract("MockAggregator", [0]);
      await publish(agg, MAX_INT256, 0n);
      await feed.setAsset(BTC, agg, HEARTBEAT, 1n, 10n ** 24n);
      await expectInvalid(feed, BTC, "PriceOutOfBounds", [BTC, MAX_UINT256, 1n, 10n ** 24n]);
    });
  });

  describe("admin", function () {
    it("test_constructor_setsOwner", async function () {
      const [owner] = await ethers.getSigners();
      const feed = await ethers.deployContract("ChainlinkPriceFeed", [owner.address]);
      expect(await feed.owner()).to.equal(owner.address);
    });

    it("test_adminFunctions_ownerOnly", async function () {
      const { feed, ethAgg, other } = await networkHelpers.loadFixture(deployFixture);
      const asOther = feed.connect(other);
      await expect(asOther.setAsset(BTC, ethAgg, HEARTBEAT, ETH_MIN, ETH_MAX))
        .to.be.revertedWithCustomError(feed, "OwnableUnauthorizedAccount")
        .withArgs(other.address);
      await expect(asOther.removeAsset(ETH))
        .to.be.revertedWithCustomError(feed, "OwnableUnauthorizedAccount")
        .withArgs(other.address);
    });

    it("test_ownership_twoStep", async function () {
      const { feed, owner, other } = await networkHelpers.loadFixture(deployFixture);
      await feed.transferOwnership(other.address);
      expect(await feed.owner()).to.equal(owner.address);
      expect(await feed.pendingOwner()).to.equal(other.address);
      await feed.connect(other).acceptOwnership();
      expect(await feed.owner()).to.equal(other.address);
      await expect(feed.removeAsset(ETH))
        .to.be.revertedWithCustomError(feed, "OwnableUnauthorizedAccount")
        .withArgs(owner.address);
    });

    it("test_setAsset_emitsAndStores", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg = await ethers.deployContract("MockAggregator", [8]);
      await expect(feed.setAsset(BTC, agg, 7200, 1000n, 2000n))
        .to.emit(feed, "AssetConfigured")
        .withArgs(BTC, await agg.getAddress(), 8, 7200n, 1000n, 2000n);
      const config = await feed.getAssetConfig(BTC);
      expect(config.feed).to.equal(await agg.getAddress());
      expect(config.heartbeat).to.equal(7200n);
      expect(config.feedDecimals).to.equal(8n);
      expect(config.minPrice).to.equal(1000n);
      expect(config.maxPrice).to.equal(2000n);
    });

    it("test_setAsset_updateReplacesConfig", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      const agg18 = await ethers.deployContract("MockAggregator", [18]);
      const updatedAt = await publish(agg18, 2_500n * 10n ** 18n, 0n);
      await expect(feed.setAsset(ETH, agg18, 60, ETH_MIN, ETH_MAX))
        .to.emit(feed, "AssetConfigured")
        .withArgs(ETH, await agg18.getAddress(), 18, 60n, ETH_MIN, ETH_MAX);
      await expectValid(feed, ETH, 2_500n * 10n ** 18n);
      // The new heartbeat applies: 61 s after the update is stale.
      await time.increaseTo(updatedAt + 61n);
      await expectInvalid(feed, ETH, "StalePrice", [ETH, updatedAt, 60n, updatedAt + 61n]);
    });

    it("test_setAsset_validation", async function () {
      const { feed, ethAgg } = await networkHelpers.loadFixture(deployFixture);
      await expect(feed.setAsset(ethers.ZeroHash, ethAgg, HEARTBEAT, ETH_MIN, ETH_MAX)).to.be.revertedWithCustomError(
        feed,
        "ZeroAssetKey",
      );
      await expect(feed.setAsset(BTC, ethers.ZeroAddress, HEARTBEAT, ETH_MIN, ETH_MAX))
        .to.be.revertedWithCustomError(feed, "ZeroFeedAddress")
        .withArgs(BTC);
      await expect(feed.setAsset(BTC, ethAgg, 0, ETH_MIN, ETH_MAX))
        .to.be.revertedWithCustomError(feed, "ZeroHeartbeat")
        .withArgs(BTC);
      await expect(feed.setAsset(BTC, ethAgg, HEARTBEAT, ETH_MAX, ETH_MAX))
        .to.be.revertedWithCustomError(feed, "InvalidPriceBounds")
        .withArgs(BTC, ETH_MAX, ETH_MAX);
      await expect(feed.setAsset(BTC, ethAgg, HEARTBEAT, ETH_MAX, ETH_MIN))
        .to.be.revertedWithCustomError(feed, "InvalidPriceBounds")
        .withArgs(BTC, ETH_MAX, ETH_MIN);
      const agg19 = await ethers.deployContract("MockAggregator", [19]);
      await expect(feed.setAsset(BTC, agg19, HEARTBEAT, ETH_MIN, ETH_MAX))
        .to.be.revertedWithCustomError(feed, "UnsupportedFeedDecimals")
        .withArgs(BTC, 19);
      expect((await feed.getAssetConfig(BTC)).feed).to.equal(ethers.ZeroAddress);
    });

    it("test_removeAsset_emitsAndClears", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      await expect(feed.removeAsset(ETH)).to.emit(feed, "AssetRemoved").withArgs(ETH);
      const config = await feed.getAssetConfig(ETH);
      expect(config.feed).to.equal(ethers.ZeroAddress);
      expect(config.heartbeat).to.equal(0n);
      expect(config.maxPrice).to.equal(0n);
    });

    it("test_removeAsset_unknown", async function () {
      const { feed } = await networkHelpers.loadFixture(deployFixture);
      await expect(feed.removeAsset(UNKNOWN)).to.be.revertedWithCustomError(feed, "UnknownAsset").withArgs(UNKNOWN);
    });
  });
});
