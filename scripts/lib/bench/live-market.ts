/**
 * A live market for the gas benchmark: the protocol deployed by the Ignition modules exactly as on
 * Optimism (System, or SystemWithoutSequencer on a chain without a sequencer feed) with
 * optimism.json's parameters, its external contracts replaced by mocks read through
 * Chainlink-proxy-shaped feeds, and then run for hours of block time at fixed timestamps: trades
 * in two 30-second buckets per funding window, the index published and funding updated every
 * window, so both price rings have wrapped, funding has run for many periods and every slot a
 * live market keeps non-zero is non-zero.
 *
 * The parameter file turns the dynamic curve on (repeg threshold, spread, vAMM leverage bound,
 * formulaic k). As on a live network, the market's AMM budget is funded after the deployment: an
 * operator contributes the file's `budgetTarget` (`ClearingHouse.contributeToBudget`) before the
 * first trade. The published index stays within the repeg threshold of the mark (0.3% above it),
 * so the warm-up and the ordinary measured operations take the no-repeg path; each move of the
 * price by a trade is followed by the oracle (a new round, recorded by a poke) so no trade finds
 * the spot beyond the threshold.
 */
import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import type { DeploymentParameters } from "@nomicfoundation/ignition-core";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { network } from "hardhat";
import LocalMocksModule from "../../../deploy/modules/LocalMocks.js";
import SystemModule from "../../../deploy/modules/System.js";
import SystemWithoutSequencerModule from "../../../deploy/modules/SystemWithoutSequencer.js";
import type {
  Amm,
  ClearingHouse,
  InsuranceFund,
  MockAggregator,
  MockERC20,
  Vault,
} from "../../../typechain-types/index.js";
import { MAX_DEADLINE, Side } from "../deploy.js";
import { toWad } from "../fixed.js";

export type Connection = Awaited<ReturnType<typeof network.create>>;

/** The chain's first block (2030-01-01T00:00:00Z): nothing in the benchmark reads the wall clock. */
export const GENESIS_DATE = "2030-01-01T00:00:00Z";
/** Seconds after genesis at which the warm-up starts (the deployment, at wall-clock pace, ends well before). */
const WARM_UP_OFFSET = 3_600;
/** A 30-second observation bucket (`PriceHistory.SPACING`). */
export const BUCKET = 30;
/** Observations a price ring keeps (`PriceHistory.CARDINALITY`). */
const RING = 64;
/** Funding windows of the warm-up: more than a ring of index observations (one per window). */
const WARM_UP_WINDOWS = RING + 2;
/**
 * The index the oracle publishes, in basis points of the mark: the mark plus 0.3%, so the premium
 * is negative and shorts pay, and the gap stays within the market's repeg threshold (0.5%: checked).
 */
const INDEX_PREMIUM_BPS = 10_030n;
const BPS = 10_000n;
const WAD = 10n ** 18n;
/** USD feeds answer in 8 decimals. */
const FEED_SCALE = 10n ** 10n;
/** 6-decimal USDC. */
export const USDC = (amount: number) => BigInt(amount) * 10n ** 6n;
/** The open-interest cap: optimism.json's 500 ETH would not let the benchmark move the price 10%. Its value costs no gas. */
const BENCH_MAX_OPEN_INTEREST = toWad(10_000);

export interface LiveMarket {
  connection: Connection;
  usdc: MockERC20;
  vault: Vault;
  clearingHouse: ClearingHouse;
  insuranceFund: InsuranceFund;
  amm: Amm;
  market: string;
  /** The ETH/USD aggregator behind its proxy; the price feed reads the proxy. */
  aggregator: MockAggregator;
  /** Start of the funding window the measurements run in (a multiple of BUCKET). */
  windowStart: number;
  /** Seconds between funding updates (`minUpdateInterval`). */
  fundingInterval: number;
  signers: {
    /** The Amm's owner, who funded its budget. */
    operator: HardhatEthersSigner;
    keeper: HardhatEthersSigner;
    maker: HardhatEthersSigner;
    trader: HardhatEthersSigner;
    victims: HardhatEthersSigner[];
    liquidator: HardhatEthersSigner;
  };
}

/** Sends `send` in a block at `timestamp` and returns its receipt's raw JSON-RPC fields. */
export async function sendAt(
  connection: Connection,
  timestamp: number,
  send: () => Promise<{ hash: string; wait: () => Promise<unknown> }>,
): Promise<Record<string, string>> {
  await connection.networkHelpers.time.setNextBlockTimestamp(timestamp);
  const tx = await send();
  await tx.wait();
  return (await connection.provider.request({ method: "eth_getTransactionReceipt", params: [tx.hash] })) as Record<
    string,
    string
  >;
}

