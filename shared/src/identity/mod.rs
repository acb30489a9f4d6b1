//! Identity and access: organisations, users, groups, roles, tokens, badges, PINs and
//! login codes — the domain behind the `auth` function.

pub mod applications;
pub mod assignments;
pub mod badge_import;
pub mod badges;
pub mod device_sessions;
pub mod groups;
pub mod import;
pub mod keyed_hash;
pub mod keys;
pub mod login_codes;
pub mod model;
pub mod orgs;
pub mod password_links;
pub mod pins;
pub mod printer_login;
pub mod roles;
pub mod signin;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod user_import;
pub mod users;
pub mod verified_tokens;
