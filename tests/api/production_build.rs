//! The production build (the container image) contains no simulator and no demo.
//!
//! The build context is assembled from `deploy/Dockerfile`'s own `COPY` lines, filtered by
//! its `.dockerignore`, exactly as `docker build` would; Cargo then resolves the production
//! package in it. A dependency of the product on the sandbox crate, or a Dockerfile that
//! copied the sandbox's source, fails here.

use std::path::{Path, PathBuf};
use std::process::Command;

const SANDBOX_PACKAGE: &str = "ace-sync-sandbox";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `COPY <source> <destination>` lines of the build stage (not `COPY --from=…`).
fn copies(dockerfile: &str) -> Vec<(String, String)> {
    dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--"))
        .map(|args| {
            let words: Vec<&str> = args.split_whitespace().collect();
            let (destination, sources) = words.split_last().expect("COPY has arguments");
            sources
                .iter()
                .map(|source| (source.to_string(), destination.to_string()))
                .collect::<Vec<_>>()
        })
        .flat_map(|pairs| pairs.into_iter())
        .collect()
}

/// Whether `.dockerignore` (a deny-all `*` followed by `!path` exceptions) lets `path` in.
fn admitted(ignore: &str, path: &str) -> bool {
    let exceptions: Vec<&str> = ignore
        .lines()
        .filter_map(|line| line.trim().strip_prefix('!'))
        .collect();
    assert!(
        ignore.lines().any(|line| line.trim() == "*"),
        "the .dockerignore is expected to deny everything by default"
    );
    exceptions.iter().any(|exception| {
        let exception = exception.trim_end_matches('/');
        path == exception || path.starts_with(&format!("{exception}/"))
    })
}

fn copy_tree(from: &Path, to: &Path, relative: &str, ignore: &str) {
    if from.is_dir() {
        for entry in std::fs::read_dir(from).expect("read a directory of the context") {
            let entry = entry.expect("a directory entry");
            let name = entry.file_name().into_string().expect("a UTF-8 file name");
            copy_tree(
                &entry.path(),
                &to.join(&name),
                &format!("{relative}/{name}"),
                ignore,
            );
        }
    } else if admitted(ignore, relative) {
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("create a directory");
        std::fs::copy(from, to).expect("copy a file of the context");
    }
}

/// The files the image's build stage sees, in a fresh directory.
fn docker_build_context() -> PathBuf {
    let root = repository();
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).expect("Dockerfile");
    let ignore = std::fs::read_to_string(root.join("deploy/Dockerfile.dockerignore"))
        .expect("Dockerfile.dockerignore");
    let context =
        std::env::temp_dir().join(format!("ace-sync-image-context-{:016x}", fastrand::u64(..)));
    for (source, destination) in copies(&dockerfile) {
        // Docker's rules: a directory's contents go into the destination; a file goes into a
        // destination ending in `/` (or `.`) under its own name, or else to that path.
        let into_directory = destination.ends_with('/') || destination == ".";
        let destination = destination.trim_start_matches("./").trim_end_matches('/');
        let from = root.join(&source);
        let target = if from.is_file() && into_directory {
            let name = Path::new(&source).file_name().expect("a file name");
            context.join(destination).join(name)
        } else {
            context.join(destination)
        };
        copy_tree(&from, &target, &source, &ignore);
    }
    context
}

#[test]
fn the_image_build_context_holds_no_simulator_source() {
    let context = docker_build_context();
    assert!(
        context.join("Cargo.toml").exists() && context.join("src/lib.rs").exists(),
        "the context should hold the product crate: {}",
        context.display()
    );
    assert!(
        !context.join("sandbox/src").exists(),
        "the image's build context contains the sandbox's source"
    );
    std::fs::remove_dir_all(&context).ok();
}

#[test]
fn the_production_package_resolves_without_the_sandbox_crate() {
    let context = docker_build_context();
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "--package",
            "ace-sync",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(context.join("Cargo.toml"))
        .output()
        .expect("run cargo tree");
    std::fs::remove_dir_all(&context).ok();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo tree failed in the image's build context: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.lines().any(|line| line.starts_with("actix-web ")),
        "the tree should list the product's dependencies:\n{stdout}"
    );
    let offending: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with(SANDBOX_PACKAGE))
        .collect();
    assert!(
        offending.is_empty(),
        "the production build depends on the sandbox: {offending:?}"
    );
}

#[test]
fn the_image_builds_only_the_production_package() {
    let dockerfile =
        std::fs::read_to_string(repository().join("deploy/Dockerfile")).expect("Dockerfile");
    let build = dockerfile
        .lines()
        .find(|line| line.contains("cargo build"))
        .expect("the Dockerfile builds with cargo");
    assert!(
        build.contains("--package ace-sync ") && build.contains("--bin ace-sync"),
        "the image must build the production package and binary explicitly: {build}"
    );
}

#[test]
fn the_product_source_never_names_the_sandbox() {
    fn visit(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                visit(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs")
                && std::fs::read_to_string(&path)
                    .expect("read a source file")
                    .contains("ace_sync_sandbox")
            {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    visit(&repository().join("src"), &mut found);
    assert!(found.is_empty(), "product files use the sandbox: {found:?}");
}
