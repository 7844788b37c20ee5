import { useEffect, useState } from "react";
import { api, firstPages } from "../api";
import { Empty, ErrorNote, Pager } from "../components/Common";
import { price, quantity, time, unescape } from "../format";
import { useLoad } from "../hooks";
import type { Comment, Profile, Share } from "../types";

/** Profiles, follows and the feed of shared trades and orders. */
export function Community() {
  const userId = api.current()?.userId ?? "";
  const [tokens, setTokens] = useState<(string | null)[]>([null]);
  const token = tokens[tokens.length - 1] ?? null;
  const feed = useLoad(() => api.get<{ shares: Share[]; nextPageToken?: string | null }>("/v1/feed", { limit: 20, pageToken: token }), [token]);
  return (
    <section>
      <h1>Community</h1>
      <p className="muted">
        Your feed: what the traders you follow share, and what you share, from the last seven days. Liked and discussed posts rise; older ones sink. Share an
        order from the Orders page.
      </p>
      <div className="grid-2">
        <div>
          <ErrorNote error={feed.error} retry={feed.reload} />
          {feed.data && feed.data.shares.length === 0 && <Empty>Nothing in your feed yet. Follow a trader, or share one of your orders.</Empty>}
          <ul className="feed" data-testid="feed">
            {feed.data?.shares.map((share) => <ShareCard key={share.shareId} share={share} mine={share.userId === userId} onChange={feed.reload} />)}
          </ul>
          {feed.data && <Pager next={feed.data.nextPageToken} tokens={tokens} onPage={setTokens} />}
        </div>
        <div>
          <MyProfile userId={userId} />
          <FindTrader onFollow={feed.reload} />
        </div>
      </div>
    </section>
  );
}

function Avatar({ profileId, url }: { profileId: string; url?: string | null }) {
  const [failed, setFailed] = useState(false);
  if (!url || failed) return <span className="avatar placeholder" aria-hidden="true">{profileId.slice(-2)}</span>;
  return <img className="avatar" src={url} alt="" width={40} height={40} onError={() => setFailed(true)} />;
}

