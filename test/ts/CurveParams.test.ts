/**
 * Issue 14, the dynamic curve's parameters in every file of deploy/parameters/: each market turns
 * the curve on within the Amm's own hard bounds (read from the contract's constants, never restated
 * here), the Amm accepts them (each market deployed with its file's parameters), and they agree with
 * the market's caps and margins:
 * - the smallest depth keeps the open-interest caps' price swing below IMR - MMR (issue 13's bound,
 *   CapsVsMargins, at the shallowest curve the formula may reach: shrinking the depth shrinks the
 *   base reserve the caps are measured against);
 * - at its target, the budget alone backs at maxVammLeverage at least half the largest imbalance the
 *   caps allow at the launch price (the insurance-fund share backs the rest);
 * - the repeg threshold is below the index band, so the curve follows the index before the band
 *   refuses trades;
 * - a file's markets together count at most the whole insurance fund.
 * The error decoder's sentences state the ranges the contract's constants hold.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { network } from "hardhat";
import { Interface } from "ethers";
import { CURVE_PARAM_NAMES, parameterDefault, type CurveParams } from "../../deploy/defaults.js";
import { Amm__factory, type AmmCurveModule } from "../../typechain-types/index.js";
import { contributeToBudget, deployCore, deployMarket } from "../../scripts/lib/deploy.js";
import { ErrorDecoder } from "../../scripts/lib/errors.js";
import { formatPercent, formatUnits, WAD } from "../../scripts/lib/fixed.js";
import { Rational } from "./helpers/rational.js";
import { moduleParameters } from "./regression/deployed-market.js";
import { USDC_DECIMALS } from "../../deploy/modules/LocalMocks.js";
import { capSwing } from "./helpers/caps.js";

const { ethers, networkHelpers } = await network.create();

const DIRECTORY = fileURLToPath(new URL("../../deploy/parameters/", import.meta.url));
const FILES = readdirSync(DIRECTORY).filter((name) => name.endsWith(".json"));

/** A market parameter of a file, or its default (deploy/defaults.ts). */
function parameter(file: string, moduleId: string, name: string): bigint {
  const value = moduleParameters(file, moduleId)[name] ?? parameterDefault(moduleId, name);
  if (value === undefined) throw new Error(`${file}: ${moduleId}.${name} is neither set nor defaulted`);
  return value;
}

/** The market modules of a file (`Market_ETH`...). */
const marketsOf = (file: string): string[] =>
  Object.keys(JSON.parse(readFileSync(`${DIRECTORY}${file}`, "utf8"))).filter((id) => id.startsWith("Market_"));

/** A market's curve parameters in a file. */
const curveOf = (file: string, id: string): CurveParams =>
  Object.fromEntries(CURVE_PARAM_NAMES.map((name) => [name, parameter(file, id, name)])) as CurveParams;

/** The Amm's hard bounds on its curve parameters: the constants of the module that checks them. */
async function readBounds(module: AmmCurveModule) {
  const [minRepeg, maxRepeg, maxBaseSpread, maxSpread, minLeverage, maxLeverage, maxDepthChange, minDepth, maxDepth] =
    await Promise.all([
      module.MIN_REPEG_THRESHOLD(),
      module.MAX_REPEG_THRESHOLD(),
      module.MAX_BASE_SPREAD(),
      module.MAX_SPREAD(),
      module.MIN_VAMM_LEVERAGE(),
      module.MAX_VAMM_LEVERAGE(),
      module.MAX_DEPTH_CHANGE(),
      module.MIN_DEPTH_LIMIT(),
      module.MAX_DEPTH_LIMIT(),
    ]);
  return { minRepeg, maxRepeg, maxBaseSpread, maxSpread, minLeverage, maxLeverage, maxDepthChange, minDepth, maxDepth };
}
type Bounds = Awaited<ReturnType<typeof readBounds>>;

