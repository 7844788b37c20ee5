import { useState, type FormEvent } from "react";
import { api } from "../api";
import { Empty, ErrorNote, Head } from "../components/Common";
import { time } from "../format";
import { useLoad } from "../hooks";
import { reconnect } from "../live";
import { toast } from "../toasts";
import type { ApiKey } from "../types";

/** Change the password: every other login ends; this one goes on with new tokens. */
function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function change(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (next.length < 8) {
      setError(new Error("The new password needs at least 8 characters."));
      return;
    }
    setBusy(true);
    try {
      await api.changePassword(current, next);
      // The live connection carried the old login, which the server ends: open it anew.
      reconnect();
      setCurrent("");
      setNext("");
      toast("info", "Password changed: every other session is logged out.");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={change} className="inline" aria-label="Change password">
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={current} onChange={(event) => setCurrent(event.target.value)} required />
      </label>
      <label>
        New password
        <input type="password" autoComplete="new-password" value={next} minLength={8} maxLength={128} onChange={(event) => setNext(event.target.value)} required />
      </label>
      <button type="submit" disabled={busy}>
        Change password
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** Create (the secret shown once, with a copy button), list and revoke API keys. */
export function ApiKeys() {
  const keys = useLoad(() => api.get<{ keys: ApiKey[] }>("/v1/api-keys"), []);
  const [name, setName] = useState("");
  const [trade, setTrade] = useState(true);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setCopied(false);
    try {
      const key = await api.post<ApiKey>("/v1/api-keys", { name: name.trim() || "key", scopes: trade ? ["read", "trade"] : ["read"] });
      setCreated(key);
      setName("");
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  }

  async function revoke(key: ApiKey) {
    if (!window.confirm(`Revoke "${key.name}"? Programs using it stop working at once.`)) return;
    setError(null);
    try {
      await api.delete(`/v1/api-keys/${key.keyId}`);
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  }

  async function copy() {
    if (!created?.apiKey) return;
    try {
      await navigator.clipboard.writeText(created.apiKey);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }

  return (
    <section>
      <h1>API keys</h1>
      <p className="muted">
        Keys let your programs trade for you: send one as <code>X-API-Key</code>. See the <a href="/docs">API reference</a>.
      </p>
      <form onSubmit={create} className="inline" aria-label="Create an API key">
        <label>
          Name
          <input value={name} maxLength={64} onChange={(event) => setName(event.target.value)} placeholder="my bot" />
        </label>
        <label>
          <input type="checkbox" role="switch" checked={trade} onChange={(event) => setTrade(event.target.checked)} /> May trade (otherwise read only)
        </label>
        <button type="submit">Create key</button>
      </form>
      {created?.apiKey && (
        <article className="secret" data-testid="new-key">
          <p>
            <strong>Copy this key now:</strong> it is shown only once.
          </p>
          <code>{created.apiKey}</code>{" "}
          <button type="button" className="outline" onClick={copy}>
            {copied ? "Copied" : "Copy"}
          </button>
        </article>
      )}
      <ErrorNote error={keys.error ?? error} retry={keys.reload} />
      {keys.data && keys.data.keys.length === 0 && <Empty>No keys yet.</Empty>}
      {keys.data && keys.data.keys.length > 0 && (
        <table className="striped" data-testid="api-keys">
          <Head columns={["Name", "Rights", "Created", "State", ""]} />
          <tbody>
            {keys.data.keys.map((key) => (
              <tr key={key.keyId}>
                <th scope="row">{key.name}</th>
                <td>{key.scopes.join(", ")}</td>
                <td>{time(key.createdAt)}</td>
                <td>{key.revoked ? "Revoked" : "Active"}</td>
                <td>
                  {!key.revoked && (
                    <button type="button" className="outline contrast" onClick={() => revoke(key)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Password</h2>
      <ChangePassword />
    </section>
  );
}
