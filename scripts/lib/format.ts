/** Plain-text output for the CLI: an injectable line sink and aligned tables. */

/** Where the CLI writes: stdout/stderr from the tasks, a buffer in the tests. */
export interface Output {
  info(line: string): void;
  error(line: string): void;
}

export const consoleOutput: Output = {
  info: (line) => console.log(line),
  error: (line) => console.error(line),
};

/** An Output that keeps every line, for tests. */
export class CapturedOutput implements Output {
  readonly lines: string[] = [];
  readonly errors: string[] = [];
  info(line: string): void {
    this.lines.push(...line.split("\n"));
  }
  error(line: string): void {
    this.errors.push(...line.split("\n"));
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

/**
 * An aligned text table: text columns left-aligned, numeric ones (a leading sign, digit or "$"; not addresses)
 * right-aligned. Cells are strings already formatted.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map(
    (_, i) =>
      rows.length > 0 && rows.every((r) => /^[-+]?[\d$.,]|^n\/a$|^-$/.test(r[i] ?? "") && !/^0x/i.test(r[i] ?? "")),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** "key: value" lines, keys aligned. */
export function formatFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${v}`).join("\n");
}
