//! The session's secrets: which variables hold them, where their values are kept, and the one
//! redaction every text leaving the session passes through.
//!
//! Exists so that an API key read from the environment reaches the provider's `Authorization`
//! header and nothing else: not a command's environment (nor the notifier's), not
//! `/proc/<session>/environ`, not an event, the recording, the terminal or a request body. It
//! must never print a value, and never hold a lock while calling out.
//!
//! The registry is process-wide on purpose: keys come from the process environment, and every
//! channel (each session of a host, each client, the CLI's own error output) must see the same
//! set without being handed it.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

#[cfg(test)]
mod tests;

/// What replaces a secret in redacted text.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not redacted: replacing every `1` or `yes` in all output would
/// destroy it, and such values are not credentials.
const MIN_SECRET_LEN: usize = 8;

#[derive(Default)]
struct Registry {
    /// Names of variables whose values are secrets (besides credential-like names).
    variables: BTreeSet<String>,
    /// Values taken out of the process environment, by variable name.
    vault: HashMap<String, String>,
    /// Secret values, longest first (so a key containing another is replaced whole).
    values: Vec<String>,
}

static REGISTRY: RwLock<Option<Registry>> = RwLock::new(None);
/// Whether any value is registered: the fast path of [`redact`] is one atomic load.
static ACTIVE: AtomicBool = AtomicBool::new(false);

fn with_registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut guard = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Registry::default))
}

/// Whether a variable of this name holds a secret: its name contains `KEY`, `SECRET`, `TOKEN`,
/// `PASSWORD`, `PASSWD` or `CREDENTIAL` (in any case), or it was declared with
/// [`protect_variable`] (every provider's `env_key`). Such variables are not passed on to
/// commands or the notifier.
pub fn is_secret_variable(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let credential_like = ["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"]
        .iter()
        .any(|word| upper.contains(word));
    credential_like
        || REGISTRY
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|r| r.variables.contains(name))
}

/// Declare that variable `name` holds a secret: it is kept from commands and the notifier, and
/// its value (when set) is redacted everywhere.
pub fn protect_variable(name: &str) {
    let value = std::env::var(name).ok();
    with_registry(|r| {
        r.variables.insert(name.to_owned());
    });
    if let Some(value) = value {
        register_secret(&value);
    }
}

/// Redact `value` wherever text leaves the session from now on.
pub fn register_secret(value: &str) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    with_registry(|r| {
        if !r.values.iter().any(|v| v == value) {
            r.values.push(value.to_owned());
            r.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    });
    ACTIVE.store(true, Ordering::Release);
}

/// The value of variable `name`: from the process environment, or from where
/// [`protect_process`] moved it.
pub fn env_var(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value);
    }
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|r| r.vault.get(name).cloned())
}

/// `text` with every registered secret replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    if !ACTIVE.load(Ordering::Acquire) {
        return Cow::Borrowed(text);
    }
    let guard = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let Some(registry) = guard.as_ref() else {
        return Cow::Borrowed(text);
    };
    let mut out = Cow::Borrowed(text);
    for value in &registry.values {
        if out.contains(value.as_str()) {
            out = Cow::Owned(out.replace(value.as_str(), REDACTED));
        }
    }
    out
}

/// Redact a `String` in place; allocates only when it holds a secret.
pub fn redact_string(text: &mut String) {
    if let Cow::Owned(redacted) = redact(text) {
        *text = redacted;
    }
}

/// Redact bytes (command output) in place, when they hold a secret.
pub fn redact_bytes(bytes: &mut Vec<u8>) {
    if let Cow::Owned(redacted) = redact_slice(bytes) {
        *bytes = redacted;
    }
}

/// `bytes` with every registered secret replaced; borrowed when there is none.
pub fn redact_slice(bytes: &[u8]) -> Cow<'_, [u8]> {
    if !ACTIVE.load(Ordering::Acquire) {
        return Cow::Borrowed(bytes);
    }
    let guard = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let Some(registry) = guard.as_ref() else {
        return Cow::Borrowed(bytes);
    };
    let mut out = Cow::Borrowed(bytes);
    for value in &registry.values {
        let needle = value.as_bytes();
        if out.windows(needle.len()).any(|w| w == needle) {
            out = Cow::Owned(replace_bytes(&out, needle, REDACTED.as_bytes()));
        }
    }
    out
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Length of the longest end of `text` that begins a secret without completing it: what a
/// stream must hold back until the next piece shows whether the secret follows.
fn partial_secret_suffix(text: &[u8]) -> usize {
    if !ACTIVE.load(Ordering::Acquire) {
        return 0;
    }
    let guard = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let Some(registry) = guard.as_ref() else {
        return 0;
    };
    let mut longest = 0;
    for value in &registry.values {
        let value = value.as_bytes();
        for k in (longest + 1..value.len().min(text.len() + 1)).rev() {
            if text.ends_with(&value[..k]) {
                longest = k;
                break;
            }
        }
    }
    longest
}

/// Redacts a text that arrives in pieces (streamed deltas), where a secret may be cut between
/// two pieces: the end of a piece that could begin a secret is held back until the next piece
/// (or [`finish`](Self::finish)) shows whether it does.
#[derive(Debug, Default)]
pub struct StreamRedactor {
    held: Vec<u8>,
}

