//! The roles one `cloudhp` process can play, and the names that select them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// One part of the system. A process runs one or several; `all` runs every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// The customer page and the public JSON API.
    Web,
    /// I: customer lookups in the shop database.
    Identity,
    /// S: play records (state, prize, dates).
    Status,
    /// B: the draw (claim, call W, store the picture, record the result).
    Play,
    /// W: the prize worker of the W contract.
    Worker,
    /// P: prize pictures by customer id.
    Picture,
    /// Delivers winner notifications to the admins.
    Notifier,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Web,
        Role::Identity,
        Role::Status,
        Role::Play,
        Role::Worker,
        Role::Picture,
        Role::Notifier,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Web => "web",
            Role::Identity => "identity",
            Role::Status => "status",
            Role::Play => "play",
            Role::Worker => "worker",
            Role::Picture => "picture",
            Role::Notifier => "notifier",
        }
    }

    /// The brief's letter for the part, where it has one.
    pub fn letter(self) -> Option<char> {
        match self {
            Role::Identity => Some('I'),
            Role::Status => Some('S'),
            Role::Play => Some('B'),
            Role::Worker => Some('W'),
            Role::Picture => Some('P'),
            Role::Web | Role::Notifier => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Role::Web => "the customer page, the public JSON API and the picture URLs",
            Role::Identity => "looks customers up in the shop's customer table (read-only)",
            Role::Status => "tells whether a customer played, what they won and when",
            Role::Play => {
                "claims the one draw of a customer, calls W, stores the picture, records the result and the winner notification"
            }
            Role::Worker => {
                "the prize worker of the W contract: draws a prize and renders its picture"
            }
            Role::Picture => "serves a customer's prize picture from the image store",
            Role::Notifier => "mails the admins for every winner, from the outbox or the event bus",
        }
    }

    /// What the role needs to work: backends it opens and roles it calls.
    pub fn needs(self) -> &'static str {
        match self {
            Role::Web => "roles identity, status, play, picture (called locally or by URL)",
            Role::Identity => "the customer database (identity.database)",
            Role::Status => "the lottery database (lottery.database)",
            Role::Play => {
                "the lottery database, the image store (images.url), a W (play.worker_urls or the worker role)"
            }
            Role::Worker => "nothing (prize pictures in worker.catalog_dir, generated when empty)",
            Role::Picture => "the image store (images.url)",
            Role::Notifier => {
                "the lottery database, a mail transport (mail.url), the event bus if events.url is set"
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is neither a role nor an alias.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; known roles: {known} (see `cloudhp roles`)", known = RoleSet::names_help())]
pub struct UnknownRole(pub String);

/// A set of roles, built from names and aliases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    /// Aliases and the roles they stand for.
    pub const ALIASES: [(&'static str, &'static [Role]); 9] = [
        ("all", &Role::ALL),
        (
            "backend",
            &[
                Role::Identity,
                Role::Status,
                Role::Play,
                Role::Picture,
                Role::Notifier,
            ],
        ),
        ("i", &[Role::Identity]),
        ("s", &[Role::Status]),
        ("b", &[Role::Play]),
        ("button", &[Role::Play]),
        ("w", &[Role::Worker]),
        ("p", &[Role::Picture]),
        ("mail", &[Role::Notifier]),
    ];

    pub fn all() -> Self {
        Self(Role::ALL.into_iter().collect())
    }

    /// Parses names and aliases, case-insensitive, each possibly a comma-separated list.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownRole> {
        let mut set = BTreeSet::new();
        for name in names
            .iter()
            .flat_map(|n| n.as_ref().split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let lower = name.to_ascii_lowercase();
            if let Some(role) = Role::ALL.into_iter().find(|r| r.name() == lower) {
                set.insert(role);
            } else if let Some((_, roles)) = Self::ALIASES.iter().find(|(a, _)| *a == lower) {
                set.extend(roles.iter().copied());
            } else {
                return Err(UnknownRole(name.to_owned()));
            }
        }
        if set.is_empty() {
            set.extend(Role::ALL);
        }
        Ok(Self(set))
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_all(&self) -> bool {
        self.0.len() == Role::ALL.len()
    }

    fn names_help() -> String {
        let mut names: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        names.extend(Self::ALIASES.iter().map(|(a, _)| *a));
        names.join(", ")
    }
}

impl FromStr for RoleSet {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(&[s])
    }
}

impl fmt::Display for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_all() {
            return f.write_str("all");
        }
        let names: Vec<&str> = self.iter().map(Role::name).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_lists() {
        assert!(RoleSet::parse(&["all"]).unwrap().is_all());
        assert!(RoleSet::parse::<&str>(&[]).unwrap().is_all());
        let set = RoleSet::parse(&["web", "I,s"]).unwrap();
        assert_eq!(set.to_string(), "web,identity,status");
        let backend = RoleSet::parse(&["backend"]).unwrap();
        assert!(!backend.contains(Role::Web));
        assert!(!backend.contains(Role::Worker));
        assert!(backend.contains(Role::Notifier));
        assert_eq!(RoleSet::parse(&["button"]).unwrap().to_string(), "play");
    }

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let err = RoleSet::parse(&["web", "frontend"]).unwrap_err();
        assert_eq!(err.0, "frontend");
        assert!(err.to_string().contains("identity"));
    }
}
