//! The `ace-sync` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    eprintln!("ace-sync: the command line arrives with the ingress (issue 2)");
    std::process::ExitCode::FAILURE
}
