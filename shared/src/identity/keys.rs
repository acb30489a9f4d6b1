//! The Ed25519 keys `auth` signs its tokens with, and how they are kept.
//!
//! A deployment holds two keys: `current`, which signs every new token, and `next`, which
//! signs nothing yet but is already published in the JWKS. Rotation makes `next` the
//! signing key and generates a fresh `next`, so any verifier that refreshed the JWKS since
//! the previous rotation already knows the new signing key. The old `current` is dropped:
//! tokens it signed stop verifying at the rotation (see [`SigningKeys::rotate`]).
//!
//! Under `printcloud serve` the keys live in `<data>/keys/{current,next}.key` (PKCS#8 DER,
//! owner-only); on AWS they live in a Secrets Manager secret holding
//! [`SigningKeys::to_stored`]. Private key bytes never appear in `Debug` output, errors or
//! logs.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The JOSE name of the one signature algorithm printcloud uses (RFC 8037), shared by the
/// JWT header, the JWKS and the discovery document so they cannot disagree.
pub const ALGORITHM: &str = "EdDSA";

/// File name of the signing key under the keys directory of `serve`.
pub const CURRENT_FILE: &str = "current.key";

/// File name of the published-ahead key under the keys directory of `serve`.
pub const NEXT_FILE: &str = "next.key";

/// File of the verify-only key that signed before the last rotation, under `serve`.
pub const PREVIOUS_FILE: &str = "previous.key";

/// How many bytes of the public key's SHA-256 make up a `kid`: 12 bytes give a 16-character
/// identifier, short in every token header yet collision-free for the two keys in play.
const KID_HASH_BYTES: usize = 12;

/// Why signing keys could not be made, read or written. Messages name files and fields,
/// never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file or the keys directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// Something that should hold an Ed25519 PKCS#8 private key does not (empty, truncated,
    /// another key type). Never replaced automatically: a silently new key would invalidate
    /// every token in circulation and hide a storage problem.
    #[error("{what} does not hold an Ed25519 PKCS#8 private key")]
    Invalid {
        /// The file path or stored field that is damaged.
        what: String,
    },
    /// The stored form (the AWS secret) is not `{"current": "<base64>", "next": "<base64>"}`.
    #[error("the stored signing keys are not JSON of the form {{\"current\": \"<base64 pkcs8>\", \"next\": \"...\"}}")]
    Stored,
    /// The system random generator failed while making a key.
    #[error("could not generate an Ed25519 signing key")]
    Generate,
}

/// One Ed25519 key pair with its key id: signs tokens (private half) and is published in the
/// JWKS (public half). `Debug` shows only the `kid`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    public: [u8; 32],
    pkcs8: Zeroizing<Vec<u8>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKey {
    /// A fresh key from the operating system's random generator, for first start and for
    /// rotation.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
        let document = pair.to_pkcs8().map_err(|_| KeyError::Generate)?;
        SigningKey::from_pkcs8_der(document.as_ref(), "a generated key").map_err(|_| KeyError::Generate)
    }

    /// Reads an unencrypted PKCS#8 (v1 or v2) Ed25519 private key, e.g. from
    /// `openssl genpkey -algorithm ed25519 -outform DER`, so operators can bring their own.
    /// `what` names the source in the error.
    pub fn from_pkcs8_der(der: &[u8], what: &str) -> Result<SigningKey, KeyError> {
        let invalid = || KeyError::Invalid { what: what.to_owned() };
        let pair = Ed25519KeyPair::from_pkcs8(der).map_err(|_| invalid())?;
        let public: [u8; 32] = pair.public_key().as_ref().try_into().map_err(|_| invalid())?;
        let decoding = DecodingKey::from_ed_components(&URL_SAFE_NO_PAD.encode(public)).map_err(|_| invalid())?;
        let digest = Sha256::digest(public);
        Ok(SigningKey {
            kid: URL_SAFE_NO_PAD.encode(&digest[..KID_HASH_BYTES]),
            public,
            pkcs8: Zeroizing::new(der.to_vec()),
            encoding: EncodingKey::from_ed_der(der),
            decoding,
        })
    }

    /// The key id tokens carry in their header so a verifier picks this key: derived from
    /// the public key, so it is stable across restarts and identical on every instance.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte public key, for verifiers that do not read the JWKS.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// The public half as a JWK (RFC 8037 `OKP`/`Ed25519`), as published at
    /// `/.well-known/jwks.json`.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public),
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        })
    }

    /// The private key as PKCS#8 DER, for writing it to a key file or the secret.
    fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The signing half in the form `jsonwebtoken` wants.
    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The verifying half in the form `jsonwebtoken` wants.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &ALGORITHM).finish_non_exhaustive()
    }
}

