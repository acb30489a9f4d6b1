//! Set-password links (BR-UIMP, seed L4300 "E-mail een koppeling om het wachtwoord te
//! wijzigen"): a user imported without a password gets a mailed link with which they choose
//! one themselves. The link is single-use and expires after [`LINK_VALIDITY`].
//!
//! Layout: the token (32 random bytes, base64url) is never stored; its keyed hash is the key
//! of a link item `PWLINK#<HMAC-SHA256 hex>`/`PWLINK` → `{orgId, userId}` with a `ttl`, so an
//! expired link is absent for every read. Redeeming deletes the item in the same transaction
//! that sets the password hash, so a link sets a password at most once.

use super::model::User;
use super::store;
use crate::Ctx;
use crate::http::Problem;
use crate::mail::Letter;
use crate::passwords;
use crate::ports::{Condition, Key, StoreError, StoreResult, Update, Write};
use crate::records::to_item;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;

/// How long a set-password link works.
pub const LINK_VALIDITY: chrono::Duration = chrono::Duration::hours(72);

/// The API path that redeems a link (`POST`, and `GET` for the form the mailed link opens).
pub const PASSWORD_PATH: &str = "/v1/password";

/// The table key of the link whose token is `token`: keyed by an HMAC under the deployment
/// secret, so a table dump reveals no usable link.
fn link_key(secret: &[u8], token: &str) -> Key {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"password-link\0");
    mac.update(token.as_bytes());
    Key::new(format!("PWLINK#{}", hex::encode(mac.finalize().into_bytes())), "PWLINK")
}

/// Makes a new link for the user `user_id` of `org_id`, valid for [`LINK_VALIDITY`]; answers
/// the token (shown only in the mail).
pub async fn issue(ctx: &Ctx, org_id: &str, user_id: &str) -> StoreResult<String> {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let token = URL_SAFE_NO_PAD.encode(random);
    let expires = ctx.clock.now() + LINK_VALIDITY;
    let item = to_item(
        &json!({"orgId": org_id, "userId": user_id, "expiresAt": expires}),
        &link_key(&ctx.config.secret, &token),
        &[("ttl", json!(expires.timestamp()))],
    )?;
    ctx.table.put(item, Condition::Absent).await?;
    Ok(token)
}

/// The URL the mail carries: it opens the form that sets the password.
pub fn link_url(ctx: &Ctx, token: &str) -> String {
    format!("{}{PASSWORD_PATH}?token={token}", ctx.config.public_url.trim_end_matches('/'))
}

/// Mails `user` the link with `token`, naming the organisation.
pub async fn mail_link(ctx: &Ctx, org_name: &str, user: &User, token: &str) -> StoreResult<()> {
    let name = if user.display_name.is_empty() { user.email.as_str() } else { user.display_name.as_str() };
    let hours = LINK_VALIDITY.num_hours();
    let mail = Letter::new(org_name, "set your printcloud password")
        .text(format!("Hello {name},"))
        .text(format!("An administrator of {org_name} created a printcloud account for you ({}).", user.email))
        .text(format!("Choose your password with this link; it works once, within {hours} hours:"))
        .code(link_url(ctx, token))
        .text("If you did not expect this message, you can ignore it.")
        .to_mail(&ctx.config.mail_from, vec![user.email.clone()]);
    ctx.mailer.send(&mail).await.map(|_| ())
}

/// 400 `invalid_link`: the same answer for unknown, used and expired links.
fn invalid_link() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_link",
        "This link is not valid: it was used already, it has expired, or it is incomplete. Ask your administrator \
         for a new one.",
    )
}

/// Sets the password of the link's user (BR-PWD) and uses the link up. Unknown, used and
/// expired links answer 400 `invalid_link`; a password that breaks BR-PWD answers 400
/// `weak_password` and leaves the link usable.
pub async fn redeem(ctx: &Ctx, token: &str, password: &str) -> Result<(), Problem> {
    let missing = passwords::problems(password);
    if !missing.is_empty() {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "weak_password",
            format!("password: needs {} (BR-PWD)", missing.join(", ")),
        ));
    }
    let token = token.trim();
    if token.is_empty() || token.len() > 128 {
        return Err(invalid_link());
    }
    let key = link_key(&ctx.config.secret, token);
    let Some(link) = ctx.table.get(&key).await? else { return Err(invalid_link()) };
    let (Some(org_id), Some(user_id)) =
        (link.get("orgId").and_then(Value::as_str), link.get("userId").and_then(Value::as_str))
    else {
        return Err(invalid_link());
    };
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&password)).await.map_err(Problem::internal)?;
    let writes = vec![
        Write::Delete { key: key.clone(), condition: Condition::Exists },
        Write::Update(
            Update::new(store::user_key(org_id, user_id))
                .set("passwordHash", hash)
                .add("version", 1)
                .when(Condition::Exists),
        ),
    ];
    match ctx.table.transact(writes).await {
        Ok(()) => Ok(()),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
            // The user was deleted meanwhile: the link is of no use any more.
            ctx.table.delete(&key, Condition::Always).await?;
            Err(invalid_link())
        }
        Err(StoreError::TransactionCanceled { .. }) => Err(invalid_link()),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_uimp_link_keys_hide_the_token_and_depend_on_the_secret() {
        let key = link_key(b"secret", "abc");
        assert_eq!(key, link_key(b"secret", "abc"));
        assert_ne!(key, link_key(b"other", "abc"));
        assert_ne!(key, link_key(b"secret", "abd"));
        assert!(key.pk.starts_with("PWLINK#") && !key.pk.contains("abc"));
        assert_eq!(key.pk.len(), "PWLINK#".len() + 64);
    }
}
