/**
 * The trader and operator CLI (tasks/), run through the same entry point the Hardhat tasks use
 * (runTask) against a system deployed with scripts/lib/deploy.ts on the embedded network: its
 * printed output, its effect on chain, and the plain messages of bad input and reverts.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { CliError, PerpClient, Side, slippageBound } from "../../scripts/lib/client.js";
import { deployCore, deployMarket, deployOracle, MAX_DEADLINE, type System } from "../../scripts/lib/deploy.js";
import {
  abs,
  formatPercent,
  formatUnits,
  parseDecimal,
  parseRatio,
  toWad,
  tokenToWad,
  WAD,
  wadToToken,
} from "../../scripts/lib/fixed.js";
import { CapturedOutput, formatTable } from "../../scripts/lib/format.js";
import { unknownFlagHint } from "../../tasks/flags.js";
import { runTask, START_A_NODE, type RunOptions } from "../../tasks/run.js";
import type { Amm } from "../../typechain-types/index.js";
import { LONG, reservesAfterBase, reservesAfterQuote, SHORT } from "./helpers/pricing.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const hre = { network: { getOrCreate: async () => connection } } as unknown as Parameters<typeof runTask>[2];
const USDC = (n: number | string) => parseDecimal(String(n), 6);
/** An 18-decimal amount as the CLI prints it: up to 6 decimals, trailing zeros dropped. */
const fmt6 = (v: bigint): string => formatUnits(v, 18, 6);

/** A dynamic curve for the CLI's ETH market (2,000,000 / 1,000): its budget floor and target sized to it. */
const DYNAMIC_CURVE = {
  repegThresholdRatio: toWad("0.005"),
  baseSpreadRatio: toWad("0.00025"),
  maxSpreadRatio: toWad("0.01"),
  maxVammLeverage: toWad(5),
  fundShareRatio: toWad("0.25"),
  budgetFloor: toWad(54),
  budgetTarget: toWad(270),
  maxDepthChangeRatio: toWad("0.01"),
  minDepthRatio: toWad("0.95"),
  maxDepthRatio: toWad(3),
};

