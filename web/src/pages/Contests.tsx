import { useEffect, useState } from "react";
import { api } from "../api";
import { Empty, ErrorNote, Head, Pager } from "../components/Common";
import { money, rankedTrader, time, words } from "../format";
import { useLoad } from "../hooks";
import { href } from "../router";
import type { Contest, PaperAccount, Standing } from "../types";

/** Contests to join and their standings, and the user's paper accounts. */
export function Contests({ contestId }: { contestId: string | null }) {
  const contests = useLoad(() => api.get<{ contests: Contest[] }>("/v1/contests"), []);
  const [error, setError] = useState<unknown>(null);
  // Joining opens an account: the accounts below load again.
  const [joined, setJoined] = useState(0);
  async function join(contest: Contest) {
    setError(null);
    const inviteCode = contest.visibility === "INVITE" ? window.prompt("This contest needs its invite code") ?? "" : undefined;
    try {
      await api.post(`/v1/contests/${contest.contestId}/join`, inviteCode === undefined ? {} : { inviteCode });
      contests.reload();
      setJoined(joined + 1);
    } catch (failure) {
      setError(failure);
    }
  }
  const selected = contests.data?.contests.find((contest) => contest.contestId === contestId) ?? null;
  return (
    <section>
      <h1>Contests</h1>
      <ErrorNote error={contests.error ?? error} retry={contests.reload} />
      {contests.data && contests.data.contests.length === 0 && <Empty>No contests yet. An educator or admin creates them.</Empty>}
      {contests.data && contests.data.contests.length > 0 && (
        <div className="scroll">
          <table className="striped" data-testid="contests">
            <Head columns={["Contest", "Status", "Trading", "#Starting cash", "#Entries", ""]} />
            <tbody>
              {contests.data.contests.map((contest) => (
                <tr key={contest.contestId} data-contest={contest.contestId}>
                  <th scope="row">
                    <a href={href("contests", contest.contestId)}>{contest.name}</a>
                  </th>
                  <td>{words(contest.status)}</td>
                  <td>
                    {time(contest.tradingStart)} – {time(contest.tradingEnd)}
                  </td>
                  <td className="number">{money(contest.startingCash)}</td>
                  <td className="number">{contest.entries}</td>
                  <td>
                    {contest.accountId ? (
                      <span className="muted">Your account #{contest.accountId}</span>
                    ) : contest.status === "REGISTRATION" || (contest.status === "RUNNING" && Date.now() < Date.parse(contest.registrationEnd)) ? (
                      <button type="button" onClick={() => join(contest)}>
                        Join {contest.name}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected && <Standings contest={selected} />}
      <Accounts key={joined} />
    </section>
  );
}

/** Standings shown per page. */
const STANDINGS_PAGE = 25;

function Standings({ contest }: { contest: Contest }) {
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  useEffect(() => setTokens([null]), [contest.contestId]);
  const board = useLoad(
    () =>
      api.get<{ standings: Standing[]; final: boolean; status: string; nextPageToken: string | null }>(`/v1/contests/${contest.contestId}/leaderboard`, {
        limit: STANDINGS_PAGE,
        pageToken: token,
      }),
    [contest.contestId, token],
  );
  const me = api.current()?.userId;
  return (
    <article>
      <h2>{contest.name}</h2>
      <p>{contest.description}</p>
      <p className="muted">
        Ranked by {contest.ranking === "SHARPE" ? "Sharpe ratio" : "return"}. {board.data?.final ? "Final standings." : "Live standings."}
      </p>
      <ErrorNote error={board.error} retry={board.reload} />
      {board.data && board.data.standings.length === 0 && <Empty>Nobody has joined yet.</Empty>}
      {board.data && board.data.standings.length > 0 && (
        <table className="striped" data-testid="standings">
          <Head columns={["#Rank", "Trader", "#Return", "#Equity"]} />
          <tbody>
            {board.data.standings.map((line) => (
              <tr key={line.rank} className={line.userId !== null && line.userId === me ? "mine" : ""}>
                <td className="number">{line.rank}</td>
                <th scope="row">{rankedTrader(line, me, "You")}</th>
                <td className="number">{line.returnPercent}%</td>
                <td className="number">{money(line.equity)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {board.data && (board.data.nextPageToken || tokens.length > 1) && <Pager next={board.data.nextPageToken} tokens={tokens} onPage={setTokens} />}
    </article>
  );
}

function Accounts() {
  const accounts = useLoad(() => api.get<{ accounts: PaperAccount[] }>("/v1/me/accounts"), []);
  const [error, setError] = useState<unknown>(null);
  async function open(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    try {
      await api.post("/v1/me/accounts", { name: String(form.get("name") ?? ""), cash: String(form.get("cash") ?? "") });
      accounts.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  async function reset(account: PaperAccount) {
    if (!window.confirm(`Reset ${account.name}? Its orders are cancelled, its shares and cash removed, and ${money(account.startingCash)} put back.`)) return;
    setError(null);
    try {
      await api.post(`/v1/me/accounts/${account.accountId}/reset`);
      accounts.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <article>
      <h2>Your paper accounts</h2>
      <p className="muted">Trade in any of them by choosing it in the account menu at the top; each keeps its own cash, shares and history.</p>
      <ErrorNote error={accounts.error ?? error} retry={accounts.reload} />
      {accounts.data && (
        <table className="striped" data-testid="paper-accounts">
          <Head columns={["Account", "Kind", "#Cash", "#Starting cash", "#Resets", ""]} />
          <tbody>
            {accounts.data.accounts.map((account) => (
              <tr key={account.accountId} data-account={account.accountId}>
                <th scope="row">
                  {account.name} <small className="muted">#{account.accountId}</small>
                </th>
                <td>{words(account.kind)}</td>
                <td className="number">{money(account.cashBalance)}</td>
                <td className="number">{money(account.startingCash)}</td>
                <td className="number">{account.resets}</td>
                <td>
                  {account.kind === "PRACTICE" && (
                    <button type="button" className="outline" onClick={() => reset(account)}>
                      Reset
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={open} className="inline">
        <label>
          Name
          <input name="name" maxLength={60} required placeholder="Momentum practice" />
        </label>
        <label>
          Starting cash
          <input name="cash" inputMode="decimal" required placeholder="10000" />
        </label>
        <button type="submit">Open a practice account</button>
      </form>
    </article>
  );
}
