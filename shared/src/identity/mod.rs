//! Identity and access: organisations, users, groups, roles, tokens, badges, PINs and
//! login codes — the domain behind the `auth` function.

pub mod applications;
pub mod assignments;
pub mod groups;
pub mod import;
pub mod keys;
pub mod model;
pub mod roles;
pub mod signin;
pub mod store;
pub mod tokens;
pub mod users;
