/** The benchmark's table, its goal checks, its JSON summary and its charts. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderSvg, svgToPng, type Panel, type Series } from "../sim/chart.js";
import { table } from "../sim/summary.js";
import type { RunResult } from "./run.js";
import { SCENARIO_LABELS, SCENARIOS, type ScenarioName } from "./scenarios.js";

const money = (x: number): string => x.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 0 });
const pct = (x: number): string => `${x.toFixed(3)}%`;
const label = (r: RunResult): string =>
  `${SCENARIO_LABELS[r.options.scenario]}, ${r.options.curve}, ${r.options.arbitrage ? "arb" : "no arb"}`;

/** One row per run: the gap, the fund, the curve's costs, the traders' PnL. */
export function resultsTable(results: readonly RunResult[]): string {
  const header = [
    "scenario, curve, arbitrage",
    "mean gap",
    "max gap",
    "fund drawdown",
    "fund funding paid",
    "budget funding paid",
    "bad debt (budget paid)",
    "subsidy budget",
    "repegs (n, paid)",
    "k changes (n, paid)",
    "gains collected",
    "budget start → end",
    "traders' PnL",
    "rejected",
  ];
  const costs = (t: RunResult["repegs"]) =>
    t.count === 0 ? "0" : `${t.count}, ${money(t.paid)}${t.gained > 0 ? ` (gains ${money(t.gained)})` : ""}`;
  const rows = results.map((r) => [
    label(r),
    pct(r.meanGapPct),
    pct(r.maxGapPct),
    money(r.fundDrawdown),
    money(r.fundFundingPaid),
    r.options.curve === "dynamic" ? money(r.budgetFundingPaid) : "-",
    `${money(r.badDebt)}${r.badDebtFromBudget > 0 ? ` (${money(r.badDebtFromBudget)})` : ""}`,
    money(r.subsidyBudget),
    costs(r.repegs),
    costs(r.depthChanges),
    r.gainsCollected === 0 ? "0" : money(r.gainsCollected),
    r.budgetStart === undefined ? "-" : `${money(r.budgetStart)} → ${money(r.budgetEnd ?? 0)}`,
    money(r.tradersPnl),
    String(Object.values(r.rejected).reduce((a, b) => a + b, 0)),
  ]);
  return table(header, rows);
}

export interface GoalCheck {
  goal: string;
  met: boolean | undefined;
  detail: string;
}

const find = (rs: readonly RunResult[], scenario: ScenarioName, curve: string, arbitrage: boolean) =>
  rs.find((r) => r.options.scenario === scenario && r.options.curve === curve && r.options.arbitrage === arbitrage);

/** The issue's goals, checked on the results (undefined: a run the goal needs is missing). */
export function goalChecks(results: readonly RunResult[]): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const scenario of SCENARIOS) {
    const dyn = find(results, scenario, "dynamic", false);
    const stat = find(results, scenario, "static", false);
    const name = SCENARIO_LABELS[scenario];
    checks.push({
      goal: `${name}: dynamic curve, no arbitrage: mean gap < 0.5%`,
      met: dyn === undefined ? undefined : dyn.meanGapPct < 0.5,
      detail: dyn === undefined ? "no dynamic run" : `mean gap ${pct(dyn.meanGapPct)}`,
    });
    checks.push({
      goal: `${name}: no arbitrage: fund drawdown dynamic < static`,
      met:
        dyn === undefined || stat === undefined
          ? undefined
          : dyn.fundDrawdown < stat.fundDrawdown || (dyn.fundDrawdown === 0 && stat.fundDrawdown === 0),
      detail:
        dyn === undefined || stat === undefined
          ? "a run is missing"
          : `dynamic ${money(dyn.fundDrawdown)} vs static ${money(stat.fundDrawdown)}`,
    });
  }
  for (const r of results.filter((x) => x.options.scenario === "rally")) {
    checks.push({
      goal: `${label(r)}: fund's funding paid <= its budgeted subsidy`,
      met: r.fundFundingPaid <= r.subsidyBudget,
      detail: `paid ${money(r.fundFundingPaid)}, budget ${money(r.subsidyBudget)}`,
    });
  }
  return checks;
}

export function goalLines(checks: readonly GoalCheck[]): string[] {
  return checks.map((c) => `${c.met === undefined ? "n/a " : c.met ? "MET " : "MISS"}  ${c.goal}: ${c.detail}`);
}

const COLORS = { index: "#9ca3af", static: "#dc2626", dynamic: "#2563eb" };

