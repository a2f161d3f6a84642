/** The demo's summary table, its charts and its JSON report, from a simulation's result. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderSvg, svgToPng, type Panel } from "./chart.js";
import { buildPanels, windDownFlowsText } from "./panels.js";
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
    row("spread to the AMM budget", (m) => m.spread, money),
    row("funding paid by positions", (m) => m.fundingPaid, money),
    row("funding received by positions", (m) => m.fundingReceived, money),
    row("funding updates", (m) => m.fundingUpdates, int),
    row("liquidations", (m) => m.liquidations, int),
    row("  of which full", (m) => m.fullLiquidations, int),
    row("bad debt", (m) => m.badDebt, money),
    row("  charged to the market", (m) => m.chargedToMarket, money),
    row("shortfall (uncovered)", (m) => m.shortfall, money),
    row("claims queued", (m) => m.claimsQueued, int),
    row("claims queued (quote)", (m) => m.claimsQueuedAmount, money),
    row("claims paid (quote)", (m) => m.claimsPaidAmount, money),
    // Pending at the end, read from the Vault (exact; not the difference of the rounded sums above).
    [
      "claims pending (quote)",
      ...r.solvency.markets.map((m) => money(Number(m.claimsPending) / 1e18)),
      money(Number(r.solvency.markets.reduce((a, m) => a + m.claimsPending, 0n)) / 1e18),
    ],
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
  const pools = s.markets.map((m) => `${m.symbol} ${w(m.pool)}`).join(" + ");
  return [
    `vault token balance     ${w(s.vaultTokens * 10n ** 12n)} (${s.vaultTokens} token units)`,
    `owed                    ${w(s.liabilities)} = free collateral ${w(s.freeCollateral)} + market pools ${w(s.marginPool)} (${pools}) + insurance fund ${w(s.insuranceFund)}`,
    `exact (18 decimals)     vault ${s.vaultTokens * 10n ** 12n} vs owed ${s.liabilities}`,
    s.markets.some((m) => m.budget > 0n)
      ? `pool beyond budget      ${s.markets.map((m) => `${m.symbol} ${w(m.pool - m.budget)} (budget ${w(m.budget)})`).join(", ")}: traders' losses to repegs not yet collected into the budgets`
      : `market pool dust        ${s.markets.map((m) => `${m.symbol} ${m.pool} wei`).join(", ")} (limit ${s.dustLimit} in all)`,
    `claims                  ${claimsText(r)}`,
    `positions still open    ${s.openPositions}`,
  ];
}

/** Claims queued, paid and pending per market and in all, to the wei. */
export function claimsText(r: SimResult): string {
  const w = (x: bigint) => money(Number(x) / 1e18);
  const total = r.claims.reduce((a, c) => ({ queued: a.queued + c.queued, paid: a.paid + c.paid }), {
    queued: 0n,
    paid: 0n,
  });
  const pending = r.solvency.markets.reduce((a, m) => a + m.claimsPending, 0n);
  const each = r.claims.map(
    (c, i) =>
      `${r.symbols[i]} ${c.count} queued ${w(c.queued)}, paid ${w(c.paid)}, pending ${w(r.solvency.markets[i].claimsPending)}`,
  );
  return `${each.join("; ")}; in all queued ${w(total.queued)}, paid ${w(total.paid)}, pending ${w(pending)}`;
}

/**
 * The insurance fund from the chart's last point to its final figure: the charts sample during
 * the run, then the wind-down closes and liquidates, which moves fees, penalties, bad debt and
 * funding. Two lines: in quote, and exact in wei.
 */
export function reconciliationLines(r: SimResult): string[] {
  const { lastSample, windDown: f, final, lastSampleHours, endHours } = r.insurance;
  const q = (x: bigint) => money(Number(x) / 1e18);
  return [
    `insurance fund: ${q(lastSample)} at the charts' last sample (hour ${lastSampleHours.toFixed(1)}) ` +
      `+ wind-down flows (${windDownFlowsText(f)}) = ${q(final)} final (hour ${endHours.toFixed(1)})`,
    `    in wei: ${lastSample} + ${f.fees} + ${f.penalties} - ${f.badDebtCovered} - ${f.rewards} ` +
      `${f.funding < 0n ? "-" : "+"} ${f.funding < 0n ? -f.funding : f.funding} = ${final}`,
  ];
}

/** What the wind-down added to the table's liquidations and bad debt. */
export function windDownLine(r: SimResult): string {
  const sum = (ms: SimResult["markets"], f: (m: SimResult["markets"][number]) => number) =>
    ms.reduce((a, m) => a + f(m), 0);
  const liq = sum(r.markets, (m) => m.liquidations) - sum(r.beforeWindDown, (m) => m.liquidations);
  const bad = sum(r.markets, (m) => m.badDebt) - sum(r.beforeWindDown, (m) => m.badDebt);
  return (
    `of the table's totals, the wind-down (after the charts' last sample) added ${int(liq)} liquidation(s) ` +
    `and ${money(bad)} of bad debt`
  );
}

/** Writes the PNG charts and summary.json under `dir`; returns the files written. */
export function writeReports(r: SimResult, dir: string, extra: Record<string, unknown> = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const p = buildPanels(r);
  const write = (name: string, panels: Panel[], columns: number, width?: number) => {
    const path = join(dir, name);
    writeFileSync(path, svgToPng(renderSvg(panels, { columns, width })));
    files.push(path);
  };
  for (const [m, symbol] of r.symbols.entries()) write(`mark-index-${symbol}.png`, [p.marks[m], p.gaps[m]], 1);
  write("funding.png", [p.fundingRate, p.fundingPaid, p.fundingFund], 1, 760);
  write("open-interest.png", p.openInterest, Math.min(2, p.openInterest.length));
  write("liquidations.png", [p.liquidations, p.badDebt], 1);
  write("claims.png", [p.claims], 1, 760);
  write("insurance-fund.png", [p.insurance], 1, 760);
  // Per market a row: peg and depth, then the budget (dynamic curve only).
  if (p.curve.length > 0) write("curve.png", p.curve, 2);
  // Every market's mark and index, then the gaps, funding, bad debt and the insurance fund (and
  // the liquidation count when that fills the grid).
  const overview = [...p.marks, p.allGaps, p.fundingRate, p.badDebt, p.insurance];
  if (overview.length % 2 === 1) overview.splice(overview.length - 1, 0, p.liquidations);
  write("overview.png", overview, 2, 760);

  const json = {
    ...extra,
    options: r.options,
    markets: r.markets,
    beforeWindDown: r.beforeWindDown,
    insurance: Object.fromEntries(
      Object.entries(r.insurance).map(([k, v]) => [
        k,
        typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, String(b)])) : String(v),
      ]),
    ),
    rejectedReasons: Object.fromEntries(r.rejectedReasons),
    insuranceStart: r.insuranceStart,
    insuranceEnd: r.insuranceEnd,
    deposits: r.deposits,
    withdrawals: r.withdrawals,
    crash: r.crash,
    finalRounds: r.finalRounds,
    claims: r.claims,
    solvency: r.solvency,
  };
  const path = join(dir, "summary.json");
  // Amounts in wei as strings: JSON has no bigint.
  writeFileSync(path, JSON.stringify(json, (_, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
  files.push(path);
  return files;
}
