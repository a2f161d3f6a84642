import { expect } from "chai";
import { network } from "hardhat";
import { deployCore, deployMarket, fund, Side, MAX_DEADLINE } from "../../scripts/lib/deploy.js";
import { toWad } from "../../scripts/lib/fixed.js";

const { ethers } = await network.create();

describe("smoke", function () {
  it("opens and closes a long", async function () {
    const system = await deployCore(ethers);
    const amm = await deployMarket(ethers, system, { quoteReserve: toWad(100000), baseReserve: toWad(12500) });
    const [, alice] = await ethers.getSigners();
    await fund(system, alice, 10_000n * 10n ** 6n);
    await system.clearingHouse.connect(alice).openPosition(await amm.getAddress(), Side.LONG, toWad(2000), toWad(2), 0n, MAX_DEADLINE);
    const p = await system.clearingHouse.getPosition(await amm.getAddress(), alice.address);
    expect(p.size).to.equal(480769230769230769230n);
  });
});
