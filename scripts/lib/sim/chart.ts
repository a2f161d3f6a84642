/**
 * Line charts drawn as SVG by hand and rendered to PNG with @resvg/resvg-js, with the Inter font
 * that ships in an npm package (@expo-google-fonts/inter), so the PNGs look the same on any machine,
 * fonts installed or not.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

export interface Series {
  name: string;
  color: string;
  /** [x, y] points; x is shared by every series of a chart. */
  points: Array<[number, number]>;
  dashed?: boolean;
  /** Draw each point as a dot (e.g. a single figure after the sampled run). */
  dots?: boolean;
  /** Line width; default 1.6. */
  width?: number;
}

export interface Panel {
  title: string;
  series: Series[];
  /** The x axis's name and unit, e.g. "time (hours)". */
  xLabel?: string;
  /** The y axis's name and unit, e.g. "price (quote per base)". */
  yLabel?: string;
  /** Formats a y tick label. */
  yFormat?: (y: number) => string;
  /** A horizontal reference line (e.g. 0). */
  zeroLine?: boolean;
  /** Vertical band to shade, in x units (e.g. the crash), and its legend entry. */
  band?: [number, number];
  bandLabel?: string;
  /** Lines of small text under the x axis (a caption or a footnote). */
  footnote?: string[];
}

export const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777"];
const BAND_COLOR = "#fee2e2";

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Round tick positions covering [min, max]. */
function ticks(min: number, max: number, count: number): number[] {
  if (min === max) return [min];
  const raw = (max - min) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step)
    out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

export function compact(y: number): string {
  const a = Math.abs(y);
  if (a >= 1e6) return `${+(y / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(y / 1e3).toFixed(1)}k`;
  if (a >= 100) return `${+y.toFixed(0)}`;
  if (a >= 1) return `${+y.toFixed(2)}`;
  return `${+y.toPrecision(2)}`;
}

/** Approximate width in pixels of `text` at `size` px in Inter (for layout only). */
const textWidth = (text: string, size: number): number => text.length * size * 0.56;

interface LegendItem {
  label: string;
  swatch: (x: number, y: number) => string;
}

