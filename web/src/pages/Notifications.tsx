import { useEffect, useState } from "react";
import { useAccount } from "../account";
import { api, firstPages, withQuery } from "../api";
import { Empty, ErrorNote, ShowMore } from "../components/Common";
import { price, time, words } from "../format";
import { useLoad } from "../hooks";
import { useChannel } from "../live";
import type { AppNotification, Invitation, NotificationPreferences, PriceAlert } from "../types";

const KINDS = ["ORDER_FILLED", "ORDER_REFUSED", "ORDER_EXPIRED", "LIMIT_BREACH", "PRICE_ALERT", "NEW_FOLLOWER", "LIKE", "COMMENT", "CONTEST_STARTED", "CONTEST_ENDED", "ESCALATION", "ORG_INVITATION"];

/** Dispatched on `window` when the user marks notifications read (the header's count follows). */
export const NOTIFICATIONS_READ = "tradecraft:notifications-read";

/** Notifications read per page, of each account. */
const NOTIFICATIONS_PAGE = 100;

type Notes = { notifications: AppNotification[]; pagination: { nextPageToken?: string | null } };

/** The user's own notifications (followers, likes, contests, their main account's
 * orders) and, when another paper account is in use, that account's, newest first: the
 * first `pages` pages of each, and whether more are left. */
export async function loadNotifications(userId: string, account: string, unread = false, pages = 1): Promise<{ items: AppNotification[]; more: boolean }> {
  const accounts = account && account !== userId ? [userId, account] : [userId];
  const lists = await Promise.all(
    accounts.map((id) =>
      firstPages(pages, async (pageToken) => {
        const answer = await api.get<Notes>("/v1/notifications", { userId: id, limit: NOTIFICATIONS_PAGE, unread: unread ? "true" : undefined, pageToken });
        return { items: answer.notifications.map((item) => ({ ...item, accountId: id })), next: answer.pagination.nextPageToken };
      }),
    ),
  );
  // Merged down to where every list is known: below the oldest one read of a list with
  // more, that list's next page would come in between.
  const known = lists.filter((list) => list.more).map((list) => list.items[list.items.length - 1]?.createdAt ?? "");
  const cutoff = known.reduce((latest, at) => (at > latest ? at : latest), "");
  const items = lists.flatMap((list) => list.items).filter((item) => item.createdAt >= cutoff);
  return { items: items.sort((a, b) => b.createdAt.localeCompare(a.createdAt)), more: known.length > 0 };
}

