/**
 * The one error decoder (scripts/lib/errors.ts) the CLI, the keepers and the demo share: every
 * error of every contract under artifacts/contracts/ (the test mocks aside) decodes to its own
 * sentence, and the sentences put the arguments in human units.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { encodeBytes32String, getAddress, Interface, type ErrorFragment, type ParamType } from "ethers";
import { ErrorDecoder, SENTENCES } from "../../scripts/lib/errors.js";
import { toWad } from "../../scripts/lib/fixed.js";

/** Every error fragment of every contract artifact, with the contracts declaring it. */
function artifactErrors(): Map<string, { fragment: ErrorFragment; contracts: string[] }> {
  const root = join("artifacts", "contracts");
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter(
    (file) => file.endsWith(".json") && !file.endsWith(".dbg.json") && !file.startsWith(`test/`),
  );
  expect(files.length, "no artifacts: run `npx hardhat build` first").to.be.greaterThan(0);
  const errors = new Map<string, { fragment: ErrorFragment; contracts: string[] }>();
  for (const file of files) {
    const { contractName, abi } = JSON.parse(readFileSync(join(root, file), "utf8"));
    Interface.from(abi).forEachError((fragment) => {
      const entry = errors.get(fragment.selector) ?? { fragment, contracts: [] };
      entry.contracts.push(contractName);
      errors.set(fragment.selector, entry);
    });
  }
  return errors;
}

/** A sample value of each ABI type, to encode an error with. */
function sample(param: ParamType): unknown {
  if (param.baseType === "address") return getAddress(`0x${"12".repeat(20)}`);
  if (param.baseType.startsWith("uint") || param.baseType.startsWith("int")) return 3n;
  if (param.baseType === "bytes32") return encodeBytes32String("ETH");
  if (param.baseType === "bool") return true;
  if (param.baseType === "string") return "text";
  throw new Error(`no sample for ${param.type}: extend sample() in test/ts/Errors.test.ts`);
}

