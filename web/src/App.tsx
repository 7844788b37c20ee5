import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { activeAccount, chooseAccount, useAccount } from "./account";
import { api, type Session } from "./api";
import { PageBoundary } from "./components/Common";
import { money, quantity } from "./format";
import { reconnect, useChannel, useConnection } from "./live";
import { Admin } from "./pages/Admin";
import { Alerts } from "./pages/Alerts";
import { ApiKeys } from "./pages/ApiKeys";
import { Auth, ResetPassword } from "./pages/Auth";
import { Community } from "./pages/Community";
import { Contests } from "./pages/Contests";
import { Leaderboard } from "./pages/Leaderboard";
import { Markets } from "./pages/Markets";
import { NOTIFICATIONS_READ, Notifications, loadNotifications } from "./pages/Notifications";
import { Orders } from "./pages/Orders";
import { Portfolio } from "./pages/Portfolio";
import { SymbolPage } from "./pages/SymbolPage";
import { href, useRoute } from "./router";
import { Toasts, toast } from "./toasts";
import type { PaperAccount } from "./types";

function useSession(): Session | null {
  return useSyncExternalStore(
    (listener) => api.subscribe(listener),
    () => api.current(),
  );
}

/** Pages that need a login. */
const PRIVATE = new Set(["portfolio", "orders", "alerts", "keys", "admin", "community", "contests", "notifications"]);

export function App() {
  const session = useSession();
  const route = useRoute();
  const [menu, setMenu] = useState(false);

  // The socket carries the login: reconnect when it changes (not at start: the socket has
  // just connected with it, and a second connection would leave the channels rejoining).
  const connectedAs = useRef(session?.userId);
  useEffect(() => {
    if (connectedAs.current === session?.userId) return;
    connectedAs.current = session?.userId;
    reconnect();
  }, [session?.userId]);
  // Refresh the access token a minute before it expires, silently.
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(() => void api.refresh().catch(() => undefined), Math.max(1_000, session.expiresAt - Date.now() - 60_000));
    return () => clearTimeout(timer);
  }, [session]);
  useEffect(() => setMenu(false), [route.page, route.parameter]);

  if (!session && PRIVATE.has(route.page)) {
    return (
      <Shell session={session} page={route.page} menu={menu} setMenu={setMenu}>
        <Auth mode="login" />
      </Shell>
    );
  }
  let page;
  switch (route.page) {
    case "login":
      page = <Auth mode="login" />;
      break;
    case "signup":
      page = <Auth mode="signup" />;
      break;
    case "forgot":
      page = <ResetPassword code={null} ask />;
      break;
    case "reset":
      page = <ResetPassword key={route.parameter ?? ""} code={route.parameter} ask={false} />;
      break;
    case "symbol":
      page = route.parameter ? <SymbolPage key={route.parameter} symbol={route.parameter.toUpperCase()} /> : <Markets />;
      break;
    case "portfolio":
      page = <Portfolio />;
      break;
    case "orders":
      page = <Orders />;
      break;
    case "leaderboard":
      page = <Leaderboard />;
      break;
    case "alerts":
      page = <Alerts />;
      break;
    case "community":
      page = <Community />;
      break;
    case "contests":
      page = <Contests contestId={route.parameter} />;
      break;
    case "notifications":
      page = <Notifications />;
      break;
    case "keys":
      page = <ApiKeys />;
      break;
    case "admin":
      page = session?.role === "admin" ? <Admin /> : <p className="error">Only admins can open this page.</p>;
      break;
    default:
      page = <Markets />;
  }
  return (
    <Shell session={session} page={route.page} menu={menu} setMenu={setMenu}>
      {page}
    </Shell>
  );
}

