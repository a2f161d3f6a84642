/**
 * Maps a deployed contract's program counters to the source lines the compiler built them from
 * (the artifact's build info: its deployed bytecode's source map and the input sources), so that
 * the gas trace can say which lines of Solidity an operation's computation ran.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface BuildInfo {
  input: { sources: Record<string, { content: string }> };
}
interface BuildOutput {
  output: {
    sources: Record<string, { id: number }>;
    contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string; sourceMap: string } } }>>;
  };
}

const buildCache = new Map<string, { info: BuildInfo; output: BuildOutput }>();

function loadBuild(id: string) {
  let build = buildCache.get(id);
  if (build === undefined) {
    build = {
      info: JSON.parse(readFileSync(`artifacts/build-info/${id}.json`, "utf8")) as BuildInfo,
      output: JSON.parse(readFileSync(`artifacts/build-info/${id}.output.json`, "utf8")) as BuildOutput,
    };
    buildCache.set(id, build);
  }
  return build;
}

/** The index of each instruction's first byte: pc -> instruction number (PUSHn carry n bytes). */
function instructionIndices(bytecode: string): Map<number, number> {
  const code = Buffer.from(bytecode.replace(/^0x/, ""), "hex");
  const indices = new Map<number, number>();
  let n = 0;
  for (let pc = 0; pc < code.length; ++n) {
    indices.set(pc, n);
    const op = code[pc];
    pc += op >= 0x60 && op <= 0x7f ? op - 0x5f + 1 : 1;
  }
  return indices;
}

/**
 * pc -> "file:line  source text" for the contract `name` (its artifact under artifacts/contracts),
 * or undefined when it has no artifact.
 */
export function sourceLines(name: string): Map<number, string> | undefined {
  const [artifactPath] = (readdirSync("artifacts/contracts", { recursive: true }) as string[])
    .filter((p) => p.endsWith(`/${name}.json`))
    .map((p) => join("artifacts/contracts", p));
  if (artifactPath === undefined) return undefined;
  const artifact = JSON.parse(readFileSync(artifactPath, "utf8")) as { buildInfoId: string; inputSourceName: string };
  const { info, output } = loadBuild(artifact.buildInfoId);
  const compiled = output.output.contracts[artifact.inputSourceName]?.[name];
  if (compiled === undefined) return undefined;
  const files = new Map<number, { name: string; lineStarts: number[]; text: string }>();
  for (const [source, { id }] of Object.entries(output.output.sources)) {
    const text = info.input.sources[source]?.content ?? "";
    const lineStarts = [0];
    for (let i = 0; i < text.length; ++i) if (text[i] === "\n") lineStarts.push(i + 1);
    files.set(id, { name: source.replace(/^project\//, "").replace(/^npm\//, ""), lineStarts, text });
  }
  // The source map: one entry per instruction, s:l:f:j:m, an empty field repeating the last one.
  const entries = compiled.evm.deployedBytecode.sourceMap.split(";");
  const locations: string[] = [];
  let [s, l, f] = [0, 0, -1];
  for (const entry of entries) {
    const fields = entry.split(":");
    if (fields[0] !== undefined && fields[0] !== "") s = Number(fields[0]);
    if (fields[1] !== undefined && fields[1] !== "") l = Number(fields[1]);
    if (fields[2] !== undefined && fields[2] !== "") f = Number(fields[2]);
    const file = files.get(f);
    if (file === undefined) {
      locations.push("(compiler-generated)");
      continue;
    }
    // The line holding the node's start (binary search over the line starts).
    let [lo, hi] = [0, file.lineStarts.length - 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (file.lineStarts[mid] <= s) lo = mid;
      else hi = mid - 1;
    }
    const lineText = file.text.slice(file.lineStarts[lo], file.lineStarts[lo + 1] ?? file.text.length).trim();
    void l;
    locations.push(`${file.name}:${lo + 1}  ${lineText.slice(0, 90)}`);
  }
  const byPc = new Map<number, string>();
  for (const [pc, n] of instructionIndices(compiled.evm.deployedBytecode.object)) {
    byPc.set(pc, locations[n] ?? "(no source map)");
  }
  return byPc;
}
