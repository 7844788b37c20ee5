-- Social trading: profiles (with an avatar image, base64), follows, shared trades and
-- orders, likes, comments and reports. User state, not derived from the log.
CREATE TABLE profiles (
    user_id BIGINT PRIMARY KEY,
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL,
    public BIGINT NOT NULL,
    avatar_type TEXT,
    avatar TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE follows (
    follower_id BIGINT NOT NULL,
    followee_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_by_followee ON follows (followee_id, created_at);

CREATE TABLE shares (
    share_id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    reference_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT,
    comment TEXT NOT NULL,
    likes BIGINT NOT NULL,
    comments BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    hidden_at BIGINT
);
CREATE INDEX shares_by_user ON shares (user_id, created_at);

CREATE TABLE share_likes (
    share_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (share_id, user_id)
);

CREATE TABLE share_comments (
    comment_id TEXT PRIMARY KEY,
    share_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    hidden_at BIGINT
);
CREATE INDEX share_comments_by_share ON share_comments (share_id, created_at);
CREATE INDEX share_comments_by_user ON share_comments (user_id, created_at);

CREATE TABLE reports (
    report_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reporter_id BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX reports_open ON reports (resolved_at, created_at);
CREATE INDEX trades_by_trade_id ON trades (trade_id);