/// The deployment's keys: `current` signs, `next` is published ahead of its turn, and
/// `previous` (after a rotation) only verifies. Tokens verify against any of them (chosen
/// by `kid`), so an instance that has not yet picked up a rotation still accepts tokens
/// signed by one that has, and tokens signed before a rotation stay valid until they
/// expire (rotate at most once per longest token lifetime).
#[derive(Clone)]
pub struct SigningKeys {
    current: SigningKey,
    next: SigningKey,
    previous: Option<SigningKey>,
}

/// The JSON shape of [`SigningKeys::to_stored`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    current: String,
    next: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<String>,
}

impl SigningKeys {
    /// Pairs two keys, e.g. ones read from elsewhere than a directory or the secret.
    pub fn new(current: SigningKey, next: SigningKey) -> SigningKeys {
        SigningKeys { current, next, previous: None }
    }

    /// Two fresh keys, for a new deployment's secret and for tests.
    pub fn generate() -> Result<SigningKeys, KeyError> {
        Ok(SigningKeys { current: SigningKey::generate()?, next: SigningKey::generate()?, previous: None })
    }

    /// The key that signs new tokens.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The key that will sign after the next rotation, already published.
    pub fn next(&self) -> &SigningKey {
        &self.next
    }

    /// The key that signed before the last rotation, kept to verify its tokens.
    pub fn previous(&self) -> Option<&SigningKey> {
        self.previous.as_ref()
    }

