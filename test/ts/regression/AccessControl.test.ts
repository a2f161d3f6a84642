/**
 * Regression (issue 6): access control. A table of every privileged function of every contract,
 * each called by a stranger and expected to revert with its named error; the table is checked
 * against the contracts' ABIs, so a new state-changing function that is neither in it nor in the
 * list of public entry points fails the test. Then two-step ownership on every owned contract.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { BaseContract } from "ethers";
import { STATIC_CURVE_PARAMS } from "../../../deploy/defaults.js";
import { MAX_DEADLINE, Side } from "../../../scripts/lib/deploy.js";
import { toWad } from "../../../scripts/lib/fixed.js";
import { deployFixture } from "./setup.js";

const { ethers } = await network.create();

/** State-changing functions anyone may call, by contract. */
const PUBLIC: Record<string, string[]> = {
  ClearingHouse: [
    "openPosition",
    "closePosition",
    "reducePosition",
    "liquidate",
    "liquidateWithLimit",
    "addMargin",
    "removeMargin",
    "updateFunding",
    "settlePosition",
    // Moves the caller's own free collateral into a market's AMM budget.
    "contributeToBudget",
    "acceptOwnership",
  ],
  Amm: ["pokeIndex", "acceptOwnership"],
  // payClaims pays queued claims from what their market's pool holds beyond its locked margin: anyone may call it.
  Vault: ["deposit", "depositFor", "withdraw", "payClaims"],
  ChainlinkPriceFeed: ["acceptOwnership"],
  InsuranceFund: [
    "approve",
    "transfer",
    "transferFrom",
    "deposit",
    "mint",
    "withdraw",
    "redeem",
    "requestRedeem",
    "cancelRedeem",
    "completeRedeem",
    "acceptOwnership",
  ],
  ClearingHouseViewer: [],
};

