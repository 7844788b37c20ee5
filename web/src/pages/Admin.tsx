import { useState, type FormEvent, type ReactNode } from "react";
import { api } from "../api";
import { ErrorNote, Head, Pager } from "../components/Common";
import { time } from "../format";
import { useLoad } from "../hooks";
import type { AuditEntry, LimitsView, Organisation, OrganisationListed, Pagination, UserListed } from "../types";
import { LimitsTable } from "./Alerts";

/** Runs one admin action, showing its error in words or a confirmation. */
function useAction(): { run: (action: () => Promise<unknown>, done: string) => Promise<void>; status: ReactNode } {
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  return {
    run: async (action, message) => {
      setError(null);
      setDone(null);
      try {
        await action();
        setDone(message);
      } catch (failure) {
        setError(failure);
      }
    },
    status: (
      <>
        <ErrorNote error={error} />
        {done && <p className="success">{done}</p>}
      </>
    ),
  };
}

export function Admin() {
  const [tab, setTab] = useState<"organisations" | "limits" | "users" | "audit">("organisations");
  return (
    <section>
      <h1>Administration</h1>
      <div role="tablist" aria-label="Administration" className="tabs">
        {(["organisations", "limits", "users", "audit"] as const).map((item) => (
          <button key={item} type="button" role="tab" aria-selected={tab === item} className={tab === item ? "" : "outline secondary"} onClick={() => setTab(item)}>
            {item.charAt(0).toUpperCase() + item.slice(1)}
          </button>
        ))}
      </div>
      {tab === "organisations" && <Organisations />}
      {tab === "limits" && <LimitsEditor />}
      {tab === "users" && <Users />}
      {tab === "audit" && <Audit />}
    </section>
  );
}

