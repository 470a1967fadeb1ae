//! Secrets as distinct types. Their `Debug` output is redacted, so they never reach a log line by
//! accident; reading one takes an explicit call to `expose`.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_is_redacted() {
        let token = AccessToken::new("gho_very_secret");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(token.expose(), "gho_very_secret");
        let secret = WebhookSecret::new("s3cr3t");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
    }
}