describe("CLI", function () {
  let system: System;
  let eth: Amm;
  let btc: Amm;
  let chAddress: string;
  let viewer: string;
  let owner: Awaited<ReturnType<typeof ethers.getSigners>>[number];
  let alice: typeof owner;
  let bob: typeof owner;

  /** Runs a command as `from` (an account index) and returns its output and result. */
  async function run(name: string, args: Record<string, string> = {}, from = "1", options: RunOptions = {}) {
    const out = new CapturedOutput();
    const result = await runTask(name, { clearingHouse: chAddress, viewer, from, ...args }, hre, {
      out,
      env: {},
      deploymentsDir: "/nonexistent",
      ...options,
    });
    return { result, out, text: out.text, error: out.errors.join("\n") };
  }

  async function ok(name: string, args: Record<string, string> = {}, from = "1", options: RunOptions = {}) {
    const r = await run(name, args, from, options);
    expect(r.error, `${name} failed`).to.equal("");
    expect(r.result.success).to.equal(true);
    return r;
  }

  async function fails(name: string, args: Record<string, string>, from = "1", options: RunOptions = {}) {
    const r = await run(name, args, from, options);
    expect(r.result.success, `${name} should fail`).to.equal(false);
    expect(r.out.errors).to.have.length(1);
    expect(r.error).to.match(/^Error: /);
    return r.error.slice("Error: ".length);
  }

  async function fixture() {
    const system = await deployCore(ethers);
    // ETH at 2,000 with a 0.1% fee; BTC at 50,000 without.
    const eth = await deployMarket(ethers, system, {
      quoteReserve: toWad(2_000_000),
      baseReserve: toWad(1_000),
      feeRatio: toWad("0.001"),
    });
    const btc = await deployMarket(ethers, system, { quoteReserve: toWad(5_000_000), baseReserve: toWad(100) });
    const { priceFeed } = await deployOracle(ethers, system, eth, { symbol: "ETH", price: toWad(2_000) });
    await deployOracle(ethers, system, btc, { symbol: "BTC", price: toWad(50_000), priceFeed });
    const [, alice, bob] = await ethers.getSigners();
    for (const t of [alice, bob]) await (await system.usdc.mint(t.address, USDC(100_000))).wait();
    return { system, eth, btc };
  }

  beforeEach(async function () {
    ({ system, eth, btc } = await networkHelpers.loadFixture(fixture));
    chAddress = await system.clearingHouse.getAddress();
    viewer = await system.viewer.getAddress();
    [owner, alice, bob] = await ethers.getSigners();
  });

  describe("client library", function () {
    it("parses human amounts and ratios exactly, and refuses what it cannot represent", function () {
      expect(parseDecimal("1,250.5")).to.equal(toWad("1250.5"));
      expect(parseDecimal("0.000001", 6)).to.equal(1n);
      expect(() => parseDecimal("0.0000001", 6)).to.throw(/more than 6 digits/);
      expect(() => parseDecimal("abc")).to.throw(/not a number/);
      expect(parseDecimal("-3")).to.equal(-3n * WAD);
      expect(parseRatio("0.5%")).to.equal(toWad("0.005"));
      expect(parseRatio("50bps")).to.equal(toWad("0.005"));
      expect(parseRatio("0.005")).to.equal(toWad("0.005"));
      expect(formatPercent(toWad("0.0625"))).to.equal("6.25%");
      expect(formatUnits(-toWad("1234.5"), 18, 2)).to.equal("-1,234.5");
    });

    it("converts token units as the Vault does: exact in, rounded down out", function () {
      expect(tokenToWad(USDC("1.5"), 6)).to.equal(toWad("1.5"));
      expect(wadToToken(toWad("1.5") + 1n, 6)).to.equal(USDC("1.5"));
      expect(wadToToken(toWad("1.5") + 1n, 6, "up")).to.equal(USDC("1.5") + 1n);
    });

    it("bounds a trade by the slippage, rounding against the trader only by the bound itself", function () {
      expect(slippageBound(1000n, toWad("0.01"), "min")).to.equal(990n);
      expect(slippageBound(1000n, toWad("0.01"), "max")).to.equal(1010n);
      expect(slippageBound(999n, 0n, "min")).to.equal(999n);
      expect(slippageBound(1001n, toWad("0.001"), "min")).to.equal(1000n); // 999.999 rounded up
      expect(() => slippageBound(1n, WAD, "min")).to.throw(CliError);
    });

    it("connects from the ClearingHouse alone and names markets by their oracle's asset", async function () {
      const client = await PerpClient.connect(alice, { clearingHouse: chAddress });
      expect(client.markets.map((m) => m.symbol)).to.deep.equal(["ETH", "BTC"]);
      expect(client.collateralDecimals).to.equal(6);
      expect(await client.vault.getAddress()).to.equal(await system.vault.getAddress());
      expect(client.market("eth").address).to.equal(await eth.getAddress());
      expect(client.market("BTC/USD").address).to.equal(await btc.getAddress());
      expect(client.market(await btc.getAddress()).symbol).to.equal("BTC");
      expect(() => client.market("DOGE")).to.throw(/unknown market "DOGE": the markets are ETH, BTC/);
      // The open preview (the viewer's, the trade's own rules) matches what the trade then gets, to the wei.
      await (await system.usdc.connect(alice).approve(await system.vault.getAddress(), USDC(1000))).wait();
      await (await system.vault.connect(alice).deposit(USDC(1000))).wait();
      const q = await system.viewer.previewOpen(await eth.getAddress(), alice.address, Side.LONG, toWad(100), toWad(5));
      expect(q.quoteAmount).to.equal(toWad(500));
      expect(q.fee).to.equal(toWad("0.5"));
      await (
        await system.clearingHouse
          .connect(alice)
          .openPosition(await eth.getAddress(), Side.LONG, toWad(100), toWad(5), q.baseDelta, MAX_DEADLINE)
      ).wait();
      expect((await system.clearingHouse.getPosition(await eth.getAddress(), alice.address)).size).to.equal(
        q.baseDelta,
      );
    });

    it("prints aligned tables, numbers to the right", function () {
      expect(
        formatTable(
          ["market", "size"],
          [
            ["ETH", "1.5"],
            ["BTC", "-10.25"],
          ],
        ).split("\n"),
      ).to.deep.equal(["market    size", "------  ------", "ETH        1.5", "BTC     -10.25"]);
    });
  });

  describe("trader commands", function () {
    it("markets: mark, index, funding rate, open interest, each curve and the insurance fund", async function () {
      const { text } = await ok("markets");
      const lines = text.split("\n");
      expect(lines[0]).to.match(
        /^market\s+status\s+mark\s+index\s+funding\/day\s+long OI\s+short OI\s+max lev\.\s+fee/,
      );
      expect(lines[2]).to.match(/^ETH\s+active\s+2,000\s+2,000\s+0%\s+0\s+0\s+10x\s+0\.1%/);
      expect(lines[3]).to.match(/^BTC\s+active\s+50,000\s+50,000\s+0%\s+0\s+0\s+10x\s+0%/);
      // The curves: static (the constructor's), at launch, no budget, nothing held.
      expect(lines[4]).to.match(/^market\s+peg\s+depth\s+budget\s+floor \/ target\s+bid\s+ask\s+net position$/);
      expect(lines[6].split(/\s{2,}/)).to.deep.equal(["ETH", "1", "1x", "0", "0 / 0", "2,000", "2,000", "0"]);
      expect(lines[7].split(/\s{2,}/)).to.deep.equal(["BTC", "1", "1x", "0", "0 / 0", "50,000", "50,000", "0"]);
      expect(lines[8]).to.match(/^peg and depth: multiples of the launch price and liquidity/);
      expect(lines[9]).to.equal("insurance fund: 0");
    });

    it("deposit, open, positions, add and remove margin, close, withdraw", async function () {
      let r = await ok("deposit", { amount: "1,000" });
      expect(r.text).to.match(/approve 1,000 USDC to the Vault: tx 0x/);
      expect(r.text).to.match(/deposit 1,000 USDC: tx 0x/);
      expect(r.text).to.contain("free collateral: 1,000");
      expect(await system.vault.balanceOf(alice.address)).to.equal(USDC(1000));

      r = await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "5x", slippage: "0.5%" });
      expect(r.text).to.match(/trade:\s+open: long ETH/);
      expect(r.text).to.match(/margin:\s+100 x 5 = notional 500/);
      expect(r.text).to.match(/fee:\s+0\.5\b/);
      // 1,000 x 500 / 2,000,500 = 0.24993751... base expected at 500 / that = 2,000.5; at least 0.995
      // of it: 0.24868782...
      expect(r.text).to.match(/expected size:\s+0\.249937 at 2,000\.5\n/);
      expect(r.text).to.match(/min size:\s+0\.248687 \(slippage 0\.5%\)/);
      expect(r.text).to.match(/position after:\s+long 0\.249937 ETH, margin 100, open notional 500\n/);
      expect(r.text).to.match(/free collateral:\s+100\.5 out of free collateral/);
      // Spot after: 2,000,500^2 / 2e9 = 2,001.000125; ratio (100 + 0.125) / 500.125 = 20.0199...%;
      // maintenance 6.25% is reached where 0.24993751... x P x 0.9375 = 400: P = 1,707.0933...
      expect(r.text).to.match(/margin ratio after:\s+20\.01% at mark 2,001\.0001, liquidation price 1,707\.0933\n/);
      expect(r.text).to.match(/open long ETH: tx 0x/);
      expect(r.text).to.match(
        /position: long 0\.249937 ETH, margin 100, entry 2,000\.5, fee 0\.5; 100\.5 out of free collateral/,
      );
      const p = await system.clearingHouse.getPosition(await eth.getAddress(), alice.address);
      expect(p.margin).to.equal(toWad(100));
      expect(await system.vault.freeCollateral(alice.address)).to.equal(toWad("899.5"));

      r = await ok("positions");
      let lines = r.text.split("\n");
      expect(lines[0]).to.equal(`trader ${alice.address}, free collateral 899.5`);
      expect(lines[1]).to.match(
        /^market\s+side\s+size\s+margin\s+entry\s+mark\s+PnL\s+funding\s+margin ratio\s+liq\. ratio\s+liq\. price$/,
      );
      // The pool is 2,000,500 / 999.750062...: mark 2,001.0001; the 0.24993751 base are worth 500.125 at
      // it, PnL +0.125; margin ratio (100 + 0.125) / 500.125 = 20.0199...%. Liquidation values the long
      // at the better of the spot and the mark TWAP (2,000 before the trade): the spot, the same ratio.
      expect(lines[3]).to.match(
        /^ETH\s+long\s+0\.249937\s+100\s+2,000\.5\s+2,001\.0001\s+\+0\.12\s+0\s+20\.01%\s+20\.01%\s+1,707\.0933$/,
      );
      expect(lines[4]).to.match(/^margin ratio: at the spot price; liq\. ratio: the one liquidation is judged by/);
      expect(lines).to.have.length(5); // no BTC row
      const liq = await system.viewer.getLiquidationPrice(await eth.getAddress(), alice.address);
      expect(lines[3]).to.contain(formatUnits(liq, 18, 4));

      r = await ok("add-margin", { market: "ETH", amount: "50" });
      expect(r.text).to.match(/add margin 50 to ETH: tx 0x/);
      // (150 + 0.125) / 500.125 = 30.017...%, then (125 + 0.125) / 500.125 = 25.018...%.
      expect(r.text).to.contain("margin: 150, margin ratio 30.01%");
      r = await ok("remove-margin", { market: "ETH", amount: "25" });
      // 150 margin, exit value 500 less 637 wei: 10% of it must stay, so 100 less 573.3 wei can go.
      expect(r.text).to.contain("removable now: at most 99.999999");
      expect(r.text).to.contain("margin: 125, margin ratio 25.01%");

      r = await ok("close", { market: "ETH" });
      expect(r.text).to.match(/close:\s+long 0\.249937 ETH/);
      // Selling the 0.24993751 base back gives 500 less 637 wei of rounding: at least 0.995 of it is
      // 497.4999...; PnL -637 wei (printed 0), fee 0.1% of it rounded up = 0.5, and 125 - 0.5 - 637 wei
      // = 124.4999... back.
      expect(r.text).to.match(/min proceeds:\s+497\.4999 \(slippage 0\.5%\)/);
      expect(r.text).to.contain("closed: realised PnL 0, funding 0, fee 0.5, 124.4999 back to free collateral");
      expect((await system.clearingHouse.getPosition(await eth.getAddress(), alice.address)).size).to.equal(0n);
      expect((await ok("positions")).text).to.contain("no open positions");

      const before = await system.usdc.balanceOf(alice.address);
      const free = await system.vault.balanceOf(alice.address);
      r = await ok("withdraw", { amount: "all" });
      expect(await system.usdc.balanceOf(alice.address)).to.equal(before + free);
      expect(r.text).to.contain(`withdraw ${formatUnits(free, 6, 6)} USDC`);
    });

    it("opens a short with a maximum size, and reads the ClearingHouse from CLEARING_HOUSE", async function () {
      await ok("deposit", { amount: "1000" });
      const r = await run(
        "open",
        { clearingHouse: "", market: "BTC", side: "short", margin: "200", leverage: "3" },
        "1",
        {
          env: { CLEARING_HOUSE: chAddress },
        },
      );
      expect(r.error).to.equal("");
      // 600 quote out of 5,000,000 / 100: 100 x 600 / 4,999,400 = 0.01200144... base; at most 1.005 of it.
      expect(r.text).to.match(/max size:\s+0\.012061 \(slippage 0\.5%\)/);
      expect(r.text).to.contain("position: short 0.012001 BTC, margin 200, ");
      // Without a viewer, positions still prints, with no liquidation price.
      const p = await run("positions", { viewer: "" });
      expect(p.text).to.match(/BTC\s+short.*\s+n\/a$/m);
      expect(p.text).to.contain("(liquidation prices need the ClearingHouseViewer");
    });
  });

  describe("claims: profit the market's pool cannot pay yet", function () {
    it("a winner who closes before the losers: part paid, the rest queued, shown, then paid by anyone", async function () {
      // BTC: 5,000,000 quote / 100 base, no fee, no funding. Dave (account 3) shorts 1,000; Alice
      // buys 5,000 and Bob 25,000 after him, pushing the price up. The model pool gives the figures.
      const pool = { quote: toWad(5_000_000), base: toWad(100) };
      const trade = (side: 0 | 1, notional: bigint) => {
        const r = reservesAfterQuote(pool.quote, pool.base, side, notional);
        Object.assign(pool, { quote: r.newQuote, base: r.newBase });
        return side === LONG ? r.base : -r.base;
      };
      const closeAll = (size: bigint, notional: bigint) => {
        const r = reservesAfterBase(pool.quote, pool.base, size, abs(size));
        Object.assign(pool, { quote: r.newQuote, base: r.newBase });
        return size > 0n ? r.quote - notional : notional - r.quote; // realised PnL
      };
      const daveSize = trade(SHORT, toWad(1_000));
      const aliceSize = trade(LONG, toWad(5_000));
      const bobSize = trade(LONG, toWad(25_000));
      const daveLoss = -closeAll(daveSize, toWad(1_000));
      const aliceGain = closeAll(aliceSize, toWad(5_000));
      const bobLoss = -closeAll(bobSize, toWad(25_000));
      // Dave loses about 12.04, Alice wins about 52.09: the pool can pay her only Dave's loss.
      expect(daveLoss > toWad(12) && daveLoss < toWad("12.1")).to.equal(true);
      expect(aliceGain > toWad(52) && aliceGain < toWad("52.1")).to.equal(true);
      const claim = aliceGain - daveLoss;

      await ok("faucet", {}, "3");
      for (const from of ["1", "2", "3"]) await ok("deposit", { amount: "10000" }, from);
      await ok("open", { market: "BTC", side: "short", margin: "200", leverage: "5" }, "3");
      await ok("open", { market: "BTC", side: "long", margin: "1000", leverage: "5" }, "1");
      await ok("open", { market: "BTC", side: "long", margin: "5000", leverage: "5" }, "2");
      await ok("close", { market: "BTC" }, "3");

      let r = await ok("close", { market: "BTC" });
      // The preview (the viewer's previewClose) and the trade agree: 1,000 + 12.04 paid, the rest queued.
      expect(r.text).to.contain(`payout:            ${fmt6(toWad(1_000) + daveLoss)} back to free collateral`);
      expect(r.text).to.contain(
        `claim:             ${fmt6(claim)} of the profit would be queued as your claim (BTC's pool cannot pay it now)`,
      );
      expect(r.text).to.contain(
        `closed: realised PnL +${formatUnits(aliceGain, 18, 4)}, funding 0, fee 0, ` +
          `${formatUnits(toWad(1_000) + daveLoss, 18, 4)} back to free collateral`,
      );
      expect(r.text).to.contain(
        `claim: ${fmt6(claim)} of your profit is queued, not paid: BTC's pool holds nothing more than the margins ` +
          `of its open positions and the claims queued before yours (entry #0 of its queue; you are owed ${fmt6(claim)} in BTC)`,
      );
      expect(r.text).to.contain(
        "it is paid first in, first out to your free collateral as BTC's losing positions close or are liquidated: " +
          "the claims keeper pays it, or anyone with `npx hardhat perp pay-claims --market BTC`",
      );
      const btcAddress = await btc.getAddress();
      expect(await system.vault.claimOf(btcAddress, alice.address)).to.equal(claim);
      const free = toWad(10_000) + daveLoss;
      expect(await system.vault.freeCollateral(alice.address)).to.equal(free);

      // Alice sees her claim; nothing is spare in BTC's pool, whose 5,000 backs Bob's position.
      let lines = (await ok("positions")).text.split("\n");
      expect(lines).to.deep.equal([
        `trader ${alice.address}, free collateral ${fmt6(free)}, claims ${fmt6(claim)} pending`,
        "no open positions",
        `BTC: claim of ${fmt6(claim)} pending (entry #0 of its queue, 0 owed ahead of it); ` +
          "paid first in, first out as BTC's losing positions close or are liquidated",
      ]);
      expect((await ok("markets")).text.split("\n").slice(-1)).to.deep.equal([
        `BTC: claims ${fmt6(claim)} queued in 1 entry; pool 5,000, of which 5,000 backs open positions`,
      ]);
      expect(await fails("pay-claims", { market: "BTC" }, "4")).to.equal(
        `nothing to pay in BTC yet: its pool holds 5,000, no more than the 5,000 of margin backing its open ` +
          `positions; the ${fmt6(claim)} queued is paid as its losing positions close or are liquidated`,
      );
      expect(await fails("pay-claims", { market: "ETH" }, "4")).to.equal("no claims are queued in ETH");
      expect(await fails("pay-claims", { market: "BTC", max: "0" }, "4")).to.equal(
        "--max must be a whole number of claims from 1 to 1,000, got 0",
      );

      // Bob closes at a loss that covers the claim: BTC's pool now has it to spare.
      await ok("close", { market: "BTC" }, "2");
      expect(bobLoss >= claim).to.equal(true);
      lines = (await ok("positions")).text.split("\n");
      expect(lines[2]).to.equal(
        `BTC: claim of ${fmt6(claim)} pending (entry #0 of its queue, 0 owed ahead of it); ` +
          `BTC's pool can pay ${fmt6(bobLoss)} of the queue now: npx hardhat perp pay-claims --market BTC`,
      );

      // Anyone may pay it (account 4 holds nothing in the system): every market's claims, here BTC's.
      r = await ok("pay-claims", {}, "4");
      expect(r.text).to.match(/^pay claims BTC: tx 0x/);
      expect(r.text).to.contain(`paid ${fmt6(claim)} to ${alice.address}\nBTC: every queued claim is paid`);
      expect(await system.vault.claimOf(btcAddress, alice.address)).to.equal(0n);
      expect(await system.vault.freeCollateral(alice.address)).to.equal(toWad(10_000) + aliceGain);
      expect((await ok("positions")).text.split("\n")).to.deep.equal([
        `trader ${alice.address}, free collateral ${fmt6(toWad(10_000) + aliceGain)}`,
        "no open positions",
      ]);
      expect(await fails("pay-claims", {}, "4")).to.equal("no claims are queued in any market");
    });
  });

  describe("plain error messages", function () {
    beforeEach(async function () {
      await ok("deposit", { amount: "1000" });
    });

    it("unknown market", async function () {
      expect(await fails("open", { market: "DOGE", side: "long", margin: "1", leverage: "1" })).to.equal(
        'unknown market "DOGE": the markets are ETH, BTC',
      );
      expect(await fails("close", { market: owner.address })).to.equal(
        `${owner.address} is not a market listed on this ClearingHouse`,
      );
    });

    it("negative, zero or malformed amounts", async function () {
      const base = { market: "ETH", side: "long", leverage: "2" };
      expect(await fails("open", { ...base, margin: "-5" })).to.equal("--margin must be a positive amount, got -5");
      expect(await fails("open", { ...base, margin: "0" })).to.equal("--margin must be a positive amount, got 0");
      expect(await fails("open", { ...base, margin: "ten" })).to.equal('--margin: "ten" is not a number');
      expect(await fails("open", { ...base, margin: "1", side: "up" })).to.equal(
        '--side must be long or short, got "up"',
      );
      expect(await fails("deposit", { amount: "0.0000001" })).to.equal(
        '--amount: "0.0000001" has more than 6 digits after the point',
      );
      expect(await fails("open", { ...base, margin: "1", slippage: "150%" })).to.match(
        /^--slippage must be between 0%/,
      );
      expect(await fails("open", { market: "ETH", side: "long", leverage: "2" })).to.equal("--margin is required");
    });

    it("leverage too high (decoded from the ClearingHouse's revert)", async function () {
      expect(await fails("open", { market: "ETH", side: "long", margin: "10", leverage: "20" })).to.equal(
        "leverage 20x is too high: this market allows at most 10x",
      );
    });

    it("slippage missed: the price moved between the preview and the trade", async function () {
      // Bob buys 200,000 of ETH after Alice's preview and before her trade.
      await (await system.usdc.connect(bob).approve(await system.vault.getAddress(), USDC(50_000))).wait();
      await (await system.vault.connect(bob).deposit(USDC(50_000))).wait();
      const frontRun = async () => {
        await (
          await system.clearingHouse
            .connect(bob)
            .openPosition(await eth.getAddress(), Side.LONG, toWad(20_000), toWad(10), 0n, MAX_DEADLINE)
        ).wait();
      };
      const message = await fails(
        "open",
        { market: "ETH", side: "long", margin: "100", leverage: "5", slippage: "1%" },
        "1",
        { beforeSend: frontRun },
      );
      // After Bob's 200,000 the pool is 2,200,000 / 909.0909...: 500 buys 909.0909 x 500 / 2,200,500
      // = 0.2065648... base, below the bound 0.99 x 0.24993751... = 0.24743814...
      expect(message).to.equal(
        "slippage exceeded: the trade would move 0.206564 base against your bound of 0.247438 " +
          "(the price moved; retry or allow more slippage)",
      );
      // The same on a close: Alice's long sells into Bob's dump.
      await ok("open", { market: "BTC", side: "long", margin: "100", leverage: "2" });
      const dump = async () => {
        await (
          await system.clearingHouse
            .connect(bob)
            .openPosition(await btc.getAddress(), Side.SHORT, toWad(10_000), toWad(10), 0n, MAX_DEADLINE)
        ).wait();
      };
      // Alice's 0.0039998... base was worth 200 quote less rounding (bound 0.999 x that: 199.799999...);
      // after Bob's 100,000 dump the pool is 4,900,200 / 102.0449..., and it gives 192.080467...
      expect(await fails("close", { market: "BTC", slippage: "0.1%" }, "1", { beforeSend: dump })).to.equal(
        "slippage exceeded: the close would exchange 192.080467 quote against your bound of 199.799999 " +
          "(the price moved; retry or allow more slippage)",
      );
    });

    it("insufficient collateral, in the Vault and in the wallet", async function () {
      expect(await fails("open", { market: "ETH", side: "long", margin: "2000", leverage: "2" })).to.equal(
        `insufficient collateral: ${alice.address} has 1,000 free in the Vault but 2,004 is needed (deposit more)`,
      );
      expect(await fails("deposit", { amount: "1000000" })).to.equal(
        "insufficient collateral: your wallet holds 99,000 USDC, less than the 1,000,000 USDC to deposit " +
          "(this is a local or test network: get test USDC with `npx hardhat perp faucet`)",
      );
      expect(await fails("withdraw", { amount: "5000" })).to.equal(
        "--amount 5000 is more than your free collateral: you can withdraw at most 1,000 USDC " +
          "(margin in positions is not free: close or remove margin first)",
      );
    });

    it("no position, no ClearingHouse, a wrong address", async function () {
      expect(await fails("close", { market: "ETH" })).to.equal(`${alice.address} has no position in ETH`);
      expect(await fails("add-margin", { market: "ETH", amount: "5" })).to.equal(
        `${alice.address} has no position in ETH`,
      );
      expect(await fails("markets", { clearingHouse: "" })).to.equal(
        'no ClearingHouse on the network "default": give --clearing-house <address> or set CLEARING_HOUSE; ' +
          START_A_NODE,
      );
      expect(await fails("markets", { clearingHouse: alice.address })).to.equal(
        `no contract at ${alice.address} on the in-process network "default", which starts empty on every command; ` +
          START_A_NODE,
      );
      // The reported case: a deployment recorded for a node (chain 31337), read by a command run
      // without --network on the in-process network of the same chain id, where nothing is deployed.
      const dir = mkdtempSync(join(tmpdir(), "perp-cli-"));
      mkdirSync(join(dir, "chain-31337"));
      const recorded = "0x1111111111111111111111111111111111111111"; // no code on this network
      writeFileSync(
        join(dir, "chain-31337", "deployed_addresses.json"),
        JSON.stringify({ "Core#ClearingHouse": recorded }),
      );
      expect(await fails("pause", { clearingHouse: "", viewer: "" }, "0", { deploymentsDir: dir })).to.equal(
        `no deployment on the network "default": ${join(dir, "chain-31337")} records the ClearingHouse at ` +
          `${recorded} for a node (the in-process network shares its chain id but starts empty on every command); ` +
          START_A_NODE,
      );
      expect(await fails("markets", { clearingHouse: "0x123" })).to.equal(
        'the ClearingHouse address "0x123" is not an address',
      );
    });

    it("removing too much margin", async function () {
      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "5" });
      // 10% of the exit value (500 less 637 wei) must stay: 100 - 637 wei - 49.99...99936 wei.
      expect(await fails("remove-margin", { market: "ETH", amount: "90" })).to.equal(
        "you can remove at most 49.999999 margin from ETH now (the position must keep the 10% initial margin ratio)",
      );
    });
  });

  describe("operator commands", function () {
    it("only the owner may operate", async function () {
      expect(await fails("pause", {}, "1")).to.equal(
        `${alice.address} is not the owner: only the operator may do this`,
      );
    });

    it("pause and unpause, with trading refused in between", async function () {
      await ok("deposit", { amount: "1000" });
      expect((await ok("pause", {}, "0")).text).to.contain("trading is paused");
      expect(await fails("pause", {}, "0")).to.equal("trading is already paused");
      expect((await ok("markets")).text).to.contain("(trading is PAUSED)");
      expect(await fails("open", { market: "ETH", side: "long", margin: "10", leverage: "2" })).to.equal(
        "trading is paused by the operator",
      );
      expect((await ok("unpause", {}, "0")).text).to.contain("trading is live");
      expect(await fails("unpause", {}, "0")).to.equal("trading is not paused");
      await ok("open", { market: "ETH", side: "long", margin: "10", leverage: "2" });
    });

    it("set-params changes only what is given, and its errors are plain", async function () {
      const r = await ok("set-params", { market: "ETH", fee: "0.3%", maxTrade: "5%" }, "0");
      expect(r.text).to.contain("ETH: initial margin 10%, maintenance 6.25%, fee 0.3%");
      expect(r.text).to.contain(
        "ETH: max trade 5% of the quote reserve, price move per block off, open interest cap off per side",
      );
      const params = await system.clearingHouse.getMarketParams(await eth.getAddress());
      expect(params.feeRatio).to.equal(toWad("0.003"));
      expect(params.initialMarginRatio).to.equal(toWad("0.1"));
      expect((await eth.getLimits()).maxTradeRatio).to.equal(toWad("0.05"));
      expect(await fails("set-params", { market: "ETH" }, "0")).to.match(/^nothing to set/);
      expect(await fails("set-params", { market: "ETH", mmr: "20%" }, "0")).to.equal(
        "invalid margin ratios: initial 10%, maintenance 20% (need 0 < maintenance < initial <= 100%)",
      );
      // A trade above the new limit: the Amm's error, through the ClearingHouse.
      await ok("deposit", { amount: "50000" });
      expect(await fails("open", { market: "ETH", side: "long", margin: "20000", leverage: "10" })).to.equal(
        "the trade of 200,000 quote is above this market's limit of 100,000",
      );
    });

    it("set-params turns the dynamic curve on; each value is checked by the contract, whose bounds they are", async function () {
      const curve = {
        repegThreshold: "0.5%",
        baseSpread: "0.025%",
        maxSpread: "1%",
        maxVammLeverage: "5x",
        fundShare: "25%",
        budgetFloor: "540",
        budgetTarget: "2,700",
        maxDepthChange: "1%",
        minDepth: "0.95x",
        maxDepth: "3",
      };
      const r = await ok("set-params", { market: "ETH", ...curve }, "0");
      expect(r.text).to.contain(
        "ETH curve: repeg at a gap of 0.5%; half-spread 0.025% to 1%; vAMM leverage at most 5x (budget + 25% of " +
          "the insurance fund); budget floor 540, target 2,700; depth 1% per update within 0.95x .. 3x",
      );
      const expected = {
        repegThresholdRatio: toWad("0.005"),
        baseSpreadRatio: toWad("0.00025"),
        maxSpreadRatio: toWad("0.01"),
        maxVammLeverage: toWad(5),
        fundShareRatio: toWad("0.25"),
        budgetFloor: toWad(540),
        budgetTarget: toWad(2_700),
        maxDepthChangeRatio: toWad("0.01"),
        minDepthRatio: toWad("0.95"),
        maxDepthRatio: toWad(3),
      };
      const read = async () => {
        const c = await eth.getCurveParams();
        return Object.fromEntries(Object.keys(expected).map((k) => [k, c[k as keyof typeof expected]]));
      };
      expect(await read()).to.deep.equal(expected);
      // Only what is given changes; the margin and limits stay as they were.
      await ok("set-params", { market: "ETH", maxSpread: "2%", repegThreshold: "0" }, "0");
      expect(await read()).to.deep.equal({ ...expected, maxSpreadRatio: toWad("0.02"), repegThresholdRatio: 0n });
      expect((await system.clearingHouse.getMarketParams(await eth.getAddress())).feeRatio).to.equal(toWad("0.001"));
      // The contract's bounds, in its own words; nothing is sent.
      const blockBefore = await ethers.provider.getBlockNumber();
      expect(await fails("set-params", { market: "ETH", repegThreshold: "30%" }, "0")).to.equal(
        "a repeg threshold of 30% is out of range (0 for no repeg, or 0.1% to 20%)",
      );
      expect(await fails("set-params", { market: "ETH", baseSpread: "3%" }, "0")).to.equal(
        "a half-spread of 3% capped at 2% is out of range (base at most 1%; cap at least the base and at most 5%)",
      );
      expect(await fails("set-params", { market: "ETH", maxVammLeverage: "100x" }, "0")).to.equal(
        "a vAMM leverage bound of 100x is out of range (0 for off, or 0.5x to 50x)",
      );
      expect(await fails("set-params", { market: "ETH", fundShare: "150%" }, "0")).to.equal(
        "an insurance-fund share of 150% is above 100%",
      );
      expect(await fails("set-params", { market: "ETH", budgetFloor: "3000" }, "0")).to.match(
        /^a budget floor of 3,000 with a target of 2,700 is invalid/,
      );
      expect(await fails("set-params", { market: "ETH", minDepth: "1.5x" }, "0")).to.match(
        /^depth changes of 1% per update within 1\.5x \.\. 3x are out of range/,
      );
      expect(await fails("set-params", { market: "ETH", fee: "0.5%", maxDepth: "20x" }, "0")).to.match(
        /^depth changes of 1% per update within 0\.95x \.\. 20x are out of range/,
      );
      expect(await fails("set-params", { market: "ETH", baseSpread: "-1%" }, "0")).to.equal(
        "--base-spread must not be negative, got -1%",
      );
      expect(await fails("set-params", { market: "ETH", maxDepth: "2x" }, "1")).to.equal(
        `${alice.address} is not the owner: only the operator may do this`,
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
    });

    it("contribute-budget funds a market's budget; markets shows peg, depth, budget, bid/ask and net position", async function () {
      await (await eth.setCurveParams({ ...DYNAMIC_CURVE })).wait();
      await ok("deposit", { amount: "1000" });
      const r = await ok("contribute-budget", { market: "ETH", amount: "250" });
      expect(r.text).to.contain("ETH budget: 0 -> 250 (floor 54, target 270); your free collateral: 750");
      expect((await eth.getCurveState()).budget).to.equal(toWad(250));
      expect(await fails("contribute-budget", { market: "ETH", amount: "5000" })).to.equal(
        `insufficient collateral: ${alice.address} has 750 free in the Vault but 5,000 is needed (deposit more)`,
      );
      expect(await fails("contribute-budget", { market: "ETH", amount: "0" })).to.equal(
        "--amount must be a positive amount, got 0",
      );
      // A long of 1,000 notional: the traders are net long, the ask above the bid.
      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "10" });
      const [{ size }] = [await system.clearingHouse.getPosition(await eth.getAddress(), alice.address)];
      const [bid, ask] = await eth.getBidAsk();
      const spot = await eth.getSpotPrice();
      expect(bid < spot && spot < ask, "bid < spot < ask with a spread").to.equal(true);
      const lines = (await ok("markets")).text.split("\n");
      const header = lines.findIndex((l) => l.startsWith("market") && l.includes("peg"));
      expect(lines[header]).to.match(/^market\s+peg\s+depth\s+budget\s+floor \/ target\s+bid\s+ask\s+net position$/);
      const budget = (await eth.getCurveState()).budget;
      expect(lines[header + 2].split(/\s{2,}/)).to.deep.equal([
        "ETH",
        "1",
        "1x",
        formatUnits(budget, 18, 2),
        "54 / 270",
        formatUnits(bid, 18, 4),
        formatUnits(ask, 18, 4),
        `+${formatUnits(size, 18, 6)}`,
      ]);
      // The static BTC curve: no spread, nothing held.
      expect(lines[header + 3].split(/\s{2,}/)).to.deep.equal([
        "BTC",
        "1",
        "1x",
        "0",
        "0 / 0",
        "50,000",
        "50,000",
        "0",
      ]);
    });

    it("add-market lists a deployed Amm, and then it trades", async function () {
      const amm = (await ethers.deployContract("Amm", [
        chAddress,
        toWad(1_000_000),
        toWad(10_000),
        { maxTradeRatio: 0n, fluctuationLimitRatio: 0n, maxOpenInterest: 0n },
        owner.address,
        await (await ethers.deployContract("AmmCurveModule")).getAddress(),
      ])) as unknown as Amm;
      const address = await amm.getAddress();
      const r = await ok("add-market", { amm: address, imr: "20%", mmr: "10%", fee: "0.05%" }, "0");
      expect(r.text).to.contain(`listed ${address.slice(0, 10)}: initial margin 20%, maintenance 10%, fee 0.05%`);
      expect(await fails("add-market", { amm: address }, "0")).to.equal(
        `the market ${address.slice(0, 10)} is already listed`,
      );
      await ok("deposit", { amount: "1000" });
      expect(await fails("open", { market: address, side: "short", margin: "10", leverage: "6" })).to.equal(
        "leverage 6x is too high: this market allows at most 5x",
      );
      await ok("open", { market: address, side: "short", margin: "10", leverage: "5" });
    });

    it("settle shuts a market down at its index TWAP; trading it then fails plainly", async function () {
      await ok("deposit", { amount: "1000" });
      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "2" });
      await (await eth.pokeIndex()).wait();
      await networkHelpers.time.increase(120);
      const r = await ok("settle", { market: "ETH" }, "0");
      expect(r.text).to.match(/ETH settled at 2,000; open interest long 0\.0999\d+, short 0\./);
      expect(r.text).to.contain("Each position is now claimed: npx hardhat perp claim --market ETH [--trader 0x...].");
      expect((await ok("markets")).text).to.match(/^ETH\s+settled/m);
      expect(await fails("open", { market: "ETH", side: "long", margin: "10", leverage: "2" })).to.equal(
        "ETH has been settled: only settling positions remains",
      );
      // The position is marked settled, not given a live margin ratio; close points to claim.
      // Alice's 200 bought 1,000 x 200 / 2,000,200 = 0.09999000... base, worth 199.980001999... at 2,000.
      let lines = (await ok("positions")).text.split("\n");
      expect(lines).to.deep.equal([
        `trader ${alice.address}, free collateral 899.8`,
        "ETH: settled at 2,000; your long 0.09999 ETH (margin 100) is claimed, not closed: " +
          "npx hardhat perp claim --market ETH",
      ]);
      expect(await fails("close", { market: "ETH" })).to.equal(
        "ETH has been settled: positions are not closed but claimed at the settlement price " +
          "(npx hardhat perp claim --market ETH)",
      );
      // The only position: its claim (100 - 0.019998...) is recorded and paid at once.
      const c = await ok("claim", { market: "ETH" });
      expect(c.text).to.match(/claim ETH: tx 0x/);
      expect(c.text).to.contain("claim recorded: 99.980001 at the settlement price");
      expect(c.text).to.contain("paid: 99.980001 to free collateral");
      lines = (await ok("positions")).text.split("\n");
      expect(lines).to.deep.equal([`trader ${alice.address}, free collateral 999.780001`, "no open positions"]);
    });

    it("settle refuses an index TWAP the index no longer backs, with the contract's sentence", async function () {
      const [feed] = await eth.getOracle();
      const priceFeed = await ethers.getContractAt("ChainlinkPriceFeed", feed);
      const config = await priceFeed.getAssetConfig(ethers.encodeBytes32String("ETH"));
      const aggregator = await ethers.getContractAt("MockAggregator", config.feed);
      await (await eth.pokeIndex()).wait(); // 2,000 recorded
      await networkHelpers.time.increase(3_600);
      const now = BigInt(await networkHelpers.time.latest()) + 1n;
      await (await aggregator.setAnswer(185_000_000_000n, now)).wait(); // 1,850 now
      expect(await fails("settle", { market: "ETH" }, "0")).to.equal(
        "ETH cannot be settled at a stale index: its TWAP is 2,000 but the index is now 1,850 (more than 2% apart); " +
          "record the index over the next 15 minutes (keepers poke it), then settle",
      );
    });
  });

  describe("a newcomer's first hour", function () {
    it("faucet mints test USDC where the collateral has one, and refuses where it has none", async function () {
      let r = await ok("faucet");
      expect(r.text).to.match(/faucet 10,000 USDC: tx 0x/);
      // 100,000 from the fixture + 10,000.
      expect(r.text).to.contain("wallet: 110,000 USDC; next: npx hardhat perp deposit --amount <amount>");
      r = await ok("faucet", { amount: "1e3" }, "3");
      expect(await system.usdc.balanceOf((await ethers.getSigners())[3].address)).to.equal(USDC(1000));
      // A system whose collateral mints to no one (the insurance fund's shares stand in for a real token).
      const other = await deployCore(ethers, 6, undefined, await system.insuranceFund.getAddress());
      const address = await system.insuranceFund.getAddress();
      expect(await fails("faucet", { clearingHouse: await other.clearingHouse.getAddress(), viewer: "" })).to.equal(
        `the collateral svINS at ${address} has no faucet on this network (only the local system's mock token ` +
          "mints to anyone): get test svINS from the network's own faucet",
      );
      // An empty wallet is pointed to the faucet.
      expect(await fails("deposit", { amount: "10" }, "4")).to.equal(
        "insufficient collateral: your wallet holds 0 USDC, less than the 10 USDC to deposit " +
          "(this is a local or test network: get test USDC with `npx hardhat perp faucet`)",
      );
    });

    it("open names the kind of trade and the position after it; bad input prints no preview", async function () {
      await ok("deposit", { amount: "1000" });
      // Refused by the preview (the trade's own error) and by a staticCall of the trade (the pause):
      // nothing of a preview is printed either time.
      let r = await run("open", { market: "ETH", side: "long", margin: "10", leverage: "20" });
      expect(r.error).to.equal("Error: leverage 20x is too high: this market allows at most 10x");
      expect(r.text).to.equal("");
      await (await system.clearingHouse.pause()).wait();
      r = await run("open", { market: "ETH", side: "long", margin: "10", leverage: "2" });
      expect(r.error).to.equal("Error: trading is paused by the operator");
      expect(r.text).to.equal("");
      await (await system.clearingHouse.unpause()).wait();

      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "5" });
      // A short of 100 against the 0.24993751 long: the pool (2,000,500 / 999.750062...) gives
      // 2e9 / 2,000,400 - 999.750062... = 0.04997750... base for it, at 100 / that = 2,000,500 x
      // 2,000,400 / 2e9 = 2,000.90001.
      r = await ok("open", { market: "ETH", side: "short", margin: "50", leverage: "2", slippage: "0" });
      expect(r.text).to.match(/trade:\s+reduce: short ETH/);
      expect(r.text).to.match(/expected size:\s+0\.049977 at 2,000\.9\n/);
      // 500 x 0.0499775/0.2499375 = 99.98000399... of the cost basis goes: PnL +0.019996. ETH's pool
      // holds only Alice's margin, which backs her position: that profit cannot be paid, not even
      // into her margin, so it stays unrealised in the rest: the closed part's basis becomes its
      // quote (100, PnL 0) and 500 - 100 = 400 stays, at 400 / 0.19996 = 2,000.4 an ETH. Margin
      // 100 - the fee of 0.1 = 99.9; no claim.
      expect(r.text).to.not.match(/realised PnL/);
      expect(r.text).to.match(/position after:\s+long 0\.19996 ETH, margin 99\.9, open notional 400\n/);
      expect(r.text).to.match(/free collateral:\s+nothing moves\n/);
      expect(r.text).to.not.match(/claim:/);
      expect(r.text).to.match(/reduce short ETH: tx 0x/);
      expect(r.text).to.contain("position: long 0.19996 ETH, margin 99.9, entry 2,000.4, fee 0.1; nothing moves");
      expect(await system.vault.claimOf(await eth.getAddress(), alice.address)).to.equal(0n);
      // A short of 1,000 against the long's exit value of about 400: a reversal into a short.
      const preview = await system.viewer.previewOpen(
        await eth.getAddress(),
        alice.address,
        Side.SHORT,
        toWad(200),
        toWad(5),
      );
      r = await ok("open", { market: "ETH", side: "short", margin: "200", leverage: "5", slippage: "0" });
      expect(r.text).to.match(/trade:\s+reversal: short ETH/);
      expect(r.text).to.contain(`short ${formatUnits(-preview.size, 18, 6)} ETH`);
      expect((await system.clearingHouse.getPosition(await eth.getAddress(), alice.address)).size).to.equal(
        preview.size,
      );
    });

    it("reduce closes part of a position, checked by a staticCall, and prints what the trade did", async function () {
      await ok("deposit", { amount: "1000" });
      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "5" });
      expect(await fails("reduce", { market: "ETH", size: "1" })).to.equal(
        "--size 1 is more than your long 0.249937 ETH position",
      );
      // 0.1 base sold into 2,000,500 / 999.750062...: 2,000,500 - 2e9 / 999.850062... = 200.07999949...;
      // at least 0.995 of it: 199.07959...
      const r = await ok("reduce", { market: "ETH", size: "0.1" });
      expect(r.text).to.match(/reduce:\s+0\.1 of your long 0\.249937 ETH\n/);
      expect(r.text).to.match(/remaining size:\s+long 0\.149937 ETH\n/);
      expect(r.text).to.match(/expected proceeds:\s+200\.0799\n/);
      expect(r.text).to.match(/min proceeds:\s+199\.0795 \(slippage 0\.5%\)\n/);
      // Cost basis of 0.1 of 0.24993751 base bought for 500: 200.05; PnL +0.029999...; fee 0.1% of
      // 200.0799995 = 0.2000799995. ETH's pool holds only Alice's margin, which backs her position: the
      // profit stays unrealised in the rest, not added to her margin: 100 - 0.20008 = 99.79992, and the
      // rest keeps 500 - 200.0799995 = 299.9200005 of basis, at 299.92 / 0.149937 = 2,000.2999 an ETH.
      expect(r.text).to.match(
        /position: long 0\.149937 ETH, margin 99\.7999, entry 2,000\.2999\d*, fee 0\.200079; nothing moves(\n|$)/,
      );
      expect(r.text).to.not.match(/claim:/);
      await (await system.clearingHouse.pause()).wait();
      const paused = await run("reduce", { market: "ETH", size: "0.1" });
      expect(paused.error).to.equal("Error: trading is paused by the operator");
      expect(paused.text).to.equal("");
    });

    it("withdraw says the most it can; 1e3 parses; a misspelt flag gets a suggestion", async function () {
      await ok("deposit", { amount: "3.458" });
      expect(await fails("withdraw", { amount: "99999" })).to.equal(
        "--amount 99999 is more than your free collateral: you can withdraw at most 3.458 USDC " +
          "(margin in positions is not free: close or remove margin first)",
      );
      expect(parseDecimal("1e3")).to.equal(toWad(1000));
      expect(parseDecimal("2.5E-2")).to.equal(toWad("0.025"));
      expect(parseDecimal("-1.5e1", 6)).to.equal(-15_000_000n);
      expect(() => parseDecimal("1e-7", 6)).to.throw('"1e-7" has more than 6 digits after the point');
      expect(() => parseDecimal("e3")).to.throw('"e3" is not a number');
      expect(unknownFlagHint(["perp", "open", "--market", "ETH", "--levrage", "5"])).to.equal(
        "unknown flag --levrage for perp open: did you mean --leverage?",
      );
      expect(unknownFlagHint(["perp", "withdraw", "--amout", "5", "--network", "localhost"])).to.equal(
        "unknown flag --amout for perp withdraw: did you mean --amount?",
      );
      expect(unknownFlagHint(["perp", "pause", "--zzzzzzzz"])).to.equal(
        "unknown flag --zzzzzzzz for perp pause: its flags are --clearing-house, --viewer, --from",
      );
      expect(
        unknownFlagHint(["perp", "open", "--market", "ETH", "--leverage", "5", "--network", "localhost"]),
      ).to.equal(undefined);
      expect(unknownFlagHint(["test", "--levrage"])).to.equal(undefined);
    });

    it("positions show the liquidation ratio next to the spot one after a one-block dump", async function () {
      await ok("deposit", { amount: "1000" });
      await ok("open", { market: "ETH", side: "long", margin: "100", leverage: "5" });
      await networkHelpers.time.increase(900);
      await (await system.usdc.connect(bob).approve(await system.vault.getAddress(), USDC(50_000))).wait();
      await (await system.vault.connect(bob).deposit(USDC(50_000))).wait();
      await (
        await system.clearingHouse
          .connect(bob)
          .openPosition(await eth.getAddress(), Side.SHORT, toWad(20_000), toWad(10), 0n, MAX_DEADLINE)
      ).wait();
      // Spot after Bob's 200,000 short: 1,800,500^2 / 2e9 = 1,620.900125; the long is worth 405.1237...,
      // equity 5.1237..., spot ratio 1.2647...%. Liquidation values it at the mark TWAP (about 2,001 over
      // the last 15 minutes), far better: the row shows the contract's own figure.
      const lines = (await ok("positions")).text.split("\n");
      const liquidationRatio = await system.clearingHouse.getLiquidationMarginRatio(
        await eth.getAddress(),
        alice.address,
      );
      expect(liquidationRatio > toWad("0.15")).to.equal(true);
      expect(lines[3]).to.match(
        new RegExp(
          `^ETH\\s+long\\s+0\\.249937\\s+.*\\s+1\\.26%\\s+${formatPercent(liquidationRatio, 2).replace(".", "\\.")}\\s+1,707\\.0933$`,
        ),
      );
    });
  });
});