describe("Regression: access control", function () {
  it("access control on every privileged function", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    const s = fx.stranger;
    const { priceFeed, aggregator, asset } = fx.oracle!;
    const market = fx.market;
    const params = { initialMarginRatio: toWad("0.1"), maintenanceMarginRatio: toWad("0.05"), feeRatio: 0n };
    const liqParams = {
      feeRatio: toWad("0.0125"),
      partialBuffer: toWad("0.025"),
      maxSpreadRatio: toWad("0.1"),
      markTwapInterval: 900,
      minPositionNotional: toWad(10),
    };
    const OWNER = "OwnableUnauthorizedAccount";
    const contracts: Record<string, BaseContract> = {
      ClearingHouse: fx.ch,
      Amm: fx.amm,
      Vault: fx.vault,
      ChainlinkPriceFeed: priceFeed,
      InsuranceFund: fx.insuranceFund,
      ClearingHouseViewer: fx.viewer,
    };
    // [contract, function, args, error]
    const table: Array<[string, string, unknown[], string]> = [
      ["ClearingHouse", "setVault", [await fx.vault.getAddress()], OWNER],
      ["ClearingHouse", "setInsuranceFund", [s.address], OWNER],
      ["ClearingHouse", "addMarket", [market, params], OWNER],
      ["ClearingHouse", "setMarketParams", [market, params], OWNER],
      ["ClearingHouse", "setLiquidationParams", [liqParams], OWNER],
      ["ClearingHouse", "pause", [], OWNER],
      ["ClearingHouse", "unpause", [], OWNER],
      ["ClearingHouse", "setSequencerGracePeriod", [3_600], OWNER],
      ["ClearingHouse", "settleMarket", [market], OWNER],
      ["ClearingHouse", "transferOwnership", [s.address], OWNER],
      ["ClearingHouse", "renounceOwnership", [], OWNER],
      ["Amm", "setLimits", [{ maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n }], OWNER],
      ["Amm", "setOracle", [await priceFeed.getAddress(), asset], OWNER],
      ["Amm", "setIndexBand", [toWad("0.03")], OWNER],
      ["Amm", "setFundingSubsidyRatio", [toWad("0.01")], OWNER],
      ["Amm", "setFundingParams", [{ maxPremiumRatio: 0n, minUpdateInterval: 300, maxAccrualPeriod: 3600 }], OWNER],
      ["Amm", "setCurveParams", [STATIC_CURVE_PARAMS], OWNER],
      ["Amm", "transferOwnership", [s.address], OWNER],
      ["Amm", "renounceOwnership", [], OWNER],
      ["Amm", "swapQuote", [Side.LONG, toWad(100), 0n, 0n], "OnlyClearingHouse"],
      ["Amm", "swapBase", [toWad(1), toWad(1), 0n], "OnlyClearingHouse"],
      ["Amm", "repegAndGetReserves", [0n], "OnlyClearingHouse"],
      ["Amm", "repegAndGetLiquidationInputs", [900n, true, 0n], "OnlyClearingHouse"],
      ["Amm", "holdCurveForClose", [true], "OnlyClearingHouse"],
      ["Amm", "updateFunding", [0n, false], "OnlyClearingHouse"],
      ["Amm", "shutdown", [0n], "OnlyClearingHouse"],
      ["Amm", "creditBudget", [1n], "OnlyClearingHouse"],
      ["Amm", "releaseBudget", [], "OnlyClearingHouse"],
      ["Amm", "collectGains", [1n], "OnlyClearingHouse"],
      ["Amm", "coverBadDebt", [1n], "OnlyClearingHouse"],
      ["Vault", "settle", [s.address, market, toWad(1), -toWad(1), 0n, 0n], "OnlyClearingHouse"],
      ["Vault", "moveMargin", [s.address, market, toWad(1)], "OnlyClearingHouse"],
      ["Vault", "closeMarket", [market], "OnlyClearingHouse"],
      [
        "Vault",
        "settleLiquidation",
        [market, s.address, toWad(1), 0n, 0n, 0n, s.address, toWad(1), 0n],
        "OnlyClearingHouse",
      ],
      ["Vault", "advanceToPool", [market, toWad(1)], "OnlyClearingHouse"],
      ["Vault", "setInsuranceFund", [s.address], "OnlyClearingHouse"],
      ["Vault", "depositInsurance", [1n], "OnlyInsuranceFund"],
      ["Vault", "withdrawInsurance", [s.address, 1n], "OnlyInsuranceFund"],
      ["ChainlinkPriceFeed", "setAsset", [asset, await aggregator.getAddress(), 60, 1n, 2n], OWNER],
      ["ChainlinkPriceFeed", "removeAsset", [asset], OWNER],
      ["ChainlinkPriceFeed", "transferOwnership", [s.address], OWNER],
      ["ChainlinkPriceFeed", "renounceOwnership", [], OWNER],
      ["InsuranceFund", "setCooldown", [86_400 * 2], OWNER],
      ["InsuranceFund", "setRedeemWindow", [86_400 * 2], OWNER],
      ["InsuranceFund", "transferOwnership", [s.address], OWNER],
      ["InsuranceFund", "renounceOwnership", [], OWNER],
    ];
    // Every state-changing function is either public or in the table.
    for (const [name, contract] of Object.entries(contracts)) {
      const guarded = table.filter(([c]) => c === name).map(([, f]) => f);
      contract.interface.forEachFunction((f) => {
        if (f.stateMutability === "view" || f.stateMutability === "pure") return;
        expect(
          PUBLIC[name].includes(f.name) || guarded.includes(f.name),
          `${name}.${f.name} is neither public nor in the access-control table`,
        ).to.equal(true);
      });
    }
    for (const [name, fn, args, error] of table) {
      const contract = contracts[name].connect(s) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      await expect(contract[fn](...args), `${name}.${fn}`)
        .to.be.revertedWithCustomError(contracts[name], error)
        .withArgs(s.address);
    }
    // Nothing changed: the owner still owns everything and the market still trades.
    for (const name of ["ClearingHouse", "Amm", "ChainlinkPriceFeed", "InsuranceFund"]) {
      const owned = contracts[name] as unknown as { owner: () => Promise<string> };
      expect(await owned.owner()).to.equal(fx.owner.address);
    }
    await (
      await fx.ch.connect(fx.alice).openPosition(market, Side.LONG, toWad(100), toWad(5), 0n, MAX_DEADLINE)
    ).wait();
  });

  it("two-step ownership", async function () {
    const fx = await deployFixture(ethers, { oracle: true });
    const [newOwner, s] = [fx.erin, fx.stranger];
    const owned = [fx.ch, fx.amm, fx.oracle!.priceFeed, fx.insuranceFund];
    for (const c of owned) {
      const name = await c.getAddress();
      await (await c.connect(fx.owner).transferOwnership(newOwner.address)).wait();
      // Step one changes nothing but the pending owner.
      expect(await c.owner(), name).to.equal(fx.owner.address);
      expect(await c.pendingOwner(), name).to.equal(newOwner.address);
      // Nobody else can accept.
      await expect(c.connect(s).acceptOwnership(), name)
        .to.be.revertedWithCustomError(c, "OwnableUnauthorizedAccount")
        .withArgs(s.address);
      await expect(c.connect(fx.owner).acceptOwnership(), name)
        .to.be.revertedWithCustomError(c, "OwnableUnauthorizedAccount")
        .withArgs(fx.owner.address);
      await expect(c.connect(newOwner).acceptOwnership())
        .to.emit(c, "OwnershipTransferred")
        .withArgs(fx.owner.address, newOwner.address);
      expect(await c.owner(), name).to.equal(newOwner.address);
      expect(await c.pendingOwner(), name).to.equal(ethers.ZeroAddress);
      // The old owner is now a stranger.
      await expect(c.connect(fx.owner).transferOwnership(fx.owner.address), name)
        .to.be.revertedWithCustomError(c, "OwnableUnauthorizedAccount")
        .withArgs(fx.owner.address);
    }
    // The new owner holds the powers: e.g. pausing the ClearingHouse.
    await (await fx.ch.connect(newOwner).pause()).wait();
    expect(await fx.ch.paused()).to.equal(true);
  });
});
