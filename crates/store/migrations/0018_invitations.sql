-- Invitations into an organisation: its admins invite a user, who accepts (and so comes
-- under its limits) or declines. One pending invitation per organisation and user.
CREATE TABLE org_invitations (
    invitation_id TEXT PRIMARY KEY,
    org_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    group_id BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- PENDING, ACCEPTED, DECLINED or REVOKED.
    status TEXT NOT NULL,
    answered_at BIGINT
);
CREATE INDEX org_invitations_by_user ON org_invitations (user_id, status);
CREATE INDEX org_invitations_by_org ON org_invitations (org_id, status);