impl StreamRedactor {
    /// A redactor holding nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a piece; returns what may be shown now (possibly empty).
    pub fn push_bytes(&mut self, piece: &[u8]) -> Vec<u8> {
        if !ACTIVE.load(Ordering::Acquire) && self.held.is_empty() {
            return piece.to_vec();
        }
        self.held.extend_from_slice(piece);
        let mut text = redact_slice(&self.held).into_owned();
        let keep = partial_secret_suffix(&text);
        self.held = text.split_off(text.len() - keep);
        text
    }

    /// Add a piece of text; returns what may be shown now (possibly empty). Pieces are cut
    /// only between characters.
    pub fn push_str(&mut self, piece: &str) -> String {
        let mut out = self.push_bytes(piece.as_bytes());
        // A secret's prefix may end inside a character: hold the rest of that character too.
        let valid = match std::str::from_utf8(&out) {
            Ok(_) => out.len(),
            Err(e) => e.valid_up_to(),
        };
        let mut rest = out.split_off(valid);
        rest.append(&mut self.held);
        self.held = rest;
        String::from_utf8(out).unwrap_or_default()
    }

    /// Whatever is still held: the piece ended without completing a secret.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }

    /// As [`finish`](Self::finish), as text.
    pub fn finish_str(&mut self) -> String {
        String::from_utf8_lossy(&self.finish()).into_owned()
    }
}

/// Redact every string inside a serializable value (an event, a recording line): `Some` with
/// the value unchanged when it holds no secret, `Some` with the secrets replaced when it does,
/// and `None` when it held one and could not be rebuilt without it. It never hands back a value
/// that still holds a secret.
pub fn redact_value<T>(value: T) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    if !ACTIVE.load(Ordering::Acquire) {
        return Some(value);
    }
    let Ok(json) = serde_json::to_string(&value) else {
        return None;
    };
    if !holds_secret(&json) {
        return Some(value);
    }
    // Only string leaves change, so the structure (and every tag) stays as it was.
    let mut tree: serde_json::Value = serde_json::from_str(&json).ok()?;
    redact_tree(&mut tree);
    serde_json::from_value(tree).ok()
}

/// Whether `json` holds a secret, raw or JSON-escaped.
fn holds_secret(json: &str) -> bool {
    let guard = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref().is_some_and(|registry| {
        registry.values.iter().any(|value| {
            let escaped = serde_json::to_string(value).unwrap_or_default();
            json.contains(value.as_str()) || json.contains(escaped.trim_matches('"'))
        })
    })
}

fn redact_tree(tree: &mut serde_json::Value) {
    match tree {
        serde_json::Value::String(text) => redact_string(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_tree),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(redact_tree),
        _ => {}
    }
}

/// Take the session's secrets out of the process: every variable in `names` and every
/// credential-like variable is read into the registry (values redacted from then on, readable
/// through [`env_var`]), overwritten in the memory `/proc/<pid>/environ` shows, and removed
/// from the environment; then the process is made non-dumpable, so processes of the same user
/// cannot read its memory or environment.
///
/// Call it first thing in `main`, before any thread starts: it writes the environment.
///
/// # Safety
///
/// No other thread may read or write the environment while it runs.
pub unsafe fn protect_process(names: &[String]) {
    for name in names {
        with_registry(|r| {
            r.variables.insert(name.clone());
        });
    }
    let taken: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| is_secret_variable(name))
        .collect();
    for (name, value) in &taken {
        register_secret(value);
        with_registry(|r| {
            r.vault.insert(name.clone(), value.clone());
        });
    }
    #[cfg(target_os = "linux")]
    {
        let names: BTreeSet<&str> = taken.iter().map(|(n, _)| n.as_str()).collect();
        // SAFETY: the caller guarantees no other thread touches the environment.
        unsafe { linux::wipe_initial_environment(&names) };
        // SAFETY: a plain prctl on this process.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    }
    for (name, _) in &taken {
        // SAFETY: the caller guarantees no other thread touches the environment.
        unsafe { std::env::remove_var(name) };
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::BTreeSet;
    use std::ffi::CStr;

    unsafe extern "C" {
        static mut environ: *mut *mut libc::c_char;
    }

    /// Overwrite the values of `names` in the strings `environ` points to. At startup these are
    /// the block the kernel copied (what `/proc/<pid>/environ` reads); a value set later lives
    /// on the heap and is overwritten there.
    ///
    /// # Safety
    ///
    /// No other thread may use the environment meanwhile.
    pub(super) unsafe fn wipe_initial_environment(names: &BTreeSet<&str>) {
        // SAFETY: `environ` is a NULL-terminated array of NUL-terminated strings, owned by the
        // C library and writable; nobody else touches it meanwhile (the caller's contract).
        unsafe {
            let mut entry = environ;
            if entry.is_null() {
                return;
            }
            while !(*entry).is_null() {
                let text = *entry;
                let bytes = CStr::from_ptr(text).to_bytes();
                if let Some(eq) = bytes.iter().position(|&b| b == b'=')
                    && std::str::from_utf8(&bytes[..eq]).is_ok_and(|n| names.contains(n))
                {
                    let value_len = bytes.len() - eq - 1;
                    std::ptr::write_bytes(text.add(eq + 1), b'*', value_len);
                }
                entry = entry.add(1);
            }
        }
    }
}
