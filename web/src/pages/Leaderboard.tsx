import { useState } from "react";
import { api } from "../api";
import { Empty, ErrorNote, Pager, Head, Choice } from "../components/Common";
import { money, rankedTrader, ratio, returnPercent, returnTone } from "../format";
import { useLoad } from "../hooks";
import type { Leaderboard as Answer, LeaderboardEntry } from "../types";

const PERIODS = ["1d", "7d", "30d", "90d", "1y", "all"] as const;

export function Leaderboard() {
  const [period, setPeriod] = useState<(typeof PERIODS)[number]>("7d");
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const board = useLoad(() => api.get<Answer>("/v1/leaderboard", { period, limit: 25, pageToken: token }), [period, token]);
  const me = api.current()?.userId;
  const mine = (entry: LeaderboardEntry) => entry.userId !== null && entry.userId === me;
  return (
    <section>
      <h1>Leaderboard</h1>
      <p className="muted">Ranked by time-weighted return over the period: deposits and withdrawals do not count as gains. Traders with private profiles are ranked without their names; make yours public on the Community page to be named.</p>
      <Choice
        label="Period"
        options={PERIODS}
        value={period}
        onChange={(next) => {
          setPeriod(next);
          setTokens([null]);
        }}
      />
      <ErrorNote error={board.error} retry={board.reload} />
      {board.data && board.data.entries.length === 0 && <Empty>Nobody has traded in this period yet.</Empty>}
      {board.data && board.data.entries.length > 0 && (
        <div className="scroll">
          <table className="striped" data-testid="leaderboard">
            <Head columns={["#Rank", "Trader", "#Return", "#Sharpe", "#Max drawdown", "#Value"]} />
            <tbody>
              {board.data.entries.map((entry) => (
                <tr key={entry.userId ?? `private-${entry.rank}`} className={mine(entry) ? "mine" : ""}>
                  <td className="number">{entry.rank}</td>
                  <th scope="row">{rankedTrader(entry, me, `You (#${entry.userId})`)}</th>
                  <td className={`number ${returnTone(entry.totalReturn)}`}>{returnPercent(entry.totalReturn)}</td>
                  <td className="number">{ratio(entry.sharpe)}</td>
                  <td className="number">{returnPercent(entry.maxDrawdown)}</td>
                  <td className="number">{money(entry.endValue)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {board.data && <Pager next={board.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />}
    </section>
  );
}
