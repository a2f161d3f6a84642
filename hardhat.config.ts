import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseEnv } from "node:util";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";
import buildOutput from "./plugins/build-output.js";
import contractArtifacts from "./plugins/contract-artifacts.js";
import { cliTasks } from "./tasks/index.js";
import { unknownFlagHint } from "./tasks/flags.js";

// Hardhat cannot download solc on our machines: compile with the pinned npm `solc` (solcjs).
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.28";
const solcJsPath = require.resolve("solc/soljson.js");
// `optimizer` before `evmVersion`: Hardhat puts a default optimizer first into the production
// profile's settings and hashes them in key order, so this order gives both profiles one build id.
const optimized = (runs: number, viaIR = false) => ({
  version: SOLC_VERSION,
  path: solcJsPath,
  settings: { optimizer: { enabled: true, runs }, evmVersion: "cancun", ...(viaIR ? { viaIR } : {}) },
});
// The contracts whose code runs cheaper through the IR pipeline, measured one by one on the live
// benchmark (`npm run bench:gas`): the liquidation module (liquidations -2,900 / -2,500), the
// settlement module, the curve module and the price feed (updateFunding -1,800, the update that
// repegs and changes depth -3,100, the trade that repegs -700). The ClearingHouse, the Amm and the
// Vault stay on the legacy pipeline: through IR their trades cost 210 to 1,700 more each.
// Solidity tests deploy them from their artifacts (test/solidity/utils/Artifacts.sol), so they
// test the code a deployment runs, not the legacy copy a test's own compilation would embed.
const IR_PIPELINE = Object.fromEntries(
  [
    "contracts/clearinghouse/LiquidationModule.sol",
    "contracts/clearinghouse/SettlementModule.sol",
    "contracts/amm/AmmCurveModule.sol",
    // Created by the curve module's constructor, so deployed as the curve module's build compiles
    // it: its own artifact (sizes, tests) is built the same way.
    "contracts/amm/AmmViewModule.sol",
    "contracts/ChainlinkPriceFeed.sol",
  ].map((file) => [file, optimized(10_000, true)]),
);
// Configuration variables (the networks' URLs and keys below) may come from a .env file in the
// working directory; the environment wins over it, and blank lines count as unset so that the
// keystore is asked instead.
if (existsSync(".env")) {
  for (const [name, value] of Object.entries(parseEnv(readFileSync(".env", "utf8")))) {
    if (value !== "" && process.env[name] === undefined) process.env[name] = value;
  }
}

// Hardhat refuses an unknown flag with a generic message before any task runs: name the one meant.
const flagHint = unknownFlagHint(process.argv.slice(2));
if (flagHint !== undefined) console.error(`Error: ${flagHint}`);

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, buildOutput, contractArtifacts],
  tasks: cliTasks,
  solidity: {
    // Built for its artifact and typechain type: the CLI speaks to the collateral token through it.
    npmFilesToBuild: ["@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol"],
    // One build for every command. `production` (what `ignition deploy` builds) is `default` with
    // Hardhat's production extras turned off: isolated builds (one solc run per contract) and tool
    // versions in the build info both change the build id, so the two profiles would compile
    // separately, each invalidating the other's cache. With them off, a deploy reuses the test
    // build's artifacts (test/ts/BuildOutput.test.ts checks that the two resolve alike).
    profiles: {
      default: { compilers: [optimized(10_000)], overrides: IR_PIPELINE },
      production: {
        compilers: [optimized(10_000)],
        overrides: IR_PIPELINE,
        isolated: false,
        toolVersionsInBuildInfo: false,
      },
    },
  },
  paths: {
    tests: { solidity: "./test/solidity", mocha: "./test/ts" },
    ignition: "./deploy",
  },
  typechain: { outDir: "typechain-types" },
  // `npm run coverage`: lines of contracts/, the mocks left out.
  coverage: { skipFiles: ["contracts/test/**"] },
  test: {
    solidity: {
      profiles: {
        // CI profile: a fixed seed so every run explores the same inputs.
        default: {
          fuzz: { runs: 256, seed: "0x5eed" },
          invariant: { runs: 64, depth: 64, failOnRevert: false },
        },
        // CI's second pass over the invariant campaigns and the collusion property (.ci/run, selected
        // with HARDHAT_TEST_PROFILE=ci): twice the default depth, so that in most runs a winner closes
        // while the other positions' losses are still unrealised (its gain queued as a claim) and
        // liquidations, funding and payClaims interleave with it; the order that once reverted.
        ci: {
          fuzz: { runs: 1_024, seed: "0x5eed" },
          invariant: { runs: 64, depth: 128, failOnRevert: false },
        },
        // Longer local exploration: `npx hardhat test solidity --test-profile deep`.
        deep: {
          fuzz: { runs: 5_000, seed: "0x5eed" },
          invariant: { runs: 512, depth: 256, failOnRevert: false },
        },
      },
    },
  },
  // The default network is the embedded one (edr-simulated, chain id 31337). The Optimism networks'
  // RPC URLs and deployer keys are configuration variables: an environment variable (or a non-blank
  // line of .env) or else the Hardhat keystore (`npx hardhat keystore set OPTIMISM_RPC_URL`). They
  // are read only when the network is used. See .env.example and deploy/README.md.
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: "cancun" },
    // `npx hardhat node` in another terminal.
    localhost: { type: "http", url: "http://127.0.0.1:8545" },
    // Embedded, simulating the OP Stack (L1 data fee included).
    opLocal: { type: "edr-simulated", chainType: "op" },
    optimismSepolia: {
      type: "http",
      chainType: "op",
      chainId: 11155420,
      url: configVariable("OPTIMISM_SEPOLIA_RPC_URL"),
      accounts: [configVariable("OPTIMISM_SEPOLIA_PRIVATE_KEY")],
    },
    optimism: {
      type: "http",
      chainType: "op",
      chainId: 10,
      url: configVariable("OPTIMISM_RPC_URL"),
      accounts: [configVariable("OPTIMISM_PRIVATE_KEY")],
    },
  },
  // Source verification (`ignition deploy --verify`, `ignition verify`, `verify`). Hardhat knows the
  // OP explorers by chain id: Etherscan's v2 API (one key for every chain, optimistic.etherscan.io
  // and sepolia-optimism.etherscan.io), Blockscout and Sourcify (no key).
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY") },
    blockscout: { enabled: true },
    sourcify: { enabled: true },
  },
});
