//! Organisations, groups and members.

use crate::db::{Param, Statement};
use crate::{Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationRecord {
    pub org_id: u64,
    pub name: String,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub group_id: u64,
    pub org_id: u64,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    pub user_id: u64,
    pub org_id: u64,
    /// `member` or `org_admin`.
    pub role: String,
    pub group_id: Option<u64>,
}

/// An organisation as a list shows it: with how many members and groups it has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationSummary {
    pub organisation: OrganisationRecord,
    pub members: u64,
    pub groups: u64,
}

/// An invitation into an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRecord {
    pub invitation_id: String,
    pub org_id: u64,
    pub user_id: u64,
    /// `member` or `org_admin`.
    pub role: String,
    pub group_id: Option<u64>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// `PENDING`, `ACCEPTED`, `DECLINED` or `REVOKED`.
    pub status: String,
    /// The organisation's name (read with the invitation; not stored with it).
    pub organisation_name: String,
    /// The user who invited (`None`: the operator key). The invitation stands only while
    /// they are an admin of its organisation or of the platform.
    pub invited_by: Option<u64>,
}

const INVITATION_COLUMNS: &str = "invitation_id, org_id, user_id, role, group_id, created_at, expires_at, status, invited_by";
/// The invitation's columns and its organisation's name.
const INVITATION_SELECT: &str = "SELECT i.invitation_id, i.org_id, i.user_id, i.role, i.group_id, i.created_at, i.expires_at, i.status, o.name, i.invited_by \
                                 FROM org_invitations i JOIN organisations o ON o.org_id = i.org_id";

/// The inviter of invitation row `row` is still an admin of its organisation or of the
/// platform (or was the operator key): what an admin handed out lapses with their rights.
fn inviter_stands(row: &str) -> String {
    format!(
        "({row}.invited_by IS NULL \
         OR EXISTS (SELECT 1 FROM users u WHERE u.user_id = {row}.invited_by AND u.role = 'admin') \
         OR EXISTS (SELECT 1 FROM org_members m WHERE m.user_id = {row}.invited_by AND m.org_id = {row}.org_id AND m.role = 'org_admin'))"
    )
}

fn invitation(row: &crate::db::Row) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        invitation_id: row.text(0)?.to_owned(),
        org_id: id(row.int(1)?),
        user_id: id(row.int(2)?),
        role: row.text(3)?.to_owned(),
        group_id: row.opt_int(4)?.map(id),
        created_at_ms: row.int(5)?,
        expires_at_ms: row.int(6)?,
        status: row.text(7)?.to_owned(),
        organisation_name: row.text(8)?.to_owned(),
        invited_by: row.opt_int(9)?.map(id),
    })
}

fn id(value: i64) -> u64 {
    value as u64
}

impl Store {
    /// Adds an organisation: [`StoreError::Taken`] if another has its name (letter case aside).
    pub fn create_organisation(&self, organisation: &OrganisationRecord) -> Result<(), StoreError> {
        let created = self.backend().transaction(&[Statement::new(
            "INSERT INTO organisations (org_id, name, created_at) VALUES ($1, $2, $3)",
            vec![(organisation.org_id as i64).into(), organisation.name.as_str().into(), organisation.created_at_ms.into()],
        )]);
        match created {
            Err(StoreError::Conflict(_))
                if !self
                    .backend()
                    .query("SELECT org_id FROM organisations WHERE LOWER(name) = LOWER($1)", &[organisation.name.as_str().into()])?
                    .is_empty() =>
            {
                Err(StoreError::Taken {
                    code: "organisation_name_taken",
                    message: format!("an organisation is named {:?} already (letter case aside)", organisation.name),
                })
            }
            other => other,
        }
    }

