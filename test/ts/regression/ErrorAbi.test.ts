/**
 * A dApp holding only the ClearingHouse's ABI must decode every revert a call to it can surface:
 * its modules' errors (they run in its context), and those of the contracts it calls (the Amm and,
 * through it, the price feed; the Vault; the sequencer check).
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";

type AbiItem = { type: string; name: string; inputs: { type: string }[] };

function errorsOf(artifact: string): string[] {
  const abi = JSON.parse(readFileSync(`artifacts/contracts/${artifact}`, "utf8")).abi as AbiItem[];
  return abi.filter((i) => i.type === "error").map((e) => `${e.name}(${e.inputs.map((i) => i.type).join(",")})`);
}

/** Errors of a called contract that no ClearingHouse call can reach, and why. */
const UNREACHABLE: Record<string, string> = {
  // Raised by the Vault's token transfers: deposit, withdraw and the insurance fund's moves, which
  // the ClearingHouse never calls (it only moves ledger balances with settle).
  "SafeERC20FailedOperation(address)": "Vault token transfers only",
  // Raised by settle only if a market's locked margin went below zero: the ClearingHouse releases
  // only margins it locked (the difference of a position's stored margins), so no call reaches it.
  "SafeCastOverflowedIntToUint(int256)": "Vault locked margin below zero: unreachable by construction",
};

describe("Regression: the ClearingHouse ABI declares every error a call to it can surface", function () {
  const clearingHouse = new Set(errorsOf("ClearingHouse.sol/ClearingHouse.json"));
  for (const artifact of [
    "clearinghouse/AdminModule.sol/AdminModule.json",
    "clearinghouse/LiquidationModule.sol/LiquidationModule.json",
    "clearinghouse/SettlementModule.sol/SettlementModule.json",
    "Amm.sol/Amm.json",
    "Vault.sol/Vault.json",
    "ChainlinkPriceFeed.sol/ChainlinkPriceFeed.json",
  ]) {
    it(`every error of ${artifact.split("/").at(-1)!.replace(".json", "")}`, function () {
      const errors = errorsOf(artifact);
      expect(errors.length).to.be.greaterThan(0);
      const missing = errors.filter((e) => !clearingHouse.has(e) && UNREACHABLE[e] === undefined);
      expect(missing, "errors missing from the ClearingHouse ABI").to.deep.equal([]);
    });
  }

  it("the errors a trade through the Amm and the Vault raises most often are among them", function () {
    for (const e of [
      "InsufficientFreeCollateral(address,uint256,uint256)",
      "TradeTooLarge(uint256,uint256)",
      "PriceFluctuationLimitExceeded(uint256,uint256)",
      "OpenInterestCapExceeded(uint256,uint256)",
      "ZeroSwapAmount()",
      "InsufficientReserve(uint256,uint256)",
      "SequencerDown()",
      "StalePrice(bytes32,uint256,uint256,uint256)",
    ]) {
      expect(clearingHouse.has(e), e).to.equal(true);
    }
  });
});
