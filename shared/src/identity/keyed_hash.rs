//! Keyed hashes of printer-login secrets: badge numbers, PINs and login codes are never
//! stored in clear, only as HMAC-SHA256 under the deployment secret (`Config::secret`).
//!
//! The hash binds a purpose and the organisation, so the same PIN in two organisations (or
//! a PIN equal to a badge number) gives unrelated hashes, and a table dump without the
//! secret does not allow guessing even short PINs offline.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a keyed hash stands for; part of the hashed input (domain separation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A badge number (E-BADGE).
    Badge,
    /// A PIN (E-PIN).
    Pin,
    /// A secure login code (E-LOGINCODE).
    LoginCode,
    /// A device credential's secret (the "organisation" part is the client id).
    DeviceSecret,
    /// An enrollment or activation code (the "organisation" part is empty: codes are looked
    /// up before the organisation is known).
    EnrollmentCode,
    /// A guest sender's lower-cased e-mail address (D-GUEST-HASH).
    GuestSender,
    /// The seed of a guest's PIN: a counter and the sender's address, so the same PIN can
    /// be mailed again while it is valid (R-GUEST-7) without storing it.
    GuestPin,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Badge => b"badge",
            Purpose::Pin => b"pin",
            Purpose::LoginCode => b"login-code",
            Purpose::DeviceSecret => b"device-secret",
            Purpose::EnrollmentCode => b"enrollment-code",
            Purpose::GuestSender => b"guest-sender",
            Purpose::GuestPin => b"guest-pin",
        }
    }
}

/// The lower-case hex HMAC-SHA256 of `value` for `purpose` in organisation `org_id`.
pub fn keyed_hash(secret: &[u8], purpose: Purpose, org_id: &str, value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    for part in [purpose.label(), org_id.as_bytes(), value.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_secret_purpose_organisation_and_value() {
        let base = keyed_hash(b"secret", Purpose::Pin, "org-a", "123456");
        assert_eq!(base.len(), 64);
        assert_eq!(base, keyed_hash(b"secret", Purpose::Pin, "org-a", "123456"));
        assert_ne!(base, keyed_hash(b"other", Purpose::Pin, "org-a", "123456"));
        assert_ne!(base, keyed_hash(b"secret", Purpose::Badge, "org-a", "123456"));
        assert_ne!(base, keyed_hash(b"secret", Purpose::Pin, "org-b", "123456"));
        assert_ne!(base, keyed_hash(b"secret", Purpose::Pin, "org-a", "123457"));
        // Length prefixes keep the parts apart: ("org-a1", "23456") is not ("org-a", "123456").
        assert_ne!(base, keyed_hash(b"secret", Purpose::Pin, "org-a1", "23456"));
        assert!(!base.contains("123456"));
    }
}
