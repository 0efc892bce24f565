//! A create whose answer was lost — a 5xx or a dropped connection after the service had
//! done it — is retried by the SDK, and the retry meets the first attempt: "already
//! exists". So does a run that crashed between a create and recording it. What the finder
//! sees then is this stack's resource, and is adopted; anything else stays an error.

use std::future::Future;

use vikunja_core::{ErrorClass, Result};

/// `created`, or — when it failed with "already exists" — what `find` sees now. Still the
/// error when `find` sees nothing (the name is taken by something the finder does not
/// count as the stack's).
pub async fn created_or_found<T, Find, Found>(created: Result<T>, find: Find) -> Result<T>
where
    Find: FnOnce() -> Found,
    Found: Future<Output = Result<Option<T>>>,
{
    match created {
        Err(error) if error.is(ErrorClass::AlreadyExists) => {
            tracing::info!(%error, "create answered \"already exists\": adopting what is there");
            find().await?.ok_or(error)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vikunja_core::Error;

    fn already_exists() -> Error {
        Error::Aws {
            context: "create repository v/vikunja".into(),
            code: Some("RepositoryAlreadyExistsException".into()),
            message: "exists".into(),
            class: ErrorClass::AlreadyExists,
        }
    }

    #[tokio::test]
    async fn already_exists_adopts_what_the_finder_sees() {
        let adopted = created_or_found(Err(already_exists()), || async { Ok(Some(7)) }).await;
        assert_eq!(adopted.unwrap(), 7);
    }

    #[tokio::test]
    async fn already_exists_with_nothing_found_stays_the_error() {
        let result: Result<i32> =
            created_or_found(Err(already_exists()), || async { Ok(None) }).await;
        assert!(result.unwrap_err().is(ErrorClass::AlreadyExists));
    }

    #[tokio::test]
    async fn other_errors_never_look() {
        let other = Error::conflict("no");
        let result: Result<i32> = created_or_found(Err(other), || async {
            panic!("an error other than \"already exists\" must not adopt")
        })
        .await;
        assert!(result.is_err());
    }
}
