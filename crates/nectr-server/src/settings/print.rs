//! `nectr print-config`: the effective [`Settings`] as TOML, derived from the settings themselves
//! (their `Serialize`), so a new setting is printed without anyone listing it here. Secrets
//! serialize as `[redacted]` (see `nectr_domain::secret::redacted`), the database URL without its
//! password, and a setting without a value as `[not set]`, since TOML has no null.

use secrecy::{ExposeSecret, SecretString};
use serde::Serializer;
use serde_json::Value;

use super::{KNOWN_DEFAULT_SECRET_KEYS, Settings};

/// What a setting without a value prints as.
pub(super) const NOT_SET: &str = "[not set]";

/// What a secret key that is a well-known default prints as.
const DEFAULT_SECRET: &str = "[default]";

impl Settings {
    /// The effective configuration as TOML: every setting, each secret redacted.
    pub fn to_redacted_toml(&self) -> String {
        let rendered =
            serde_json::to_value(self).map_err(|error| error.to_string()).and_then(|document| {
                toml::to_string(&mark_unset(document)).map_err(|error| error.to_string())
            });
        rendered.unwrap_or_else(|error| format!("# cannot render: {error}\n"))
    }
}

/// `SECRET_KEY` as `[default]` when it is a known default (worth seeing: production refuses it),
/// else as `[redacted]`.
pub(super) fn secret_key<S: Serializer>(
    key: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    if KNOWN_DEFAULT_SECRET_KEYS.contains(&key.expose_secret().trim()) {
        serializer.serialize_str(DEFAULT_SECRET)
    } else {
        nectr_domain::secret::redacted::secret(key, serializer)
    }
}

/// `value` with every null (an optional setting without a value) replaced by [`NOT_SET`].
fn mark_unset(value: Value) -> Value {
    match value {
        Value::Null => Value::String(NOT_SET.to_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(mark_unset).collect()),
        Value::Object(fields) => Value::Object(
            fields.into_iter().map(|(name, field)| (name, mark_unset(field))).collect(),
        ),
        scalar => scalar,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn nulls_become_not_set_at_any_depth() {
        let marked = super::mark_unset(json!({"a": null, "b": {"c": null, "d": 1}, "e": [null]}));
        assert_eq!(
            marked,
            json!({"a": "[not set]", "b": {"c": "[not set]", "d": 1}, "e": ["[not set]"]})
        );
    }
}
