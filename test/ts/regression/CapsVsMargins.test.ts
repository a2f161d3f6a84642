/**
 * Issue 13, "caps consistent with margins": the price swing the two open-interest caps allow stays
 * below initialMarginRatio - maintenanceMarginRatio, in every market of every parameter file.
 *
 * From a balanced pool (base reserve b, no open interest), the longs can take the base reserve down
 * to b - C and the shorts up to b + C, C the cap per side. On x*y=k the price is k / base^2, so the
 * move between those two extremes is 1 - ((b - C) / (b + C))^2 = 4bC / (b + C)^2. A position opened
 * at one extreme with the least margin (IMR) and marked at the other must not have lost more than
 * IMR - MMR; otherwise two colluding accounts, one per side, can make it liquidatable with bad debt
 * (the review's drain: a 500 ETH cap on a 10,000 ETH pool allows 18.1%, IMR 10%).
 *
 * The Amm cannot check this itself: it knows its reserves and caps, not the ClearingHouse's margin
 * ratios. So the rule lives here, computed exactly (rationals) from the files and deploy/defaults.ts.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { readDeploymentParameters } from "@nomicfoundation/hardhat-ignition/helpers";
import { parameterDefault } from "../../../deploy/defaults.js";
import { capSwing } from "../helpers/caps.js";
import { Rational } from "../helpers/rational.js";

type Parameters = Awaited<ReturnType<typeof readDeploymentParameters>>;

const DIRECTORY = fileURLToPath(new URL("../../../deploy/parameters/", import.meta.url));
const WAD = 10n ** 18n;

/** A market parameter of a file, or its default when the file leaves it out. */
function parameter(file: Parameters, moduleId: string, name: string): bigint {
  const value = file[moduleId]?.[name] ?? parameterDefault(moduleId, name);
  if (typeof value !== "bigint") throw new Error(`${moduleId}.${name}: no bigint value or default`);
  return value;
}

const files = readdirSync(DIRECTORY).filter((name) => name.endsWith(".json"));

describe("Regression (issue 13): open-interest caps consistent with margins", function () {
  it("the formula reproduces the review's numbers: a 500 cap on 10,000 allows 80/441 (18.1%)", function () {
    expect(capSwing(10_000n * WAD, 500n * WAD).eq(new Rational(80n, 441n))).to.equal(true);
    // And 4bC / (b + C)^2, the same thing expanded.
    expect(capSwing(7n, 2n).eq(new Rational(4n * 7n * 2n, 81n))).to.equal(true);
  });

  it("reads every parameter file", function () {
    expect(files).to.include.members(["local.json", "opLocal.json", "optimism.json", "optimismSepolia.json"]);
  });

  for (const name of files) {
    it(`${name}: every market's cap swing is below IMR - MMR`, async function () {
      const file = await readDeploymentParameters(`${DIRECTORY}${name}`);
      const markets = Object.keys(file).filter((id) => id.startsWith("Market_"));
      expect(markets.length, "markets in the file").to.be.greaterThan(0);
      for (const id of markets) {
        const base = parameter(file, id, "baseReserve");
        const cap = parameter(file, id, "maxOpenInterest");
        const margin = new Rational(
          parameter(file, id, "initialMarginRatio") - parameter(file, id, "maintenanceMarginRatio"),
          WAD,
        );
        // A cap of 0 is off: the swing is then unbounded.
        expect(
          cap > 0n && cap < base,
          `${name} ${id}: cap ${cap} must be on and below the base reserve ${base}`,
        ).to.equal(true);
        const swing = capSwing(base, cap);
        expect(
          swing.cmp(margin) < 0,
          `${name} ${id}: swing ${swing.floorWad()} (wad) >= IMR - MMR ${margin.floorWad()} (wad)`,
        ).to.equal(true);
      }
    });
  }
});