describe("Dynamic curve parameters (deploy/parameters/*.json) against the Amm's bounds", function () {
  let bounds: Bounds;

  async function fixture() {
    return { system: await deployCore(ethers) };
  }

  before(async function () {
    // Each Amm deploys its own module in its constructor; the constants are the same code's.
    const module = (await ethers.deployContract("AmmCurveModule")) as unknown as AmmCurveModule;
    bounds = await readBounds(module);
  });

  it("reads every parameter file, each with markets", function () {
    expect(FILES).to.include.members(["local.json", "opLocal.json", "optimism.json", "optimismSepolia.json"]);
    for (const file of FILES) expect(marketsOf(file), file).to.include.members(["Market_ETH", "Market_BTC"]);
  });

  for (const file of FILES) {
    describe(file, function () {
      it("every market turns the curve on, each parameter within the Amm's bounds", function () {
        for (const id of marketsOf(file)) {
          const c = curveOf(file, id);
          const where = `${file} ${id}`;
          const within = (v: bigint, lo: bigint, hi: bigint, name: string) =>
            expect(v >= lo && v <= hi, `${where}: ${name} ${v} outside [${lo}, ${hi}]`).to.equal(true);
          within(c.repegThresholdRatio, bounds.minRepeg, bounds.maxRepeg, "repegThresholdRatio");
          within(c.baseSpreadRatio, 1n, bounds.maxBaseSpread, "baseSpreadRatio");
          within(c.maxSpreadRatio, c.baseSpreadRatio, bounds.maxSpread, "maxSpreadRatio");
          within(c.maxVammLeverage, bounds.minLeverage, bounds.maxLeverage, "maxVammLeverage");
          within(c.fundShareRatio, 1n, WAD, "fundShareRatio");
          within(c.budgetFloor, 1n, c.budgetTarget, "budgetFloor");
          within(c.maxDepthChangeRatio, 1n, bounds.maxDepthChange, "maxDepthChangeRatio");
          within(c.minDepthRatio, bounds.minDepth, WAD, "minDepthRatio");
          within(c.maxDepthRatio, WAD, bounds.maxDepth, "maxDepthRatio");
        }
      });

      it("the Amm accepts each market's curve as the file deploys it, and a configured seed reaches the budget", async function () {
        const { system } = await networkHelpers.loadFixture(fixture);
        const [, funder] = await ethers.getSigners();
        for (const id of marketsOf(file)) {
          const p = (name: string) => parameter(file, id, name);
          const curve = curveOf(file, id);
          const amm = await deployMarket(ethers, system, {
            quoteReserve: p("quoteReserve"),
            baseReserve: p("baseReserve"),
            maxTradeRatio: p("maxTradeRatio"),
            fluctuationLimitRatio: p("fluctuationLimitRatio"),
            maxOpenInterest: p("maxOpenInterest"),
            curveParams: curve,
          });
          const set = await amm.getCurveParams();
          expect(Object.fromEntries(CURVE_PARAM_NAMES.map((n) => [n, set[n]])), `${file} ${id}`).to.deep.equal(curve);
          const seed = moduleParameters(file, id).budgetSeed;
          if (seed === undefined) continue;
          await contributeToBudget(system, amm, funder, seed);
          const state = await amm.getCurveState();
          expect([state.budget, state.peg, state.depth], `${file} ${id}`).to.deep.equal([seed, WAD, WAD]);
        }
      });

      it("seeds budgets only on a local system, and LocalBudgetFunds deposits exactly their sum", function () {
        const seeds = marketsOf(file).map((id) => moduleParameters(file, id).budgetSeed);
        const deposit = moduleParameters(file, "LocalBudgetFunds").deposit;
        if (deposit === undefined) {
          expect(
            seeds.every((s) => s === undefined),
            `${file}: seeds without LocalBudgetFunds`,
          ).to.equal(true);
          return;
        }
        expect(
          seeds.every((s) => s !== undefined && s > 0n),
          `${file}: a seed per market`,
        ).to.equal(true);
        const sum = seeds.reduce((a, b) => a! + b!, 0n)!;
        expect(deposit * 10n ** BigInt(18 - USDC_DECIMALS)).to.equal(sum);
      });

      it("the curve agrees with the market's caps, margins and index band", function () {
        let fundShares = Rational.of(0);
        for (const id of marketsOf(file)) {
          const where = `${file} ${id}`;
          const p = (name: string) => parameter(file, id, name);
          const c = curveOf(file, id);
          const base = p("baseReserve");
          const cap = p("maxOpenInterest");
          // The swing the caps allow on the shallowest curve: base reserve b x minDepth.
          const margin = new Rational(p("initialMarginRatio") - p("maintenanceMarginRatio"), WAD);
          const shallowest = (base * c.minDepthRatio) / WAD; // rounded down: the larger swing
          const swing = capSwing(shallowest, cap);
          expect(swing.cmp(margin) < 0, `${where}: swing ${swing.floorWad()} at the smallest depth`).to.equal(true);
          // target x leverage >= cap x launch price / 2, exactly: 2 x target x leverage x b >= cap x q x 1e18.
          const backed = new Rational(c.budgetTarget * c.maxVammLeverage, WAD);
          const halfCapNotional = new Rational(cap * p("quoteReserve"), 2n * base);
          expect(backed.cmp(halfCapNotional) >= 0, `${where}: target backs ${backed.floorWad()}`).to.equal(true);
          expect(c.repegThresholdRatio < p("indexBandRatio"), `${where}: repeg threshold below the band`).to.equal(
            true,
          );
          fundShares = fundShares.add(Rational.fromWad(c.fundShareRatio));
        }
        expect(fundShares.cmp(Rational.of(1)) <= 0, `${file}: fund shares sum to ${fundShares}`).to.equal(true);
      });
    });
  }

  it("the error decoder's sentences state the ranges the Amm's constants hold", function () {
    const decoder = new ErrorDecoder();
    const iface = new Interface(Amm__factory.abi);
    const sentence = (name: string, args: bigint[]) => decoder.explainData(iface.encodeErrorResult(name, args))!;
    const pct = (v: bigint) => formatPercent(v, 4);
    const x = (v: bigint) => `${formatUnits(v, 18, 6)}x`;
    expect(sentence("RepegThresholdOutOfRange", [1n])).to.include(`${pct(bounds.minRepeg)} to ${pct(bounds.maxRepeg)}`);
    const spread = sentence("SpreadOutOfRange", [1n, 1n]);
    expect(spread).to.include(`base at most ${pct(bounds.maxBaseSpread)}`);
    expect(spread).to.include(`at most ${pct(bounds.maxSpread)})`);
    expect(sentence("VammLeverageOutOfRange", [1n])).to.include(`${x(bounds.minLeverage)} to ${x(bounds.maxLeverage)}`);
    const depth = sentence("DepthBoundsOutOfRange", [1n, 1n, 1n]);
    expect(depth).to.include(`at most ${pct(bounds.maxDepthChange)} per update`);
    expect(depth).to.include(`lowest depth ${x(bounds.minDepth)} to 1x`);
    expect(depth).to.include(`highest 1x to ${x(bounds.maxDepth)}`);
  });
});
