import { useState } from "react";
import type { Address } from "viem";
import { useConfig } from "wagmi";
import { ammAbi, clearingHouseAbi, vaultAbi, viewerAbi } from "../generated/abis.ts";
import { fmt, parseAmount, pct, signed } from "../lib/format.ts";
import { useMarkets } from "../lib/markets.ts";
import { read, useChainQuery, useSystem, useTx } from "../lib/system.ts";
import { TxStatus } from "./TxStatus.tsx";

const WAD = 10n ** 18n;
/** Closing trades take the quote bound from the viewer's figures with this slippage (1%). */
const CLOSE_SLIPPAGE = WAD / 100n;
const DEADLINE_SECONDS = 20 * 60;

interface PositionView {
  size: bigint;
  margin: bigint;
  openNotional: bigint;
  pendingFunding: bigint;
  unrealizedPnl: bigint;
  marginRatio: bigint;
  liquidationMarginRatio: bigint;
  liquidatable: boolean;
  liquidationPrice: bigint;
  freeCollateral: bigint;
  claim: bigint;
}

const deadline = (): bigint => BigInt(Math.floor(Date.now() / 1000) + DEADLINE_SECONDS);
/** A long's close receives at least quote x (1 - s); a short's pays at most quote x (1 + s). */
const quoteLimit = (long: boolean, quote: bigint): bigint =>
  long ? (quote * (WAD - CLOSE_SLIPPAGE)) / WAD : (quote * (WAD + CLOSE_SLIPPAGE)) / WAD;

export function usePositions() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const viewer = deployment?.contracts.ClearingHouseViewer;
  const markets = deployment?.markets ?? [];
  return useChainQuery(
    ["positions", chainId, account, viewer],
    async () => {
      const views = await read<readonly PositionView[]>(config, chainId, {
        address: viewer!,
        abi: viewerAbi,
        functionName: "getPositions",
        args: [markets.map((m) => m.amm), markets.map(() => account!)],
      });
      const maxRemovable = await Promise.all(
        markets.map((m) =>
          read<bigint>(config, chainId, {
            address: viewer!,
            abi: viewerAbi,
            functionName: "maxRemovableMargin",
            args: [m.amm, account!],
          }),
        ),
      );
      return markets.map((m, i) => ({ ...m, view: views[i], maxRemovable: maxRemovable[i] }));
    },
    viewer !== undefined && account !== undefined,
  );
}

/** Open positions (and pending claims) with their risk, and the actions on them. */
export function Positions() {
  const { account } = useSystem();
  const positions = usePositions();
  const markets = useMarkets();
  const tx = useTx();
  if (account === undefined) return <p>Connect a wallet to see your positions.</p>;
  if (positions.error) return <p role="alert">Could not read positions: {positions.error.message}</p>;
  const rows = (positions.data ?? []).filter((p) => p.view.size !== 0n || p.view.claim !== 0n);
  return (
    <section aria-labelledby="positions-title">
      <h2 id="positions-title">Positions</h2>
      {positions.data && rows.length === 0 && <p data-testid="no-positions">No open positions.</p>}
      {rows.map((p) => (
        <PositionCard
          key={p.amm}
          symbol={p.symbol}
          amm={p.amm}
          view={p.view}
          maxRemovable={p.maxRemovable}
          mark={markets.data?.find((m) => m.amm === p.amm)?.mark}
          tx={tx}
        />
      ))}
      <TxStatus state={tx.state} />
    </section>
  );
}