function Organisations() {
  const [name, setName] = useState("");
  const [orgId, setOrgId] = useState("");
  const [shown, setShown] = useState<Organisation | null>(null);
  const [groupName, setGroupName] = useState("");
  const [member, setMember] = useState({ userId: "", role: "member", groupId: "" });
  const { run, status } = useAction();
  // The list, 50 by name a page, of those whose name holds the text searched for.
  const [query, setQuery] = useState("");
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const listed = useLoad(
    () => api.get<{ organisations: OrganisationListed[]; pagination: Pagination }>("/v1/organisations", { q: query || undefined, limit: 50, pageToken: token }),
    [query, token],
  );

  /** Shows the organisation again after a change, and its counts in the list. */
  const refresh = async (id: string) => {
    setShown(await api.get<Organisation>(`/v1/organisations/${id}`));
    listed.reload();
  };
  const open = (id: string) =>
    run(async () => {
      setOrgId(id);
      setShown(await api.get<Organisation>(`/v1/organisations/${id}`));
    }, `Organisation ${id} loaded.`);

  return (
    <>
      <form
        className="inline"
        aria-label="Create an organisation"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void run(async () => {
            const created = await api.post<{ organisationId: string }>("/v1/organisations", { name });
            setOrgId(created.organisationId);
            await refresh(created.organisationId);
          }, `Created ${name}.`);
        }}
      >
        <label>
          New organisation
          <input value={name} required onChange={(event) => setName(event.target.value)} placeholder="Riverside High" />
        </label>
        <button type="submit">Create</button>
      </form>
      <SearchForm
        label="Find organisations"
        what="Find by name"
        placeholder="Riverside"
        onFind={(text) => {
          setQuery(text);
          setTokens([null]);
        }}
      />
      <ErrorNote error={listed.error} retry={listed.reload} />
      {listed.data && listed.data.organisations.length === 0 && query && <p className="muted">No organisation matches.</p>}
      {listed.data && listed.data.organisations.length > 0 && (
        <div className="scroll">
          <table className="striped compact" data-testid="organisations">
            <Head columns={["Organisation", "Members", "Groups", "Created", ""]} />
            <tbody>
              {listed.data.organisations.map((organisation) => (
                <tr key={organisation.organisationId}>
                  <th scope="row">
                    {organisation.name} <small className="muted">#{organisation.organisationId}</small>
                  </th>
                  <td>{organisation.members}</td>
                  <td>{organisation.groups}</td>
                  <td>{time(organisation.createdAt)}</td>
                  <td>
                    <button type="button" className="outline" aria-label={`Open ${organisation.name}`} onClick={() => void open(organisation.organisationId)}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {listed.data && (tokens.length > 1 || listed.data.pagination.nextPageToken) && <Pager next={listed.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />}
      <form
        className="inline"
        aria-label="Open an organisation"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void open(orgId);
        }}
      >
        <label>
          Organisation id
          <input value={orgId} required inputMode="numeric" onChange={(event) => setOrgId(event.target.value)} />
        </label>
        <button type="submit" className="secondary">
          Open
        </button>
      </form>
      {status}
      {shown && (
        <article>
          <h2>
            {shown.name} <small className="muted">#{shown.organisationId}</small>
          </h2>
          <h3>Groups</h3>
          <ul>
            {shown.groups.map((group) => (
              <li key={group.groupId}>
                {group.name} <small className="muted">#{group.groupId}</small>
              </li>
            ))}
          </ul>
          <form
            className="inline"
            aria-label="Add a group"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              void run(async () => {
                await api.post(`/v1/organisations/${shown.organisationId}/groups`, { name: groupName });
                await refresh(shown.organisationId);
              }, `Added group ${groupName}.`);
            }}
          >
            <label>
              New group
              <input value={groupName} required onChange={(event) => setGroupName(event.target.value)} />
            </label>
            <button type="submit">Add group</button>
          </form>
          <h3>Members</h3>
          <table className="compact">
            <tbody>
              {shown.members.map((item) => (
                <tr key={item.userId}>
                  <th scope="row">
                    {item.username ?? "User"} <small className="muted">#{item.userId}</small>
                  </th>
                  <td>{item.role}</td>
                  <td>{item.groupId ? `group #${item.groupId}` : ""}</td>
                  <td>
                    <button
                      type="button"
                      className="outline contrast"
                      onClick={() =>
                        void run(async () => {
                          await api.delete(`/v1/organisations/${shown.organisationId}/members/${item.userId}`);
                          await refresh(shown.organisationId);
                        }, `Removed user ${item.userId}.`)
                      }
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form
            className="inline"
            aria-label="Add or change a member"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              void run(async () => {
                await api.put(`/v1/organisations/${shown.organisationId}/members/${member.userId}`, { role: member.role, ...(member.groupId ? { groupId: member.groupId } : {}) });
                await refresh(shown.organisationId);
              }, `User ${member.userId} is a ${member.role}.`);
            }}
          >
            <label>
              User id
              <input value={member.userId} required inputMode="numeric" onChange={(event) => setMember({ ...member, userId: event.target.value })} />
            </label>
            <label>
              Role
              <select value={member.role} onChange={(event) => setMember({ ...member, role: event.target.value })}>
                <option value="member">Member</option>
                <option value="org_admin">Organisation admin</option>
              </select>
            </label>
            <label>
              Group id
              <input value={member.groupId} inputMode="numeric" placeholder="none" onChange={(event) => setMember({ ...member, groupId: event.target.value })} />
            </label>
            <button type="submit">Save member</button>
          </form>
        </article>
      )}
    </>
  );
}

const NUMERIC_LIMITS: [keyof LimitsView, string][] = [
  ["maxOrderQuantity", "Largest order quantity"],
  ["maxOrderNotional", "Largest order value"],
  ["maxOpenOrders", "Open orders at once"],
  ["maxPosition", "Largest position"],
  ["maxGrossExposure", "Gross exposure"],
  ["maxDailyNotional", "Value traded per day"],
  ["maxDailyLoss", "Loss per day"],
  ["maxOrdersPerMinute", "Orders per minute"],
  ["maxTradesPerDay", "Trades per day"],
  ["minSharePrice", "Lowest share price"],
];

function LimitsEditor() {
  const [scope, setScope] = useState("users");
  const [id, setId] = useState("");
  const [current, setCurrent] = useState<LimitsView | null>(null);
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [enabled, setEnabled] = useState(true);
  const [blocked, setBlocked] = useState("");
  const { run, status } = useAction();

  const load = () =>
    run(async () => {
      const answer = await api.get<{ limits: LimitsView }>(`/v1/limits/${scope}/${id}`);
      setCurrent(answer.limits);
      setEnabled(answer.limits.tradingEnabled);
      setBlocked((answer.limits.blockedSymbols ?? []).join(", "));
      setDraft(Object.fromEntries(NUMERIC_LIMITS.map(([key]) => [key, answer.limits[key] == null ? "" : String(answer.limits[key])])));
    }, `Limits of ${scope} ${id}.`);

  const save = () =>
    run(async () => {
      const body: Record<string, unknown> = { tradingEnabled: enabled };
      for (const [key] of NUMERIC_LIMITS) {
        const value = draft[key]?.trim();
        if (value) body[key] = key === "maxOpenOrders" || key === "maxOrdersPerMinute" || key === "maxTradesPerDay" ? Number.parseInt(value, 10) : value;
      }
      const symbols = blocked
        .split(",")
        .map((item) => item.trim().toUpperCase())
        .filter(Boolean);
      if (symbols.length) body.blockedSymbols = symbols;
      const answer = await api.put<{ limits: LimitsView }>(`/v1/limits/${scope}/${id}`, body);
      setCurrent(answer.limits);
    }, `Saved the limits of ${scope} ${id}.`);

  return (
    <>
      <form
        className="inline"
        aria-label="Choose whose limits"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void load();
        }}
      >
        <label>
          Scope
          <select value={scope} onChange={(event) => setScope(event.target.value)}>
            <option value="users">User</option>
            <option value="groups">Group</option>
            <option value="organisations">Organisation</option>
          </select>
        </label>
        <label>
          Id
          <input value={id} required inputMode="numeric" onChange={(event) => setId(event.target.value)} />
        </label>
        <button type="submit" className="secondary">
          Load
        </button>
      </form>
      {status}
      {current && (
        <div className="grid two">
          <LimitsTable limits={current} />
          <form
            aria-label="Edit limits"
            onSubmit={(event: FormEvent) => {
              event.preventDefault();
              void save();
            }}
          >
            <label>
              <input type="checkbox" role="switch" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} /> Trading enabled
            </label>
            {NUMERIC_LIMITS.map(([key, label]) => (
              <label key={key}>
                {label}
                <input inputMode="decimal" value={draft[key] ?? ""} placeholder="no limit" onChange={(event) => setDraft({ ...draft, [key]: event.target.value })} />
              </label>
            ))}
            <label>
              Blocked symbols
              <input value={blocked} placeholder="MOCKTSLA, MOCKGME" onChange={(event) => setBlocked(event.target.value)} />
            </label>
            <button type="submit">Save limits</button>
          </form>
        </div>
      )}
    </>
  );
}

