//! Fuzzing the inbound mail path of email-to-print (issue [6 of 8]): 100,000 messages —
//! random bytes, and well-formed mails mutated by flipping, cutting, repeating and
//! splicing bytes and by swapping in hostile MIME (deep nesting, forwarded messages,
//! path-traversal names, broken encodings, a zip bomb's header) — go through the parse and
//! the printing plan of `email-inbound`; none may panic. The random source is seeded, so a
//! failure names its seed and case and is reproduced by running the test again.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::email::{inbound, message};
use shared::print::settings::PrintSettings;

const CASES: usize = 100_000;
const SEED: u64 = 0x00e1_7a11;

/// Well-formed mails the mutations start from.
fn seeds() -> Vec<Vec<u8>> {
    let pdf = "JVBERi0xLjQKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyAvUGFnZXMgMiAwIFIgPj4KZW5kb2JqCg==";
    let nested: String =
        (0..60).map(|i| format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")).collect();
    vec![
        b"From: a@example.org\r\nTo: p@print.example\r\nSubject: plain\r\n\r\nhello\r\n".to_vec(),
        format!(
            "From: a@example.org\r\nTo: p@print.example\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n\
             <p>hi<img src=\"cid:i\"></p>\r\n--x\r\nContent-Type: application/pdf; name=\"../../etc/passwd\"\r\n\
             Content-Disposition: attachment; filename=\"..\\\\..\\\\boot.ini\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             {pdf}\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@example.org\r\nSubject: fwd\r\n\r\nbody\r\n\
             --x\r\nContent-Type: application/zip; name=\"bomb.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             UEsDBBQAAAAIAAAAIQAAAAAAAAAAAP////8JAAAAd29yZC9hLnhtbA==\r\n--x--\r\n"
        )
        .into_bytes(),
        format!("From: a@example.org\r\nTo: p@print.example\r\nMIME-Version: 1.0\r\n{nested}\r\nend\r\n").into_bytes(),
        b"From: =?utf-8?B?////?= <a@example.org>\r\nTo: p@print.example\r\nContent-Transfer-Encoding: quoted-printable\r\n\
          Subject: =?bogus?Q?=ZZ?=\r\n\r\n=ZZ=\r\n=C3=28\r\n"
            .to_vec(),
    ]
}

fn mutate(rng: &mut StdRng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..rng.random_range(1..=8) {
        let at = if bytes.is_empty() { 0 } else { rng.random_range(0..bytes.len()) };
        match rng.random_range(0..6) {
            0 if !bytes.is_empty() => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes.truncate(at),
            2 => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                let piece = bytes[at..end].to_vec();
                for _ in 0..rng.random_range(1..20) {
                    bytes.splice(at..at, piece.iter().copied()).for_each(drop);
                }
            }
            3 => {
                let from = rng.random_range(0..other.len());
                let end = (from + rng.random_range(1..200)).min(other.len());
                bytes.splice(at..at, other[from..end].iter().copied()).for_each(drop);
            }
            4 => bytes.insert(at, [b'\r', b'\n', b'-', b'=', b'"', 0, 0xff][rng.random_range(0..7)]),
            _ => bytes
                .splice(at..at, b"\r\n--x\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n".iter().copied())
                .for_each(drop),
        }
    }
    bytes
}

fn random_bytes(rng: &mut StdRng) -> Vec<u8> {
    let len = rng.random_range(0..2048);
    (0..len).map(|_| rng.random()).collect()
}

#[test]
fn the_inbound_parse_and_plan_survive_a_hundred_thousand_hostile_messages() {
    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut settings = PrintSettings { email_submission: true, email_body_printing: true, ..PrintSettings::default() };
    settings.guest_page_limit = Some(3);
    let mut parsed = 0;
    for case in 0..CASES {
        let input = if case % 2 == 0 {
            random_bytes(&mut rng)
        } else {
            let seed = &seeds[rng.random_range(0..seeds.len())];
            let other = &seeds[rng.random_range(0..seeds.len())];
            mutate(&mut rng, seed, other)
        };
        let outcome = std::panic::catch_unwind(|| {
            let Some(mail) = message::parse(&input) else { return false };
            for part in &mail.parts {
                assert!(!part.name.contains('/') && !part.name.contains('\\'), "a path in {:?}", part.name);
            }
            let (printable, not_printed) = inbound::plan(&mail, &settings, case % 4 == 1, 1 << 20);
            assert!(printable.len() + not_printed.len() >= mail.parts.len());
            true
        });
        match outcome {
            Ok(was_mail) => parsed += usize::from(was_mail),
            Err(_) => panic!("case {case} of seed {SEED:#x} panicked; input: {:?}", String::from_utf8_lossy(&input)),
        }
    }
    assert!(parsed > CASES / 4, "most mutated mails still parse as mails ({parsed})");
}
