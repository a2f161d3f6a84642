import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

// Hardhat cannot download solc on our machines: compile with the pinned npm `solc` (solcjs).
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.28";
const solcJsPath = require.resolve("solc/soljson.js");
const optimized = (runs: number) => ({
  version: SOLC_VERSION,
  path: solcJsPath,
  settings: { evmVersion: "cancun", optimizer: { enabled: true, runs } },
});
// The ClearingHouse is optimised for fewer runs to stay under the 24,576-byte code size limit, and
// so is every Solidity test (the setting is per compilation, and tests compile it as a dependency).
const SMALL_CODE = optimized(500);
const overrides = Object.fromEntries(
  [
    "contracts/ClearingHouse.sol",
    ...readdirSync("test/solidity", { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".sol"))
      .map((file) => `test/solidity/${file}`),
  ].map((file) => [file, SMALL_CODE]),
);

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: { compilers: [optimized(10_000)], overrides },
      production: { compilers: [optimized(10_000)], overrides },
    },
  },
  paths: {
    tests: { solidity: "./test/solidity", mocha: "./test/ts" },
    ignition: "./deploy",
  },
  typechain: { outDir: "typechain-types" },
  test: {
    solidity: {
      profiles: {
        // CI profile: a fixed seed so every run explores the same inputs.
        default: {
          fuzz: { runs: 256, seed: "0x5eed" },
          invariant: { runs: 64, depth: 64, failOnRevert: false },
        },
        // Longer local exploration: `npx hardhat test solidity --test-profile deep`.
        deep: {
          fuzz: { runs: 5_000, seed: "0x5eed" },
          invariant: { runs: 512, depth: 256, failOnRevert: false },
        },
      },
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: "cancun" },
    opLocal: { type: "edr-simulated", chainType: "op" },
  },
});
