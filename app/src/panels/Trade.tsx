import { useState } from "react";
import { useConfig } from "wagmi";
import { clearingHouseAbi, viewerAbi } from "../generated/abis.ts";
import { explain } from "../lib/errors.ts";
import { fmt, parseAmount, pct, signed } from "../lib/format.ts";
import { useMarkets } from "../lib/markets.ts";
import { read, useChainQuery, useSystem, useTx } from "../lib/system.ts";
import { TxStatus } from "./TxStatus.tsx";

const WAD = 10n ** 18n;
const KINDS = ["open", "increase", "reduce", "reverse", "close"];

export interface OpenPreview {
  kind: number;
  baseDelta: bigint;
  quoteAmount: bigint;
  fee: bigint;
  fundingPayment: bigint;
  realizedPnl: bigint;
  freeCollateralDelta: bigint;
  claim: bigint;
  size: bigint;
  margin: bigint;
  openNotional: bigint;
  entryPrice: bigint;
  spotPriceAfter: bigint;
  marginRatio: bigint;
  liquidationPrice: bigint;
}

/** The trade ticket: inputs, the viewer's live preview of the trade, and a confirm step. */
export function Trade() {
  const config = useConfig();
  const { deployment, chainId, account } = useSystem();
  const markets = useMarkets();
  const tx = useTx();
  const [ammIndex, setAmmIndex] = useState(0);
  const [side, setSide] = useState<0 | 1>(0);
  const [marginText, setMarginText] = useState("100");
  const [leverageText, setLeverageText] = useState("2");
  const [slippageText, setSlippageText] = useState("1");
  const [deadlineText, setDeadlineText] = useState("20");
  const [confirming, setConfirming] = useState(false);

  const market = deployment?.markets[ammIndex];
  const data = markets.data?.find((m) => m.amm === market?.amm);
  const margin = parseAmount(marginText);
  const leverage = parseAmount(leverageText);
  const slippage = parseAmount(slippageText);
  const deadlineMinutes = Number(deadlineText);
  const inputError =
    margin === undefined || margin === 0n
      ? "enter a margin above zero"
      : leverage === undefined || leverage === 0n
        ? "enter a leverage above zero"
        : slippage === undefined || slippage > 100n * WAD
          ? "enter a slippage from 0 to 100%"
          : !Number.isInteger(deadlineMinutes) || deadlineMinutes < 1 || deadlineMinutes > 1440
            ? "enter a deadline of 1 to 1440 minutes"
            : undefined;

  const viewer = deployment?.contracts.ClearingHouseViewer;
  const preview = useChainQuery(
    ["previewOpen", chainId, market?.amm, account, side, String(margin), String(leverage)],
    () =>
      read<OpenPreview>(config, chainId, {
        address: viewer!,
        abi: viewerAbi,
        functionName: "previewOpen",
        args: [market!.amm, account!, side, margin!, leverage!],
      }),
    viewer !== undefined && market !== undefined && account !== undefined && margin! > 0n && leverage! > 0n,
  );
  const p = preview.data;
  const previewError = preview.error ? explain(preview.error) : undefined;
  const base = p ? (p.baseDelta < 0n ? -p.baseDelta : p.baseDelta) : 0n;
  const impact =
    p && data && data.mark !== 0n && base !== 0n ? ((p.entryPrice - data.mark) * WAD) / data.mark : undefined;
  const canTrade = !!p && !previewError && !inputError && !tx.busy && account !== undefined;

  const submit = async (): Promise<void> => {
    if (!p || !market || slippage === undefined || margin === undefined || leverage === undefined) return;
    // LONG: at least this much base; SHORT: at most this much base given.
    const s = slippage / 100n;
    const baseLimit = side === 0 ? (base * (WAD - s)) / WAD : (base * (WAD + s)) / WAD;
    const deadline = BigInt(Math.floor(Date.now() / 1000) + deadlineMinutes * 60);
    setConfirming(false);
    await tx.send(`Open ${side === 0 ? "long" : "short"} ${market.symbol}`, {
      address: deployment!.contracts.ClearingHouse,
      abi: clearingHouseAbi,
      functionName: "openPosition",
      args: [market.amm, side, margin, leverage, baseLimit, deadline],
    });
  };

  return (
    <section aria-labelledby="trade-title">
      <h2 id="trade-title">Trade</h2>
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault();
          if (canTrade) setConfirming(true);
        }}
      >
        <label htmlFor="trade-market">Market</label>
        <select
          id="trade-market"
          value={ammIndex}
          onChange={(e) => {
            setAmmIndex(Number(e.target.value));
            setConfirming(false);
          }}
        >
          {deployment?.markets.map((m, i) => (
            <option key={m.amm} value={i}>
              {m.symbol}-PERP
            </option>
          ))}
        </select>
        <fieldset className="side">
          <legend>Side</legend>
          <label>
            <input type="radio" name="side" checked={side === 0} onChange={() => setSide(0)} /> Long
          </label>
          <label>
            <input type="radio" name="side" checked={side === 1} onChange={() => setSide(1)} /> Short
          </label>
        </fieldset>
        <label htmlFor="trade-margin">Margin (USDC)</label>
        <input
          id="trade-margin"
          inputMode="decimal"
          value={marginText}
          onChange={(e) => setMarginText(e.target.value)}
        />
        <label htmlFor="trade-leverage">Leverage (x)</label>
        <input
          id="trade-leverage"
          inputMode="decimal"
          value={leverageText}
          onChange={(e) => setLeverageText(e.target.value)}
        />
        <label htmlFor="trade-slippage">Slippage (%)</label>
        <input
          id="trade-slippage"
          inputMode="decimal"
          value={slippageText}
          onChange={(e) => setSlippageText(e.target.value)}
        />
        <label htmlFor="trade-deadline">Deadline (minutes)</label>
        <input
          id="trade-deadline"
          inputMode="numeric"
          value={deadlineText}
          onChange={(e) => setDeadlineText(e.target.value)}
        />
        <button type="submit" disabled={!canTrade}>
          Review {side === 0 ? "long" : "short"}
        </button>
      </form>

      <div className="preview" aria-live="polite" data-testid="preview">
        <h3>Preview</h3>
        {account === undefined && <p>Connect a wallet to preview a trade.</p>}
        {inputError && account !== undefined && <p className="hint">{inputError}</p>}
        {previewError && !inputError && (
          <p role="alert" className="error" data-testid="preview-error">
            {previewError}
          </p>
        )}
        {p && !previewError && !inputError && (
          <dl className="kv">
            <dt>Trade</dt>
            <dd>{KINDS[p.kind] ?? p.kind}</dd>
            <dt>Size</dt>
            <dd data-testid="preview-size" data-raw={String(p.baseDelta)}>
              {fmt(p.baseDelta, 18, 6)}
            </dd>
            <dt>Entry price</dt>
            <dd data-testid="preview-entry" data-raw={String(p.entryPrice)}>
              {fmt(p.entryPrice, 18, 4)}
            </dd>
            <dt>Price impact</dt>
            <dd data-testid="preview-impact">{impact === undefined ? "-" : pct(impact, 4)}</dd>
            <dt>Fee</dt>
            <dd data-testid="preview-fee">{fmt(p.fee, 18, 6)} USDC</dd>
            <dt>Notional traded</dt>
            <dd>{fmt(p.quoteAmount, 18, 4)} USDC</dd>
            <dt>Open notional after</dt>
            <dd data-testid="preview-notional" data-raw={String(p.openNotional)}>
              {fmt(p.openNotional, 18, 4)} USDC
            </dd>
            <dt>Position after</dt>
            <dd data-testid="preview-position-size" data-raw={String(p.size)}>
              {fmt(p.size, 18, 6)}
            </dd>
            <dt>Margin after</dt>
            <dd data-testid="preview-margin" data-raw={String(p.margin)}>
              {fmt(p.margin, 18, 4)} USDC
            </dd>
            <dt>Margin ratio after</dt>
            <dd data-testid="preview-margin-ratio" data-raw={String(p.marginRatio)}>
              {pct(p.marginRatio, 2)}
            </dd>
            <dt>Liquidation price after</dt>
            <dd data-testid="preview-liq-price" data-raw={String(p.liquidationPrice)}>
              {p.liquidationPrice === 0n ? "none" : fmt(p.liquidationPrice, 18, 4)}
            </dd>
            <dt>Mark after</dt>
            <dd>{fmt(p.spotPriceAfter, 18, 4)}</dd>
            <dt>Free collateral change</dt>
            <dd data-testid="preview-free-delta" data-raw={String(p.freeCollateralDelta)}>
              {signed(p.freeCollateralDelta, 4)} USDC
            </dd>
            {p.claim !== 0n && (
              <>
                <dt>Queued as claim</dt>
                <dd data-testid="preview-claim">{fmt(p.claim, 18, 4)} USDC</dd>
              </>
            )}
          </dl>
        )}
      </div>

      {confirming && p && (
        <div className="confirm" role="dialog" aria-labelledby="confirm-title">
          <h3 id="confirm-title">Confirm</h3>
          <p>
            {side === 0 ? "Long" : "Short"} {fmt(base, 18, 6)} {market?.symbol} at about {fmt(p.entryPrice, 18, 4)} with{" "}
            {marginText} USDC margin at {leverageText}x, fee {fmt(p.fee, 18, 6)} USDC, slippage {slippageText}%.
          </p>
          <button type="button" onClick={submit} autoFocus>
            Confirm {side === 0 ? "long" : "short"}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <TxStatus state={tx.state} />
    </section>
  );
}
