//! Secrets as distinct types. Their `Debug` output is redacted, so they never reach a log line by
//! accident; reading one takes an explicit call to `expose`. [`redacted`] serializes a
//! configuration's secrets as a marker, so printing a configuration never prints one.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The secret text. Call it only where the value is used, never to log it.
            pub fn expose(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.expose() == other.expose()
            }
        }
    };
}

secret_type!(
    /// A GitHub token: a user's OAuth token, a personal access token or an installation token.
    AccessToken
);
secret_type!(
    /// The HMAC secret GitHub signs a repository's webhook deliveries with.
    WebhookSecret
);

/// `#[serde(serialize_with = …)]` helpers for configuration secrets: a secret that is set
/// serializes as [`REDACTED`](redacted::REDACTED), one that is not as `None`. `SecretString`
/// itself does not serialize, so a configuration type that derives `Serialize` must name one of
/// these on every secret field.
pub mod redacted {
    use secrecy::SecretString;
    use serde::Serializer;
    use serde::ser::SerializeSeq;

    /// What a secret that is set prints as.
    pub const REDACTED: &str = "[redacted]";

    /// A secret, as [`REDACTED`].
    ///
    /// # Errors
    /// The serializer's own.
    pub fn secret<S: Serializer>(_secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }

    /// An optional secret, as [`REDACTED`] when set and `None` when not.
    ///
    /// # Errors
    /// The serializer's own.
    pub fn optional_secret<S: Serializer>(
        secret: &Option<SecretString>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match secret {
            Some(_) => serializer.serialize_str(REDACTED),
            None => serializer.serialize_none(),
        }
    }

    /// A list of secrets, as one [`REDACTED`] each (how many there are is not secret).
    ///
    /// # Errors
    /// The serializer's own.
    pub fn secrets<S: Serializer>(
        secrets: &[SecretString],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut list = serializer.serialize_seq(Some(secrets.len()))?;
        for _ in secrets {
            list.serialize_element(REDACTED)?;
        }
        list.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Config {
        #[serde(serialize_with = "redacted::secret")]
        key: SecretString,
        #[serde(serialize_with = "redacted::optional_secret")]
        set: Option<SecretString>,
        #[serde(serialize_with = "redacted::optional_secret")]
        unset: Option<SecretString>,
        #[serde(serialize_with = "redacted::secrets")]
        keys: Vec<SecretString>,
    }

    #[test]
    fn configuration_secrets_serialize_as_a_marker() {
        let config = Config {
            key: SecretString::from("key-value"),
            set: Some(SecretString::from("set-value")),
            unset: None,
            keys: vec![SecretString::from("one-value"), SecretString::from("two-value")],
        };
        let printed = serde_json::to_value(&config).unwrap();
        assert_eq!(
            printed,
            serde_json::json!({
                "key": "[redacted]",
                "set": "[redacted]",
                "unset": null,
                "keys": ["[redacted]", "[redacted]"],
            })
        );
    }

    #[test]
    fn debug_output_is_redacted() {
        let token = AccessToken::new("gho_very_secret");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(token.expose(), "gho_very_secret");
        let secret = WebhookSecret::new("s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