function Shell({ session, page, menu, setMenu, children }: { session: Session | null; page: string; menu: boolean; setMenu: (open: boolean) => void; children: React.ReactNode }) {
  const connection = useConnection();
  const links: [string, string][] = [
    ["markets", "Markets"],
    ["portfolio", "Portfolio"],
    ["orders", "Orders"],
    ["leaderboard", "Leaderboard"],
    ["contests", "Contests"],
    ["community", "Community"],
    ["alerts", "Alerts"],
    ["keys", "Keys and password"],
  ];
  if (session?.role === "admin") links.push(["admin", "Admin"]);
  return (
    <>
      <a className="skip" href="#main" onClick={(event) => {
        event.preventDefault();
        document.getElementById("main")?.focus();
      }}>
        Skip to content
      </a>
      <header className="container-fluid top">
        <nav aria-label="Main">
          <ul>
            <li>
              <a href={href("markets")} className="brand">
                TradeCraft <small>paper</small>
              </a>
            </li>
          </ul>
          <button type="button" className="menu-toggle outline secondary" aria-expanded={menu} aria-controls="main-links" onClick={() => setMenu(!menu)}>
            Menu
          </button>
          <ul id="main-links" className={menu ? "open" : ""}>
            {links.map(([target, label]) => (
              <li key={target}>
                <a href={href(target)} aria-current={page === target || (target === "markets" && page === "symbol") ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
            {session && (
              <li>
                <AccountSwitcher userId={session.userId} page={page} />
              </li>
            )}
            {session && (
              <li>
                <NotificationLink userId={session.userId} current={page === "notifications"} />
              </li>
            )}
            <li>
              <ThemeToggle />
            </li>
            {session ? (
              <li>
                <button type="button" className="outline secondary" onClick={() => void api.logout().then(() => (window.location.hash = "#/login"))}>
                  Log out
                </button>
              </li>
            ) : (
              <>
                <li>
                  <a href={href("login")}>Log in</a>
                </li>
                <li>
                  <a href={href("signup")} role="button">
                    Sign up
                  </a>
                </li>
              </>
            )}
          </ul>
        </nav>
        {connection !== "open" && (
          <p className="connection" role="status" data-testid="connection">
            {connection === "connecting" ? "Connecting to live prices…" : "Live connection lost: reconnecting by itself…"}
          </p>
        )}
      </header>
      <main id="main" tabIndex={-1} className="container">
        <PageBoundary page={page}>{children}</PageBoundary>
      </main>
      <footer className="container muted">
        <small>
          TradeCraft paper trading: virtual money only. Charts by TradingView{" "}
          <a href="https://www.tradingview.com/lightweight-charts/" rel="noreferrer">
            Lightweight Charts™
          </a>
          . <a href="/docs">API reference</a>
        </small>
      </footer>
      {session && <LiveNotices userId={session.userId} />}
      <Toasts />
    </>
  );
}

/** Fills and alerts pushed on the user's topics, as toasts on every page. */
function LiveNotices({ userId }: { userId: string }) {
  const account = useAccount();
  useChannel<{ type: string; symbol: string; price?: string; quantity?: string; status?: string; reason?: string }>(`orders:${account}`, "order_update", (update) => {
    if (update.type === "fill") toast("success", `Filled ${quantity(update.quantity)} ${update.symbol} at ${money(update.price)}.`);
    if (update.type === "done" && update.status === "EXPIRED") toast("warning", `${update.symbol} order expired (${(update.reason ?? "").replaceAll("_", " ")}).`);
  });
  useChannel<{ title: string; symbol?: string }>(`alerts:${userId}`, "alert", (alert) => toast("error", `Alert: ${alert.title}${alert.symbol ? ` (${alert.symbol})` : ""}.`, 10_000));
  return null;
}

/** Which paper account the app trades and reads, when the user has more than one. */
function AccountSwitcher({ userId, page }: { userId: string; page: string }) {
  const account = useAccount();
  const [accounts, setAccounts] = useState<PaperAccount[]>([]);
  useEffect(() => {
    void api
      .get<{ accounts: PaperAccount[] }>("/v1/me/accounts")
      .then((answer) => {
        setAccounts(answer.accounts);
        // An account that is gone (or another user's choice) falls back to the default one.
        if (!answer.accounts.some((item) => item.accountId === activeAccount())) chooseAccount(userId);
      })
      .catch(() => undefined);
    // Opening an account on the contests page shows it here when the user comes back.
  }, [userId, page]);
  if (accounts.length < 2) return null;
  return (
    <select aria-label="Account" className="account-switch" value={account} onChange={(event) => chooseAccount(event.target.value)} data-testid="account-switch">
      {accounts.map((item) => (
        <option key={item.accountId} value={item.accountId}>
          {item.kind === "DEFAULT" ? "Main account" : item.name}
        </option>
      ))}
    </select>
  );
}

/** The notifications page's link, with how many are unread (kept live). */
function NotificationLink({ userId, current }: { userId: string; current: boolean }) {
  const account = useAccount();
  const [unread, setUnread] = useState("");
  const count = () =>
    void loadNotifications(userId, account, true)
      .then((unread) => setUnread(unread.items.length === 0 ? "" : `${unread.items.length}${unread.more ? "+" : ""}`))
      .catch(() => undefined);
  useEffect(count, [userId, account, current]);
  useEffect(() => {
    window.addEventListener(NOTIFICATIONS_READ, count);
    return () => window.removeEventListener(NOTIFICATIONS_READ, count);
  }, [userId, account]);
  useChannel(`notifications:${userId}`, "notification", count);
  useChannel(account !== userId ? `notifications:${account}` : null, "notification", count);
  return (
    <a href={href("notifications")} aria-current={current ? "page" : undefined} data-testid="notifications-link">
      Notifications{unread && <span className="badge count" aria-label={`${unread} unread`}>{unread}</span>}
    </a>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useState<string>(() => localStorage.getItem("tradecraft.theme") ?? "");
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    if (theme) localStorage.setItem("tradecraft.theme", theme);
    else localStorage.removeItem("tradecraft.theme");
  }, [theme]);
  const dark = theme === "dark" || (!theme && matchMedia("(prefers-color-scheme: dark)").matches);
  return (
    <button type="button" className="outline secondary" aria-label={dark ? "Use the light theme" : "Use the dark theme"} onClick={() => setTheme(dark ? "light" : "dark")}>
      {dark ? "☀" : "☾"}
    </button>
  );
}