function Users() {
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("trader");
  const [membership, setMembership] = useState({ organisationId: "", groupId: "" });
  const [code, setCode] = useState<ResetCode | null>(null);
  const [found, setFound] = useState<UserListed[] | null>(null);
  const { run, status } = useAction();
  return (
    <>
      <SearchForm
        label="Find users"
        what="Find by email or username"
        placeholder="student@school.org"
        onFind={(text) =>
          void run(async () => {
            const page = await api.get<{ users: UserListed[] }>("/v1/users", { q: text || undefined, limit: 50 });
            setFound(page.users);
          }, `Searched for ${text || "everyone"}.`)
        }
      />
      {found && found.length === 0 && <p className="muted">Nobody matches.</p>}
      {found && found.length > 0 && (
        <div className="scroll">
          <table className="striped compact" data-testid="users">
            <Head columns={["User", "Email", "Role", "Organisation", ""]} />
            <tbody>
              {found.map((user) => (
                <tr key={user.userId}>
                  <th scope="row">
                    {user.username} <small className="muted">#{user.userId}</small>
                  </th>
                  <td>{user.email}</td>
                  <td>{user.role}</td>
                  <td>{user.organisationId ? `#${user.organisationId}` : ""}</td>
                  <td>
                    <button type="button" className="outline" aria-label={`Choose ${user.email}`} onClick={() => setUserId(user.userId)}>
                      Choose
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <label>
        User id
        <input value={userId} inputMode="numeric" onChange={(event) => setUserId(event.target.value)} />
      </label>
      <form
        className="inline"
        aria-label="Change a role"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void run(() => api.put(`/v1/users/${userId}/role`, { role }), `User ${userId} is now a ${role}; their sessions must log in again.`);
        }}
      >
        <label>
          Role
          <select value={role} onChange={(event) => setRole(event.target.value)}>
            <option value="trader">Trader</option>
            <option value="viewer">Viewer (read only)</option>
            <option value="admin">Admin</option>
          </select>
        </label>
        <button type="submit">Set role</button>
      </form>
      <form
        className="inline"
        aria-label="Change a membership"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          void run(
            () =>
              api.put(`/v1/users/${userId}/membership`, {
                organisationId: membership.organisationId || null,
                groupId: membership.groupId || null,
              }),
            `Membership of user ${userId} saved.`,
          );
        }}
      >
        <label>
          Organisation id
          <input value={membership.organisationId} inputMode="numeric" placeholder="none" onChange={(event) => setMembership({ ...membership, organisationId: event.target.value })} />
        </label>
        <label>
          Group id
          <input value={membership.groupId} inputMode="numeric" placeholder="none" onChange={(event) => setMembership({ ...membership, groupId: event.target.value })} />
        </label>
        <button type="submit">Set membership</button>
      </form>
      <form
        className="inline"
        aria-label="Reset a password"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          setCode(null);
          void run(async () => setCode(await api.post<ResetCode>(`/v1/users/${userId}/password-reset`, {})), `A reset code for user ${userId} is below.`);
        }}
      >
        <button type="submit" className="secondary">
          Make a password reset code
        </button>
      </form>
      {status}
      {code && (
        <p data-testid="reset-code">
          Give user {code.userId} this code, shown only now; it sets a new password once, from the log-in page under
          &ldquo;Forgot your password?&rdquo;, until {time(code.expiresAt)}: <code>{code.code}</code>
        </p>
      )}
    </>
  );
}

