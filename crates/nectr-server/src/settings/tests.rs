//! Configuration precedence and validation.

use super::*;

fn sources(dotenv: &[(&str, &str)], environment: &[(&str, &str)]) -> ConfigSources {
    let map = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    };
    ConfigSources { config_dir: None, dotenv: map(dotenv), environment: map(environment) }
}

#[test]
fn embedded_defaults_run_on_sqlite_on_localhost() {
    let settings = Settings::load(&ConfigSources::default()).unwrap();
    assert_eq!(settings.application.environment, Environment::Development);
    assert_eq!(settings.application.host, "127.0.0.1");
    assert_eq!(settings.application.port, 8000);
    assert_eq!(settings.database.driver_url().unwrap(), "sqlite://nectr.db?mode=rwc");
    assert!(settings.uses_default_secret_key());
    settings.validate().unwrap();
}

#[test]
fn precedence_is_defaults_files_dotenv_environment_then_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("default.toml"),
        "[application]\nport = 1111\nname = \"from-default-file\"\nlog_level = \"debug\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("production.toml"),
        "[application]\nport = 2222\nname = \"from-env-file\"\nbackend_url = \"https://file\"\n",
    )
    .unwrap();
    let mut sources = sources(
        &[("PORT", "3333"), ("APP_NAME", "from-dotenv"), ("FRONTEND_URL", "https://dotenv")],
        &[
            ("APP_ENV", "production"),
            ("SECRET_KEY", "a-real-secret"),
            ("PORT", "4444"),
            ("APP_NAME", "from-environment"),
            ("NECTR__APPLICATION__PORT", "5555"),
        ],
    );
    sources.config_dir = Some(dir.path().to_owned());
    let settings = Settings::load(&sources).unwrap();
    // NECTR__ wins over everything.
    assert_eq!(settings.application.port, 5555);
    // The process environment wins over .env, which wins over files.
    assert_eq!(settings.application.name, "from-environment");
    assert_eq!(settings.application.frontend_url, "https://dotenv");
    // The environment's file wins over default.toml, which wins over the embedded defaults.
    assert_eq!(settings.application.backend_url, "https://file");
    assert_eq!(settings.application.log_level, "debug");
    assert_eq!(settings.application.host, "127.0.0.1");
    assert_eq!(settings.application.environment, Environment::Production);
}

#[test]
fn the_original_services_variables_keep_working() {
    let settings = Settings::load(&sources(
        &[],
        &[
            ("DATABASE_URL", "postgresql+asyncpg://nectr:pw@db:5432/nectr"),
            ("SECRET_KEY", "s3cret"),
            ("HOST", "0.0.0.0"),
            ("LOG_LEVEL", "DEBUG"),
            ("ACCESS_TOKEN_EXPIRE_MINUTES", "60"),
            ("TOKEN_ENCRYPTION_KEYS", "a, b,,c"),
            ("ANTHROPIC_API_KEY", "ignored-until-its-issue"),
        ],
    ))
    .unwrap();
    assert_eq!(settings.database.driver_url().unwrap(), "postgres://nectr:pw@db:5432/nectr");
    assert_eq!(settings.security.secret_key.expose_secret(), "s3cret");
    assert_eq!(settings.application.host, "0.0.0.0");
    assert_eq!(settings.security.access_token_expire_minutes, 60);
    let keys: Vec<&str> =
        settings.security.token_encryption_keys.iter().map(ExposeSecret::expose_secret).collect();
    assert_eq!(keys, ["a", "b", "c"]);
}

#[test]
fn nectr_variables_reach_every_section() {
    let settings = Settings::load(&sources(
        &[("NECTR__DATABASE__MAX_CONNECTIONS", "3")],
        &[("NECTR__SECURITY__SECRET_KEY", "abc"), ("NECTR__DATABASE__URL", "sqlite://x.db")],
    ))
    .unwrap();
    assert_eq!(settings.database.max_connections, 3);
    assert_eq!(settings.security.secret_key.expose_secret(), "abc");
    assert_eq!(settings.database.driver_url().unwrap(), "sqlite://x.db?mode=rwc");
}

#[test]
fn production_refuses_default_or_missing_secret_keys() {
    for key in [None, Some(""), Some("your-secret-key"), Some("nectr-development-secret-key")] {
        let mut environment = vec![("APP_ENV", "production")];
        if let Some(key) = key {
            environment.push(("SECRET_KEY", key));
        }
        let settings = Settings::load(&sources(&[], &environment)).unwrap();
        let error = settings.validate().unwrap_err().to_string();
        assert!(error.contains("SECRET_KEY"), "{key:?}: {error}");
    }
    let settings =
        Settings::load(&sources(&[], &[("APP_ENV", "production"), ("SECRET_KEY", "x7Hq")]))
            .unwrap();
    settings.validate().unwrap();
}

