//! Identity and access: organisations, users, groups, roles, tokens, badges, PINs and
//! login codes — the domain behind the `auth` function.

pub mod roles;
