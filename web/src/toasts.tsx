// Short messages in the corner: fills, refusals, alerts pushed live.

import { useSyncExternalStore } from "react";

export interface Toast {
  id: number;
  tone: "info" | "success" | "warning" | "error";
  text: string;
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function emit(): void {
  for (const listener of listeners) listener();
}

export function toast(tone: Toast["tone"], text: string, ms = 6000): void {
  const id = nextId++;
  toasts = [...toasts.slice(-4), { id, tone, text }];
  emit();
  setTimeout(() => dismiss(id), ms);
}

export function dismiss(id: number): void {
  toasts = toasts.filter((item) => item.id !== id);
  emit();
}

export function Toasts() {
  const current = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => toasts,
  );
  return (
    <div className="toasts" role="status" aria-live="polite">
      {current.map((item) => (
        <div key={item.id} className={`toast ${item.tone}`}>
          <span>{item.text}</span>
          <button type="button" className="close" aria-label="Dismiss" onClick={() => dismiss(item.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
