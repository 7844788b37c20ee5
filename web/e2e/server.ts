// Starts a real TradeCraft server (the binary, on its embedded default: file log and
// SQLite in a fresh data dir) on port 0 serving this build of the app, for the whole run.
// Its address goes to the tests through TRADECRAFT_E2E_URL; it is stopped at the end.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const ADMIN_KEY = "e2e-admin-key-0123456789abcdef0123456789";
const ROOT = resolve(import.meta.dirname, "..", "..");

export interface Server {
  url: string;
  dataDir: string;
  process: ChildProcess;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts `tradecraft serve` on `address` (port 0 for a free one), with `extra` arguments,
 * and waits until it is ready. */
export async function launch(dataDir: string, address = "127.0.0.1:0", logName = "server.log", extra: string[] = []): Promise<Server> {
  const binary = process.env.TRADECRAFT_BIN ?? join(ROOT, "target", "debug", "tradecraft");
  // The server's log (one JSON object per line) is kept for a failed run to be read.
  mkdirSync(join(ROOT, "web", "test-results"), { recursive: true });
  const log = openSync(join(ROOT, "web", "test-results", logName), "a");
  const server = spawn(binary, ["serve", "--data-dir", dataDir, "--address", address, "--web-dir", join(ROOT, "web", "dist"), "--admin-key", ADMIN_KEY, ...extra], {
    stdio: ["ignore", "pipe", log],
  });
  const bound = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error("the server did not start in 60 s")), 60_000);
    server.once("exit", (code) => fail(new Error(`the server exited with ${code}`)));
    createInterface({ input: server.stdout! }).on("line", (line) => {
      try {
        const event = JSON.parse(line) as { event?: string; address?: string };
        if (event.event === "listening" && event.address) {
          clearTimeout(timer);
          done(event.address);
        }
      } catch {
        // Log lines that are not the start event.
      }
    });
  });
  const url = `http://${bound}`;
  // The engine replays before it serves: wait until the exchange is ready.
  for (let attempt = 0; attempt < 120; attempt += 1) {
    const ready = await fetch(`${url}/health/ready`).then((response) => response.ok, () => false);
    if (ready) break;
    await new Promise((done) => setTimeout(done, 250));
  }
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((done) => server.once("exit", done));
    server.kill(signal);
    await exited;
  };
  return { url, dataDir, process: server, stop };
}

export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), "tradecraft-e2e-"));
}

export default async function start(): Promise<() => Promise<void>> {
  const server = await launch(freshDataDir());
  process.env.TRADECRAFT_E2E_URL = server.url;
  return async () => {
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  };
}
