import { ColorType, createChart, createSeriesMarkers, LineSeries, type UTCTimestamp } from "lightweight-charts";
import { useEffect, useRef, useState } from "react";
import type { Abi, Address } from "viem";
import { useConfig } from "wagmi";
import { getPublicClient } from "wagmi/actions";
import { ammAbi, clearingHouseAbi } from "../generated/abis.ts";
import { useMarkets } from "../lib/markets.ts";
import { useChainQuery, useSystem } from "../lib/system.ts";

const WAD = 10n ** 18n;
const toNumber = (v: bigint): number => Number((v * 10_000n) / WAD) / 10_000;

interface Point {
  time: UTCTimestamp;
  value: number;
}

/** One point per second, the last of each second, in time order (what the chart library needs). */
function series(points: Point[]): Point[] {
  const byTime = new Map<number, Point>();
  for (const p of points) byTime.set(p.time, p);
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** Mark (after each swap) and index (as recorded) of a market over its history, with the trader's entries. */
export function Chart() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const [ammIndex, setAmmIndex] = useState(0);
  const markets = useMarkets();
  const market = deployment?.markets[ammIndex];
  const history = useChainQuery(
    ["chart", chainId, market?.amm, account],
    async () => {
      const client = getPublicClient(config, { chainId })!;
      const amm = market!.amm;
      const logs = (address: Address, abi: Abi, eventName: string, args?: Record<string, Address>) =>
        client.getContractEvents({ address, abi, eventName, args, fromBlock: 0n }) as Promise<
          { args: Record<string, bigint>; blockNumber: bigint }[]
        >;
      const [latest, spot, swaps, indexes, trades] = await Promise.all([
        client.getBlock(),
        client.readContract({ address: amm, abi: ammAbi, functionName: "getSpotPrice" }) as Promise<bigint>,
        logs(amm, ammAbi, "Swapped"),
        logs(amm, ammAbi, "IndexRecorded"),
        account
          ? logs(deployment!.contracts.ClearingHouse, clearingHouseAbi, "PositionChanged", { trader: account, amm })
          : Promise.resolve([]),
      ]);
      const blocks = new Set([...swaps, ...indexes, ...trades].map((l) => l.blockNumber));
      const times = new Map<bigint, number>();
      await Promise.all(
        [...blocks].map(async (n) => times.set(n, Number((await client.getBlock({ blockNumber: n })).timestamp))),
      );
      const at = (n: bigint) => times.get(n)! as UTCTimestamp;
      return {
        mark: series(
          swaps.map((s) => ({
            time: at(s.blockNumber),
            value: toNumber((s.args.quoteReserve * WAD) / s.args.baseReserve),
          })),
        ),
        index: series(indexes.map((s) => ({ time: at(s.blockNumber), value: toNumber(s.args.price) }))),
        entries: trades.map((t) => ({ time: at(t.blockNumber), long: t.args.baseDelta > 0n })),
      };
    },
    market !== undefined && markets.data !== undefined,
  );
  const box = useRef<HTMLDivElement>(null);
  const data = history.data;
  useEffect(() => {
    if (!box.current || !data) return;
    const chart = createChart(box.current, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: "#1b1e29" }, textColor: "#c8cdf5" },
      grid: { vertLines: { color: "#2a2e3d" }, horzLines: { color: "#2a2e3d" } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    const mark = chart.addSeries(LineSeries, { color: "#4b6bfb", lineWidth: 2, title: "mark" });
    const index = chart.addSeries(LineSeries, { color: "#ffd166", lineWidth: 2, title: "index" });
    mark.setData(data.mark);
    index.setData(data.index);
    createSeriesMarkers(
      mark,
      data.entries
        .sort((a, b) => a.time - b.time)
        .map((e) => ({
          time: e.time,
          position: e.long ? ("belowBar" as const) : ("aboveBar" as const),
          color: e.long ? "#4cd08a" : "#f07171",
          shape: e.long ? ("arrowUp" as const) : ("arrowDown" as const),
          text: e.long ? "buy" : "sell",
        })),
    );
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [data]);
  return (
    <section aria-labelledby="chart-title">
      <h2 id="chart-title">Mark vs index</h2>
      <label htmlFor="chart-market">Market </label>
      <select id="chart-market" value={ammIndex} onChange={(e) => setAmmIndex(Number(e.target.value))}>
        {deployment?.markets.map((m, i) => (
          <option key={m.amm} value={i}>
            {m.symbol}-PERP
          </option>
        ))}
      </select>
      <p className="hint">Blue: mark after each trade; yellow: index as recorded; arrows: your trades.</p>
      {history.error && <p role="alert">Could not read the history: {history.error.message}</p>}
      <div className="chart" ref={box} data-testid="chart" />
    </section>
  );
}
