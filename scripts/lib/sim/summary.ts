/** The demo's summary table, its charts and its JSON report, from a simulation's result. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { COLORS, renderSvg, svgToPng, type Panel } from "./chart.js";
import type { SimResult } from "./run.js";

const money = (x: number): string => x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const int = (x: number): string => x.toLocaleString("en-US");
const pct = (x: number, digits = 3): string => `${x.toFixed(digits)}%`;

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    "| " + cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ") + " |";
  const rule = "|" + widths.map((w, c) => (c === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** The summary table: one column per market and a total. */
export function summaryTable(r: SimResult): string {
  const ms = r.markets;
  const sum = (f: (m: (typeof ms)[number]) => number) => ms.reduce((a, m) => a + f(m), 0);
  const row = (label: string, f: (m: (typeof ms)[number]) => number, fmt: (x: number) => string, total = true) => [
    label,
    ...ms.map((m) => fmt(f(m))),
    total ? fmt(sum(f)) : "",
  ];
  const rows = [
    row("trades", (m) => m.trades, int),
    row("arbitrage trades", (m) => m.arbTrades, int),
    row("rejected trades", (m) => m.rejected, int),
    row("volume (quote)", (m) => m.volume, money),
    row("fees to the insurance fund", (m) => m.fees, money),
    row("funding paid by positions", (m) => m.fundingPaid, money),
    row("funding received by positions", (m) => m.fundingReceived, money),
    row("funding updates", (m) => m.fundingUpdates, int),
    row("liquidations", (m) => m.liquidations, int),
    row("  of which full", (m) => m.fullLiquidations, int),
    row("bad debt", (m) => m.badDebt, money),
    row("shortfall (uncovered)", (m) => m.shortfall, money),
    row(
      "index crash depth",
      (m) => m.crashDepthPct,
      (x) => pct(x, 1),
      false,
    ),
    row(
      "mean mark-index gap",
      (m) => m.meanGapPct,
      (x) => pct(x),
      false,
    ),
    row(
      "max mark-index gap",
      (m) => m.maxGapPct,
      (x) => pct(x),
      false,
    ),
  ];
  return table(["", ...r.symbols, "total"], rows);
}

export function solvencyLines(r: SimResult): string[] {
  const s = r.solvency;
  const w = (x: bigint) => (Number(x) / 1e18).toLocaleString("en-US", { maximumFractionDigits: 6 });
  return [
    `vault token balance     ${w(s.vaultTokens * 10n ** 12n)} (${s.vaultTokens} token units)`,
    `claims                  ${w(s.claims)} = free collateral ${w(s.freeCollateral)} + margin pool ${w(s.marginPool)} + insurance fund ${w(s.insuranceFund)}`,
    `exact (18 decimals)     vault ${s.vaultTokens * 10n ** 12n} vs claims ${s.claims}`,
    `margin pool dust        ${s.marginPool} wei (limit ${s.dustLimit})`,
    `positions still open    ${s.openPositions}`,
  ];
}

/** Writes the PNG charts and summary.json under `dir`; returns the files written. */
export function writeReports(r: SimResult, dir: string, extra: Record<string, unknown> = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const x = (i: number) => r.samples[i].hours;
  const band: [number, number] = [r.crash.startHours, r.crash.endHours];
  const hours = "hours";
  const markPanels: Panel[] = r.symbols.map((symbol, m) => ({
    title: `${symbol}: mark vs index`,
    xLabel: hours,
    band,
    series: [
      { name: "index", color: "#6b7280", points: r.samples.map((s, i) => [x(i), s.markets[m].index]) },
      { name: "mark", color: COLORS[0], points: r.samples.map((s, i) => [x(i), s.markets[m].mark]) },
    ],
  }));
  const fundingPanel: Panel = {
    title: "Funding rate (% of index per day; +: longs pay)",
    xLabel: hours,
    band,
    zeroLine: true,
    yFormat: (y) => `${+y.toFixed(2)}%`,
    series: r.symbols.map((symbol, m) => ({
      name: symbol,
      color: COLORS[m % COLORS.length],
      points: r.samples.map((s, i) => [x(i), s.markets[m].fundingRatePct]),
    })),
  };
  const oiPanels: Panel[] = r.symbols.map((symbol, m) => ({
    title: `${symbol}: open interest (base)`,
    xLabel: hours,
    band,
    series: [
      { name: "long", color: "#059669", points: r.samples.map((s, i) => [x(i), s.markets[m].longOI]) },
      { name: "short", color: "#dc2626", points: r.samples.map((s, i) => [x(i), s.markets[m].shortOI]) },
    ],
  }));
  const insurancePanel: Panel = {
    title: "Insurance fund balance (quote)",
    xLabel: hours,
    band,
    series: [{ name: "insurance fund", color: "#7c3aed", points: r.samples.map((s, i) => [x(i), s.insuranceFund]) }],
  };
  const write = (name: string, panels: Panel[], columns: number) => {
    const path = join(dir, name);
    writeFileSync(path, svgToPng(renderSvg(panels, { columns })));
    files.push(path);
  };
  for (const [m, symbol] of r.symbols.entries()) write(`mark-index-${symbol}.png`, [markPanels[m]], 1);
  write("funding-rate.png", [fundingPanel], 1);
  write("open-interest.png", oiPanels, Math.min(2, oiPanels.length));
  write("insurance-fund.png", [insurancePanel], 1);
  write("overview.png", [markPanels[0], markPanels[1], fundingPanel, insurancePanel], 2);

  const json = {
    ...extra,
    options: r.options,
    markets: r.markets,
    rejectedReasons: Object.fromEntries(r.rejectedReasons),
    insuranceStart: r.insuranceStart,
    insuranceEnd: r.insuranceEnd,
    deposits: r.deposits,
    withdrawals: r.withdrawals,
    crash: r.crash,
    finalRounds: r.finalRounds,
    solvency: Object.fromEntries(
      Object.entries(r.solvency).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]),
    ),
  };
  const path = join(dir, "summary.json");
  writeFileSync(path, JSON.stringify(json, null, 2) + "\n");
  files.push(path);
  return files;
}
