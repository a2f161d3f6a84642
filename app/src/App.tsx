import { useEffect, useState } from "react";
import { useConnect, useConnectors, useDisconnect, useSwitchChain } from "wagmi";
import { configureDecoder } from "./lib/errors.ts";
import { short } from "./lib/format.ts";
import { useDeployments } from "./lib/deployments.ts";
import { useSystem, useToken } from "./lib/system.ts";
import { Account } from "./panels/Account.tsx";
import { Chart } from "./panels/Chart.tsx";
import { Insurance } from "./panels/Insurance.tsx";
import { Markets } from "./panels/Markets.tsx";
import { Positions } from "./panels/Positions.tsx";
import { Trade } from "./panels/Trade.tsx";

const TABS = ["Markets", "Trade", "Positions", "Account", "Insurance", "Chart"] as const;
type Tab = (typeof TABS)[number];

function Wallet() {
  const { account, chainId, wrongNetwork } = useSystem();
  const deployments = useDeployments();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();
  if (account === undefined) {
    return (
      <div className="wallet">
        {connectors.map((c) => (
          <button
            key={c.uid}
            type="button"
            disabled={connect.isPending}
            onClick={() => connect.mutate({ connector: c })}
          >
            {c.type === "mock" ? "Dev account (local node)" : `Connect ${c.name}`}
          </button>
        ))}
        {connect.error && (
          <span role="alert" className="error">
            {connect.error.message.split("\n")[0]}
          </span>
        )}
      </div>
    );
  }
  return (
    <div className="wallet">
      <span data-testid="account" title={account}>
        {short(account)}
      </span>
      <span className="badge">chain {chainId}</span>
      <button type="button" className="secondary" onClick={() => disconnect.mutate({})}>
        Disconnect
      </button>
      {wrongNetwork && (
        <div role="alert" className="wrong-network">
          Wrong network: the protocol is not deployed on chain {chainId}.{" "}
          {deployments.map((d) => (
            <button key={d.chainId} type="button" onClick={() => switchChain.mutate({ chainId: d.chainId })}>
              Switch to chain {d.chainId}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

export function App() {
  const [tab, setTab] = useState<Tab>("Markets");
  const { deployment } = useSystem();
  const token = useToken();
  useEffect(() => {
    if (token && deployment)
      configureDecoder(
        token.decimals,
        token.symbol,
        Object.fromEntries(deployment.markets.map((m) => [m.amm, m.symbol])),
      );
  }, [token, deployment]);
  return (
    <>
      <header>
        <h1>vAMM Perps</h1>
        <Wallet />
      </header>
      <nav
        role="tablist"
        aria-label="Pages"
        onKeyDown={(e) => {
          // Arrow keys, Home and End move between the tabs (the WAI-ARIA tabs pattern).
          const i = TABS.indexOf(tab);
          const next =
            e.key === "ArrowRight"
              ? TABS[(i + 1) % TABS.length]
              : e.key === "ArrowLeft"
                ? TABS[(i + TABS.length - 1) % TABS.length]
                : e.key === "Home"
                  ? TABS[0]
                  : e.key === "End"
                    ? TABS[TABS.length - 1]
                    : undefined;
          if (next === undefined) return;
          e.preventDefault();
          setTab(next);
          document.getElementById(`tab-${next}`)?.focus();
        }}
      >
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls="page"
            tabIndex={tab === t ? 0 : -1}
            className={tab === t ? "active" : ""}
            onClick={() => setTab(t)}
          >
            {t}
          </button>
        ))}
      </nav>
      <main id="page" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {deployment === undefined ? (
          <p role="alert">No deployment of the protocol is known for this network.</p>
        ) : (
          <>
            {tab === "Markets" && <Markets />}
            {tab === "Trade" && <Trade />}
            {tab === "Positions" && <Positions />}
            {tab === "Account" && <Account />}
            {tab === "Insurance" && <Insurance />}
            {tab === "Chart" && <Chart />}
          </>
        )}
      </main>
    </>
  );
}
