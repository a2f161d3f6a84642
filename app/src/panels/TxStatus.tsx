import type { TxState } from "../lib/system.ts";

/** A transaction's pending, confirmed or failed state, announced to screen readers. */
export function TxStatus({ state }: { state: TxState | undefined }) {
  if (!state) return null;
  return (
    <p
      className={`tx tx-${state.phase}`}
      role={state.phase === "failed" ? "alert" : "status"}
      data-testid="tx-status"
      data-seq={state.seq}
      data-phase={state.phase}
    >
      <strong>{state.label}</strong>: <span data-testid="tx-text">{state.text}</span>
      {state.hash && <span className="hash"> ({state.hash.slice(0, 10)}…)</span>}
    </p>
  );
}