#[test]
fn bad_values_are_clear_errors() {
    let error = Settings::load(&sources(&[], &[("PORT", "eighty")])).unwrap_err().to_string();
    assert!(error.contains("PORT must be a whole number"), "{error}");
    let error = Settings::load(&sources(&[], &[("APP_ENV", "staging")])).unwrap_err().to_string();
    assert!(error.contains("APP_ENV"), "{error}");
    let settings =
        Settings::load(&sources(&[], &[("TOKEN_ENCRYPTION_KEYS", "not-a-key")])).unwrap();
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("TOKEN_ENCRYPTION_KEYS entry 1"), "{error}");
    let settings = Settings::load(&sources(
        &[],
        &[("GITHUB_APP_ID", "1"), ("GITHUB_APP_PRIVATE_KEY", "not a pem")],
    ))
    .unwrap();
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("GITHUB_APP_PRIVATE_KEY"), "{error}");
    let error = Settings::load(&sources(&[], &[("GITHUB_APP_ID", "1")])).unwrap_err().to_string();
    assert!(error.contains("private_key"), "an App needs its key: {error}");
    let settings = Settings::load(&sources(&[], &[("GITHUB_API_URL", "not a url")])).unwrap();
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("GITHUB_API_URL"), "{error}");
}

#[test]
fn print_config_redacts_every_secret() {
    let secrets = [
        ("SECRET_KEY", "super-secret-value"),
        ("TOKEN_ENCRYPTION_KEYS", "key-one-secret,key-two-secret"),
        ("GITHUB_PAT", "ghp_pat_secret_value"),
        ("GITHUB_CLIENT_SECRET", "client-secret-value"),
        ("GITHUB_WEBHOOK_SECRET", "webhook-secret-value"),
        ("GITHUB_APP_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\\nsecret-pem"),
        ("GITHUB_APP_WEBHOOK_SECRET", "app-webhook-secret-value"),
        ("ANTHROPIC_API_KEY", "sk-ant-secret-value"),
        ("OPENAI_API_KEY", "sk-openai-secret-value"),
    ];
    let mut variables = secrets.to_vec();
    variables.extend([
        ("DATABASE_URL", "postgres://nectr:db-password@db/nectr"),
        ("GITHUB_CLIENT_ID", "Iv1.public-client-id"),
        ("GITHUB_APP_ID", "4242"),
    ]);
    let settings = Settings::load(&sources(&[], &variables)).unwrap();
    let printed = settings.to_redacted_toml();
    let values = secrets.iter().flat_map(|(_, value)| value.split(',')).chain(["db-password"]);
    for secret in values {
        let secret = secret.trim_start_matches("-----BEGIN RSA PRIVATE KEY-----\\n");
        assert!(!printed.contains(secret), "{secret} leaked:\n{printed}");
        assert!(!format!("{settings:?}").contains(secret), "{secret} leaked in Debug");
    }
    assert!(printed.contains("postgres://nectr:***@db/nectr"), "{printed}");
    let parsed: toml::Table = printed.parse().unwrap();
    assert_eq!(parsed["application"]["port"].as_integer(), Some(8000));
    assert_eq!(parsed["security"]["secret_key"].as_str(), Some("[redacted]"));
    let keys = parsed["security"]["token_encryption_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "how many keys there are is shown");
    assert_eq!(parsed["github"]["pat"].as_str(), Some("[redacted]"));
    assert_eq!(parsed["github"]["client_id"].as_str(), Some("Iv1.public-client-id"));
    assert_eq!(parsed["github"]["app"]["app_id"].as_integer(), Some(4242));
    assert_eq!(parsed["github"]["app"]["private_key"].as_str(), Some("[redacted]"));
    assert_eq!(parsed["review"]["anthropic"]["api_key"].as_str(), Some("[redacted]"));
    assert_eq!(parsed["review"]["openai"]["api_key"].as_str(), Some("[redacted]"));
}

#[test]
fn print_config_prints_every_setting_of_the_defaults_and_marks_unset_ones() {
    let settings = Settings::load(&ConfigSources::default()).unwrap();
    let printed: toml::Table = settings.to_redacted_toml().parse().unwrap();
    let defaults: toml::Table = EMBEDDED_DEFAULTS.parse().unwrap();
    let mut missing = Vec::new();
    missing_keys(&defaults, &printed, "", &mut missing);
    assert!(missing.is_empty(), "print-config leaves out {missing:?}");
    // Settings the defaults file does not set are printed too, as they are.
    assert_eq!(printed["security"]["secret_key"].as_str(), Some("[default]"));
    assert_eq!(printed["github"]["pat"].as_str(), Some(print::NOT_SET));
    assert_eq!(printed["github"]["app"].as_str(), Some(print::NOT_SET));
    assert_eq!(printed["review"]["fallback"].as_str(), Some(print::NOT_SET));
    assert_eq!(printed["review"]["openai"]["base_url"].as_str(), Some(print::NOT_SET));
    assert!(
        printed["github"]["user_agent"].as_str().is_some_and(|agent| agent.starts_with("nectr/"))
    );
    // Printed values read back as the same settings (secrets aside).
    assert_eq!(printed["review"]["prices"], defaults["review"]["prices"]);
    assert_eq!(printed["workers"], defaults["workers"]);
}

/// Every key path of `expected` that `actual` lacks, as `section.key`.
fn missing_keys(
    expected: &toml::Table,
    actual: &toml::Table,
    prefix: &str,
    missing: &mut Vec<String>,
) {
    for (key, value) in expected {
        let path = format!("{prefix}{key}");
        match (value, actual.get(key)) {
            (_, None) => missing.push(path),
            (toml::Value::Table(inner), Some(toml::Value::Table(printed))) => {
                missing_keys(inner, printed, &format!("{path}."), missing);
            }
            (toml::Value::Table(_), Some(_)) => missing.push(format!("{path} (not a table)")),
            (_, Some(_)) => {}
        }
    }
}

#[test]
fn github_settings_come_from_the_originals_variables_and_empty_ones_mean_unset() {
    let settings = Settings::load(&sources(
        &[("GITHUB_PAT", ""), ("GITHUB_CLIENT_ID", "")],
        &[("GITHUB_API_URL", "https://ghe.example/api/v3"), ("GITHUB_WEBHOOK_SECRET", "whs")],
    ))
    .unwrap();
    assert_eq!(settings.github.api_url, "https://ghe.example/api/v3");
    assert_eq!(settings.github.web_url, "https://github.com");
    assert!(settings.github.pat.is_none());
    assert!(settings.github.client_id.is_none());
    assert_eq!(
        settings.github.webhook_secret.as_ref().map(ExposeSecret::expose_secret),
        Some("whs")
    );
    assert!(settings.github.app.is_none());
}

#[test]
fn session_settings_come_from_jwt_secret_and_cookies_are_secure_in_production() {
    let development = Settings::load(&sources(&[], &[("JWT_SECRET", "jwt-secret-value")])).unwrap();
    assert_eq!(
        development.security.jwt_secret.as_ref().map(ExposeSecret::expose_secret),
        Some("jwt-secret-value")
    );
    assert!(!development.secure_cookies());
    assert_eq!(development.security.cookie_same_site, CookieSameSite::Lax);
    assert_eq!(development.security.oauth_scopes, ["repo", "read:user", "user:email", "read:org"]);
    assert!(!development.to_redacted_toml().contains("jwt-secret-value"));
    let production = Settings::load(&sources(&[], &[("APP_ENV", "production")])).unwrap();
    assert!(production.secure_cookies());
    let configured = Settings::load(&sources(
        &[],
        &[
            ("APP_ENV", "production"),
            ("NECTR__SECURITY__COOKIE_SECURE", "false"),
            ("NECTR__SECURITY__COOKIE_SAME_SITE", "strict"),
        ],
    ))
    .unwrap();
    assert!(!configured.secure_cookies());
    assert_eq!(configured.security.cookie_same_site, CookieSameSite::Strict);
}

#[tokio::test]
async fn mem0_api_key_chooses_mem0_else_the_embedded_store() {
    let with_key = Settings::load(&sources(&[], &[("MEM0_API_KEY", "m0-secret-key")])).unwrap();
    assert!(!format!("{:?}", with_key.memory).contains("m0-secret-key"));
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        nectr_persistence::SeaOrmStore::connect(
            &nectr_persistence::DatabaseConfig::new(format!(
                "sqlite://{}",
                dir.path().join("memory.db").display()
            )),
            nectr_persistence::TokenCipher::new(&with_key.cipher_config()).unwrap(),
        )
        .await
        .unwrap(),
    );
    let chosen = crate::memory::memory_store(&with_key.memory, &store).unwrap();
    assert_eq!(chosen.name(), "mem0");
    let without = Settings::load(&sources(&[], &[])).unwrap();
    let chosen = crate::memory::memory_store(&without.memory, &store).unwrap();
    assert_eq!(chosen.name(), "embedded");
}
