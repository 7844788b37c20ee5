-- Organisations, their groups and members (seed 002). The engine holds what it needs to
-- apply limits (an account's group and organisation ids); this is who manages whom.
CREATE TABLE organisations (
    org_id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE org_groups (
    group_id BIGINT PRIMARY KEY,
    org_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX org_groups_by_org ON org_groups (org_id);

-- One organisation per user: the engine applies one organisation's limits per account.
CREATE TABLE org_members (
    user_id BIGINT PRIMARY KEY,
    org_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    group_id BIGINT
);
CREATE INDEX org_members_by_org ON org_members (org_id);
