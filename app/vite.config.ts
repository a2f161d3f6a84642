import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";
import { readDeployments } from "./scripts/deployments.ts";

const appDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(appDir, "..");

/** /deployments.json: the Ignition deployments, read on every request (dev, preview) or at build time. */
function deployments(): Plugin {
  const body = (): string => JSON.stringify({ chains: readDeployments(repoRoot) });
  const middleware = (req: { url?: string }, res: import("node:http").ServerResponse, next: () => void): void => {
    if (req.url?.split("?")[0] !== "/deployments.json") return next();
    res.setHeader("content-type", "application/json");
    res.setHeader("cache-control", "no-store");
    res.end(body());
  };
  return {
    name: "ignition-deployments",
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "deployments.json", source: body() });
    },
  };
}

export default defineConfig({
  root: appDir,
  plugins: [react(), deployments()],
  // The shared error decoder lives in scripts/lib (with its typechain ABIs) at the repository root.
  server: { fs: { allow: [repoRoot] } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
