/**
 * Where each benchmarked operation's gas goes: the same live market and operations as
 * `npm run bench:gas` (L1 rules), each transaction replayed with `debug_traceTransaction` and its
 * opcodes' gas summed by the contract whose code ran them (a DELEGATECALL's module under its own
 * name) and by kind: storage reads (cold / warm), storage writes, events, calls out (the cold
 * account access and value of a CALL, STATICCALL or DELEGATECALL, not the callee's own gas),
 * memory and hashing, and the rest (arithmetic, stack, jumps). Run: `npm run bench:gas:trace`
 * (`GAS_TRACE_OP=closePosition` prints one). The intrinsic cost (21,000 + calldata) is the
 * receipt's gasUsed less what the opcodes spent, less the refund.
 *
 * A tool for finding what to cut, not a check: nothing is written and CI does not run it.
 */
import { network } from "hardhat";
import { deployLiveMarket, GENESIS_DATE } from "./lib/bench/live-market.js";
import { measureOperations } from "./lib/bench/measure.js";
import { sourceLines } from "./lib/bench/source-lines.js";
import { formatTable } from "./lib/format.js";

interface StructLog {
  op: string;
  pc: number;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

const KINDS = ["sload cold", "sload warm", "sstore", "log", "call out", "memory+hash", "other"] as const;
type Kind = (typeof KINDS)[number];

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);

function kindOf(log: StructLog): Kind {
  if (log.op === "SLOAD") return log.gasCost >= 2_100 ? "sload cold" : "sload warm";
  if (log.op === "SSTORE") return "sstore";
  if (log.op.startsWith("LOG")) return "log";
  if (CALLS.has(log.op)) return "call out";
  if (log.op.startsWith("MSTORE") || log.op === "MLOAD" || log.op === "MCOPY" || log.op === "KECCAK256")
    return "memory+hash";
  if (log.op === "CALLDATACOPY" || log.op === "RETURNDATACOPY" || log.op === "CODECOPY") return "memory+hash";
  return "other";
}

/** The address a call opcode targets: the second stack item from the top. */
function callTarget(log: StructLog): string {
  const stack = log.stack ?? [];
  const word = stack[stack.length - 2] ?? "0x0";
  return (
    "0x" +
    BigInt(word.startsWith("0x") ? word : "0x" + word)
      .toString(16)
      .padStart(40, "0")
  );
}