    /// The key with this `kid`, if it is one of ours; verification uses nothing else.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        [Some(&self.current), Some(&self.next), self.previous.as_ref()].into_iter().flatten().find(|key| key.kid == kid)
    }

    /// Rotates: `next` becomes `current`, the old `current` becomes `previous` (verify
    /// only; the one before it is dropped) and a fresh `next` is generated. Rotate at most
    /// once per longest token lifetime (refresh tokens included), so no valid token's key
    /// is dropped.
    pub fn rotate(self) -> Result<SigningKeys, KeyError> {
        Ok(SigningKeys { current: self.next, next: SigningKey::generate()?, previous: Some(self.current) })
    }

    /// The JSON Web Key Set served at `/.well-known/jwks.json`: both public keys, `current`
    /// first (one entry if both are the same key).
    pub fn jwks(&self) -> Value {
        let mut keys = vec![self.current.jwk()];
        if self.next.kid != self.current.kid {
            keys.push(self.next.jwk());
        }
        if let Some(previous) = self.previous.as_ref().filter(|p| p.kid != self.current.kid && p.kid != self.next.kid) {
            keys.push(previous.jwk());
        }
        json!({ "keys": keys })
    }

    /// The keys as the value of the AWS secret:
    /// `{"current": "<base64 pkcs8>", "next": "<base64 pkcs8>"}`. Holds private keys: write
    /// it to the secret store and nowhere else.
    pub fn to_stored(&self) -> String {
        let stored = Stored {
            current: STANDARD.encode(self.current.pkcs8_der()),
            next: STANDARD.encode(self.next.pkcs8_der()),
            previous: self.previous.as_ref().map(|key| STANDARD.encode(key.pkcs8_der())),
        };
        serde_json::to_string(&stored).expect("two strings serialize")
    }

    /// Reads the keys back from the value of the AWS secret (see [`Self::to_stored`]).
    pub fn from_stored(text: &str) -> Result<SigningKeys, KeyError> {
        // Errors deliberately drop serde's and base64's messages: they can quote input.
        let stored: Stored = serde_json::from_str(text).map_err(|_| KeyError::Stored)?;
        let field = |value: &str, name: &str| {
            let der = Zeroizing::new(
                STANDARD
                    .decode(value.trim())
                    .map_err(|_| KeyError::Invalid { what: format!("the stored `{name}` key") })?,
            );
            SigningKey::from_pkcs8_der(&der, &format!("the stored `{name}` key"))
        };
        let stored = Zeroizing::new(stored);
        Ok(SigningKeys {
            current: field(&stored.current, "current")?,
            next: field(&stored.next, "next")?,
            previous: stored.previous.as_deref().map(|value| field(value, "previous")).transpose()?,
        })
    }

    /// The keys of `printcloud serve`: `<dir>/current.key` and `<dir>/next.key`, each made on
    /// first use (PKCS#8 DER, mode 0600, written to a temporary file and renamed into
    /// place; the directory itself is made 0700). An existing file that is empty or not an
    /// Ed25519 key is an error, never replaced. Meant for a single process owning `dir`.
    pub fn load_or_create(dir: &Path) -> Result<SigningKeys, KeyError> {
        create_private_dir(dir)?;
        let previous_path = dir.join(PREVIOUS_FILE);
        let previous = match std::fs::read(&previous_path) {
            Ok(bytes) => {
                Some(SigningKey::from_pkcs8_der(&Zeroizing::new(bytes), &previous_path.display().to_string())?)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(io_error(&previous_path)(error)),
        };
        Ok(SigningKeys {
            current: load_or_create_key(&dir.join(CURRENT_FILE), dir)?,
            next: load_or_create_key(&dir.join(NEXT_FILE), dir)?,
            previous,
        })
    }

    /// Writes both keys to `dir` (replacing what is there), e.g. after [`Self::rotate`] in
    /// `serve`. `current` is written first: a crash in between leaves the new signing key
    /// in place with itself as `next`, which verifies everything the new key signs.
    pub fn store(&self, dir: &Path) -> Result<(), KeyError> {
        create_private_dir(dir)?;
        if let Some(previous) = &self.previous {
            write_private(dir, &dir.join(PREVIOUS_FILE), previous.pkcs8_der())?;
        }
        write_private(dir, &dir.join(CURRENT_FILE), self.current.pkcs8_der())?;
        write_private(dir, &dir.join(NEXT_FILE), self.next.pkcs8_der())
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("current", &self.current)
            .field("next", &self.next)
            .field("previous", &self.previous)
            .finish()
    }
}

impl zeroize::Zeroize for Stored {
    fn zeroize(&mut self) {
        self.current.zeroize();
        self.next.zeroize();
        self.previous.zeroize();
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

/// Makes the keys directory (owner-only where it is created).
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_error(dir))
}

/// Reads the key at `path`, or makes it when the file does not exist.
fn load_or_create_key(path: &Path, dir: &Path) -> Result<SigningKey, KeyError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            warn_if_readable_by_others(path);
            SigningKey::from_pkcs8_der(&bytes, &path.display().to_string())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate()?;
            write_private(dir, path, key.pkcs8_der())?;
            tracing::info!(path = %path.display(), kid = key.kid(), "created a token signing key");
            Ok(key)
        }
        Err(error) => Err(io_error(path)(error)),
    }
}

