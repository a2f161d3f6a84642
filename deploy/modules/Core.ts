/**
 * The protocol's core: the ChainlinkPriceFeed (index prices and the L2 sequencer's status), the
 * ClearingHouse with its three modules (which checks the sequencer through that feed when the chain has a sequencer feed,
 * and is given address(0), no check at all, when it has none), the Vault holding the collateral,
 * and the staked InsuranceFund (ERC4626) that owns
 * the Vault's insurance account, all linked to each other; the liquidation rules and the
 * sequencer's grace period written out; and the ClearingHouseViewer (stateless batched reads for
 * keepers and dApps).
 *
 * Parameters (module id `Core`):
 * - `collateralToken` (required by the live-network module): the collateral's address (USDC). The
 *   local system builds the module with the mock USDC instead, and then reads no such parameter.
 * - `owner` (default: account 0, the deployer): owner of the ClearingHouse, the price feed, the
 *   insurance fund and, through the Market modules, every Amm. Must be account 0: see below.
 * - `sequencerFeed` (required by `CoreModule`): the Chainlink L2 sequencer uptime feed. The local
 *   system wires its mock sequencer feed in instead, and `CoreWithoutSequencerModule` (a chain
 *   without a sequencer feed, e.g. OP Sepolia) reads no such parameter.
 *
 * Whether the ClearingHouse checks the sequencer is decided when the module is built, not by a
 * parameter's value: Ignition cannot branch on a parameter, and the ClearingHouse's sequencer
 * feed is an immutable (a chain without one pays nothing for the check).
 * - `sequencerGracePeriod` (default 3,600 s; 600 to 86,400): how long after the sequencer comes
 *   back up risk-increasing actions stay refused.
 * - `liquidationFeeRatio` (0.0125), `partialLiquidationBuffer` (0.025), `maxSpreadRatio` (0.1),
 *   `markTwapInterval` (900 s), `minPositionNotional` (10): `ClearingHouse.setLiquidationParams`,
 *   the contract's own defaults unless a file says otherwise.
 *
 * The owner must be account 0. `ClearingHouse.setVault`, `setInsuranceFund`,
 * `setLiquidationParams`, `setSequencerGracePeriod` (here) and the Market modules' calls
 * are owner-only, and Ignition's `from` option takes a literal address or `m.getAccount(i)`, never
 * a parameter: the calls are sent from `m.getAccount(0)`. With any other owner the setVault
 * simulation reverts with OwnableUnauthorizedAccount, after the price feed, the ClearingHouse and
 * the Vault have been deployed. Handing the protocol to another owner (a multisig) is a step after
 * the deployment: `transferOwnership` then `acceptOwnership` (all are Ownable2Step).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { CORE_PARAMETER_DEFAULTS as DEFAULTS } from "../defaults.js";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

// The defaults live in deploy/defaults.ts; re-exported for the modules' existing importers.
export { DEFAULT_LIQUIDATION_PARAMS, DEFAULT_SEQUENCER_GRACE_PERIOD } from "../defaults.js";

/** Supplies a contract from inside the Core module's builder, e.g. from a mocks submodule. */
export type ContractSource = (m: IgnitionModuleBuilder) => ContractFuture<string>;
/** Kept for callers of the first version: the collateral's source. */
export type CollateralSource = ContractSource;

/** Contracts the Core module takes from elsewhere instead of from its parameters (local networks). */
export interface CoreSources {
  /** The Vault's token, instead of the `collateralToken` parameter. */
  collateral?: ContractSource;
  /**
   * The sequencer uptime feed, instead of the `sequencerFeed` parameter; `NO_SEQUENCER_FEED` for a
   * chain without one: then the ClearingHouse's sequencer feed is address(0), so it makes no
   * sequencer check at all.
   */
  sequencerFeed?: ContractSource | typeof NO_SEQUENCER_FEED;
}

/** `CoreSources.sequencerFeed` of a chain without a sequencer uptime feed. */
export const NO_SEQUENCER_FEED = "none";

