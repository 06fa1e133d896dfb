//! `ace-sync demo`, the README's first command, works on a machine with nothing configured.

use std::process::Command;

#[test]
fn the_demo_runs_on_embedded_defaults_and_succeeds() {
    let output = Command::new(env!("CARGO_BIN_EXE_ace-sync"))
        .arg("demo")
        // Nothing from the caller's environment may be needed.
        .env_clear()
        .output()
        .expect("run ace-sync demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.matches("← 200 Ack").count(), 2, "{stdout}");
    assert!(stdout.contains("← 403 SOAP fault"), "{stdout}");
    assert_eq!(
        stdout.matches("Opportunity 0065g00000QrSt").count(),
        3,
        "{stdout}"
    );
}
