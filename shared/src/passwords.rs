//! Passwords: the rules of BR-PWD, argon2id hashing, and generation of strong ones.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

/// The special characters BR-PWD accepts (seed L4172–L4178).
pub const SPECIALS: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";

/// Shortest password BR-PWD allows.
pub const MIN_LENGTH: usize = 8;

/// What BR-PWD finds missing in `password`; empty when it is acceptable.
pub fn problems(password: &str) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if password.chars().count() < MIN_LENGTH {
        missing.push("at least 8 characters");
    }
    if !password.chars().any(|c| c.is_ascii_lowercase()) {
        missing.push("a lowercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_uppercase()) {
        missing.push("an uppercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        missing.push("a digit");
    }
    if !password.chars().any(|c| SPECIALS.contains(c)) {
        missing.push("a special character");
    }
    missing
}

/// The argon2id hash (PHC string) of `password`.
pub fn hash(password: &str) -> String {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let salt = SaltString::encode_b64(&random).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

/// Whether `password` matches the PHC string `hashed`.
pub fn verify(password: &str, hashed: &str) -> bool {
    PasswordHash::new(hashed)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A random 20-character password that satisfies BR-PWD.
pub fn generate() -> String {
    const LOWER: &str = "abcdefghijkmnpqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &str = "23456789";
    const SAFE_SPECIALS: &str = "!#%+-=_.";
    let mut rng = rand::rng();
    let pick = |set: &str, rng: &mut rand::rngs::ThreadRng| {
        let chars: Vec<char> = set.chars().collect();
        chars[rng.random_range(0..chars.len())]
    };
    let all = format!("{LOWER}{UPPER}{DIGITS}{SAFE_SPECIALS}");
    let mut chars: Vec<char> = [LOWER, UPPER, DIGITS, SAFE_SPECIALS].iter().map(|set| pick(set, &mut rng)).collect();
    while chars.len() < 20 {
        chars.push(pick(&all, &mut rng));
    }
    chars.shuffle(&mut rng);
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn br_pwd_requires_length_and_four_character_classes() {
        assert!(problems("Abcdef1!").is_empty());
        assert_eq!(problems("Abcde1!"), vec!["at least 8 characters"]);
        assert_eq!(problems("abcdefg1!"), vec!["an uppercase letter"]);
        assert_eq!(problems("ABCDEFG1!"), vec!["a lowercase letter"]);
        assert_eq!(problems("Abcdefgh!"), vec!["a digit"]);
        assert_eq!(problems("Abcdefgh1"), vec!["a special character"]);
        assert!(problems("Abcdef1\\").is_empty(), "backslash is one of BR-PWD's specials");
    }

    #[test]
    fn br_pwd_generated_passwords_always_pass() {
        for _ in 0..200 {
            let password = generate();
            assert!(problems(&password).is_empty(), "{password}");
        }
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hashed = hash("Secret-123");
        assert!(hashed.starts_with("$argon2id$"));
        assert!(verify("Secret-123", &hashed));
        assert!(!verify("Secret-124", &hashed));
        assert!(!verify("Secret-123", "not a hash"));
    }
}