/**
 * Deploys the live system on `connection` (a network created with `initialDate: GENESIS_DATE`),
 * with a sequencer uptime feed behind a proxy when `withSequencer`, and runs its ETH market through
 * the warm-up. Returns it at the start of a funding window, the index published a window ago.
 */
export async function deployLiveMarket(connection: Connection, withSequencer: boolean): Promise<LiveMarket> {
  const { ethers, ignition } = connection;
  const [operator, keeper, maker, trader, victimA, victimB, liquidator, staker] = await ethers.getSigners();
  const mocks = await ignition.deploy(LocalMocksModule, {});
  const proxyOf = async (feed: { getAddress(): Promise<string> }) =>
    (await ethers.deployContract("MockAggregatorProxy", [await feed.getAddress()])).getAddress();
  const live = await readDeploymentParameters("deploy/parameters/optimism.json");
  const { sequencerFeed: _, ...liveCore } = live.Core;
  const parameters: DeploymentParameters = {
    ...live,
    Core: {
      ...liveCore,
      collateralToken: await mocks.usdc.getAddress(),
      ...(withSequencer ? { sequencerFeed: await proxyOf(mocks.sequencerFeed) } : {}),
    },
    Market_ETH: {
      ...live.Market_ETH,
      feed: await proxyOf(mocks.ethUsdFeed),
      maxOpenInterest: BENCH_MAX_OPEN_INTEREST,
    },
    Market_BTC: { ...live.Market_BTC, feed: await proxyOf(mocks.btcUsdFeed) },
  };
  const d = await ignition.deploy(withSequencer ? SystemModule : SystemWithoutSequencerModule, { parameters });
  const usdc = mocks.usdc as unknown as MockERC20;
  const aggregator = mocks.ethUsdFeed as unknown as MockAggregator;
  const clearingHouse = d.clearingHouse as unknown as ClearingHouse;
  const vault = d.vault as unknown as Vault;
  const insuranceFund = d.insuranceFund as unknown as InsuranceFund;
  const amm = d.ethAmm as unknown as Amm;
  const market = await amm.getAddress();
  const [, , , params] = await amm.getFundingState();
  const fundingInterval = Number(params.minUpdateInterval);
  const curve = await amm.getCurveParams();
  if (curve.repegThresholdRatio === 0n || curve.budgetTarget === 0n)
    throw new Error("benchmark set-up: the parameter file no longer turns the dynamic curve on");
  if ((INDEX_PREMIUM_BPS - BPS) * WAD >= curve.repegThresholdRatio * BPS)
    throw new Error("benchmark set-up: the published index would be beyond the repeg threshold");

  const genesis = Date.parse(GENESIS_DATE) / 1000;
  let t = genesis + WARM_UP_OFFSET;
  if ((await connection.networkHelpers.time.latest()) >= t)
    throw new Error("benchmark set-up: the deployment ran past the warm-up start");
  const at = (send: () => Promise<{ hash: string; wait: () => Promise<unknown> }>) => sendAt(connection, t++, send);

  // Money in: traders' deposits (an open allowance, as dApps ask for) and the stakers' insurance capital.
  const vaultAddress = await vault.getAddress();
  for (const s of [maker, trader, victimA, victimB, liquidator]) {
    await at(() => usdc.mint(s.address, USDC(2_000_000)));
    await at(() => usdc.connect(s).approve(vaultAddress, ethers.MaxUint256));
    // A keeper that has liquidated before holds free collateral: its reward updates a non-zero slot.
    await at(() => vault.connect(s).deposit(s === liquidator ? USDC(1) : USDC(1_000_000)));
  }
  await at(() => usdc.mint(staker.address, USDC(500_000)));
  await at(() => usdc.connect(staker).approve(insuranceFund.getAddress(), USDC(500_000)));
  await at(() => insuranceFund.connect(staker).deposit(USDC(500_000), staker.address));
  // The operator funds the market's AMM budget up to its target, as after a live deployment
  // (deploy/README.md: `perp contribute-budget`), from its own free collateral.
  const seed = USDC(Number((curve.budgetTarget + WAD - 1n) / WAD));
  await at(() => usdc.mint(operator.address, seed));
  await at(() => usdc.connect(operator).approve(vaultAddress, seed));
  await at(() => vault.connect(operator).deposit(seed));
  await at(() => clearingHouse.connect(operator).contributeToBudget(market, curve.budgetTarget));

  // The market has traded before: the maker holds a short, the heavier side, so shorts pay the
  // insurance fund its share of funding on every accrual.
  await at(() =>
    clearingHouse.connect(maker).openPosition(market, Side.SHORT, toWad(20_000), toWad(3), 0n, MAX_DEADLINE),
  );

  // Hours of trading: every funding window the oracle publishes, the maker trades in two buckets
  // (growing then trimming its short, so the price stays near its level) and the keeper updates funding.
  const windowStartAfter = (time: number) => Math.ceil(time / fundingInterval) * fundingInterval;
  let windowStart = windowStartAfter(t);
  for (let w = 0; w < WARM_UP_WINDOWS; w++) {
    await publishIndex(connection, amm, aggregator, windowStart);
    await sendAt(connection, windowStart + 1, () =>
      clearingHouse.connect(maker).openPosition(market, Side.SHORT, toWad(2_000), toWad(3), 0n, MAX_DEADLINE),
    );
    await sendAt(connection, windowStart + 2, () => clearingHouse.connect(keeper).updateFunding(market));
    await sendAt(connection, windowStart + 5 * BUCKET + 1, () =>
      clearingHouse.connect(maker).openPosition(market, Side.LONG, toWad(2_000), toWad(3), 0n, MAX_DEADLINE),
    );
    windowStart += fundingInterval;
  }
  // A long bought before a sell-off closes at a loss, which stays in the market's pool, and the
  // keeper pays the claims the maker's profitable trims queued while no one had lost yet (profit
  // is paid only from what a market's losers have realised). So the measured trades find a pool
  // that can pay their profit, as a live market's does.
  // The oracle follows each of these large trades (a new round, recorded), so none repegs.
  let s = windowStart - fundingInterval + 5 * BUCKET + 2;
  await sendAt(connection, s++, () =>
    clearingHouse.connect(victimB).openPosition(market, Side.LONG, toWad(150_000), toWad(2), 0n, MAX_DEADLINE),
  );
  s = await followIndex(connection, amm, aggregator, s);
  await sendAt(connection, s++, () =>
    clearingHouse.connect(maker).openPosition(market, Side.SHORT, toWad(20_000), toWad(3), 0n, MAX_DEADLINE),
  );
  s = await followIndex(connection, amm, aggregator, s);
  await sendAt(connection, s++, () => clearingHouse.connect(victimB).closePosition(market, 0n, MAX_DEADLINE));
  s = await followIndex(connection, amm, aggregator, s);
  await sendAt(connection, s++, () => vault.connect(keeper).payClaims(market, 1_000n));
  const [claimHead, claimTail] = await vault.claimQueueBounds(market);
  if (claimHead !== claimTail) throw new Error(`benchmark set-up: ${claimTail - claimHead} claim(s) left unpaid`);
  const [premium] = await amm.getFundingState();
  if (premium >= 0n) throw new Error(`benchmark set-up: expected shorts to pay, premium ${premium}`);
  return {
    connection,
    usdc,
    vault,
    clearingHouse,
    insuranceFund,
    amm,
    market,
    aggregator,
    windowStart,
    fundingInterval,
    signers: { operator, keeper, maker, trader, victims: [victimA, victimB], liquidator },
  };
}

