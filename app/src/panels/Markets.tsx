import { fmt, pct, signed } from "../lib/format.ts";
import { useChange24h } from "../lib/change24h.ts";
import { useMarkets, type MarketData } from "../lib/markets.ts";

const STATUS = ["active", "reduce-only", "settled"];
const WAD = 10n ** 18n;

/** Funding per day over the index (the mark without one), as the CLI's `markets` shows it. */
export function fundingRatePerDay(m: MarketData): bigint {
  const reference = m.index ?? m.mark;
  return reference === 0n ? 0n : (m.premium * WAD) / reference;
}

function Change24h({ market }: { market: MarketData }) {
  const change = useChange24h(market.amm, market.mark);
  return (
    <dd data-testid="change24h" className={change === undefined || change === 0n ? "" : change < 0n ? "neg" : "pos"}>
      {change === undefined ? "-" : `${change > 0n ? "+" : ""}${pct(change, 2)}`}
    </dd>
  );
}

export function Markets() {
  const markets = useMarkets();
  if (markets.error) return <p role="alert">Could not read the markets: {String(markets.error.message)}</p>;
  if (!markets.data) return <p>Loading markets…</p>;
  return (
    <section aria-labelledby="markets-title">
      <h2 id="markets-title">Markets</h2>
      <div className="cards">
        {markets.data.map((m) => {
          const gap = m.index && m.index !== 0n ? ((m.mark - m.index) * WAD) / m.index : undefined;
          const perDay = fundingRatePerDay(m);
          return (
            <article className="card" key={m.amm} data-testid={`market-${m.symbol}`}>
              <h3>
                {m.symbol}-PERP <span className="badge">{STATUS[m.status] ?? m.status}</span>
              </h3>
              <dl className="kv">
                <dt>Mark</dt>
                <dd data-testid="mark">{fmt(m.mark, 18, 2)}</dd>
                <dt>24 h change</dt>
                <Change24h market={m} />
                <dt>Index</dt>
                <dd>{m.index === undefined ? "n/a" : fmt(m.index, 18, 2)}</dd>
                <dt>Gap (mark − index)</dt>
                <dd>{gap === undefined ? "n/a" : `${gap > 0n ? "+" : ""}${pct(gap, 3)}`}</dd>
                <dt>Funding / hour</dt>
                <dd>
                  {perDay > 0n ? "+" : ""}
                  {pct(perDay / 24n, 4)}
                </dd>
                <dt>Funding / year</dt>
                <dd>
                  {perDay > 0n ? "+" : ""}
                  {pct(perDay * 365n, 2)}
                </dd>
                <dt>Long OI / cap</dt>
                <dd>
                  {fmt(m.longOi, 18, 4)} / {fmt(m.maxOi, 18, 4)} {m.symbol}
                </dd>
                <dt>Short OI / cap</dt>
                <dd>
                  {fmt(m.shortOi, 18, 4)} / {fmt(m.maxOi, 18, 4)} {m.symbol}
                </dd>
                <dt>Max leverage</dt>
                <dd>{m.initialMarginRatio === 0n ? "-" : `${fmt((WAD * WAD) / m.initialMarginRatio, 18, 2)}x`}</dd>
                <dt>Maintenance margin</dt>
                <dd>{pct(m.maintenanceMarginRatio, 2)}</dd>
                <dt>Fee</dt>
                <dd>{pct(m.feeRatio, 3)}</dd>
                <dt>Premium (quote / base / day)</dt>
                <dd>{signed(m.premium, 4)}</dd>
                <dt>Bid / ask</dt>
                <dd data-testid="bid-ask">
                  {fmt(m.curve.bid, 18, 2)} / {fmt(m.curve.ask, 18, 2)}
                </dd>
                <dt>Peg / depth (x launch)</dt>
                <dd>
                  {fmt(m.curve.peg, 18, 4)} / {fmt(m.curve.depth, 18, 4)}
                </dd>
                <dt>AMM budget</dt>
                <dd data-testid="budget" data-raw={String(m.curve.budget)}>
                  {fmt(m.curve.budget, 18, 2)}
                </dd>
                <dt>Net position (the protocol holds the other side)</dt>
                <dd>
                  {signed(m.curve.netPosition, 4)} {m.symbol}
                </dd>
              </dl>
            </article>
          );
        })}
      </div>
    </section>
  );
}
