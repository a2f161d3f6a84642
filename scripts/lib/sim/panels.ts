/**
 * The demo's chart panels, from a simulation's result: every market's mark, index and gap, funding
 * (rates, and the cumulative amounts paid and received), open interest (traders vs the arbitrage
 * bot), liquidations and bad debt, claims pending, and the insurance fund with the wind-down's flows
 * explained.
 */
import { COLORS, type Panel, type Series } from "./chart.js";
import type { FundFlows, SimResult } from "./run.js";

const HOURS = "time (hours)";
const QUOTE = "quote (USDC)";
const CRASH = "index crash";

const money = (x: number): string => x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const signed = (x: number): string => `${x < 0 ? "−" : "+"} ${money(Math.abs(x))}`;
const wad = (x: bigint): number => Number(x) / 1e18;
const percent = (y: number): string => `${+y.toFixed(2)}%`;

/** The chart panels of a run, by name. */
export interface Panels {
  /** Per market: mark and index (quote per base), and the gap between them (%). */
  marks: Panel[];
  gaps: Panel[];
  /** Every market's gap in one panel. */
  allGaps: Panel;
  fundingRate: Panel;
  fundingPaid: Panel;
  fundingFund: Panel;
  /** Per market: traders' and the bot's open interest (base). */
  openInterest: Panel[];
  liquidations: Panel;
  badDebt: Panel;
  /** Per market: profit queued as claims and not yet paid. */
  claims: Panel;
  insurance: Panel;
  /** Dynamic curve only, per market: its peg and depth, then its AMM budget (empty with the static curve). */
  curve: Panel[];
}

/** The wind-down's flows into the insurance fund, by kind, as text (quote). */
export function windDownFlowsText(f: FundFlows): string {
  return (
    `fees ${signed(wad(f.fees))}, penalties ${signed(wad(f.penalties))}, bad debt covered ${signed(-wad(f.badDebtCovered))}, ` +
    `liquidator rewards ${signed(-wad(f.rewards))}, funding ${signed(wad(f.funding))}`
  );
}