describe("Error decoder", function () {
  const decoder = new ErrorDecoder({ tokenDecimals: 6, tokenSymbol: "USDC", nameOf: () => "ETH" });
  const encode = (sig: string, args: unknown[]) =>
    new Interface([`error ${sig}`]).encodeErrorResult(sig.split("(")[0], args);

  it("has a sentence for every error of every contract", function () {
    const errors = artifactErrors();
    // ClearingHouse, Vault, Amm, the price feed, the insurance fund and the viewer declare errors.
    expect(errors.size).to.be.greaterThan(70);
    const missing = [...errors.values()]
      .filter(({ fragment }) => !(fragment.name in SENTENCES))
      .map(({ fragment, contracts }) => `${fragment.format()} (${[...new Set(contracts)].join(", ")})`);
    expect(missing, "add a line per error to SENTENCES in scripts/lib/errors.ts").to.deep.equal([]);
  });

  it("decodes every error of every contract to its own sentence", function () {
    for (const { fragment } of artifactErrors().values()) {
      const data = new Interface([fragment]).encodeErrorResult(fragment, fragment.inputs.map(sample));
      const decoded = decoder.decodeData(data);
      expect(decoded?.name, `${fragment.format()} is not decoded: list its contract in PROTOCOL_ABIS`).to.equal(
        fragment.name,
      );
      // A sentence naming an argument the error does not have would print "undefined".
      expect(decoded!.sentence, fragment.format()).to.not.match(/undefined|NaN/);
      expect(decoded!.sentence, fragment.format()).to.not.equal(`${fragment.name}(${fragment.inputs.map(() => "3")})`);
    }
  });

  it("puts the arguments in human units", function () {
    const alice = getAddress(`0x${"a1".repeat(20)}`);
    expect(decoder.explainData(encode("LeverageTooHigh(uint256,uint256)", [toWad(20), toWad(10)]))).to.equal(
      "leverage 20x is too high: this market allows at most 10x",
    );
    // 5 and 7 USDC are 5,000,000 and 7,000,000 units of a 6-decimal token.
    expect(
      decoder.explainData(encode("ERC20InsufficientBalance(address,uint256,uint256)", [alice, 5_000_000n, 7_000_000n])),
    ).to.equal(`insufficient token balance: ${alice} holds 5 USDC, needs 7 USDC`);
    expect(decoder.explainData(encode("MarketReduceOnly(address)", [alice]))).to.equal(
      "ETH is reduce-only after an uncovered bad debt: positions can only shrink",
    );
    // 0.05 and 0.0625 as 18-decimal ratios are 5% and 6.25%.
    expect(decoder.explainData(encode("MarginRatioTooLow(int256,uint256)", [toWad("0.05"), toWad("0.0625")]))).to.equal(
      "the position's margin ratio would be 5%, below the 6.25% required",
    );
    // 1,234.5 quote in 18 decimals.
    expect(
      decoder.explainData(
        encode("InsufficientFreeCollateral(address,uint256,uint256)", [alice, toWad("1234.5"), toWad(2000)]),
      ),
    ).to.equal(`insufficient collateral: ${alice} has 1,234.5 free in the Vault but 2,000 is needed (deposit more)`);
    // Unix time 7200 is 02:00 on 1 January 1970.
    expect(
      decoder.explainData(
        encode("StalePrice(bytes32,uint256,uint256,uint256)", [encodeBytes32String("ETH"), 7200n, 3600n, 14400n]),
      ),
    ).to.equal("the price of ETH is stale: last updated 1970-01-01T02:00:00Z, older than its 3600 s heartbeat");
    // The settlement's index TWAP of 3,100 against an index of 2,850 now, or no valid index at all.
    const stale = "SettlementIndexStale(address,uint256,uint256)";
    expect(decoder.explainData(encode(stale, [alice, toWad(3_100), toWad(2_850)]))).to.equal(
      "ETH cannot be settled at a stale index: its TWAP is 3,100 but the index is now 2,850 (more than 2% apart); " +
        "record the index over the next 15 minutes (keepers poke it), then settle",
    );
    expect(decoder.explainData(encode(stale, [alice, toWad(3_100), 0n]))).to.equal(
      "ETH cannot be settled now: its oracle gives no valid index price to back the index TWAP of 3,100",
    );
    // A claim queue of 3 entries has indices 0, 1 and 2; the argument named `length` is read by position.
    const outOfRange = "ClaimIndexOutOfRange(address,uint256,uint256)";
    expect(decoder.explainData(encode(outOfRange, [alice, 5n, 3n]))).to.equal(
      "the claim queue of ETH has entries 0 to 2: there is no entry 5",
    );
    expect(decoder.explainData(encode(outOfRange, [alice, 0n, 0n]))).to.equal(
      "the claim queue of ETH has no entries: there is no entry 0",
    );
    // InsufficientMarginPool is gone: a close no longer reverts for lack of pool money.
    expect(decoder.explainData(encode("InsufficientMarginPool(uint256,uint256)", [1n, 2n]))).to.equal(undefined);
  });

  it("decodes Panic and Error(string), and nothing else", function () {
    expect(decoder.explainData(`0x4e487b71${"11".padStart(64, "0")}`)).to.equal(
      "the contract failed: an amount overflowed or went below zero",
    );
    expect(decoder.explainData(encode("Error(string)", ["no"]))).to.equal("reverted: no");
    expect(decoder.explainData("0xdeadbeef")).to.equal(undefined);
  });

  it("names the error in a keeper's line, and tells a revert from an RPC failure", function () {
    const amm = getAddress(`0x${"11".repeat(20)}`);
    const data = encode("MarketNotListed(address)", [amm]);
    const plain = new ErrorDecoder();
    expect(plain.describe({ code: "CALL_EXCEPTION", data })).to.equal(
      `MarketNotListed: the market ${amm} is not listed`,
    );
    expect(plain.describe({ code: "CALL_EXCEPTION", data: "0x12345678" })).to.equal(
      "UnknownError: an unknown error (selector 0x12345678)",
    );
    expect(plain.describe({ code: "CALL_EXCEPTION" })).to.equal("NoData: a revert without data");
    // A failed eth_call through ethers is a CALL_EXCEPTION even when the transport failed.
    expect(plain.describe({ code: "CALL_EXCEPTION", info: { error: { code: "ETIMEDOUT" } } })).to.equal(undefined);
    expect(plain.explain({ code: "CALL_EXCEPTION", data })).to.equal(`the market ${amm} is not listed`);
  });
});