function ShareCard({ share, mine, onChange }: { share: Share; mine: boolean; onChange: () => void }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [current, setCurrent] = useState(share);
  async function like() {
    setError(null);
    try {
      setCurrent(current.likedByYou ? await api.delete<Share>(`/v1/shares/${share.shareId}/like`) : await api.post<Share>(`/v1/shares/${share.shareId}/like`));
    } catch (failure) {
      setError(failure);
    }
  }
  async function remove() {
    try {
      await api.delete(`/v1/shares/${share.shareId}`);
      onChange();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <li className="share" data-share={share.shareId}>
      <header>
        <Avatar profileId={share.userId} url={`/v1/profiles/${share.userId}/avatar`} />
        <strong>{unescape(share.displayName)}</strong> <small className="muted">{time(share.createdAt)}</small>
      </header>
      <p className="trade-line">
        <span className={share.side === "BUY" ? "up" : "down"}>{share.side === "BUY" ? "Bought" : "Sold"}</span> {quantity(share.quantity)} {share.symbol}
        {share.price ? ` at ${price(share.price)}` : ""} <span className="badge">{share.kind === "TRADE" ? "trade" : "order"}</span>
      </p>
      {share.comment && <p>{unescape(share.comment)}</p>}
      <div className="actions">
        <button type="button" className={current.likedByYou ? "" : "outline"} aria-pressed={current.likedByYou} onClick={like}>
          ♥ {current.likes}
        </button>
        <button type="button" className="outline secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
          Comments ({current.comments})
        </button>
        {mine && (
          <button type="button" className="link" onClick={remove}>
            Delete
          </button>
        )}
      </div>
      <ErrorNote error={error} />
      {open && <Comments shareId={share.shareId} onPosted={() => setCurrent((shown) => ({ ...shown, comments: shown.comments + 1 }))} />}
    </li>
  );
}

/** Comments shown per page (oldest first). */
const COMMENTS_PAGE = 100;
/** Pages read at most to reach the newest comment after posting one. */
const COMMENT_PAGES_MAX = 50;

/** The first `pages` pages of a share's comments, and whether more are left. */
const commentPages = (shareId: string, pages: number) =>
  firstPages(pages, async (pageToken) => {
    const answer = await api.get<{ comments: Comment[]; nextPageToken?: string | null }>(`/v1/shares/${shareId}/comments`, { limit: COMMENTS_PAGE, pageToken });
    return { items: answer.comments, next: answer.nextPageToken };
  });

function Comments({ shareId, onPosted }: { shareId: string; onPosted: () => void }) {
  // Oldest first, a page at a time; after posting, read on to the newest, where the
  // comment just posted is.
  const [pages, setPages] = useState(1);
  const comments = useLoad(() => commentPages(shareId, pages), [shareId, pages]);
  const [text, setText] = useState("");
  const [error, setError] = useState<unknown>(null);
  async function add(event: React.FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      await api.post(`/v1/shares/${shareId}/comment`, { text });
      setText("");
      if (comments.data?.more) setPages(COMMENT_PAGES_MAX);
      else comments.reload();
      onPosted();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <div className="comments">
      <ErrorNote error={comments.error} retry={comments.reload} />
      <ul>
        {comments.data?.items.map((comment) => (
          <li key={comment.commentId}>
            <strong>{unescape(comment.displayName)}</strong> {unescape(comment.text)} <small className="muted">{time(comment.createdAt)}</small>
          </li>
        ))}
      </ul>
      {comments.data?.more && (
        <button type="button" className="outline secondary" disabled={comments.loading} onClick={() => setPages((shown) => shown + 1)}>
          Show more comments
        </button>
      )}
      <form onSubmit={add} className="inline">
        <input aria-label="Comment" placeholder="Write a comment" value={text} maxLength={1000} onChange={(event) => setText(event.target.value)} required />
        <button type="submit">Post</button>
      </form>
      <ErrorNote error={error} />
    </div>
  );
}

/** The caller's own picture, fetched with their credentials (an `<img>` sends none, and a
 * private profile's picture is shown only to its owner). */
function OwnPicture({ userId, url, version }: { userId: string; url: string | null; version: number }) {
  const [source, setSource] = useState<string | null>(null);
  useEffect(() => {
    setSource(null);
    if (!url) return;
    let objectUrl: string | null = null;
    let live = true;
    void (async () => {
      const token = await api.token();
      const response = await fetch(url, { headers: { authorization: `Bearer ${token ?? ""}` }, cache: "no-store" }).catch(() => null);
      if (!response?.ok || !live) return;
      objectUrl = URL.createObjectURL(await response.blob());
      if (live) setSource(objectUrl);
    })();
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [url, version]);
  return <Avatar profileId={userId} url={source} />;
}

function MyProfile({ userId }: { userId: string }) {
  const profile = useLoad(() => api.get<Profile>(`/v1/profiles/${userId}`), [userId]);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  // A new upload keeps the same URL: the version makes the picture load again.
  const [pictureVersion, setPictureVersion] = useState(0);
  async function save(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setError(null);
    setSaved(null);
    try {
      await api.put("/v1/me/profile", { displayName: String(form.get("displayName") ?? ""), bio: String(form.get("bio") ?? ""), public: form.get("public") === "on" });
      setSaved("Saved.");
      profile.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  async function upload(file: File | undefined) {
    if (!file) return;
    setError(null);
    try {
      const token = await api.token();
      const response = await fetch("/v1/me/avatar", { method: "PUT", headers: { "content-type": file.type, authorization: `Bearer ${token ?? ""}` }, body: file });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `The picture was refused (${response.status})`);
      }
      setSaved("Picture saved.");
      setPictureVersion((version) => version + 1);
      profile.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  async function removePicture() {
    setError(null);
    try {
      await api.delete("/v1/me/avatar");
      setSaved("Picture removed.");
      profile.reload();
    } catch (failure) {
      setError(failure);
    }
  }
  const data = profile.data;
  return (
    <article>
      <h2>Your profile</h2>
      {data && (
        <form key={`${data.displayName}-${data.public}`} onSubmit={save}>
          <label>
            Display name
            <input name="displayName" defaultValue={unescape(data.displayName)} maxLength={50} required />
          </label>
          <label>
            About you
            <textarea name="bio" defaultValue={unescape(data.bio)} maxLength={500} rows={3} />
          </label>
          <label>
            <input type="checkbox" name="public" role="switch" defaultChecked={data.public} /> Public: others can see your profile and what you share
          </label>
          <div className="picture-row" data-testid="own-picture">
            <OwnPicture userId={userId} url={data.avatarUrl ?? null} version={pictureVersion} />
            <label>
              Picture (PNG, JPEG, GIF or WebP, up to 64 KiB)
              <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={(event) => void upload(event.target.files?.[0])} />
            </label>
            {data.avatarUrl && (
              <button type="button" className="secondary outline" onClick={() => void removePicture()}>
                Remove picture
              </button>
            )}
          </div>
          <button type="submit">Save profile</button> <small className="muted">{data.followers} followers · following {data.following}</small>
        </form>
      )}
      {saved && <p className="ok">{saved}</p>}
      <ErrorNote error={profile.error ?? error} />
    </article>
  );
}

function FindTrader({ onFollow }: { onFollow: () => void }) {
  const [id, setId] = useState("");
  const [found, setFound] = useState<Profile | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function look(event: React.FormEvent) {
    event.preventDefault();
    setError(null);
    setFound(null);
    try {
      setFound(await api.get<Profile>(`/v1/profiles/${id.trim()}`));
    } catch (failure) {
      setError(failure);
    }
  }
  async function toggle(profile: Profile) {
    try {
      if (profile.followedByYou) {
        await api.delete(`/v1/users/${profile.userId}/follow`);
        setFound({ ...profile, followedByYou: false, followers: profile.followers - 1 });
      } else {
        setFound(await api.post<Profile>(`/v1/users/${profile.userId}/follow`));
      }
      onFollow();
    } catch (failure) {
      setError(failure);
    }
  }
  return (
    <article>
      <h2>Find a trader</h2>
      <form onSubmit={look} className="inline">
        <input aria-label="Trader id" placeholder="Trader id" value={id} inputMode="numeric" onChange={(event) => setId(event.target.value)} required />
        <button type="submit">Look up</button>
      </form>
      <ErrorNote error={error} />
      {found && (
        <div className="profile" data-testid="found-profile">
          <Avatar profileId={found.userId} url={found.avatarUrl} />
          <strong>{unescape(found.displayName)}</strong> <small className="muted">{found.followers} followers</small>
          <p>{unescape(found.bio)}</p>
          <button type="button" onClick={() => toggle(found)}>
            {found.followedByYou ? "Unfollow" : "Follow"}
          </button>
        </div>
      )}
    </article>
  );
}
