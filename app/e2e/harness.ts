/**
 * The e2e tests' world: a Hardhat node on a free port with the local system deployed by Ignition
 * (its own deployment id, removed afterwards), the production build served by `vite preview`, and
 * Debian's Chromium driven by playwright-core. Every console error or warning of the page is kept,
 * and the tests fail on any.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { createPublicClient, getAddress, http, type Address, type PublicClient } from "viem";
import { preview, type PreviewServer } from "vite";
import { freePort, REPO_ROOT, startLocalChain, type LocalChain } from "../scripts/local-chain.ts";

export const SCREENSHOTS = join(REPO_ROOT, "reports", "app");

export interface World {
  chain: LocalChain;
  server: PreviewServer;
  browser: Browser;
  page: Page;
  url: string;
  client: PublicClient;
  /** Console errors and warnings, uncaught page errors. */
  problems: string[];
  /** The dev connector's account (the node's account #1). */
  trader: Address;
  stop: () => Promise<void>;
}

export async function startWorld(): Promise<World> {
  const port = await freePort();
  const chain = await startLocalChain({ port, deploymentId: `app-e2e-${port}`, seedActivity: false, quiet: true });
  process.env.APP_RPC_URL = chain.rpcUrl;
  process.env.APP_DEPLOYMENT_ID = chain.deploymentId;
  let server: PreviewServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await preview({
      configFile: join(REPO_ROOT, "app", "vite.config.ts"),
      preview: { host: "127.0.0.1", port: await freePort(), strictPort: true },
      logLevel: "warn",
    });
    const url = server.resolvedUrls!.local[0];
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warning") problems.push(`${msg.type()}: ${msg.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    const client = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
    const accounts = (await client.request({ method: "eth_accounts" } as never)) as Address[];
    mkdirSync(SCREENSHOTS, { recursive: true });
    const s = server;
    const b = browser;
    return {
      chain,
      server,
      browser,
      page,
      url,
      client,
      problems,
      trader: getAddress(accounts[1]),
      stop: async () => {
        await b.close();
        await s.close();
        chain.stop();
      },
    };
  } catch (error) {
    await browser?.close();
    await server?.close();
    chain.stop();
    throw error;
  }
}
