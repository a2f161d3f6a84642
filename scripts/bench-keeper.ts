/**
 * Liquidation keeper benchmark: on the embedded network, opens BENCH_POSITIONS positions (default
 * 10,000; half long, half short, over two markets, one trader each), then times one full keeper
 * scan (discovery from PositionChanged events from block 0, then the batched viewer reads) and
 * counts the RPC requests it made, at half the positions and at all of them. Run:
 * `npm run bench:keeper` (BENCH_POSITIONS=2000 npm run bench:keeper for a quick one).
 *
 * Fails (exit code 1) if a scan makes more than positions / 100 RPC requests, or finds another
 * number of positions than were opened.
 *
 * Positions are opened as fast as the node allows: automine off, traders funded with
 * hardhat_setBalance and Vault.depositFor from one funder, their trades signed here (one fresh key
 * per trader, nonce 0) and sent raw, and blocks mined until the mempool is empty.
 */
import { BrowserProvider, Wallet, keccak256, toUtf8Bytes, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { deployCore, deployMarket, MAX_DEADLINE, Side } from "./lib/deploy.js";
import { toWad } from "./lib/fixed.js";
import { consoleLogger } from "./lib/keeper/logger.js";
import { LiquidationKeeper } from "./lib/liquidation-keeper.js";

const POSITIONS = Number(process.env.BENCH_POSITIONS ?? 10_000);
if (!Number.isSafeInteger(POSITIONS) || POSITIONS < 2) throw new Error("BENCH_POSITIONS: a whole number >= 2");
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 250);

const { ethers, provider } = await network.create();
const [, funder, keeperAccount] = await ethers.getSigners();
const system = await deployCore(ethers);
const markets = [
  await deployMarket(ethers, system, { quoteReserve: toWad(1_000_000_000), baseReserve: toWad(1_000_000) }),
  await deployMarket(ethers, system, { quoteReserve: toWad(6_000_000_000), baseReserve: toWad(100_000) }),
];
const marketAddresses = await Promise.all(markets.map((m) => m.getAddress()));
const { chainId } = await ethers.provider.getNetwork();
const chIface = system.clearingHouse.interface;
const vaultIface = system.vault.interface;
const clearingHouse = await system.clearingHouse.getAddress();
const vault = await system.vault.getAddress();

const MARGIN = toWad(100);
const DEPOSIT = 110n * 10n ** 6n; // USDC units: the margin and room to spare
const GAS_PRICE = 10n ** 10n;
const TRADE_GAS = 300_000n;

/** Sends with automine off, then mines blocks until every sent transaction is in. */
async function mineAll(send: () => Promise<void>): Promise<void> {
  await provider.request({ method: "evm_setAutomine", params: [false] });
  try {
    await send();
    for (;;) {
      const pending = (await provider.request({
        method: "eth_getBlockByNumber",
        params: ["pending", false],
      })) as { transactions: unknown[] };
      if (pending.transactions.length === 0) break;
      await provider.request({ method: "evm_mine", params: [] });
    }
  } finally {
    await provider.request({ method: "evm_setAutomine", params: [true] });
  }
}

/** Per block: a mempool of thousands of transactions slows the node down more than linearly. */
const CHUNK = 200;

/** Opens positions for traders [from, to), CHUNK traders at a time. */
async function openPositions(from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += CHUNK) await openChunk(start, Math.min(start + CHUNK, to));
}

async function openChunk(from: number, to: number): Promise<void> {
  const traders = Array.from({ length: to - from }, (_, i) => new Wallet(keccak256(toUtf8Bytes(`trader ${from + i}`))));
  // Fund: ETH for gas, and USDC deposited by the funder on each trader's behalf.
  const total = DEPOSIT * BigInt(traders.length);
  await (await system.usdc.mint(funder.address, total)).wait();
  await (await system.usdc.connect(funder).approve(vault, total)).wait();
  let nonce = await funder.getNonce();
  await mineAll(async () => {
    for (const trader of traders) {
      await provider.request({ method: "hardhat_setBalance", params: [trader.address, "0xde0b6b3a7640000"] });
      await provider.request({
        method: "eth_sendTransaction",
        params: [
          {
            from: funder.address,
            to: vault,
            data: vaultIface.encodeFunctionData("depositFor", [trader.address, DEPOSIT]),
            gas: "0x30000",
            nonce: `0x${(nonce++).toString(16)}`,
          },
        ],
      });
    }
  });
  await mineAll(async () => {
    for (const [i, trader] of traders.entries()) {
      const n = from + i;
      const data = chIface.encodeFunctionData("openPosition", [
        marketAddresses[n % 2],
        (n >> 1) % 2 === 0 ? Side.LONG : Side.SHORT,
        MARGIN,
        toWad(2),
        0n,
        MAX_DEADLINE,
      ]);
      const raw = await trader.signTransaction({
        to: clearingHouse,
        data,
        nonce: 0,
        gasLimit: TRADE_GAS,
        gasPrice: GAS_PRICE,
        chainId,
        type: 0,
      });
      await provider.request({ method: "eth_sendRawTransaction", params: [raw] });
    }
  });
}

