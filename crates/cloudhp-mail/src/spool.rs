//! The embedded mail transport: each message becomes one `.eml` file in a spool folder.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::{MailError, OutgoingMail, Transport};

/// Writes messages as `<key>.eml` files. A redelivery of the same notification rewrites the same
/// file, so the spool holds one file per notification whatever the retries.
#[derive(Clone, Debug)]
pub struct SpoolTransport {
    dir: PathBuf,
}

impl SpoolTransport {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, source: std::io::Error) -> MailError {
        MailError::Spool {
            path: self.dir.clone(),
            source,
        }
    }
}

#[async_trait]
impl Transport for SpoolTransport {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| self.err(e))?;
        // Write aside, then rename: a reader of the spool never sees half a message.
        let tmp = self.dir.join(format!(".{}.tmp", mail.key));
        let path = self.dir.join(format!("{}.eml", mail.key));
        tokio::fs::write(&tmp, mail.formatted())
            .await
            .map_err(|e| self.err(e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| self.err(e))?;
        tracing::debug!(path = %path.display(), message_id = %mail.message_id, "mail spooled");
        Ok(())
    }

    async fn ready(&self) -> Result<(), MailError> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| self.err(e))
    }

    fn describe(&self) -> String {
        format!("spool folder {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{notice, settings};
    use crate::winner_mail;

    #[tokio::test]
    async fn spool_holds_one_file_per_notification_whatever_the_retries() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolTransport::new(dir.path().join("mail"));
        let mail = winner_mail(&settings(), 1, &notice()).unwrap();
        spool.send(&mail).await.unwrap();
        spool.send(&mail).await.unwrap();
        let other = winner_mail(&settings(), 2, &notice()).unwrap();
        spool.send(&other).await.unwrap();
        let mut names: Vec<String> = std::fs::read_dir(spool.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec!["winner-42-1.eml", "winner-42-2.eml"]);
        let text = std::fs::read_to_string(spool.dir().join("winner-42-1.eml")).unwrap();
        assert!(text.contains("Message-ID: <winner-42-1@shop.example>"));
    }

    #[tokio::test]
    async fn an_unwritable_spool_is_an_error_naming_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let spool = SpoolTransport::new(&file);
        let err = spool
            .send(&winner_mail(&settings(), 1, &notice()).unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not-a-dir"));
        assert!(spool.ready().await.is_err());
    }
}
