-- A membership change that would leave an organisation with members and no admin inserts
-- a NULL here, in its own transaction, and so fails whole (two admins stepping down at
-- once cannot both succeed).
CREATE TABLE org_admin_fence (org_id BIGINT NOT NULL);