/** Legend items laid out in rows that fit `width`; returns the rows' items with their x offsets. */
function legendRows(items: LegendItem[], width: number): Array<Array<[LegendItem, number]>> {
  const rows: Array<Array<[LegendItem, number]>> = [];
  let row: Array<[LegendItem, number]> = [];
  let x = 0;
  for (const item of items) {
    const w = 22 + textWidth(item.label, 11) + 14;
    if (row.length > 0 && x + w > width) {
      rows.push(row);
      [row, x] = [[], 0];
    }
    row.push([item, x]);
    x += w;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/** One panel as SVG elements inside the box (x, y, w, h). */
function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = x0 + (p.yLabel ? 82 : 64);
  const right = x0 + w - 18;
  const items: LegendItem[] = p.series.map((s) => ({
    label: s.name,
    swatch: (x, y) =>
      s.dots && s.points.length === 1
        ? `<circle cx="${x + 7}" cy="${y}" r="4" fill="${s.color}"/>`
        : `<line x1="${x}" x2="${x + 16}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="${Math.max(2, s.width ?? 1.6)}"${s.dashed ? ' stroke-dasharray="4,2"' : ""}/>`,
  }));
  if (p.band && p.bandLabel) {
    items.push({
      label: p.bandLabel,
      swatch: (x, y) => `<rect x="${x}" y="${y - 5}" width="16" height="10" fill="${BAND_COLOR}" stroke="#fca5a5"/>`,
    });
  }
  const rows = legendRows(items, right - left);
  const footLines = p.footnote?.length ?? 0;
  const top = y0 + 34 + rows.length * 16 + 6;
  const bottom = y0 + h - (p.xLabel ? 42 : 26) - (footLines > 0 ? footLines * 15 + 6 : 0);
  const all = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const out: string[] = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#ffffff"/>`);
  out.push(
    `<text x="${x0 + w / 2}" y="${y0 + 22}" font-size="16" font-weight="bold" text-anchor="middle" fill="#111827">${escape(p.title)}</text>`,
  );
  for (const [r, row] of rows.entries()) {
    const y = y0 + 42 + r * 16;
    for (const [item, dx] of row) {
      out.push(item.swatch(left + dx, y - 4));
      out.push(`<text x="${left + dx + 22}" y="${y}" font-size="11" fill="#111827">${escape(item.label)}</text>`);
    }
  }
  for (const [i, line] of (p.footnote ?? []).entries()) {
    out.push(
      `<text x="${x0 + 12}" y="${y0 + h - 10 - (footLines - 1 - i) * 15}" font-size="11" fill="#4b5563">${escape(line)}</text>`,
    );
  }
  if (all.length === 0) return out.join("\n");
  let [xMin, xMax] = [Math.min(...all.map((a) => a[0])), Math.max(...all.map((a) => a[0]))];
  let [yMin, yMax] = [Math.min(...all.map((a) => a[1])), Math.max(...all.map((a) => a[1]))];
  if (p.zeroLine) [yMin, yMax] = [Math.min(yMin, 0), Math.max(yMax, 0)];
  if (xMax === xMin) xMax = xMin + 1;
  const pad = (yMax - yMin) * 0.06 || Math.abs(yMax) * 0.1 || 1;
  [yMin, yMax] = [yMin - pad, yMax + pad];
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (right - left);
  const sy = (y: number) => bottom - ((y - yMin) / (yMax - yMin)) * (bottom - top);
  if (p.band) {
    const [a, b] = p.band.map(sx);
    out.push(`<rect x="${a}" y="${top}" width="${Math.max(1, b - a)}" height="${bottom - top}" fill="${BAND_COLOR}"/>`);
  }
  const fmt = p.yFormat ?? compact;
  for (const t of ticks(yMin, yMax, 5)) {
    out.push(`<line x1="${left}" x2="${right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${left - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end" fill="#4b5563">${escape(fmt(t))}</text>`,
    );
  }
  for (const t of ticks(xMin, xMax, 6)) {
    out.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${bottom}" y2="${bottom + 4}" stroke="#6b7280"/>`);
    out.push(
      `<text x="${sx(t)}" y="${bottom + 17}" font-size="11" text-anchor="middle" fill="#4b5563">${escape(compact(t))}</text>`,
    );
  }
  if (p.zeroLine) out.push(`<line x1="${left}" x2="${right}" y1="${sy(0)}" y2="${sy(0)}" stroke="#9ca3af"/>`);
  out.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#9ca3af"/>`,
  );
  if (p.xLabel) {
    out.push(
      `<text x="${(left + right) / 2}" y="${bottom + 33}" font-size="12" text-anchor="middle" fill="#374151">${escape(p.xLabel)}</text>`,
    );
  }
  if (p.yLabel) {
    const cy = (top + bottom) / 2;
    out.push(
      `<text x="${x0 + 16}" y="${cy}" font-size="12" text-anchor="middle" fill="#374151" transform="rotate(-90 ${x0 + 16} ${cy})">${escape(p.yLabel)}</text>`,
    );
  }
  for (const s of p.series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (s.dots) {
      for (const [x, y] of pts) out.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="4" fill="${s.color}"/>`);
    } else if (pts.length > 0) {
      const d = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.6}"${s.dashed ? ' stroke-dasharray="5,3"' : ""}/>`,
      );
    }
  }
  return out.join("\n");
}

/** Panels in a grid of `columns`, each `width` x `height`, as one SVG document. */
export function renderSvg(
  panels: Panel[],
  options: { columns?: number; width?: number; height?: number } = {},
): string {
  const columns = Math.min(options.columns ?? 1, panels.length);
  const w = options.width ?? 640;
  const h = options.height ?? 340;
  const rows = Math.ceil(panels.length / columns);
  const body = panels.map((p, i) => panelSvg(p, (i % columns) * w, Math.floor(i / columns) * h, w, h)).join("\n");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${columns * w}" height="${rows * h}" ` +
    `font-family="Inter">\n<rect width="100%" height="100%" fill="#ffffff"/>\n${body}\n</svg>\n`
  );
}

let fontFile: string | undefined;

/** The bundled font: the Inter regular face of @expo-google-fonts/inter. */
function font(): string {
  if (fontFile === undefined) {
    const pkg = createRequire(import.meta.url).resolve("@expo-google-fonts/inter/package.json");
    fontFile = join(dirname(pkg), "400Regular", "Inter_400Regular.ttf");
  }
  return fontFile;
}

/** Renders an SVG document to PNG bytes. */
export function svgToPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    font: { fontFiles: [font()], loadSystemFonts: false, defaultFontFamily: "Inter" },
    background: "#ffffff",
  });
  return resvg.render().asPng();
}