    /// A page of organisations in (name, id) order, with their counts of members and groups:
    /// `only` that one; `text` those whose name holds it (letter case aside); `after` those
    /// after that organisation; at most `limit`.
    pub fn organisation_summaries(
        &self,
        only: Option<u64>,
        text: Option<&str>,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<OrganisationSummary>, StoreError> {
        let mut params = vec![Param::Int(limit.clamp(1, crate::PAGE_LIMIT_MAX) as i64)];
        let mut filters = Vec::new();
        if let Some(org_id) = only {
            params.push(Param::Int(org_id as i64));
            filters.push(format!("o.org_id = ${}", params.len()));
        }
        if let Some(text) = text {
            params.push(crate::queries::holding(text).into());
            filters.push(format!("LOWER(o.name) LIKE ${} ESCAPE '\\'", params.len()));
        }
        if let Some(org_id) = after {
            params.push(Param::Int(org_id as i64));
            let at = params.len();
            filters.push(format!("(o.name > (SELECT name FROM organisations WHERE org_id = ${at}) OR (o.name = (SELECT name FROM organisations WHERE org_id = ${at}) AND o.org_id > ${at}))"));
        }
        let filter = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
        let rows = self.backend().query(
            &format!(
                "SELECT o.org_id, o.name, o.created_at, \
                 (SELECT COUNT(*) FROM org_members m WHERE m.org_id = o.org_id), (SELECT COUNT(*) FROM org_groups g WHERE g.org_id = o.org_id) \
                 FROM organisations o {filter} ORDER BY o.name, o.org_id LIMIT $1"
            ),
            &params,
        )?;
        rows.iter()
            .map(|row| {
                Ok(OrganisationSummary {
                    organisation: OrganisationRecord { org_id: id(row.int(0)?), name: row.text(1)?.to_owned(), created_at_ms: row.int(2)? },
                    members: id(row.int(3)?),
                    groups: id(row.int(4)?),
                })
            })
            .collect()
    }

    pub fn organisation(&self, org_id: u64) -> Result<Option<OrganisationRecord>, StoreError> {
        let rows = self.backend().query("SELECT org_id, name, created_at FROM organisations WHERE org_id = $1", &[(org_id as i64).into()])?;
        rows.first().map(|row| Ok(OrganisationRecord { org_id: id(row.int(0)?), name: row.text(1)?.to_owned(), created_at_ms: row.int(2)? })).transpose()
    }

    /// Adds a group; [`StoreError::Quota`] past [`crate::ORG_GROUPS_MAX`] groups.
    pub fn create_group(&self, group: &GroupRecord, now_ms: i64) -> Result<(), StoreError> {
        let insert = Statement::new(
            "INSERT INTO org_groups (group_id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            vec![(group.group_id as i64).into(), (group.org_id as i64).into(), group.name.as_str().into(), now_ms.into()],
        );
        let quota = crate::Quota { table: "org_groups", live: "TRUE".into(), max: crate::ORG_GROUPS_MAX, what: "groups in an organisation" };
        let once = crate::Once {
            condition: "LOWER(name) = LOWER($2)",
            params: vec![group.name.as_str().into()],
            code: "group_name_taken",
            message: format!("the organisation has a group named {:?} already (letter case aside)", group.name),
        };
        self.write_within_organisation(group.org_id, vec![insert], &quota, Some(once))
    }

    pub fn groups(&self, org_id: u64) -> Result<Vec<GroupRecord>, StoreError> {
        let rows = self.backend().query("SELECT group_id, org_id, name FROM org_groups WHERE org_id = $1 ORDER BY group_id", &[(org_id as i64).into()])?;
        rows.iter().map(|row| Ok(GroupRecord { group_id: id(row.int(0)?), org_id: id(row.int(1)?), name: row.text(2)?.to_owned() })).collect()
    }

    /// The organisation a group belongs to.
    pub fn group_org(&self, group_id: u64) -> Result<Option<u64>, StoreError> {
        let rows = self.backend().query("SELECT org_id FROM org_groups WHERE group_id = $1", &[(group_id as i64).into()])?;
        rows.first().map(|row| row.int(0).map(id)).transpose()
    }

    /// Puts a user in an organisation (moving them out of any other) with a role and group.
    pub fn set_member(&self, member: &MemberRecord) -> Result<(), StoreError> {
        self.change_member_keeping_an_admin(member.user_id, Some(member), None).map(drop)
    }

    pub fn remove_member(&self, user_id: u64) -> Result<(), StoreError> {
        self.change_member_keeping_an_admin(user_id, None, None).map(drop)
    }

    /// Makes `user_id`'s membership `next` (none: removed) unless that leaves organisation
    /// `guarded` (the one whose admin they are, when the change takes that away) with
    /// members and no admin: then nothing changes and the answer is `false`. One
    /// transaction that first locks the organisation's row, so two admins stepping down at
    /// once are taken one after the other and the second is refused.
    pub fn change_member_keeping_an_admin(&self, user_id: u64, next: Option<&MemberRecord>, guarded: Option<u64>) -> Result<bool, StoreError> {
        let mut statements = Vec::new();
        if let Some(org_id) = guarded {
            statements.push(Statement::new("UPDATE organisations SET name = name WHERE org_id = $1", vec![(org_id as i64).into()]));
        }
        statements.push(match next {
            Some(member) => Statement::new(
                "INSERT INTO org_members (user_id, org_id, role, group_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id) DO UPDATE SET org_id = excluded.org_id, role = excluded.role, group_id = excluded.group_id",
                vec![
                    (member.user_id as i64).into(),
                    (member.org_id as i64).into(),
                    member.role.as_str().into(),
                    Param::from(member.group_id.map(|group| group as i64)),
                ],
            ),
            None => Statement::new("DELETE FROM org_members WHERE user_id = $1", vec![(user_id as i64).into()]),
        });
        if let Some(org_id) = guarded {
            statements.push(Statement::new(
                "INSERT INTO org_admin_fence (org_id) SELECT NULL WHERE EXISTS (SELECT 1 FROM org_members WHERE org_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM org_members WHERE org_id = $1 AND role = 'org_admin')",
                vec![(org_id as i64).into()],
            ));
        }
        match self.backend().transaction(&statements) {
            Ok(()) => Ok(true),
            Err(StoreError::Database(message)) if message.contains("org_admin_fence") => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub fn member(&self, user_id: u64) -> Result<Option<MemberRecord>, StoreError> {
        let rows = self.backend().query("SELECT user_id, org_id, role, group_id FROM org_members WHERE user_id = $1", &[(user_id as i64).into()])?;
        rows.first()
            .map(|row| Ok(MemberRecord { user_id: id(row.int(0)?), org_id: id(row.int(1)?), role: row.text(2)?.to_owned(), group_id: row.opt_int(3)?.map(id) }))
            .transpose()
    }

    /// The usernames of an organisation's members, by user id.
    pub fn member_usernames(&self, org_id: u64) -> Result<std::collections::HashMap<u64, String>, StoreError> {
        let rows = self
            .backend()
            .query("SELECT m.user_id, u.username FROM org_members m JOIN users u ON u.user_id = m.user_id WHERE m.org_id = $1", &[(org_id as i64).into()])?;
        rows.iter().map(|row| Ok((id(row.int(0)?), row.text(1)?.to_owned()))).collect()
    }

    pub fn members(&self, org_id: u64) -> Result<Vec<MemberRecord>, StoreError> {
        let rows =
            self.backend().query("SELECT user_id, org_id, role, group_id FROM org_members WHERE org_id = $1 ORDER BY user_id", &[(org_id as i64).into()])?;
        rows.iter()
            .map(|row| Ok(MemberRecord { user_id: id(row.int(0)?), org_id: id(row.int(1)?), role: row.text(2)?.to_owned(), group_id: row.opt_int(3)?.map(id) }))
            .collect()
    }

    /// Invites a user, replacing their pending invitation into the same organisation.
    /// [`StoreError::Quota`] past [`crate::ORG_INVITATIONS_PENDING_MAX`] invitations
    /// pending at `record`'s creation.
    pub fn insert_invitation(&self, record: &InvitationRecord) -> Result<(), StoreError> {
        let (org, user) = (Param::Int(record.org_id as i64), Param::Int(record.user_id as i64));
        let quota = crate::Quota {
            table: "org_invitations",
            // Those that lapsed with their inviter's rights do not count.
            live: format!("status = 'PENDING' AND expires_at > {} AND {}", record.created_at_ms, inviter_stands("org_invitations")).into(),
            max: crate::ORG_INVITATIONS_PENDING_MAX,
            what: "invitations of an organisation waiting for their answer",
        };
        let writes = vec![
            Statement::new("DELETE FROM org_invitations WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING'", vec![org.clone(), user.clone()]),
            Statement::new(
                format!("INSERT INTO org_invitations ({INVITATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"),
                vec![
                    record.invitation_id.as_str().into(),
                    org,
                    user,
                    record.role.as_str().into(),
                    record.group_id.map(|group| group as i64).into(),
                    record.created_at_ms.into(),
                    record.expires_at_ms.into(),
                    record.status.as_str().into(),
                    record.invited_by.map(|user| user as i64).into(),
                ],
            ),
        ];
        self.write_within_organisation(record.org_id, writes, &quota, None)
    }

    /// The invitation, if it still stands: one whose inviter is no longer an admin of its
    /// organisation (nor of the platform) is as unknown as none.
    pub fn invitation(&self, invitation_id: &str) -> Result<Option<InvitationRecord>, StoreError> {
        let rows = self.backend().query(&format!("{INVITATION_SELECT} WHERE i.invitation_id = $1 AND {}", inviter_stands("i")), &[invitation_id.into()])?;
        rows.first().map(invitation).transpose()
    }

    /// Pending invitations not expired at `now_ms` whose inviter is still an admin, of a
    /// user or else of an organisation, newest first.
    pub fn pending_invitations(&self, user_id: Option<u64>, org_id: Option<u64>, now_ms: i64) -> Result<Vec<InvitationRecord>, StoreError> {
        let (column, value) = match (user_id, org_id) {
            (Some(user), _) => ("user_id", user),
            (None, Some(org)) => ("org_id", org),
            (None, None) => return Err(StoreError::Invalid("a user or an organisation".to_owned())),
        };
        let rows = self.backend().query(
            &format!(
                "{INVITATION_SELECT} WHERE i.{column} = $1 AND i.status = 'PENDING' AND i.expires_at > $2 AND {} \
                 ORDER BY i.created_at DESC, i.invitation_id",
                inviter_stands("i")
            ),
            &[(value as i64).into(), now_ms.into()],
        )?;
        rows.iter().map(invitation).collect()
    }

    /// Answers a pending, unexpired invitation (`ACCEPTED`, `DECLINED` or `REVOKED`);
    /// false if it was not (any more). It is accepted only while its inviter is still an
    /// admin, checked in the same statement, so a demotion racing an acceptance cannot
    /// let the invitation through after it.
    pub fn answer_invitation(&self, invitation_id: &str, status: &str, now_ms: i64) -> Result<bool, StoreError> {
        let standing = if status == "ACCEPTED" { format!(" AND {}", inviter_stands("org_invitations")) } else { String::new() };
        self.backend().transaction(&[Statement::new(
            format!("UPDATE org_invitations SET status = $2, answered_at = $3 WHERE invitation_id = $1 AND status = 'PENDING' AND expires_at > $3{standing}"),
            vec![invitation_id.into(), status.into(), now_ms.into()],
        )])?;
        let rows =
            self.backend().query("SELECT answered_at FROM org_invitations WHERE invitation_id = $1 AND status = $2", &[invitation_id.into(), status.into()])?;
        Ok(rows.first().map(|row| row.opt_int(0)).transpose()?.flatten() == Some(now_ms))
    }

    /// Makes an accepted invitation pending again (its membership could not be applied).
    pub fn reopen_invitation(&self, invitation_id: &str) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "UPDATE org_invitations SET status = 'PENDING', answered_at = NULL WHERE invitation_id = $1 AND status = 'ACCEPTED'",
            vec![invitation_id.into()],
        )])
    }
}
