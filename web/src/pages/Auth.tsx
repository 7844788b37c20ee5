import { useState, type FormEvent } from "react";
import { api } from "../api";
import { ErrorNote } from "../components/Common";

/** Log in or sign up. */
export function Auth({ mode }: { mode: "login" | "signup" }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "signup") await api.register(email.trim(), password, username.trim() || undefined);
      else await api.login(email.trim(), password);
      window.location.hash = "#/markets";
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <article className="auth">
      <h1>{mode === "signup" ? "Create your paper trading account" : "Log in to TradeCraft"}</h1>
      <p className="muted">{mode === "signup" ? "Practise with virtual money on a real order book. You start with 100,000 in paper cash." : "Welcome back."}</p>
      <form onSubmit={submit}>
        <label>
          Email
          <input type="email" name="email" autoComplete="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
        </label>
        {mode === "signup" && (
          <label>
            Username <span className="muted">(optional)</span>
            <input name="username" autoComplete="nickname" maxLength={32} value={username} onChange={(event) => setUsername(event.target.value)} />
          </label>
        )}
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete={mode === "signup" ? "new-password" : "current-password"}
            required
            minLength={mode === "signup" ? 8 : 1}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
          {mode === "signup" && <small>At least 8 characters.</small>}
        </label>
        <ErrorNote error={error} />
        <button type="submit" aria-busy={busy} disabled={busy}>
          {mode === "signup" ? "Sign up" : "Log in"}
        </button>
      </form>
      <p>
        {mode === "signup" ? (
          <>
            Already have an account? <a href="#/login">Log in</a>
          </>
        ) : (
          <>
            New here? <a href="#/signup">Create an account</a>
          </>
        )}
      </p>
    </article>
  );
}
