//! The data dir holds personal data (names and e-mails in the database, the mail spool, the
//! prize pictures) and the link key: nobody but the service's own user may read it.

use std::path::Path;

/// Makes every file the process creates from now on private (umask 077), creates the data
/// dir 0700, and takes group and other permissions away from a data dir (and what it holds)
/// that an older version or a careless copy left readable.
pub fn private_data_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{:o}", mode & 0o777),
                "the data dir was readable by others; making it and its files private"
            );
            restrict(dir)?;
        }
        fn restrict(path: &Path) -> std::io::Result<()> {
            let meta = std::fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() {
                return Ok(());
            }
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            }
            if meta.is_dir() {
                for entry in std::fs::read_dir(path)? {
                    restrict(&entry?.path())?;
                }
            }
            Ok(())
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}