interface ResetCode {
  userId: string;
  code: string;
  expiresAt: string;
}

function Audit() {
  // The whole trail, newest first, a page at a time; or one subject's (`user:42`).
  const [subject, setSubject] = useState("");
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const audit = useLoad(
    () => api.get<{ entries: AuditEntry[]; pagination: Pagination }>("/v1/audit", { subject: subject || undefined, limit: 100, pageToken: token }),
    [subject, token],
  );
  return (
    <>
      <SearchForm
        label="Find audit entries"
        what="Subject"
        placeholder="user:42, account:42, organisation:7 (all when empty)"
        onFind={(text) => {
          setSubject(text);
          setTokens([null]);
        }}
      />
      <ErrorNote error={audit.error} retry={audit.reload} />
      {audit.data && (
        <div className="scroll">
          <table className="striped compact" data-testid="audit">
            <Head columns={["When", "Who", "What", "Subject"]} />
            <tbody>
              {audit.data.entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{time(entry.timestamp)}</td>
                  <td>{entry.actor}</td>
                  <td>{entry.action}</td>
                  <td>{entry.subject}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {audit.data && <Pager next={audit.data.pagination.nextPageToken} tokens={tokens} onPage={setTokens} />}
    </>
  );
}

/** A one-field search form: `onFind` gets the text, trimmed. */
function SearchForm({ label, what, placeholder, onFind }: { label: string; what: string; placeholder: string; onFind: (text: string) => void }) {
  const [text, setText] = useState("");
  return (
    <form
      className="inline"
      aria-label={label}
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        onFind(text.trim());
      }}
    >
      <label>
        {what}
        <input type="search" value={text} maxLength={100} onChange={(event) => setText(event.target.value)} placeholder={placeholder} />
      </label>
      <button type="submit" className="secondary">
        Find
      </button>
    </form>
  );
}
