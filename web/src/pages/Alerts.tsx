import { useState } from "react";
import { api, firstPages } from "../api";
import { Empty, ErrorNote, ShowMore } from "../components/Common";
import { describe } from "../errors";
import { money, quantity, time, words } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import type { Alert, LimitsView } from "../types";

/** Alerts shown per page of the list. */
const ALERTS_PAGE = 100;

export function Alerts() {
  const userId = api.current()?.userId ?? "";
  const [pages, setPages] = useState(1);
  const alerts = useLoad(
    () =>
      firstPages(pages, async (pageToken) => {
        const answer = await api.get<{ alerts: Alert[]; pagination: { nextPageToken?: string | null } }>("/v1/alerts", { limit: ALERTS_PAGE, pageToken });
        return { items: answer.alerts, next: answer.pagination.nextPageToken };
      }),
    [userId, pages],
  );
  const [error, setError] = useState<unknown>(null);
  useChannel(`alerts:${userId}`, "alert", alerts.reload);

  async function acknowledge(alert: Alert) {
    setError(null);
    try {
      await api.post(`/v1/alerts/${alert.alertId}/acknowledge`);
      alerts.reload();
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <section>
      <h1>Alerts</h1>
      <ErrorNote error={alerts.error ?? error} retry={alerts.reload} />
      {alerts.data && alerts.data.items.length === 0 && <Empty>No alerts. You will see one here (and as a pop-up) when a trading limit refuses an order.</Empty>}
      {alerts.data && alerts.data.items.length > 0 && (
        <ul className="alerts" data-testid="alerts">
          {alerts.data.items.map((alert) => (
            <li key={alert.alertId} className={alert.acknowledgedAt ? "acknowledged" : alert.severity}>
              <strong>{alert.title}</strong> <span className="badge">{words(alert.severity)}</span>
              <p>{alert.message}</p>
              <small className="muted">{time(alert.createdAt)}</small>{" "}
              {alert.acknowledgedAt ? (
                <small className="muted">· acknowledged {time(alert.acknowledgedAt)}</small>
              ) : (
                <button type="button" className="outline" onClick={() => acknowledge(alert)}>
                  Acknowledge
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {alerts.data?.more && <ShowMore shown={alerts.data.items.length} what="alerts" page={ALERTS_PAGE} loading={alerts.loading} onMore={() => setPages((shown) => shown + 1)} />}
      <MyLimits userId={userId} />
    </section>
  );
}

const LIMIT_LABELS: [keyof LimitsView, string, "money" | "quantity" | "count" | "list" | "text"][] = [
  ["maxOrderQuantity", "Largest order quantity", "quantity"],
  ["maxOrderNotional", "Largest order value", "money"],
  ["maxOpenOrders", "Open orders at once", "count"],
  ["maxPosition", "Largest position (shares)", "quantity"],
  ["maxGrossExposure", "Gross exposure", "money"],
  ["maxDailyNotional", "Value traded per day", "money"],
  ["maxDailyLoss", "Loss per day", "money"],
  ["maxOrdersPerMinute", "Orders per minute", "count"],
  ["maxTradesPerDay", "Trades per day", "count"],
  ["allowedSymbols", "Only these symbols", "list"],
  ["blockedSymbols", "Blocked symbols", "list"],
  ["allowedOrderTypes", "Only these order types", "list"],
  ["tradingHours", "Trading hours", "text"],
  ["minSharePrice", "Lowest share price", "money"],
  ["maxSymbolSharePercent", "Largest share of the portfolio in one symbol (%)", "text"],
];

/** The limits the user trades under (their own, their group's and organisation's combined). */
export function MyLimits({ userId }: { userId: string }) {
  const limits = useLoad(() => api.get<{ scope: string; limits: LimitsView }>(`/v1/limits/users/${userId}`), [userId]);
  return (
    <>
      <h2>Your trading limits</h2>
      {limits.error ? <p className="error">{describe(limits.error)}</p> : null}
      {limits.data && <LimitsTable limits={limits.data.limits} />}
    </>
  );
}

export function LimitsTable({ limits }: { limits: LimitsView }) {
  const shown = LIMIT_LABELS.filter(([key]) => {
    const value = limits[key];
    return value != null && !(Array.isArray(value) && value.length === 0);
  });
  return (
    <table className="compact" data-testid="limits">
      <tbody>
        <tr>
          <th scope="row">Trading</th>
          <td>{limits.tradingEnabled ? "Enabled" : "Switched off"}</td>
        </tr>
        {shown.map(([key, label, kind]) => {
          const value = limits[key];
          const text = Array.isArray(value) ? value.join(", ") : kind === "money" ? money(String(value)) : kind === "quantity" ? quantity(String(value)) : String(value);
          return (
            <tr key={key}>
              <th scope="row">{label}</th>
              <td>{text}</td>
            </tr>
          );
        })}
        {shown.length === 0 && (
          <tr>
            <td colSpan={2} className="muted">
              No other limits: you may trade freely within your cash and shares.
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
