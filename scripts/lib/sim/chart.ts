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
}

export interface Panel {
  title: string;
  series: Series[];
  xLabel?: string;
  /** Formats a y tick label. */
  yFormat?: (y: number) => string;
  /** A horizontal reference line (e.g. 0). */
  zeroLine?: boolean;
  /** Vertical band to shade, in x units (e.g. the crash). */
  band?: [number, number];
}

export const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777"];

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

/** One panel as SVG elements inside the box (x, y, w, h). */
function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = x0 + 70;
  const right = x0 + w - 15;
  const top = y0 + 40;
  const bottom = y0 + h - 45;
  const all = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const out: string[] = [];
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#ffffff"/>`);
  out.push(
    `<text x="${x0 + w / 2}" y="${y0 + 24}" font-size="16" font-weight="bold" text-anchor="middle" fill="#111827">${escape(p.title)}</text>`,
  );
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
    out.push(`<rect x="${a}" y="${top}" width="${Math.max(1, b - a)}" height="${bottom - top}" fill="#fee2e2"/>`);
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
      `<text x="${(left + right) / 2}" y="${bottom + 35}" font-size="12" text-anchor="middle" fill="#374151">${escape(p.xLabel)}</text>`,
    );
  }
  let legendX = left + 8;
  for (const s of p.series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length > 0) {
      const d = pts.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5,3"' : ""}/>`,
      );
    }
    out.push(`<rect x="${legendX}" y="${top + 8}" width="14" height="3" fill="${s.color}"/>`);
    out.push(`<text x="${legendX + 18}" y="${top + 13}" font-size="11" fill="#111827">${escape(s.name)}</text>`);
    legendX += 30 + s.name.length * 6.5;
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
  const h = options.height ?? 320;
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
