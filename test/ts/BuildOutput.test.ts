/**
 * The build set-up of hardhat.config.ts and plugins/: one build shared by every command (the
 * production profile that `ignition deploy` builds gives the same build ids as the default one, so
 * it reuses the test build's artifacts), and the filter that hides solc's transient-storage
 * warning only where it points into OpenZeppelin's TransientSlot.sol.
 */
import { join } from "node:path";
import { expect } from "chai";
import { config, solidity } from "hardhat";
import type { CompilerOutputError } from "hardhat/types/solidity";
import { isDependencyTransientStorageWarning, TRANSIENT_STORAGE_WARNING } from "../../plugins/build-output-hooks.js";

/** The compilation jobs of `root`, by file, in the given build profile. */
async function compilationJobs(root: string, buildProfile: string) {
  const result = await solidity.getCompilationJobs([join(config.paths.root, root)], { buildProfile, quiet: true });
  if (!("success" in result) || result.success !== true) throw new Error(`no compilation jobs for ${root}`);
  return result.indexedIndividualJobs;
}

/** The build id of every file `root` compiles with, in the given build profile. */
async function buildIds(root: string, buildProfile: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [file, job] of await compilationJobs(root, buildProfile)) ids.set(file, await job.getBuildId());
  return ids;
}

/** A solc diagnostic as Hardhat hands it to the hook, pointing at `file`. */
function diagnostic(file: string, errorCode: string, severity: "warning" | "error" = "warning"): CompilerOutputError {
  const message = "Transient storage as defined by EIP-1153 can break the composability of smart contracts";
  return {
    type: severity === "warning" ? "Warning" : "TypeError",
    component: "general",
    severity,
    errorCode,
    message,
    formattedMessage: `Warning: ${message}\n   --> ${file}:108:13:\n    |\n108 |             tstore(slot, value)\n`,
  };
}

describe("Build set-up", function () {
  it("builds the production profile with the default profile's build ids (one build for every command)", async function () {
    expect(config.solidity.profiles.production.isolated).to.equal(false);
    for (const root of [
      "contracts/ClearingHouse.sol",
      "contracts/Vault.sol",
      "contracts/clearinghouse/LiquidationModule.sol",
    ]) {
      const defaults = await buildIds(root, "default");
      expect(defaults.size).to.equal(1);
      expect(await buildIds(root, "production")).to.deep.equal(defaults);
    }
  });

  it("builds through the IR pipeline exactly the contracts measured cheaper that way (and the view module the curve module creates), in both profiles", async function () {
    const viaIr = [
      "contracts/clearinghouse/LiquidationModule.sol",
      "contracts/clearinghouse/SettlementModule.sol",
      "contracts/amm/AmmCurveModule.sol",
      "contracts/amm/AmmViewModule.sol",
      "contracts/ChainlinkPriceFeed.sol",
    ];
    const legacy = [
      "contracts/ClearingHouse.sol",
      "contracts/Amm.sol",
      "contracts/Vault.sol",
      "contracts/InsuranceFund.sol",
    ];
    for (const buildProfile of ["default", "production"]) {
      for (const root of [...viaIr, ...legacy]) {
        const jobs = [...(await compilationJobs(root, buildProfile)).values()];
        expect(jobs.length, root).to.equal(1);
        const { settings } = jobs[0].solcConfig;
        expect(settings.viaIR === true, `${root} (${buildProfile}) through IR`).to.equal(viaIr.includes(root));
        expect(settings.optimizer, root).to.deep.equal({ enabled: true, runs: 10_000 });
      }
    }
  });

  it("hides the transient-storage warning on OpenZeppelin's TransientSlot.sol only", function () {
    const code = TRANSIENT_STORAGE_WARNING;
    for (const file of [
      "node_modules/@openzeppelin/contracts/utils/TransientSlot.sol",
      "/home/me/perp/node_modules/@openzeppelin/contracts/utils/TransientSlot.sol",
      "npm/@openzeppelin/contracts@5.7.0/utils/TransientSlot.sol",
      "node_modules\\@openzeppelin\\contracts\\utils\\TransientSlot.sol",
    ]) {
      expect(isDependencyTransientStorageWarning(diagnostic(file, code)), file).to.equal(true);
    }
    // Our own tstore, another OpenZeppelin file, another warning, an error: all still shown.
    expect(isDependencyTransientStorageWarning(diagnostic("contracts/Vault.sol", code))).to.equal(false);
    const guard = "node_modules/@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
    expect(isDependencyTransientStorageWarning(diagnostic(guard, code))).to.equal(false);
    const slot = "node_modules/@openzeppelin/contracts/utils/TransientSlot.sol";
    expect(isDependencyTransientStorageWarning(diagnostic(slot, "2072"))).to.equal(false);
    expect(isDependencyTransientStorageWarning(diagnostic(slot, code, "error"))).to.equal(false);
  });
});
