// The live connection: one Phoenix socket to /v1/marketdata (the official `phoenix`
// client), reconnecting by itself with backoff; its state is shown in the app's header.

import { Socket, type Channel } from "phoenix";
import { useEffect, useRef, useSyncExternalStore } from "react";
import { api } from "./api";

export type ConnectionState = "connecting" | "open" | "closed";

let socketState: ConnectionState = "connecting";
let state: ConnectionState = "connecting";
const stateListeners = new Set<() => void>();
// Topics whose join the server has not (yet, or since the last drop) answered: the
// connection is shown as open only when the socket is and every channel is joined, so
// nothing pushed on a topic is missed once the app says it is live.
const joining = new Set<string>();

function publish(): void {
  const next = socketState === "open" && joining.size > 0 ? "connecting" : socketState;
  if (state === next) return;
  state = next;
  for (const listener of stateListeners) listener();
}

function setState(next: ConnectionState): void {
  socketState = next;
  publish();
}

const socket = new Socket("/v1/marketdata", {
  // Read at every (re)connect, so a refreshed token is used.
  params: () => {
    const token = api.current()?.accessToken;
    return token ? { token } : {};
  },
  reconnectAfterMs: (tries: number) => [250, 500, 1000, 2000, 5000][tries - 1] ?? 5000,
  heartbeatIntervalMs: 15_000,
});
// True from a reconnect for a new login until the new connection opens: the old one's
// close is expected, not a lost connection.
let switching = false;
socket.onOpen(() => {
  switching = false;
  setState("open");
});
socket.onClose(() => setState(switching ? "connecting" : "closed"));
socket.onError(() => setState(switching ? "connecting" : "closed"));

let connected = false;
function ensureConnected(): void {
  if (!connected) {
    connected = true;
    // A stored login is checked first (one request, which refreshes a token the server no
    // longer takes): the socket then authenticates once, with a token that works.
    if (api.current()) void api.get("/v1/me/accounts").catch(() => undefined).finally(() => socket.connect());
    else socket.connect();
  }
}

/** Reconnects so that the socket carries the current login (after log in or out). */
export function reconnect(): void {
  if (!connected) return ensureConnected();
  // Not live from now until the new connection's channels are joined: what the old
  // socket still shows belongs to the previous login.
  switching = true;
  setState("connecting");
  socket.disconnect(() => socket.connect());
}

export function useConnection(): ConnectionState {
  ensureConnected();
  return useSyncExternalStore(
    (listener) => {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    () => state,
  );
}

const channels = new Map<string, { channel: Channel; users: number }>();

function acquire(topic: string): Channel {
  ensureConnected();
  const entry = channels.get(topic);
  if (entry) {
    entry.users += 1;
    return entry.channel;
  }
  const channel = socket.channel(topic, {});
  joining.add(topic);
  // The join's hooks run again at every rejoin after a reconnect. Only a join the server
  // took counts: a refusal comes from a socket still carrying the previous login (the
  // channel rejoins on the new one), so the app is not live for this topic until then.
  channel.join().receive("ok", () => {
    joining.delete(topic);
    publish();
  });
  channel.onError(() => {
    joining.add(topic);
    publish();
  });
  publish();
  channels.set(topic, { channel, users: 1 });
  return channel;
}

function release(topic: string): void {
  const entry = channels.get(topic);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users === 0) {
    entry.channel.leave();
    channels.delete(topic);
    joining.delete(topic);
    publish();
  }
}

/** Calls `handler` with each `event` pushed on `topic` while the component is mounted. */
export function useChannel<T>(topic: string | null, event: string, handler: (payload: T) => void): void {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    if (!topic) return;
    const channel = acquire(topic);
    const reference = channel.on(event, (payload: T) => latest.current(payload));
    return () => {
      channel.off(event, reference);
      release(topic);
    };
  }, [topic, event]);
}
