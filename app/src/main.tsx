import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { WagmiProvider } from "wagmi";
import { App } from "./App.tsx";
import { buildConfig, devAccounts, DeploymentsContext, loadDeployments } from "./lib/deployments.ts";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);
try {
  const deployments = await loadDeployments();
  const local = deployments.find((d) => d.dev && d.rpcUrl);
  const config = buildConfig(deployments, local?.rpcUrl ? await devAccounts(local.rpcUrl) : []);
  const queryClient = new QueryClient();
  root.render(
    <StrictMode>
      <WagmiProvider config={config}>
        <QueryClientProvider client={queryClient}>
          <DeploymentsContext.Provider value={deployments}>
            <App />
          </DeploymentsContext.Provider>
        </QueryClientProvider>
      </WagmiProvider>
    </StrictMode>,
  );
} catch (error) {
  root.render(<p role="alert">The app could not load its deployments: {String(error)}</p>);
}
