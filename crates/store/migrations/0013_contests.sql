-- Contests: rules over paper accounts (windows, starting cash, trading limits) and their
-- entries; the final standings are kept as JSON once the contest is over.
CREATE TABLE contests (
    contest_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    organisation_id BIGINT,
    created_by BIGINT,
    registration_start BIGINT NOT NULL,
    registration_end BIGINT NOT NULL,
    trading_start BIGINT NOT NULL,
    trading_end BIGINT NOT NULL,
    starting_cash BIGINT NOT NULL,
    rules TEXT NOT NULL,
    visibility TEXT NOT NULL,
    invite_code TEXT,
    ranking TEXT NOT NULL,
    standings TEXT,
    finalized_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE TABLE contest_entries (
    contest_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (contest_id, user_id)
);
