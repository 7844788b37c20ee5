import { Component, type ReactNode } from "react";
import { describe } from "../errors";

/** An error in words, with a way to try again. */
export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {describe(error)}{" "}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Try again
        </button>
      )}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-busy="true">Loading {what}…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="muted">{children}</p>;
}

/** "Newer"/"Older" paging over page tokens: `tokens` is the stack of pages visited. */
export function Pager({ next, tokens, onPage }: { next: string | null | undefined; tokens: (string | null)[]; onPage: (tokens: (string | null)[]) => void }) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="secondary" disabled={tokens.length <= 1} onClick={() => onPage(tokens.slice(0, -1))}>
        ‹ Previous
      </button>
      <span className="muted">Page {tokens.length}</span>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && onPage([...tokens, next])}>
        Next ›
      </button>
    </nav>
  );
}

/** A table's header row: plain names, or `#Name` for a right-aligned number column. */
/** Under a list showing its newest `shown` items of more: says so, and a button brings the next `page`. */
export function ShowMore({ shown, what, page, loading, onMore }: { shown: number; what: string; page: number; loading: boolean; onMore: () => void }) {
  return (
    <p>
      <span className="muted">
        The newest {shown.toLocaleString("en-US")} {what} are shown.{" "}
      </span>
      <button type="button" className="secondary" disabled={loading} onClick={onMore}>
        Show {page} more
      </button>
    </p>
  );
}

export function Head({ columns }: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((column, index) =>
          column.startsWith("#") ? (
            <th key={index} scope="col" className="number">
              {column.slice(1)}
            </th>
          ) : (
            <th key={index} scope="col" className={column === "Trend" ? "hide-narrow" : undefined}>
              {column}
            </th>
          ),
        )}
      </tr>
    </thead>
  );
}

/** One choice of a few (an interval, a period), as a row of toggle buttons. */
export function Choice<T extends string>({ label, options, value, onChange, role = "group" }: { label: string; options: readonly T[]; value: T; onChange: (value: T) => void; role?: "group" | "tablist" }) {
  return (
    <div role={role} aria-label={label} className="intervals">
      {options.map((option) => (
        <button key={option} type="button" className={option === value ? "" : "outline secondary"} aria-pressed={role === "group" ? option === value : undefined} aria-selected={role === "tablist" ? option === value : undefined} role={role === "tablist" ? "tab" : undefined} onClick={() => onChange(option)}>
          {option}
        </button>
      ))}
    </div>
  );
}

/** A page that fails to render shows what happened in words, never a blank page. */
export class PageBoundary extends Component<{ children: ReactNode; page: string }, { error: unknown }> {
  override state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown): { error: unknown } {
    return { error };
  }

  override componentDidUpdate(previous: { page: string }): void {
    // Another page gets a fresh start.
    if (previous.page !== this.props.page && this.state.error) this.setState({ error: null });
  }

  override render(): ReactNode {
    if (this.state.error) {
      return (
        <article role="alert">
          <h2>This page could not be shown</h2>
          <p>{describe(this.state.error)}</p>
          <button type="button" onClick={() => window.location.reload()}>
            Reload
          </button>
        </article>
      );
    }
    return this.props.children;
  }
}