export function Notifications() {
  const userId = api.current()?.userId ?? "";
  const account = useAccount();
  const [pages, setPages] = useState(1);
  useEffect(() => setPages(1), [userId, account]);
  const list = useLoad(() => loadNotifications(userId, account, false, pages), [userId, account, pages]);
  const [error, setError] = useState<unknown>(null);
  const invitations = useLoad(() => api.get<{ invitations: Invitation[] }>("/v1/me/invitations"), [userId]);
  useChannel(`notifications:${userId}`, "notification", () => {
    list.reload();
    invitations.reload();
  });
  useChannel(account !== userId ? `notifications:${account}` : null, "notification", list.reload);
  async function read(notification: AppNotification | null) {
    setError(null);
    try {
      if (notification) {
        await api.post(withQuery(`/v1/notifications/${encodeURIComponent(notification.notificationId)}/read`, { userId: notification.accountId ?? userId }));
      } else {
        for (const id of new Set([userId, account])) await api.post(withQuery("/v1/notifications/read", { userId: id }));
      }
      window.dispatchEvent(new Event(NOTIFICATIONS_READ));
      list.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  const unread = list.data?.items.filter((item) => !item.readAt).length ?? 0;
  return (
    <section>
      <h1>Notifications</h1>
      <ErrorNote error={list.error ?? error} retry={list.reload} />
      {unread > 0 && (
        <button type="button" className="outline" onClick={() => read(null)}>
          Mark all {unread}
          {list.data?.more ? "+" : ""} read
        </button>
      )}
      <Invitations list={invitations.data?.invitations ?? []} reload={invitations.reload} />
      {list.data && list.data.items.length === 0 && <Empty>Nothing yet: fills, refusals, price alerts, followers, likes and contests show up here.</Empty>}
      <ul className="alerts" data-testid="notifications">
        {list.data?.items.map((item) => (
          <li key={item.notificationId} className={item.readAt ? "acknowledged" : "unread"} data-kind={item.kind}>
            <strong>{item.title}</strong> <span className="badge">{words(item.kind)}</span>
            <p>{item.message}</p>
            <small className="muted">{time(item.createdAt)}</small>{" "}
            {!item.readAt && (
              <button type="button" className="link" onClick={() => read(item)}>
                Mark read
              </button>
            )}
          </li>
        ))}
      </ul>
      {list.data?.more && <ShowMore shown={list.data.items.length} what="notifications" page={NOTIFICATIONS_PAGE} loading={list.loading} onMore={() => setPages((shown) => shown + 1)} />}
      <PriceAlerts />
      <Channels />
    </section>
  );
}

/** Pending invitations into an organisation, to accept or decline. */
function Invitations({ list, reload }: { list: Invitation[]; reload: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  async function answer(invitation: Invitation, accept: boolean) {
    setError(null);
    try {
      await api.post(`/v1/me/invitations/${encodeURIComponent(invitation.invitationId)}/${accept ? "accept" : "decline"}`);
      setNote(accept ? `You joined ${invitation.organisationName}: its trading limits apply to you now.` : `You declined ${invitation.organisationName}.`);
      reload();
    } catch (failure) {
      setError(failure);
    }
  }
  if (list.length === 0 && !note && !error) return null;
  return (
    <article data-testid="invitations">
      <h2>Invitations</h2>
      <ErrorNote error={error} />
      {note && <p role="status">{note}</p>}
      <ul>
        {list.map((invitation) => (
          <li key={invitation.invitationId}>
            <strong>{invitation.organisationName}</strong> invites you to join as {invitation.role === "org_admin" ? "an organisation admin" : "a member"}; its
            trading limits would then apply to you. <small className="muted">Until {time(invitation.expiresAt)}</small>{" "}
            <button type="button" onClick={() => answer(invitation, true)}>
              Accept {invitation.organisationName}
            </button>{" "}
            <button type="button" className="outline" onClick={() => answer(invitation, false)}>
              Decline
            </button>
          </li>
        ))}
      </ul>
    </article>
  );
}

function PriceAlerts() {
  const alerts = useLoad(() => api.get<{ priceAlerts: PriceAlert[] }>("/v1/price-alerts"), []);
  const [error, setError] = useState<unknown>(null);
  async function add(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    try {
      await api.post("/v1/price-alerts", { symbol: String(form.get("symbol") ?? "").toUpperCase(), direction: String(form.get("direction")), price: String(form.get("price") ?? "") });
      event.currentTarget.reset();
      alerts.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  async function remove(alert: PriceAlert) {
    try {
      await api.delete(`/v1/price-alerts/${alert.alertId}`);
      alerts.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <article>
      <h2>Price alerts</h2>
      <form onSubmit={add} className="inline">
        <label>
          Symbol
          <input name="symbol" required placeholder="MOCKAAPL" />
        </label>
        <label>
          When the price is
          <select name="direction" defaultValue="ABOVE">
            <option value="ABOVE">at or above</option>
            <option value="BELOW">at or below</option>
          </select>
        </label>
        <label>
          Price
          <input name="price" inputMode="decimal" required />
        </label>
        <button type="submit">Add alert</button>
      </form>
      <ErrorNote error={alerts.error ?? error} retry={alerts.reload} />
      <ul data-testid="price-alerts">
        {alerts.data?.priceAlerts.map((alert) => (
          <li key={alert.alertId}>
            {alert.symbol} {alert.direction === "ABOVE" ? "at or above" : "at or below"} {price(alert.price)}{" "}
            {alert.triggeredAt ? <small className="muted">reached {time(alert.triggeredAt)}</small> : <small className="muted">waiting</small>}{" "}
            <button type="button" className="link" onClick={() => remove(alert)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
    </article>
  );
}

function Channels() {
  const saved = useLoad(() => api.get<NotificationPreferences>("/v1/me/notification-preferences"), []);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  async function save(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const url = String(form.get("slack") ?? "").trim();
    setError(null);
    setNote(null);
    try {
      await api.put("/v1/me/notification-preferences", {
        emailKinds: form.getAll("email").map(String),
        slackKinds: form.getAll("slackKind").map(String),
        slackWebhookUrl: url === "" ? null : url,
      });
      setNote("Saved.");
      saved.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  const data = saved.data;
  return (
    <article>
      <h2>Email and chat</h2>
      <p className="muted">Choose what also goes to your email address, and to a Slack (or compatible) incoming webhook.</p>
      {data && (
        <form onSubmit={save} key={JSON.stringify(data)}>
          <table className="compact">
            <thead>
              <tr>
                <th scope="col">Notification</th>
                <th scope="col">Email</th>
                <th scope="col">Webhook</th>
              </tr>
            </thead>
            <tbody>
              {KINDS.map((kind) => (
                <tr key={kind}>
                  <th scope="row">{words(kind)}</th>
                  <td>
                    <input type="checkbox" name="email" value={kind} aria-label={`Email: ${words(kind)}`} defaultChecked={data.emailKinds.includes(kind)} />
                  </td>
                  <td>
                    <input type="checkbox" name="slackKind" value={kind} aria-label={`Webhook: ${words(kind)}`} defaultChecked={data.slackKinds.includes(kind)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <label>
            Incoming webhook URL
            <input name="slack" type="url" defaultValue={data.slackWebhookUrl ?? ""} placeholder="https://hooks.slack.com/services/…" />
          </label>
          <button type="submit">Save channels</button>
        </form>
      )}
      {note && <p className="ok">{note}</p>}
      <ErrorNote error={saved.error ?? error} />
    </article>
  );
}