export function buildPanels(r: SimResult): Panels {
  const band: [number, number] = [r.crash.startHours, r.crash.endHours];
  const common = { xLabel: HOURS, band, bandLabel: CRASH };
  const line = (
    name: string,
    color: string,
    y: (s: SimResult["samples"][number]) => number,
    more: Partial<Series> = {},
  ): Series => ({ name, color, points: r.samples.map((s) => [s.hours, y(s)]), ...more });
  const perMarket = (y: (m: SimResult["samples"][number]["markets"][number]) => number, dashed = false) =>
    r.symbols.map((symbol, i) => line(symbol, COLORS[i % COLORS.length], (s) => y(s.markets[i]), { dashed }));

  const marks = r.symbols.map((symbol, m): Panel => ({
    ...common,
    title: `${symbol}: mark vs index`,
    yLabel: `price (quote per ${symbol})`,
    series: [
      line("index (oracle)", "#9ca3af", (s) => s.markets[m].index, { width: 4 }),
      line("mark (vAMM)", COLORS[0], (s) => s.markets[m].mark),
    ],
  }));
  const gaps = r.symbols.map((symbol, m): Panel => ({
    ...common,
    title: `${symbol}: mark-index gap (+: mark above index)`,
    yLabel: "gap (% of index)",
    yFormat: percent,
    zeroLine: true,
    series: [line("mark / index − 1", COLORS[1], (s) => s.markets[m].gapPct)],
  }));
  const dynamic = r.samples[0]?.markets[0]?.peg !== undefined;
  const curve = dynamic
    ? r.symbols.flatMap((symbol, m): Panel[] => [
        {
          ...common,
          title: `${symbol}: peg and depth (1 = launch)`,
          yLabel: "multiple of launch",
          series: [
            line("peg (repegs toward the index)", "#2563eb", (s) => s.markets[m].peg ?? NaN),
            line("depth (formulaic k)", "#059669", (s) => s.markets[m].depth ?? NaN),
          ],
        },
        {
          ...common,
          title: `${symbol}: AMM budget (pays repegs and depth changes; spread in)`,
          yLabel: QUOTE,
          series: [line("budget", "#d97706", (s) => s.markets[m].budget ?? NaN)],
        },
      ])
    : [];
  const last = r.samples[r.samples.length - 1];
  const end = r.insurance;
  const ins = r.samples.map((s): [number, number] => [s.hours, s.insuranceFund]);
  return {
    curve,
    marks,
    gaps,
    allGaps: {
      ...common,
      title: "Mark-index gap (+: mark above index)",
      yLabel: "gap (% of index)",
      yFormat: percent,
      zeroLine: true,
      series: perMarket((m) => m.gapPct),
    },
    fundingRate: {
      ...common,
      title: "Funding rate (+: longs pay shorts)",
      yLabel: "% of index per day",
      zeroLine: true,
      yFormat: percent,
      series: perMarket((m) => m.fundingRatePct),
    },
    fundingPaid: {
      ...common,
      title: "Funding settled by positions (cumulative)",
      yLabel: QUOTE,
      series: r.symbols.flatMap((symbol, i) => [
        line(`${symbol} paid`, COLORS[i % COLORS.length], (s) => s.markets[i].fundingPaid),
        line(`${symbol} received`, COLORS[i % COLORS.length], (s) => s.markets[i].fundingReceived, { dashed: true }),
      ]),
    },
    fundingFund: {
      ...common,
      title: "Funding: positions' net payment vs the fund's share",
      yLabel: QUOTE,
      zeroLine: true,
      series: [
        line("paid − received by positions (as settled)", "#374151", (s) =>
          s.markets.reduce((a, m) => a + m.fundingPaid - m.fundingReceived, 0),
        ),
        line("insurance fund's share (as accrued)", "#7c3aed", (s) => s.insuranceFunding),
      ],
      footnote: [
        "The fund takes what payers pay beyond what receivers receive (and pays the difference the other way);",
        "positions settle their funding only when they trade, so the two lines meet once every position is closed.",
      ],
    },
    openInterest: r.symbols.map((symbol, m): Panel => ({
      ...common,
      title: `${symbol}: open interest, traders vs arbitrage bot`,
      yLabel: `${symbol} (base)`,
      series: [
        line("traders long", "#059669", (s) => s.markets[m].longOI - s.markets[m].arbLongOI),
        line("traders short", "#dc2626", (s) => s.markets[m].shortOI - s.markets[m].arbShortOI),
        line("bot long", "#059669", (s) => s.markets[m].arbLongOI, { dashed: true }),
        line("bot short", "#dc2626", (s) => s.markets[m].arbShortOI, { dashed: true }),
      ],
    })),
    liquidations: {
      ...common,
      title: "Liquidations (cumulative count)",
      yLabel: "liquidations",
      yFormat: (y) => (Number.isInteger(y) ? `${y}` : ""),
      series: perMarket((m) => m.liquidations),
    },
    claims: {
      ...common,
      title: "Claims pending: profit queued until the market's pool can pay it",
      yLabel: QUOTE,
      series: perMarket((m) => m.claimsPending),
    },
    badDebt: {
      ...common,
      title: "Bad debt (cumulative)",
      yLabel: QUOTE,
      series: perMarket((m) => m.badDebt),
    },
    insurance: {
      ...common,
      title: "Insurance fund balance",
      yLabel: QUOTE,
      series: [
        { name: "sampled each step", color: "#7c3aed", points: ins },
        {
          name: "wind-down (not sampled)",
          color: "#7c3aed",
          dashed: true,
          points: [
            [end.lastSampleHours, wad(end.lastSample)],
            [end.endHours, wad(end.final)],
          ],
        },
        {
          name: `final (hour ${end.endHours.toFixed(1)})`,
          color: "#111827",
          dots: true,
          points: [[end.endHours, wad(end.final)]],
        },
      ],
      footnote: [
        `Sampled each step until hour ${end.lastSampleHours.toFixed(1)} (${money(last.insuranceFund)}); the wind-down then closed or ` +
          "liquidated every position, which moved the fund:",
        `${windDownFlowsText(end.windDown)} = final ${money(wad(end.final))}.`,
      ],
    },
  };
}
