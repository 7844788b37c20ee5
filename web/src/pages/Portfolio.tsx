import { useState } from "react";
import { useAccount } from "../account";
import { api } from "../api";
import { ValueChart } from "../components/Charts";
import { Empty, ErrorNote, Loading, Pager, Head, Choice } from "../components/Common";
import * as D from "../decimal";
import { money, percent, price, quantity, ratio, returnPercent, returnTone, signed, time, tone, words } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import type { Performance, Portfolio as PortfolioAnswer, Position, Positions, Statement } from "../types";

const PERIODS = ["1d", "7d", "30d", "90d", "1y", "all"] as const;

export function Portfolio() {
  const userId = useAccount();
  const account = useLoad(() => api.get<PortfolioAnswer>(`/v1/portfolio/${userId}`), [userId]);
  const positions = useLoad(() => api.get<Positions>("/v1/portfolio/positions", { userId }), [userId]);
  const [period, setPeriod] = useState<(typeof PERIODS)[number]>("30d");
  const performance = useLoad(() => api.get<Performance>("/v1/portfolio/performance", { period, userId }), [period, userId]);
  const [live, setLive] = useState<Record<string, string>>({});
  useChannel(`orders:${userId}`, "order_update", () => {
    account.reload();
    positions.reload();
  });

  return (
    <section>
      <h1>Portfolio</h1>
      <ErrorNote error={account.error} retry={account.reload} />
      {account.data && (
        <div className="figures" data-testid="account-figures">
          <Figure label="Cash" value={money(account.data.cashBalance)} />
          <Figure label="Buying power" value={money(account.data.availableCash)} />
          <Figure label="Reserved by open orders" value={money(account.data.reservedCash)} />
          <Figure label="Open orders" value={String(account.data.openOrders)} />
          {positions.data && <Figure label="Total value" value={money(totalValue(positions.data, live))} />}
        </div>
      )}
      <h2>Positions</h2>
      <ErrorNote error={positions.error} retry={positions.reload} />
      {!positions.data && !positions.error && <Loading what="positions" />}
      {positions.data && positions.data.positions.length === 0 && <Empty>No positions yet: buy something on a symbol's page.</Empty>}
      {positions.data && positions.data.positions.length > 0 && (
        <div className="scroll">
          <table className="striped" data-testid="positions">
            <Head columns={["Symbol", "#Quantity", "#Average cost", "#Last", "#Market value", "#Unrealised P&L", "#Realised P&L"]} />
            <tbody>
              {positions.data.positions.map((position) => (
                <PositionRow key={position.symbol} position={position} live={live[position.symbol]} onPrice={(text) => setLive((previous) => ({ ...previous, [position.symbol]: text }))} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Performance</h2>
      <Choice label="Period" options={PERIODS} value={period} onChange={setPeriod} />
      <ErrorNote error={performance.error} retry={performance.reload} />
      {performance.data && (
        <>
          <div className="figures" data-testid="risk-figures">
            <Figure label="Return" value={returnPercent(performance.data.totalReturn)} tone={returnTone(performance.data.totalReturn)} />
            <Figure label="Volatility" value={percent(performance.data.volatility)} />
            <Figure label="Sharpe" value={ratio(performance.data.sharpe)} />
            <Figure label="Sortino" value={ratio(performance.data.sortino)} />
            <Figure label="Max drawdown" value={returnPercent(performance.data.maxDrawdown)} />
          </div>
          {performance.data.valueHistory.length > 1 ? (
            <ValueChart points={performance.data.valueHistory} label="Portfolio value over the period" />
          ) : (
            <Empty>Not enough history in this period for a chart yet.</Empty>
          )}
        </>
      )}
      <CashStatement userId={userId} />
    </section>
  );
}

function Figure({ label, value, tone: colour = "" }: { label: string; value: string; tone?: string }) {
  return (
    <div className="figure">
      <small>{label}</small>
      <strong className={colour}>{value}</strong>
    </div>
  );
}

function totalValue(positions: Positions, live: Record<string, string>): string {
  let total = D.of(positions.cashBalance);
  for (const position of positions.positions) {
    const last = D.parse(live[position.symbol]) ?? D.parse(position.lastPrice);
    total = D.add(total, last ? D.mul(D.of(position.quantity), last) : D.of(position.marketValue));
  }
  return D.toText(total);
}

/** A position valued at the latest trade price, as it prints. */
function PositionRow({ position, live, onPrice }: { position: Position; live: string | undefined; onPrice: (price: string) => void }) {
  useChannel<{ price: string }>(`trades:${position.symbol}`, "trade", (trade) => onPrice(trade.price));
  const last = D.parse(live) ?? D.parse(position.lastPrice);
  const value = last ? D.mul(D.of(position.quantity), last) : D.parse(position.marketValue);
  const unrealised = value ? D.sub(value, D.of(position.costBasis)) : D.parse(position.unrealizedPnl);
  return (
    <tr data-symbol={position.symbol}>
      <th scope="row">
        <a href={`#/symbol/${position.symbol}`}>{position.symbol}</a>
      </th>
      <td className="number">{quantity(position.quantity)}</td>
      <td className="number">{money(position.averageCost, 4)}</td>
      <td className="number">{price(last ? D.toText(last) : null)}</td>
      <td className="number">{money(value ? D.toText(value) : null)}</td>
      <td className={`number ${tone(unrealised)}`}>{signed(unrealised)}</td>
      <td className={`number ${tone(position.realizedPnl)}`}>{signed(D.parse(position.realizedPnl))}</td>
    </tr>
  );
}

function CashStatement({ userId }: { userId: string }) {
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const statement = useLoad(() => api.get<Statement>("/v1/wallet/transactions", { userId, limit: 20, pageToken: token }), [userId, token]);
  return (
    <>
      <h2>Cash statement</h2>
      <ErrorNote error={statement.error} retry={statement.reload} />
      {statement.data && (
        <div className="scroll">
          <table className="striped compact" data-testid="statement">
            <Head columns={["When", "What", "Symbol", "#Amount", "#Balance after"]} />
            <tbody>
              {statement.data.transactions.map((line) => (
                <tr key={line.id}>
                  <td>{time(line.timestamp)}</td>
                  <td>{words(line.type)}</td>
                  <td>{line.symbol ?? ""}</td>
                  <td className={`number ${tone(line.amount)}`}>{money(line.amount)}</td>
                  <td className="number">{money(line.balanceAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager next={statement.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />
        </div>
      )}
    </>
  );
}
