-- Who handed out an invitation or an admin's reset code (NULL: the operator key, or a
-- mailed code). What a person hands out stands on their rights: an invitation lapses when
-- its inviter is no longer an admin of its organisation (nor of the platform), and a
-- handed reset code when its issuer is no longer an admin.
ALTER TABLE org_invitations ADD COLUMN invited_by BIGINT;
ALTER TABLE password_resets ADD COLUMN issued_by BIGINT;