function PositionCard(props: {
  symbol: string;
  amm: Address;
  view: PositionView;
  maxRemovable: bigint;
  mark: bigint | undefined;
  tx: ReturnType<typeof useTx>;
}) {
  const { symbol, amm, view: v, maxRemovable, mark, tx } = props;
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const ch = deployment!.contracts.ClearingHouse;
  const [addText, setAddText] = useState("");
  const [removeText, setRemoveText] = useState("");
  const [reduceText, setReduceText] = useState("");
  const long = v.size > 0n;
  const abs = long ? v.size : -v.size;
  const entry = abs === 0n ? 0n : (v.openNotional * WAD) / abs;
  const add = parseAmount(addText);
  const remove = parseAmount(removeText);
  const reduce = parseAmount(reduceText);
  const removeError =
    remove !== undefined && remove > maxRemovable
      ? `at most ${fmt(maxRemovable, 18, 6)} USDC can be removed now`
      : undefined;
  const reduceError =
    reduce !== undefined && reduce >= abs
      ? "a partial close must be smaller than the position (close it instead)"
      : undefined;
  const closePreview = useChainQuery(
    ["previewClose", chainId, amm, account, String(v.size)],
    () =>
      read<{ quoteAmount: bigint; payout: bigint; claim: bigint }>(config, chainId, {
        address: deployment!.contracts.ClearingHouseViewer,
        abi: viewerAbi,
        functionName: "previewClose",
        args: [amm, account!],
      }),
    v.size !== 0n && account !== undefined,
  );

  const send = (label: string, functionName: string, args: readonly unknown[]) =>
    tx.send(`${label} ${symbol}`, { address: ch, abi: clearingHouseAbi, functionName, args });

  const close = async (): Promise<void> => {
    const quote = await read<bigint>(config, chainId, {
      address: amm,
      abi: ammAbi,
      functionName: "previewSwapBase",
      args: [v.size, abs],
    });
    await send("Close", "closePosition", [amm, quoteLimit(long, quote), deadline()]);
  };
  const partialClose = async (): Promise<void> => {
    if (!reduce) return;
    const quote = await read<bigint>(config, chainId, {
      address: amm,
      abi: ammAbi,
      functionName: "previewSwapBase",
      args: [v.size, reduce],
    });
    if (await send("Partial close", "reducePosition", [amm, reduce, quoteLimit(long, quote), deadline()]))
      setReduceText("");
  };

  return (
    <article className="card" data-testid={`position-${symbol}`}>
      <h3>
        {symbol}-PERP{" "}
        <span className={`badge ${long ? "long" : "short"}`}>{v.size === 0n ? "closed" : long ? "long" : "short"}</span>
        {v.liquidatable && <span className="badge danger">liquidatable</span>}
      </h3>
      <dl className="kv">
        <dt>Size</dt>
        <dd data-testid="pos-size" data-raw={String(v.size)}>
          {fmt(v.size, 18, 6)}
        </dd>
        <dt>Entry price</dt>
        <dd data-testid="pos-entry">{fmt(entry, 18, 4)}</dd>
        <dt>Mark</dt>
        <dd>{mark === undefined ? "-" : fmt(mark, 18, 4)}</dd>
        <dt>Margin</dt>
        <dd data-testid="pos-margin" data-raw={String(v.margin)}>
          {fmt(v.margin, 18, 6)} USDC
        </dd>
        <dt>Unrealised PnL</dt>
        <dd className={v.unrealizedPnl < 0n ? "neg" : "pos"}>{signed(v.unrealizedPnl, 4)} USDC</dd>
        <dt>Margin ratio</dt>
        <dd data-testid="pos-margin-ratio">{pct(v.marginRatio, 2)}</dd>
        <dt>Liquidation price</dt>
        <dd data-testid="pos-liq-price">{v.liquidationPrice === 0n ? "none" : fmt(v.liquidationPrice, 18, 4)}</dd>
        <dt>Funding owed</dt>
        <dd>{signed(v.pendingFunding, 6)} USDC</dd>
        <dt>Pending claim</dt>
        <dd data-testid="pos-claim" data-raw={String(v.claim)}>
          {fmt(v.claim, 18, 6)} USDC
        </dd>
        <dt>Closing now pays</dt>
        <dd>
          {closePreview.data ? `${fmt(closePreview.data.payout, 18, 4)} USDC` : "-"}
          {closePreview.data &&
            closePreview.data.claim !== 0n &&
            ` + ${fmt(closePreview.data.claim, 18, 4)} USDC queued as a claim`}
        </dd>
      </dl>
      {v.claim !== 0n && (
        <div className="actions">
          <p className="hint">
            The market&apos;s pool could not pay this profit yet: it is queued and paid in order as the pool gains
            money. Anyone may pay the queue.
          </p>
          <button
            type="button"
            className="secondary"
            disabled={tx.busy}
            onClick={() =>
              tx.send(`Pay claims ${symbol}`, {
                address: deployment!.contracts.Vault,
                abi: vaultAbi,
                functionName: "payClaims",
                args: [amm, 10n],
              })
            }
          >
            Pay queued claims
          </button>
        </div>
      )}
      {v.size !== 0n && (
        <div className="actions">
          <div className="row">
            <label htmlFor={`add-${symbol}`}>Add margin (USDC)</label>
            <input
              id={`add-${symbol}`}
              inputMode="decimal"
              value={addText}
              onChange={(e) => setAddText(e.target.value)}
            />
            <button
              type="button"
              disabled={tx.busy || !add}
              onClick={async () => (await send("Add margin", "addMargin", [amm, add])) && setAddText("")}
            >
              Add margin
            </button>
          </div>
          <div className="row">
            <label htmlFor={`remove-${symbol}`}>Remove margin (USDC, max {fmt(maxRemovable, 18, 4)})</label>
            <input
              id={`remove-${symbol}`}
              inputMode="decimal"
              value={removeText}
              onChange={(e) => setRemoveText(e.target.value)}
              aria-invalid={removeError !== undefined}
            />
            <button
              type="button"
              className="secondary"
              onClick={() => setRemoveText(fmt(maxRemovable, 18, 18).replace(/,/g, ""))}
            >
              Max
            </button>
            <button
              type="button"
              disabled={tx.busy || !remove || removeError !== undefined}
              onClick={async () => (await send("Remove margin", "removeMargin", [amm, remove])) && setRemoveText("")}
            >
              Remove margin
            </button>
            {removeError && (
              <span className="error" role="alert">
                {removeError}
              </span>
            )}
          </div>
          <div className="row">
            <label htmlFor={`reduce-${symbol}`}>Partial close ({symbol})</label>
            <input
              id={`reduce-${symbol}`}
              inputMode="decimal"
              value={reduceText}
              onChange={(e) => setReduceText(e.target.value)}
              aria-invalid={reduceError !== undefined}
            />
            <button type="button" disabled={tx.busy || !reduce || reduceError !== undefined} onClick={partialClose}>
              Partial close
            </button>
            {reduceError && (
              <span className="error" role="alert">
                {reduceError}
              </span>
            )}
          </div>
          <div className="row">
            <button type="button" className="danger" disabled={tx.busy} onClick={close}>
              Close position
            </button>
          </div>
        </div>
      )}
    </article>
  );
}
