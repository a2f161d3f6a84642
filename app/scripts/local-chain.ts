/**
 * A local chain for the app: `npx hardhat node` on 127.0.0.1 at a given (or free) port, and the
 * local system deployed on it with Ignition (app/scripts/deploy-local.ts), from the repository
 * root. `stop()` ends the node (its whole process group) and removes the deployment's journal,
 * which a stopped node makes stale.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface LocalChain {
  rpcUrl: string;
  deploymentId: string;
  stop: () => void;
}

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Whether a port on 127.0.0.1 is free to listen on. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, quiet: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: quiet ? "pipe" : "inherit" });
    let output = "";
    child.stdout?.on("data", (d) => (output += d));
    child.stderr?.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}\n${output}`)),
    );
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
}

/** Starts a node on `port` and deploys the local system there under `deploymentId`. */
export async function startLocalChain(options: {
  port: number;
  deploymentId: string;
  seedActivity: boolean;
  quiet?: boolean;
}): Promise<LocalChain> {
  const { port, deploymentId, seedActivity, quiet = false } = options;
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deploymentDir = join(REPO_ROOT, "deploy", "deployments", deploymentId);
  // A new node is a new chain: a journal left by an earlier node would not match it.
  rmSync(deploymentDir, { recursive: true, force: true });
  const node = spawn("npx", ["hardhat", "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    stdio: "ignore",
    detached: true,
  });
  const stop = (): void => {
    killGroup(node);
    rmSync(deploymentDir, { recursive: true, force: true });
  };
  try {
    const started = Date.now();
    for (;;) {
      if (node.exitCode !== null) throw new Error(`the Hardhat node exited with ${node.exitCode}`);
      try {
        await rpc(rpcUrl, "eth_chainId");
        break;
      } catch {
        if (Date.now() - started > 180_000) throw new Error(`no Hardhat node answered at ${rpcUrl} within 180 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await run(
      "npx",
      ["hardhat", "run", "app/scripts/deploy-local.ts"],
      {
        ...process.env,
        APP_RPC_URL: rpcUrl,
        APP_DEPLOYMENT_ID: deploymentId,
        APP_SEED_ACTIVITY: seedActivity ? "1" : "0",
      },
      quiet,
    );
  } catch (error) {
    stop();
    throw error;
  }
  return { rpcUrl, deploymentId, stop };
}