/// Key files are made 0600; one that someone loosened still works but is reported.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "a token signing key is readable by others than its owner"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes an owner-only file through a temporary file in the same directory and a rename,
/// so a crash never leaves a half-written key behind.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let staging = dir.join(format!(".{}.tmp", ulid::Ulid::new()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&staging).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(error) = written.and_then(|()| std::fs::rename(&staging, path)) {
        let _ = std::fs::remove_file(&staging);
        return Err(io_error(path)(error));
    }
    // Make the rename itself durable; not every platform can open a directory for this.
    #[cfg(unix)]
    if let Ok(directory) = std::fs::File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Ed25519 private key of RFC 8410 §10.3, PKCS#8 v1 as `openssl genpkey` writes it.
    const RFC8410_V1_KEY: &str = "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC";

    #[test]
    fn the_kid_is_16_url_safe_characters_derived_from_the_public_key() {
        let key = SigningKey::generate().unwrap();
        assert_eq!(key.kid().len(), 16);
        assert!(key.kid().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let expected = URL_SAFE_NO_PAD.encode(&Sha256::digest(key.public_key())[..12]);
        assert_eq!(key.kid(), expected);
        assert_ne!(key.kid(), SigningKey::generate().unwrap().kid());
    }

    #[test]
    fn an_openssl_style_pkcs8_v1_key_is_accepted() {
        let der = STANDARD.decode(RFC8410_V1_KEY).unwrap();
        let key = SigningKey::from_pkcs8_der(&der, "test").unwrap();
        // RFC 8410 §10.3 gives the matching public key.
        assert_eq!(hex::encode(key.public_key()), "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1");
    }

    #[test]
    fn load_or_create_makes_owner_only_files_and_reloads_the_same_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let made = SigningKeys::load_or_create(&keys_dir).unwrap();
        assert_ne!(made.current().kid(), made.next().kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [CURRENT_FILE, NEXT_FILE] {
                let mode = std::fs::metadata(keys_dir.join(file)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{file}");
            }
            let mode = std::fs::metadata(&keys_dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let names: Vec<_> = std::fs::read_dir(&keys_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary files left behind: {names:?}");
        let again = SigningKeys::load_or_create(&keys_dir).unwrap();
        assert_eq!(again.current().kid(), made.current().kid());
        assert_eq!(again.next().kid(), made.next().kid());
    }

    #[test]
    fn a_damaged_or_empty_key_file_is_an_error_and_is_left_alone() {
        for content in [&b""[..], b"not a key", &STANDARD.decode(RFC8410_V1_KEY).unwrap()[..20]] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(CURRENT_FILE), content).unwrap();
            let error = SigningKeys::load_or_create(dir.path()).unwrap_err();
            assert!(matches!(&error, KeyError::Invalid { what } if what.ends_with(CURRENT_FILE)), "{error}");
            assert_eq!(std::fs::read(dir.path().join(CURRENT_FILE)).unwrap(), content);
        }
    }

    #[test]
    fn a_missing_next_key_is_created_beside_an_existing_current_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CURRENT_FILE), STANDARD.decode(RFC8410_V1_KEY).unwrap()).unwrap();
        let keys = SigningKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(hex::encode(keys.current().public_key())[..8], *"19bf4409");
        assert!(dir.path().join(NEXT_FILE).exists());
    }

    #[test]
    fn stored_form_round_trips() {
        let keys = SigningKeys::generate().unwrap();
        let stored = keys.to_stored();
        let value: Value = serde_json::from_str(&stored).unwrap();
        assert!(value["current"].is_string() && value["next"].is_string());
        let back = SigningKeys::from_stored(&stored).unwrap();
        assert_eq!(back.current().kid(), keys.current().kid());
        assert_eq!(back.next().kid(), keys.next().kid());
    }

    #[test]
    fn a_damaged_stored_form_is_an_error_that_quotes_nothing() {
        let good = SigningKeys::generate().unwrap().to_stored();
        let value: Value = serde_json::from_str(&good).unwrap();
        let current = value["current"].as_str().unwrap();
        for text in [
            String::new(),
            "{}".to_owned(),
            format!(r#"{{"current": "{current}"}}"#),
            format!(r#"{{"current": "{current}", "next": "bm90IGEga2V5"}}"#),
            format!(r#"{{"current": "{current}", "next": "%%%"}}"#),
        ] {
            let error = SigningKeys::from_stored(&text).unwrap_err();
            assert!(!error.to_string().contains(&current[..12]), "{error}");
        }
    }

    #[test]
    fn rotate_promotes_next_and_generates_a_new_next() {
        let keys = SigningKeys::generate().unwrap();
        let (old_current, old_next) = (keys.current().kid().to_owned(), keys.next().kid().to_owned());
        let rotated = keys.rotate().unwrap();
        assert_eq!(rotated.current().kid(), old_next);
        assert_ne!(rotated.next().kid(), old_next);
        assert_ne!(rotated.next().kid(), old_current);
        assert_eq!(rotated.previous().map(|k| k.kid().to_owned()), Some(old_current.clone()));
        assert!(rotated.find(&old_current).is_some(), "the old key still verifies");
        let twice = rotated.rotate().unwrap();
        assert!(twice.find(&old_current).is_none(), "two rotations drop it");
        let stored = SigningKeys::from_stored(&twice.to_stored()).unwrap();
        assert_eq!(stored.previous().map(|k| k.kid()), twice.previous().map(|k| k.kid()));
    }

    #[test]
    fn store_after_rotate_is_what_load_or_create_reads() {
        let dir = tempfile::tempdir().unwrap();
        let rotated = SigningKeys::load_or_create(dir.path()).unwrap().rotate().unwrap();
        rotated.store(dir.path()).unwrap();
        let loaded = SigningKeys::load_or_create(dir.path()).unwrap();
        assert_eq!(loaded.current().kid(), rotated.current().kid());
        assert_eq!(loaded.next().kid(), rotated.next().kid());
    }

    #[test]
    fn jwks_lists_both_public_keys() {
        let keys = SigningKeys::generate().unwrap();
        let jwks = keys.jwks();
        let entries = jwks["keys"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for (entry, key) in entries.iter().zip([keys.current(), keys.next()]) {
            assert_eq!(entry["kid"], key.kid());
            assert_eq!(entry["kty"], "OKP");
            assert_eq!(entry["crv"], "Ed25519");
            assert_eq!(entry["alg"], "EdDSA");
            assert_eq!(entry["use"], "sig");
            assert_eq!(URL_SAFE_NO_PAD.decode(entry["x"].as_str().unwrap()).unwrap(), key.public_key());
            assert_eq!(entry.as_object().unwrap().len(), 6, "no private member: {entry}");
        }
    }

    #[test]
    fn debug_output_contains_no_key_bytes() {
        let keys = SigningKeys::generate().unwrap();
        let shown = format!("{keys:?} {:#?}", keys.current());
        assert!(shown.contains(keys.current().kid()) && shown.contains(keys.next().kid()));
        let stored: Value = serde_json::from_str(&keys.to_stored()).unwrap();
        for key in [keys.current(), keys.next()] {
            let der = key.pkcs8_der();
            // The private key sits in the PKCS#8 as OCTET STRING { OCTET STRING (32 bytes) }.
            let at = der.windows(4).position(|w| w == [0x04, 0x22, 0x04, 0x20]).unwrap() + 4;
            let seed = &der[at..at + 32];
            for needle in [
                STANDARD.encode(der),
                hex::encode(seed),
                format!("{:?}", seed),
                format!("{:?}", &seed[..8]),
                URL_SAFE_NO_PAD.encode(seed),
            ] {
                assert!(!shown.contains(&needle), "{shown}");
            }
        }
        for name in ["current", "next"] {
            assert!(!shown.contains(stored[name].as_str().unwrap()));
        }
    }
}