/** The oracle publishes a new round at `timestamp`: the mark price plus 0.3%. */
export async function publishIndex(connection: Connection, amm: Amm, aggregator: MockAggregator, timestamp: number) {
  const answer = ((await amm.getSpotPrice()) * INDEX_PREMIUM_BPS) / BPS / FEED_SCALE;
  await sendAt(connection, timestamp, () => aggregator.setAnswer(answer, timestamp));
}

/**
 * The oracle follows the mark (a new round at `timestamp`, the mark plus 0.3%) and a poke records
 * it in the next block, so the next trade finds the index within the repeg threshold. Returns the
 * timestamp after the poke.
 */
export async function followIndex(
  connection: Connection,
  amm: Amm,
  aggregator: MockAggregator,
  timestamp: number,
): Promise<number> {
  await publishIndex(connection, amm, aggregator, timestamp);
  await sendAt(connection, timestamp + 1, () => amm.pokeIndex());
  return timestamp + 2;
}

/** The oracle answers `percent`% of the spot at `timestamp` (a move of the index the market follows). */
export async function crashIndex(
  connection: Connection,
  amm: Amm,
  aggregator: MockAggregator,
  timestamp: number,
  percent: bigint,
) {
  const answer = ((await amm.getSpotPrice()) * percent) / 100n / FEED_SCALE;
  await sendAt(connection, timestamp, () => aggregator.setAnswer(answer, timestamp));
}
