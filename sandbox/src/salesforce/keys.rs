//! The connected app's RSA key pair: generated at start, and written to files so a client
//! configured by path (ace-sync's `private_key_path`) can sign its JWT assertions.

use std::path::{Path, PathBuf};

use ace_sync::secret::Secret;

use super::SimError;

/// The connected app's RSA key pair, PEM-encoded (PKCS#8 private key, SPKI public key).
#[derive(Clone)]
pub struct KeyPair {
    private_pem: Secret,
    public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair { private: [redacted], .. }")
    }
}

impl KeyPair {
    /// A fresh RSA 2048 key pair.
    pub fn generate() -> Result<KeyPair, SimError> {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| SimError::Key(e.to_string()))?;
        let private = key.as_der().map_err(|e| SimError::Key(e.to_string()))?;
        let public = key
            .public_key()
            .as_der()
            .map_err(|e| SimError::Key(e.to_string()))?;
        Ok(KeyPair {
            private_pem: Secret::new(pem::encode(&pem::Pem::new("PRIVATE KEY", private.as_ref()))),
            public_pem: pem::encode(&pem::Pem::new("PUBLIC KEY", public.as_ref())),
        })
    }

    pub fn private_pem(&self) -> &Secret {
        &self.private_pem
    }

    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

pub(super) fn write_key_files(keys: &KeyPair) -> Result<PathBuf, SimError> {
    let dir = std::env::temp_dir().join(format!("ace-sync-sf-sim-{:016x}", fastrand::u64(..)));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SimError::KeyFiles { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let private = dir.join("private_key.pem");
    std::fs::write(&private, keys.private_pem().expose()).map_err(io(&private))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600))
            .map_err(io(&private))?;
    }
    let public = dir.join("public_key.pem");
    std::fs::write(&public, keys.public_pem()).map_err(io(&public))?;
    Ok(dir)
}
