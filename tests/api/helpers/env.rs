//! What `scripts/test` provides. Tests that need it fail with a message saying how to run
//! them, rather than skipping silently.

use std::path::PathBuf;

/// The shared moto server started by `scripts/test`.
pub fn sqs_endpoint() -> String {
    std::env::var("TEST_SQS_ENDPOINT").unwrap_or_else(|_| {
        panic!("TEST_SQS_ENDPOINT is not set: run the suite with scripts/test, which starts moto")
    })
}

/// The virtualenv holding moto_server, boto3 and openapi-spec-validator.
pub fn venv() -> PathBuf {
    PathBuf::from(std::env::var("TEST_VENV").unwrap_or_else(|_| {
        panic!(
            "TEST_VENV is not set: run the suite with scripts/test, which installs the Python tools"
        )
    }))
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
