/**
 * Bytecode-size snapshot: the deployed (runtime) code size of every contract of `contracts/` that
 * is deployed on its own, and the room left under the EIP-170 limit, printed as a table and
 * written to reports/size.json. Run: `npm run bench:size`.
 *
 * Also the Amm's creation code (with its constructor arguments) against EIP-3860's initcode limit.
 *
 * With `SIZE_CHECK=1` (`npm run bench:size:check`) it writes nothing and fails if a contract is
 * over the limit, if the Amm's creation code is over EIP-3860's, if the ClearingHouse has less than `CLEARING_HOUSE_MIN_HEADROOM` bytes left (room
 * for the features still to come), or if a size differs from the committed reports/size.json.
 *
 * Left out: the mocks and harnesses of `contracts/test/`, interfaces and abstract contracts (no
 * code of their own) and libraries with internal functions only (the compiler inlines them into
 * their users; such a library's artifact is a call-protection stub with an empty ABI).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { artifacts } from "hardhat";
import { formatTable } from "./lib/format.js";

/** EIP-170: the largest runtime code a contract may deploy (0x6000 bytes). */
export const EIP170_LIMIT = 24_576;
/** The ClearingHouse must keep at least this much room under the limit for what is still to come. */
export const CLEARING_HOUSE_MIN_HEADROOM = 4_096;
const CLEARING_HOUSE = "ClearingHouse";
const REPORT = "reports/size.json";

interface SizeEntry {
  /** Runtime bytecode, bytes. */
  deployedBytes: number;
  /** EIP170_LIMIT - deployedBytes (negative when over). */
  bytesLeft: number;
}

const sizes: Record<string, SizeEntry> = {};
for (const name of [...(await artifacts.getAllFullyQualifiedNames())].sort()) {
  const [sourceName] = name.split(":");
  if (!sourceName.startsWith("contracts/") || sourceName.startsWith("contracts/test/")) continue;
  const artifact = await artifacts.readArtifact(name);
  const deployedBytes = (artifact.deployedBytecode.length - 2) / 2;
  // Interfaces and abstract contracts have no code; internal-only libraries have no ABI.
  if (deployedBytes === 0 || artifact.abi.length === 0) continue;
  sizes[artifact.contractName] = { deployedBytes, bytesLeft: EIP170_LIMIT - deployedBytes };
}
if (sizes[CLEARING_HOUSE] === undefined) throw new Error(`no ${CLEARING_HOUSE} artifact: run \`npx hardhat build\``);

const fmt = (n: number) => n.toLocaleString("en-US");

/** EIP-3860: the largest creation code (initcode, constructor arguments included) a deployment may send. */
export const EIP3860_LIMIT = 49_152;
/**
 * The Amm's creation code with its eight constructor words must fit EIP-3860's limit. (Until the
 * AmmCurveModule was deployed once for every market, each Amm deployed its own and carried its
 * creation code: 39 bytes were left.)
 */
const AMM_CONSTRUCTOR_ARGS_BYTES = 8 * 32;
const ammArtifact = await artifacts.readArtifact("Amm");
const ammInitcode = (ammArtifact.bytecode.length - 2) / 2 + AMM_CONSTRUCTOR_ARGS_BYTES;
const ammInitcodeLeft = EIP3860_LIMIT - ammInitcode;
console.log(
  formatTable(
    ["contract", "deployed bytes", "bytes left", ""],
    Object.entries(sizes).map(([name, s]) => [
      name,
      fmt(s.deployedBytes),
      fmt(s.bytesLeft),
      s.bytesLeft < 0
        ? "OVER THE EIP-170 LIMIT"
        : name === CLEARING_HOUSE && s.bytesLeft < CLEARING_HOUSE_MIN_HEADROOM
          ? `under the ${fmt(CLEARING_HOUSE_MIN_HEADROOM)}-byte headroom`
          : "",
    ]),
  ),
);

console.log(
  `Amm creation code with its constructor arguments: ${fmt(ammInitcode)} bytes, ` +
    `${fmt(ammInitcodeLeft)} left under EIP-3860's ${fmt(EIP3860_LIMIT)}` +
    (ammInitcodeLeft < 0 ? ": OVER THE LIMIT (the Amm cannot be deployed)" : ""),
);

if (process.env.SIZE_CHECK) {
  const snapshot = existsSync(REPORT) ? (JSON.parse(readFileSync(REPORT, "utf8")) as Record<string, SizeEntry>) : {};
  const problems: string[] = [];
  let changed = false;
  for (const [name, s] of Object.entries(sizes)) {
    if (s.bytesLeft < 0)
      problems.push(`${name}: ${fmt(s.deployedBytes)} bytes, over the EIP-170 limit of ${fmt(EIP170_LIMIT)}`);
    if (snapshot[name]?.deployedBytes !== s.deployedBytes) {
      changed = true;
      problems.push(
        `${name}: ${fmt(s.deployedBytes)} bytes differs from the snapshot ${snapshot[name]?.deployedBytes}`,
      );
    }
  }
  for (const name of Object.keys(snapshot)) {
    if (sizes[name] !== undefined) continue;
    changed = true;
    problems.push(`${name}: in the snapshot but no longer built`);
  }
  if (ammInitcodeLeft < 0) {
    problems.push(`Amm: creation code ${fmt(ammInitcode)} bytes, over EIP-3860's ${fmt(EIP3860_LIMIT)}`);
  }
  const clearingHouse = sizes[CLEARING_HOUSE];
  if (clearingHouse.bytesLeft < CLEARING_HOUSE_MIN_HEADROOM) {
    problems.push(
      `${CLEARING_HOUSE}: only ${fmt(clearingHouse.bytesLeft)} bytes left under the EIP-170 limit; it must keep ` +
        `${fmt(CLEARING_HOUSE_MIN_HEADROOM)} (CLEARING_HOUSE_MIN_HEADROOM) for what is still to come: ` +
        `${fmt(CLEARING_HOUSE_MIN_HEADROOM - clearingHouse.bytesLeft)} bytes to shed`,
    );
  }
  if (problems.length > 0) {
    if (changed) problems.push(`If the change is intended, run \`npm run bench:size\` and commit ${REPORT}.`);
    console.error(problems.join("\n"));
    process.exit(1);
  }
  console.log(`sizes match ${REPORT}, every contract fits, and the ClearingHouse keeps its headroom`);
} else {
  mkdirSync("reports", { recursive: true });
  writeFileSync(REPORT, JSON.stringify(sizes, null, 2) + "\n");
  console.log(`written ${REPORT}`);
}
