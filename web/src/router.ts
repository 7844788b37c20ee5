// Routing in the URL's fragment (`#/symbol/MOCKAAPL`): the server serves one page and
// never has to know the app's routes.

import { useSyncExternalStore } from "react";

export interface Route {
  page: string;
  parameter: string | null;
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? "markets", parameter: parts[1] ?? null };
}

export function href(page: string, parameter?: string): string {
  return parameter ? `#/${page}/${encodeURIComponent(parameter)}` : `#/${page}`;
}

export function navigate(page: string, parameter?: string): void {
  window.location.hash = href(page, parameter);
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(
    (listener) => {
      window.addEventListener("hashchange", listener);
      return () => window.removeEventListener("hashchange", listener);
    },
    () => window.location.hash,
  );
  return parseRoute(hash);
}