async function main() {
  const only = process.env.GAS_TRACE_OP;
  // GAS_TRACE_SLOTS=1 also lists every cold storage read and every write, with its slot.
  const showSlots = process.env.GAS_TRACE_SLOTS === "1";
  // GAS_TRACE_LINES=N also lists the N source lines whose computation cost the most.
  const topLines = Number(process.env.GAS_TRACE_LINES ?? "0");
  const linesOf = new Map<string, Map<number, string> | undefined>();
  const connection = await network.create({ override: { initialDate: GENESIS_DATE } });
  try {
    const market = await deployLiveMarket(connection, false);
    const { receipts } = await measureOperations(market);
    const names = new Map<string, string>();
    const { ethers } = connection;
    const name = async (label: string, contract: { getAddress(): Promise<string> }) =>
      names.set((await contract.getAddress()).toLowerCase(), label);
    await name("ClearingHouse", market.clearingHouse);
    await name("Vault", market.vault);
    await name("Amm", market.amm);
    await name("InsuranceFund", market.insuranceFund);
    await name("USDC", market.usdc);
    // The index: the price feed, which reads the aggregator through its proxy.
    const [priceFeed] = await market.amm.getOracle();
    names.set(priceFeed.toLowerCase(), "ChainlinkPriceFeed");
    names.set((await market.aggregator.getAddress()).toLowerCase(), "aggregator");
    const curveModule = await market.amm.curveModule();
    names.set(curveModule.toLowerCase(), "AmmCurveModule");
    const viewModule = await (await ethers.getContractAt("AmmCurveModule", curveModule)).viewModule();
    names.set(viewModule.toLowerCase(), "AmmViewModule");
    // Any other code: a ClearingHouse module tells its kind; else the address.
    const moduleKind = new ethers.Interface(["function moduleInfo() view returns (bytes32, address)"]);
    const label = (address: string) => names.get(address.toLowerCase()) ?? address.slice(0, 10);
    const nameUnknown = async (address: string) => {
      if (names.has(address.toLowerCase())) return;
      try {
        const data = await connection.provider.request({
          method: "eth_call",
          params: [{ to: address, data: moduleKind.encodeFunctionData("moduleInfo") }, "latest"],
        });
        const [kind] = moduleKind.decodeFunctionResult("moduleInfo", data as string);
        const module = ["AdminModule", "LiquidationModule", "SettlementModule"].find(
          (m) => ethers.id(`vamm.ClearingHouse.${m}`) === kind,
        );
        names.set(address.toLowerCase(), module ?? address.slice(0, 10));
      } catch {
        // The aggregator's proxy answers aggregator(); anything else keeps its address.
        const proxy = new ethers.Interface(["function aggregator() view returns (address)"]);
        const isProxy = await connection.provider
          .request({
            method: "eth_call",
            params: [{ to: address, data: proxy.encodeFunctionData("aggregator") }, "latest"],
          })
          .then(
            () => true,
            () => false,
          );
        names.set(address.toLowerCase(), isProxy ? "aggregator proxy" : address.slice(0, 10));
      }
    };

    for (const [operation, receipt] of Object.entries(receipts)) {
      if (only !== undefined && operation !== only) continue;
      const trace = (await connection.provider.request({
        method: "debug_traceTransaction",
        params: [receipt.transactionHash, { disableStorage: true, disableMemory: true, disableStack: false }],
      })) as { gas: number; structLogs: StructLog[] };
      // The code running at each depth: the transaction's target at depth 1, then each call's target
      // (a DELEGATECALL runs the module's code on the caller's storage: named by the code).
      const frames: string[] = [String(receipt.to)];
      const byContract = new Map<string, Record<Kind, number>>();
      let spent = 0;
      const accesses: string[] = [];
      const computationByLine = new Map<string, number>();
      const logs = trace.structLogs;
      for (let i = 0; i < logs.length; ++i) {
        const log = logs[i];
        while (frames.length > log.depth) frames.pop();
        const here = frames[frames.length - 1];
        const kind = kindOf(log);
        // A call's gasCost includes the gas it forwards (what the callee's first opcode starts
        // with): count only the call's own part (cold access, value, memory) here; the callee's
        // opcodes are counted in its own frame. A call into no code opens no frame.
        let cost = log.gasCost;
        if (CALLS.has(log.op)) {
          const next = logs[i + 1];
          if (next !== undefined && next.depth === log.depth + 1) {
            cost = log.gasCost - next.gas;
            frames.push(callTarget(log));
          }
        }
        await nameUnknown(here);
        const key = label(here);
        if (showSlots && (log.op === "SSTORE" || (log.op === "SLOAD" && log.gasCost >= 2_100))) {
          const stack = log.stack ?? [];
          const slot = stack[stack.length - 1] ?? "?";
          accesses.push(`  ${key.padEnd(18)} ${log.op} ${String(cost).padStart(6)}  ${slot}`);
        }
        const row = byContract.get(key) ?? (Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>);
        row[kind] += cost;
        byContract.set(key, row);
        spent += cost;
        if (topLines > 0 && (kind === "sload warm" || kind === "memory+hash" || kind === "other")) {
          if (!linesOf.has(key)) linesOf.set(key, sourceLines(key));
          const line = `${key.padEnd(18)} ${linesOf.get(key)?.get(log.pc) ?? "?"}`;
          computationByLine.set(line, (computationByLine.get(line) ?? 0) + cost);
        }
      }
      const gasUsed = Number(BigInt(receipt.gasUsed));
      console.log(
        `\n${operation}: gasUsed ${gasUsed.toLocaleString("en-US")} (opcodes ${spent.toLocaleString("en-US")})`,
      );
      // What the design's storage, calls and events cost before any computation: the floor a budget
      // must clear (the intrinsic cost included, net of any refund).
      const sumOf = (kinds: Kind[]) =>
        [...byContract.values()].reduce((total, row) => total + kinds.reduce((a, k) => a + row[k], 0), 0);
      const floor = gasUsed - sumOf(["sload warm", "memory+hash", "other"]);
      console.log(
        `  storage, calls, events and the intrinsic cost: ${floor.toLocaleString("en-US")}; computation: ${sumOf(["sload warm", "memory+hash", "other"]).toLocaleString("en-US")}`,
      );
      console.log(
        formatTable(
          ["code", ...KINDS, "total"],
          [...byContract.entries()].map(([contract, row]) => [
            contract,
            ...KINDS.map((k) => row[k].toLocaleString("en-US")),
            Object.values(row)
              .reduce((a, b) => a + b, 0)
              .toLocaleString("en-US"),
          ]),
        ),
      );
      if (showSlots) console.log(accesses.join("\n"));
      if (topLines > 0) {
        const top = [...computationByLine.entries()].sort((a, b) => b[1] - a[1]).slice(0, topLines);
        console.log(top.map(([line, gas]) => `  ${String(gas).padStart(6)}  ${line}`).join("\n"));
      }
    }
  } finally {
    await connection.close();
  }
}

await main();