/** One full scan by a fresh keeper through a provider that counts requests. */
async function timeScan(): Promise<{ positions: number; seconds: number; calls: number; byMethod: string }> {
  const counts = new Map<string, number>();
  const counting: Eip1193Provider = {
    request: (args) => {
      counts.set(args.method, (counts.get(args.method) ?? 0) + 1);
      return provider.request(args);
    },
  };
  // A static network, as a keeper would configure: otherwise ethers asks eth_chainId before every request.
  const browser = new BrowserProvider(counting, Number(chainId), { cacheTimeout: -1, staticNetwork: true });
  const signer = await browser.getSigner(keeperAccount.address);
  const keeper = new LiquidationKeeper({
    signer,
    logger: consoleLogger("bench"),
    config: {
      clearingHouse,
      viewer: await system.viewer.getAddress(),
      startBlock: 0,
      logBlockRange: 100_000,
      batchSize: BATCH_SIZE,
      cooldownSeconds: 60,
      slippageBps: 100,
      pollSeconds: 30,
      maxRetries: 3,
      retryDelayMs: 250,
      txTimeoutSeconds: 60,
    },
  });
  if (process.env.BENCH_GAS) {
    const sample = await system.viewer.getPositions.estimateGas(
      Array(50).fill(marketAddresses[0]),
      Array.from({ length: 50 }, (_, i) => new Wallet(keccak256(toUtf8Bytes(`trader ${2 * i}`))).address),
    );
    console.log(`viewer gas for 50 positions: ${sample}`);
  }
  counts.clear();
  const started = performance.now();
  const scan = await keeper.scan();
  const seconds = (performance.now() - started) / 1000;
  const calls = [...counts.values()].reduce((a, b) => a + b, 0);
  const byMethod = [...counts.entries()].map(([m, n]) => `${m} ${n}`).join(", ");
  return { positions: scan.positions, seconds, calls, byMethod };
}

const half = Math.floor(POSITIONS / 2);
const rows: Array<Awaited<ReturnType<typeof timeScan>>> = [];
let failed = false;
for (const [from, to] of [
  [0, half],
  [half, POSITIONS],
] as const) {
  const opening = performance.now();
  await openPositions(from, to);
  console.log(`opened ${to - from} positions in ${((performance.now() - opening) / 1000).toFixed(1)} s`);
  const row = await timeScan();
  rows.push(row);
  console.log(
    `scan of ${row.positions} positions: ${row.seconds.toFixed(2)} s, ${row.calls} RPC calls (${row.byMethod})`,
  );
  if (row.positions !== to) {
    console.error(`FAIL: the scan found ${row.positions} positions, ${to} are open`);
    failed = true;
  }
  if (row.calls > row.positions / 100) {
    console.error(`FAIL: ${row.calls} RPC calls > positions / 100 = ${row.positions / 100}`);
    failed = true;
  }
}

const [atHalf, atFull] = rows;
const perPosition = (r: (typeof rows)[number]) => (r.seconds / r.positions) * 1000;
console.log("");
console.log("| positions | scan (s) | ms per position | RPC calls | limit (positions / 100) |");
console.log("| --------- | -------- | --------------- | --------- | ----------------------- |");
for (const r of rows) {
  console.log(
    `| ${r.positions} | ${r.seconds.toFixed(2)} | ${perPosition(r).toFixed(3)} | ${r.calls} | ${r.positions / 100} |`,
  );
}
console.log(
  `scan time ratio N / (N/2): ${(atFull.seconds / atHalf.seconds).toFixed(2)} ` +
    `(linear: ${(atFull.positions / atHalf.positions).toFixed(2)})`,
);
if (failed) process.exitCode = 1;
