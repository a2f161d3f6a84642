/**
 * The protocol's core: the ChainlinkPriceFeed, the ClearingHouse (which checks the L2 sequencer
 * through that feed: with no sequencer feed set the check answers "up"), the Vault holding the
 * collateral, and the staked InsuranceFund (ERC4626) that owns the Vault's insurance account, all
 * linked to each other; and the ClearingHouseViewer (stateless batched reads for keepers and dApps).
 *
 * Parameters (module id `Core`):
 * - `collateralToken` (required by the default module): the collateral's address (USDC). The local
 *   system builds the module with the mock USDC instead, and then reads no such parameter.
 * - `owner` (default: account 0, the deployer): owner of the ClearingHouse, the price feed and,
 *   through the Market modules, every Amm.
 * - `sequencerFeed` (default: the zero address, no sequencer check): the L2 sequencer uptime feed.
 *
 * The owner must be account 0. `ClearingHouse.setVault`, `setInsuranceFund` (here) and `addMarket` (in the Market
 * modules) are owner-only, and Ignition's `from` option takes a literal address or `m.getAccount(i)`,
 * never a parameter: the calls are sent from `m.getAccount(0)`. With any other owner the setVault
 * simulation reverts with OwnableUnauthorizedAccount, after the ClearingHouse, the Vault and the
 * price feed have been deployed. Handing the protocol to another owner (a multisig) is a step after
 * the deployment: `transferOwnership` then `acceptOwnership` (all three are Ownable2Step).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { ContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Supplies the collateral from inside the Core module's builder, e.g. from a mocks submodule. */
export type CollateralSource = (m: IgnitionModuleBuilder) => ContractFuture<string>;

/**
 * Builds the Core module (always id `Core`, so the parameter files look the same on every network).
 * Without `collateral`, the Vault's token is the `collateralToken` parameter.
 */
export function buildCoreModule(collateral?: CollateralSource) {
  return buildModule("Core", (m) => {
    const deployer = m.getAccount(0);
    const owner = m.getParameter("owner", deployer);
    const collateralToken = collateral === undefined ? m.getParameter<string>("collateralToken") : collateral(m);

    const sequencerFeed = m.getParameter<string>("sequencerFeed", ZERO_ADDRESS);
    const priceFeed = m.contract("ChainlinkPriceFeed", [owner, sequencerFeed]);

    // The Vault names the ClearingHouse as an immutable, so the ClearingHouse comes first.
    const clearingHouse = m.contract("ClearingHouse", [owner, priceFeed]);
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
    // Stateless batched reads for keepers and dApps.
    const viewer = m.contract("ClearingHouseViewer", [clearingHouse]);

    return { clearingHouse, vault, priceFeed, insuranceFund, viewer };
  });
}

/** The Core module of a live network: the collateral is the `collateralToken` parameter. */
const CoreModule = buildCoreModule();

export type CoreModuleType = typeof CoreModule;
export default CoreModule;
