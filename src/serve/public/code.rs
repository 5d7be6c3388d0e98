//! Progress-query codes (办件进度查询码): eight characters from an alphabet without look-alikes
//! (no 0/O, 1/I/L), printed on the receipt; the case keeps only a salted SHA-256 of it.

use sha2::{Digest, Sha256};

/// The characters of a code: digits and capitals, without 0, 1, I, L, O.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// How long a code is (31^8 ≈ 8.5 × 10^11 codes).
pub(crate) const LEN: usize = 8;

/// A new random code.
///
/// # Errors
/// The operating system's random source failed.
pub(crate) fn new_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; LEN];
    getrandom::fill(&mut bytes)?;
    // 256 is not a multiple of 31: a byte ≥ 248 (= 8 × 31) is drawn again, so every
    // character is equally likely.
    let mut out = String::with_capacity(LEN);
    let mut i = 0;
    while out.len() < LEN {
        let b = if i < LEN {
            bytes[i]
        } else {
            let mut one = [0u8; 1];
            getrandom::fill(&mut one)?;
            one[0]
        };
        i += 1;
        if usize::from(b) < ALPHABET.len() * (256 / ALPHABET.len()) {
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

/// The stored form of a code: `sha256:<salt hex>:<digest hex>`.
///
/// # Errors
/// The operating system's random source failed.
pub(crate) fn seal(code: &str) -> Result<String, getrandom::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = hex(&salt);
    Ok(format!("sha256:{salt}:{}", digest(&salt, code)))
}

/// Whether `code` is the one sealed (case and spaces ignored, as people type codes).
pub(crate) fn opens(sealed: &str, code: &str) -> bool {
    let mut parts = sealed.splitn(3, ':');
    let (Some("sha256"), Some(salt), Some(want)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let got = digest(salt, &normalise(code));
    // Constant time in the digest's length.
    got.len() == want.len()
        && got
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A code as typed, upper-cased, spaces and dashes dropped.
pub(crate) fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn digest(salt: &str, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(code.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_open_only_their_seal() {
        let a = new_code().expect("random");
        let b = new_code().expect("random");
        assert_eq!(a.len(), LEN);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        let sealed = seal(&a).expect("random");
        assert!(!sealed.contains(&a), "the seal does not hold the code");
        assert!(opens(&sealed, &a));
        assert!(opens(
            &sealed,
            &format!(" {}-{} ", &a[..4], a[4..].to_lowercase())
        ));
        assert!(!opens(&sealed, &b));
        assert!(!opens(&sealed, ""));
        assert!(!opens("garbage", &a));
        assert_ne!(seal(&a).expect("random"), sealed, "salted");
    }
}