/** Chart panels: per scenario, mark vs index, the gap and the net position (static vs dynamic); the curve's peg, depth and budget; the fund. */
function panels(results: readonly RunResult[]): { marks: Panel[]; curve: Panel[] } {
  const marks: Panel[] = [];
  const curve: Panel[] = [];
  for (const scenario of SCENARIOS) {
    const runs = results.filter((r) => r.options.scenario === scenario);
    if (runs.length === 0) continue;
    const first = runs[0];
    const common = { xLabel: "time (hours)", band: first.moveHours, bandLabel: "index move" };
    const line = (
      r: RunResult,
      y: (s: RunResult["samples"][number]) => number | undefined,
      more: Partial<Series> = {},
    ): Series => ({
      name: `${r.options.curve}${r.options.arbitrage ? ", arbitrage" : ", no arbitrage"}`,
      color: COLORS[r.options.curve],
      dashed: r.options.arbitrage,
      points: r.samples.flatMap((s) => {
        const v = y(s);
        return v === undefined ? [] : [[s.hours, v] as [number, number]];
      }),
      ...more,
    });
    const name = SCENARIO_LABELS[scenario];
    marks.push({
      ...common,
      title: `${name}: mark vs index (no arbitrage bot)`,
      yLabel: "price (quote per ETH)",
      series: [
        { name: "index", color: COLORS.index, width: 4, points: first.samples.map((s) => [s.hours, s.index]) },
        ...runs
          .filter((r) => !r.options.arbitrage)
          .map((r) => line(r, (s) => s.mark, { name: `mark, ${r.options.curve} curve` })),
      ],
    });
    marks.push({
      ...common,
      title: `${name}: mark-index gap`,
      yLabel: "gap (% of index)",
      yFormat: (y) => `${+y.toFixed(2)}%`,
      zeroLine: true,
      series: runs.map((r) => line(r, (s) => s.gapPct)),
    });
    marks.push({
      ...common,
      title: `${name}: net open interest (longs − shorts, the bot's included)`,
      yLabel: "ETH (base)",
      zeroLine: true,
      series: runs.map((r) => line(r, (s) => s.longOI - s.shortOI)),
    });
    const dynamic = runs.filter((r) => r.options.curve === "dynamic");
    if (dynamic.length > 0) {
      curve.push({
        ...common,
        title: `${name}: peg and depth (dynamic curve; 1 = launch)`,
        yLabel: "multiple of launch",
        series: dynamic.flatMap((r) => [
          line(r, (s) => s.peg, { name: `peg${r.options.arbitrage ? ", arbitrage" : ""}`, color: "#2563eb" }),
          line(r, (s) => s.depth, { name: `depth${r.options.arbitrage ? ", arbitrage" : ""}`, color: "#059669" }),
        ]),
      });
      curve.push({
        ...common,
        title: `${name}: AMM budget (dynamic curve)`,
        yLabel: "quote (USDC)",
        series: dynamic.map((r) => line(r, (s) => s.budget, { color: "#d97706" })),
      });
    }
    curve.push({
      ...common,
      title: `${name}: insurance fund`,
      yLabel: "quote (USDC)",
      series: runs.map((r) => line(r, (s) => s.fund)),
    });
  }
  return { marks, curve };
}

/** Writes summary.json and the charts under `dir`; returns the files written. */
export function writeEconReports(
  results: readonly RunResult[],
  checks: readonly GoalCheck[],
  dir: string,
  extra: Record<string, unknown>,
): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const p = panels(results);
  const columns = SCENARIOS.length;
  const write = (name: string, list: Panel[], cols: number) => {
    if (list.length === 0) return;
    const path = join(dir, name);
    writeFileSync(path, svgToPng(renderSvg(list, { columns: cols, width: 720 })));
    files.push(path);
  };
  // Per scenario a column: mark vs index over the gap.
  const byColumn = (list: Panel[], perScenario: number) =>
    Array.from({ length: perScenario }, (_, row) =>
      SCENARIOS.map((_, c) => list[c * perScenario + row]).filter((x) => x !== undefined),
    ).flat();
  write("mark-index.png", byColumn(p.marks, 3), columns);
  const perScenario = p.curve.length / columns;
  write("curve.png", Number.isInteger(perScenario) ? byColumn(p.curve, perScenario) : p.curve, columns);
  const json = {
    ...extra,
    goals: checks,
    runs: results.map((r) => ({
      ...r,
      samples: undefined,
      series: {
        hours: r.samples.map((s) => s.hours),
        index: r.samples.map((s) => +s.index.toFixed(4)),
        mark: r.samples.map((s) => +s.mark.toFixed(4)),
        fund: r.samples.map((s) => +s.fund.toFixed(2)),
        ...(r.samples[0].peg === undefined
          ? {}
          : {
              peg: r.samples.map((s) => +(s.peg ?? 0).toFixed(6)),
              depth: r.samples.map((s) => +(s.depth ?? 0).toFixed(6)),
              budget: r.samples.map((s) => +(s.budget ?? 0).toFixed(2)),
            }),
      },
    })),
  };
  const path = join(dir, "summary.json");
  writeFileSync(path, JSON.stringify(json, null, 2) + "\n");
  files.push(path);
  return files;
}
