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

fn id(value: i64) -> u64 {
    value as u64
}

impl Store {
    pub fn create_organisation(&self, organisation: &OrganisationRecord) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO organisations (org_id, name, created_at) VALUES ($1, $2, $3)",
            vec![(organisation.org_id as i64).into(), organisation.name.as_str().into(), organisation.created_at_ms.into()],
        )])
    }

    pub fn organisation(&self, org_id: u64) -> Result<Option<OrganisationRecord>, StoreError> {
        let rows = self.backend().query("SELECT org_id, name, created_at FROM organisations WHERE org_id = $1", &[(org_id as i64).into()])?;
        rows.first().map(|row| Ok(OrganisationRecord { org_id: id(row.int(0)?), name: row.text(1)?.to_owned(), created_at_ms: row.int(2)? })).transpose()
    }

    pub fn create_group(&self, group: &GroupRecord, now_ms: i64) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new(
            "INSERT INTO org_groups (group_id, org_id, name, created_at) VALUES ($1, $2, $3, $4)",
            vec![(group.group_id as i64).into(), (group.org_id as i64).into(), group.name.as_str().into(), now_ms.into()],
        )])
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
        self.backend().transaction(&[Statement::new(
            "INSERT INTO org_members (user_id, org_id, role, group_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET org_id = excluded.org_id, role = excluded.role, group_id = excluded.group_id",
            vec![
                (member.user_id as i64).into(),
                (member.org_id as i64).into(),
                member.role.as_str().into(),
                Param::from(member.group_id.map(|group| group as i64)),
            ],
        )])
    }

    pub fn remove_member(&self, user_id: u64) -> Result<(), StoreError> {
        self.backend().transaction(&[Statement::new("DELETE FROM org_members WHERE user_id = $1", vec![(user_id as i64).into()])])
    }

    pub fn member(&self, user_id: u64) -> Result<Option<MemberRecord>, StoreError> {
        let rows = self.backend().query("SELECT user_id, org_id, role, group_id FROM org_members WHERE user_id = $1", &[(user_id as i64).into()])?;
        rows.first()
            .map(|row| Ok(MemberRecord { user_id: id(row.int(0)?), org_id: id(row.int(1)?), role: row.text(2)?.to_owned(), group_id: row.opt_int(3)?.map(id) }))
            .transpose()
    }

    pub fn members(&self, org_id: u64) -> Result<Vec<MemberRecord>, StoreError> {
        let rows =
            self.backend().query("SELECT user_id, org_id, role, group_id FROM org_members WHERE org_id = $1 ORDER BY user_id", &[(org_id as i64).into()])?;
        rows.iter()
            .map(|row| Ok(MemberRecord { user_id: id(row.int(0)?), org_id: id(row.int(1)?), role: row.text(2)?.to_owned(), group_id: row.opt_int(3)?.map(id) }))
            .collect()
    }
}