/**
 * Builds the Core module (always id `Core`, so the parameter files look the same on every network).
 * Without sources, the Vault's token is the `collateralToken` parameter and the sequencer feed the
 * (required) `sequencerFeed` parameter. A bare function is the collateral's source (the first
 * version's form).
 */
export function buildCoreModule(sources: CoreSources | ContractSource = {}) {
  const { collateral, sequencerFeed: sequencerSource }: CoreSources =
    typeof sources === "function" ? { collateral: sources } : sources;
  return buildModule("Core", (m) => {
    const deployer = m.getAccount(0);
    const owner = m.getParameter("owner", deployer);
    const collateralToken = collateral === undefined ? m.getParameter<string>("collateralToken") : collateral(m);
    const hasSequencer = sequencerSource !== NO_SEQUENCER_FEED;
    const sequencerFeed = !hasSequencer
      ? ZERO_ADDRESS
      : sequencerSource === undefined
        ? m.getParameter<string>("sequencerFeed")
        : sequencerSource(m);

    const priceFeed = m.contract("ChainlinkPriceFeed", [owner]);
    // With a sequencer feed, the ClearingHouse gates risk-increasing actions on it, reading it
    // directly; without one (address(0)) it makes no check (no call, no gas).
    // The ClearingHouse's modules come first: their creation code inside its own would pass the
    // initcode size limit. Its constructor checks each one's kind and sequencer feed.
    const modules = {
      admin: m.contract("AdminModule", [sequencerFeed]),
      liquidation: m.contract("LiquidationModule", [sequencerFeed]),
      settlement: m.contract("SettlementModule", [sequencerFeed]),
    };
    const clearingHouse = m.contract("ClearingHouse", [owner, sequencerFeed, modules]);
    // The Vault names the ClearingHouse as an immutable, so the ClearingHouse comes first.
    const vault = m.contract("Vault", [collateralToken, clearingHouse]);
    // Owner-only: see the note at the top on why the sender is account 0.
    m.call(clearingHouse, "setVault", [vault], { from: deployer });
    const insuranceFund = m.contract("InsuranceFund", [
      collateralToken,
      vault,
      owner,
      "Staked vAMM insurance",
      "svINS",
    ]);
    m.call(clearingHouse, "setInsuranceFund", [insuranceFund], { from: deployer });

    const liquidationParams = {
      feeRatio: m.getParameter("liquidationFeeRatio", DEFAULTS.liquidationFeeRatio),
      partialBuffer: m.getParameter("partialLiquidationBuffer", DEFAULTS.partialLiquidationBuffer),
      maxSpreadRatio: m.getParameter("maxSpreadRatio", DEFAULTS.maxSpreadRatio),
      markTwapInterval: m.getParameter("markTwapInterval", DEFAULTS.markTwapInterval),
      minPositionNotional: m.getParameter("minPositionNotional", DEFAULTS.minPositionNotional),
    };
    m.call(clearingHouse, "setLiquidationParams", [liquidationParams], { from: deployer });
    const gracePeriod = m.getParameter("sequencerGracePeriod", DEFAULTS.sequencerGracePeriod);
    m.call(clearingHouse, "setSequencerGracePeriod", [gracePeriod], { from: deployer });

    // Stateless batched reads for keepers and dApps.
    const viewer = m.contract("ClearingHouseViewer", [clearingHouse]);
    // Stateless code every market's Amm runs by DELEGATECALL (its dynamic curve): one for them all.
    const ammCurveModule = m.contract("AmmCurveModule");

    return { clearingHouse, vault, priceFeed, insuranceFund, viewer, ammCurveModule };
  });
}

/** The Core module of a live network: the collateral and the sequencer feed are parameters. */
const CoreModule = buildCoreModule();

/** The Core module of a live network without a sequencer uptime feed: the collateral is a parameter. */
export const CoreWithoutSequencerModule = buildCoreModule({ sequencerFeed: NO_SEQUENCER_FEED });

export type CoreModuleType = typeof CoreModule;
export default CoreModule;
