-- Access tokens carry their user's token generation; changing a role, logging out or
-- deleting the user raises it, and every gateway refuses tokens of an older generation.
ALTER TABLE users ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;
