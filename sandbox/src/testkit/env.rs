//! What `scripts/test` provides. Tests that need it fail with a message saying how to run
//! them, rather than skipping silently.

use std::path::PathBuf;

/// The shared moto server started by `scripts/test`.
pub fn sqs_endpoint() -> String {
    std::env::var("TEST_SQS_ENDPOINT").unwrap_or_else(|_| {
        panic!("TEST_SQS_ENDPOINT is not set: run the suite with scripts/test, which starts moto")
    })
}

/// The virtualenv holding moto_server, boto3 and openapi-spec-validator: `TEST_VENV`, or the
/// repository's `.venv` that `scripts/test` installs (benchmarks run without the script).
pub fn venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("TEST_VENV") {
        return PathBuf::from(venv);
    }
    let default = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv"));
    assert!(
        default.exists(),
        "TEST_VENV is not set and {} does not exist: run scripts/test once, which installs the Python tools",
        default.display()
    );
    default
}

/// A program from the virtualenv's bin directory.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: rerun scripts/test",
        path.display()
    );
    path
}
