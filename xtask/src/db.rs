//! `cargo xtask db`: a local PostgreSQL for development and for the PostgreSQL half of the tests.

use std::process::Command;

/// Starts PostgreSQL with `.ci/start-postgres.sh` (the script CI uses) and prints the
/// `TEST_DATABASE_URL` to export.
pub(crate) fn start() -> Result<(), String> {
    let output = Command::new("bash")
        .arg(crate::root().join(".ci/start-postgres.sh"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run .ci/start-postgres.sh: {error}"))?;
    if !output.status.success() {
        return Err("PostgreSQL did not start; with Docker, `docker compose up -d postgres` \
                    serves the same URL"
            .to_owned());
    }
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    eprintln!("PostgreSQL is ready. Run the tests against it with:");
    eprintln!("  export TEST_DATABASE_URL={url}");
    eprintln!("  cargo xtask test");
    Ok(())
}
