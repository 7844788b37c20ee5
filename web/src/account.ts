// The paper account the app trades and reads: the user's default account unless they
// choose another (a practice or contest account), remembered per user in the browser.

import { useSyncExternalStore } from "react";
import { api } from "./api";

const listeners = new Set<() => void>();

function key(userId: string): string {
  return `tradecraft.account.${userId}`;
}

/** The account in use: the chosen one, or the user's default account ("" logged out). */
export function activeAccount(): string {
  const session = api.current();
  if (!session) return "";
  return (typeof localStorage === "undefined" ? null : localStorage.getItem(key(session.userId))) ?? session.userId;
}

/** Trades and reads `accountId` from now on (the default account: forget the choice). */
export function chooseAccount(accountId: string): void {
  const session = api.current();
  if (!session || typeof localStorage === "undefined") return;
  if (accountId === session.userId) localStorage.removeItem(key(session.userId));
  else localStorage.setItem(key(session.userId), accountId);
  for (const listener of listeners) listener();
}

export function useAccount(): string {
  return useSyncExternalStore((listener) => {
    listeners.add(listener);
    const unsubscribe = api.subscribe(listener);
    return () => {
      listeners.delete(listener);
      unsubscribe();
    };
  }, activeAccount);
}
