// The API client: JSON over fetch with the session's bearer token, refreshed silently
// (before it expires, and once more on a 401), and every failure an `ApiError`.

import { ApiError } from "./errors";
import type { Tokens } from "./types";

export interface Session {
  userId: string;
  role: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

const STORAGE_KEY = "tradecraft.session";
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

export function sessionOf(tokens: Tokens, email: string, now = Date.now()): Session {
  return {
    userId: tokens.userId,
    role: tokens.role,
    email: tokens.email ?? email,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    expiresAt: now + tokens.expiresIn * 1000,
  };
}

/** Whether the session's token should be refreshed before use. */
export function needsRefresh(session: Session, now = Date.now()): boolean {
  return session.expiresAt - now < REFRESH_MARGIN_MS;
}

type Listener = (session: Session | null) => void;

export class Client {
  private session: Session | null;
  private refreshing: Promise<Session | null> | null = null;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly base = "",
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null = typeof localStorage === "undefined" ? null : localStorage,
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
  ) {
    this.session = load(this.storage);
  }

  current(): Session | null {
    return this.session;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(session: Session | null): void {
    this.session = session;
    if (session) this.storage?.setItem(STORAGE_KEY, JSON.stringify(session));
    else this.storage?.removeItem(STORAGE_KEY);
    for (const listener of this.listeners) listener(session);
  }

  async register(email: string, password: string, username?: string): Promise<Session> {
    const tokens = await this.send<Tokens>("POST", "/v1/auth/register", { email, password, ...(username ? { username } : {}) }, false);
    const session = sessionOf(tokens, email);
    this.set(session);
    return session;
  }

  async login(email: string, password: string): Promise<Session> {
    const tokens = await this.send<Tokens>("POST", "/v1/auth/login", { email, password }, false);
    const session = sessionOf(tokens, email);
    this.set(session);
    return session;
  }

  /** A new password: the server ends every other login and answers with a new one. */
  async changePassword(currentPassword: string, newPassword: string): Promise<Session> {
    const email = this.session?.email ?? "";
    const tokens = await this.send<Tokens>("POST", "/v1/auth/password", { currentPassword, newPassword });
    const session = sessionOf(tokens, email);
    this.set(session);
    return session;
  }

  /** Asks for a reset code by email; the answer reads the same whoever has the address. */
  async forgotPassword(email: string): Promise<string> {
    const answer = await this.send<{ message: string }>("POST", "/v1/auth/password/forgot", { email }, false);
    return answer.message;
  }

  /** Spends a mailed code on a new password; the server answers with a login. */
  async resetPassword(code: string, newPassword: string, email = ""): Promise<Session> {
    const tokens = await this.send<Tokens>("POST", "/v1/auth/password/reset", { code, newPassword }, false);
    const session = sessionOf(tokens, email);
    this.set(session);
    return session;
  }

  async logout(): Promise<void> {
    const session = this.session;
    this.set(null);
    if (session) {
      // The login ends on the server too; the app is logged out whatever it answers.
      await this.send("POST", "/v1/auth/logout", { refreshToken: session.refreshToken }, false).catch(() => undefined);
    }
  }

  /** A fresh token pair for the session (one request however many callers ask at once). */
  refresh(): Promise<Session | null> {
    const session = this.session;
    if (!session) return Promise.resolve(null);
    this.refreshing ??= this.send<Tokens>("POST", "/v1/auth/refresh", { refreshToken: session.refreshToken }, false)
      .then((tokens) => {
        const next = sessionOf(tokens, session.email);
        this.set(next);
        return next;
      })
      .catch((error: unknown) => {
        // A refused refresh token ends the session; a network failure keeps it to retry.
        if (error instanceof ApiError && (error.status === 401 || error.status === 400)) this.set(null);
        throw error;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** The access token to use now, refreshed first when it is about to expire. */
  async token(): Promise<string | null> {
    if (this.session && needsRefresh(this.session)) await this.refresh().catch(() => undefined);
    return this.session?.accessToken ?? null;
  }

  get<T>(path: string, query?: Record<string, string | number | undefined | null>): Promise<T> {
    return this.send<T>("GET", withQuery(path, query));
  }

  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.send<T>("POST", path, body, true, headers);
  }

  put<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>("PUT", path, body);
  }

  patch<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>("PATCH", path, body);
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.send<T>("DELETE", path, body);
  }

  private async send<T>(method: string, path: string, body?: unknown, authenticated = true, headers: Record<string, string> = {}, retried = false): Promise<T> {
    const requestHeaders: Record<string, string> = { accept: "application/json", ...headers };
    if (body !== undefined) requestHeaders["content-type"] = "application/json";
    if (authenticated) {
      const token = await this.token();
      if (token) requestHeaders.authorization = `Bearer ${token}`;
    }
    let response: Response;
    try {
      response = await this.fetcher(this.base + path, { method, headers: requestHeaders, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, "network", "Cannot reach the exchange");
    }
    if (response.status === 401 && authenticated && !retried && this.session) {
      // The token may have expired in flight or been revoked by a role change: one refresh.
      const refreshed = await this.refresh().catch(() => null);
      if (refreshed) return this.send<T>(method, path, body, authenticated, headers, true);
    }
    const text = await response.text();
    const parsed: unknown = text ? safeJson(text) : null;
    if (!response.ok) {
      const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
      throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? response.statusText, error?.details ?? null);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function withQuery(path: string, query?: Record<string, string | number | undefined | null>): string {
  if (!query) return path;
  const parameters = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") parameters.set(name, String(value));
  }
  const text = parameters.toString();
  return text ? `${path}?${text}` : path;
}

function load(storage: Pick<Storage, "getItem"> | null): Session | null {
  const text = storage?.getItem(STORAGE_KEY);
  if (!text) return null;
  const session = safeJson(text) as Session | null;
  return session && typeof session.accessToken === "string" && typeof session.refreshToken === "string" ? session : null;
}

export const api = new Client();

/** The first `pages` pages of a paged list (`page` reads the one a token names, the first
 *  without one, and answers its items and the next page's token), and whether more are left. */
export async function firstPages<T>(pages: number, page: (token: string | null) => Promise<{ items: T[]; next?: string | null }>): Promise<{ items: T[]; more: boolean }> {
  const items: T[] = [];
  let token: string | null = null;
  for (let read = 0; read < pages; read++) {
    const answer: { items: T[]; next?: string | null } = await page(token);
    items.push(...answer.items);
    token = answer.next ?? null;
    if (!token) return { items, more: false };
  }
  return { items, more: true };
}
