/**
 * A hint for a misspelt flag of a `perp` command (`--levrage`: "did you mean --leverage?"). Hardhat
 * refuses an unknown option before any task runs, with a generic message; hardhat.config.ts prints
 * this line first, so the user sees which flag was meant.
 */
import { CLI_FLAGS } from "./index.js";

/** Hardhat's own global flags (accepted with every task). */
const GLOBAL_FLAGS = [
  "network",
  "config",
  "help",
  "show-stack-traces",
  "verbose",
  "version",
  "init",
  "build-profile",
  "coverage",
  "gas-stats",
];

/** Edit distance (insertions, deletions, substitutions, and a swap of two neighbours as one). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The hint for the first unknown flag of a `perp <command>` command line (the arguments after
 * `hardhat`), or undefined when every flag is known or the line is not a perp command.
 */
export function unknownFlagHint(
  argv: readonly string[],
  flags: Record<string, string[]> = CLI_FLAGS,
): string | undefined {
  const at = argv.indexOf("perp");
  const command = argv[at + 1];
  if (at < 0 || command === undefined || flags[command] === undefined) return undefined;
  const known = [...flags[command], ...GLOBAL_FLAGS];
  for (const arg of argv) {
    if (!arg.startsWith("--")) continue;
    const flag = arg.slice(2).split("=")[0];
    if (known.includes(flag)) continue;
    const ranked = known.map((k) => ({ k, d: editDistance(flag.toLowerCase(), k) })).sort((x, y) => x.d - y.d);
    const best = ranked[0];
    if (best !== undefined && best.d <= Math.max(2, Math.floor(flag.length / 3)))
      return `unknown flag --${flag} for perp ${command}: did you mean --${best.k}?`;
    return `unknown flag --${flag} for perp ${command}: its flags are ${flags[command].map((f) => `--${f}`).join(", ")}`;
  }
  return undefined;
}
