// `npm run demo -- --seed 7 --steps 100 --markets 3 --traders 24 --curve dynamic`: `hardhat run`
// passes no arguments to scripts, so the flags become DEMO_* environment variables for scripts/demo.ts.
// `--update-readme-chart` (DEMO_UPDATE_README_CHART=1) also copies the overview chart to the
// committed reports/demo-overview.png that the README shows; without it the demo writes only to
// the git-ignored reports/demo/.
import { spawnSync } from "node:child_process";

const names = {
  seed: "DEMO_SEED",
  steps: "DEMO_STEPS",
  markets: "DEMO_MARKETS",
  traders: "DEMO_TRADERS",
  curve: "DEMO_CURVE",
};
const switches = { "update-readme-chart": "DEMO_UPDATE_README_CHART" };
const env = { ...process.env };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const match = /^--([\w-]+)(?:=(.*))?$/.exec(args[i]);
  const name = match?.[1];
  if (match && name in switches && match[2] === undefined) {
    env[switches[name]] = "1";
    continue;
  }
  if (!match || !(name in names)) {
    console.error(
      `demo: unknown argument "${args[i]}" (flags: --seed, --steps, --markets, --traders, --curve, --update-readme-chart)`,
    );
    process.exit(2);
  }
  const value = match[2] ?? args[++i];
  if (value === undefined) {
    console.error(`demo: --${name} needs a value`);
    process.exit(2);
  }
  env[names[name]] = value;
}
const result = spawnSync("hardhat", ["run", "scripts/demo.ts"], { stdio: "inherit", env, shell: false });
if (result.error) {
  console.error(`demo: cannot start hardhat: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
