import { useState, type FormEvent } from "react";
import { api } from "../api";
import { ErrorNote } from "../components/Common";
import { toast } from "../toasts";

/** A form's request: busy while it runs, its failure kept to be shown. */
function useSubmit(): { busy: boolean; error: unknown; run: (work: () => Promise<void>) => Promise<void> } {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function run(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

/** Log in or sign up. */
export function Auth({ mode }: { mode: "login" | "signup" }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [username, setUsername] = useState("");
  const { busy, error, run } = useSubmit();

  function submit(event: FormEvent) {
    event.preventDefault();
    void run(async () => {
      if (mode === "signup") await api.register(email.trim(), password, username.trim() || undefined);
      else await api.login(email.trim(), password);
      window.location.hash = "#/markets";
    });
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
            New here? <a href="#/signup">Create an account</a> · <a href="#/forgot">Forgot your password?</a>
          </>
        )}
      </p>
    </article>
  );
}

/**
 * A forgotten password: ask for a code by email (`ask`), then spend it on a new password;
 * the email's link opens the page with the code filled in, and a code an admin handed
 * over is typed in without asking.
 */
export function ResetPassword({ code: mailed, ask: asking }: { code: string | null; ask: boolean }) {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const [code, setCode] = useState(mailed ?? "");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useSubmit();

  const ask = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => setSent(await api.forgotPassword(email.trim())));
  };
  const reset = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api.resetPassword(code.trim(), password, email.trim());
      toast("success", "Your new password is set; other sessions were logged out.");
      window.location.hash = "#/markets";
    });
  };

  const askForm = (
    <form onSubmit={ask} aria-label="Ask for a reset code">
      <label>
        Email
        <input type="email" name="email" autoComplete="email" required value={email} onChange={(event) => setEmail(event.target.value)} />
      </label>
      <button type="submit" aria-busy={busy} disabled={busy}>
        Email me a reset code
      </button>
    </form>
  );
  return (
    <article className="auth">
      <h1>Reset your password</h1>
      {asking && sent === null && (
        <>
          <p className="muted">We will email you a code that sets a new password. It works once, within 30 minutes.</p>
          {askForm}
          <p>
            Have a code already? <a href="#/reset">Enter it</a>
          </p>
        </>
      )}
      {sent !== null && (
        <p role="status" className="muted">
          {sent}
        </p>
      )}
      {(!asking || sent !== null) && (
        <form onSubmit={reset} aria-label="Set a new password">
          {mailed === null && (
            <label>
              Reset code (from the email, or from an admin)
              <input name="code" autoComplete="one-time-code" required value={code} onChange={(event) => setCode(event.target.value)} />
            </label>
          )}
          <label>
            New password
            <input
              type="password"
              name="new-password"
              autoComplete="new-password"
              required
              minLength={8}
              maxLength={128}
              value={password}
              onChange={(event) => setPassword(event.target.value)}
            />
            <small>At least 8 characters.</small>
          </label>
          <button type="submit" aria-busy={busy} disabled={busy}>
            Set the new password
          </button>
        </form>
      )}
      <ErrorNote error={error} />
      <p>
        Remembered it? <a href="#/login">Log in</a>
      </p>
    </article>
  );
}
