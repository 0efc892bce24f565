//! What one look-up found: nothing, one match, or several. Several is not guessed between:
//! `ensure` refuses it with the ids, `plan` shows it, teardown deletes every one of them.

use vikunja_core::{Error, Result};

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Seen<T> {
    #[default]
    Absent,
    Found(T),
    /// More than one match answers to the same tags and name.
    Many(Vec<T>),
}

impl<T> Seen<T> {
    pub fn from_matches(mut matches: Vec<T>) -> Self {
        match matches.len() {
            0 => Seen::Absent,
            1 => Seen::Found(matches.remove(0)),
            _ => Seen::Many(matches),
        }
    }

    pub fn found(&self) -> Option<&T> {
        match self {
            Seen::Found(value) => Some(value),
            _ => None,
        }
    }

    /// Every match, however many.
    pub fn all(&self) -> Vec<&T> {
        match self {
            Seen::Absent => Vec::new(),
            Seen::Found(value) => vec![value],
            Seen::Many(values) => values.iter().collect(),
        }
    }

    pub fn count(&self) -> usize {
        self.all().len()
    }
}

impl<T: Identified> Seen<T> {
    /// At most one, or a conflict naming every match: two VPCs tagged for one stack mean
    /// someone else made one, and guessing would be worse than stopping.
    pub fn at_most_one(&self, what: &str) -> Result<Option<&T>> {
        match self {
            Seen::Absent => Ok(None),
            Seen::Found(value) => Ok(Some(value)),
            Seen::Many(values) => Err(Error::conflict(format!(
                "found {} {what} ({}); expected at most one: delete or untag the ones that are not this stack's",
                values.len(),
                values.iter().map(|v| v.id()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

/// At most one of `items`, or the same conflict as [`Seen::at_most_one`], for types that are
/// not [`Identified`] (another crate's).
pub fn at_most_one_by<T>(
    mut items: Vec<T>,
    id: impl Fn(&T) -> &str,
    what: &str,
) -> Result<Option<T>> {
    if items.len() > 1 {
        return Err(Error::conflict(format!(
            "found {} {what} ({}); expected at most one: delete or untag the ones that are not this stack's",
            items.len(),
            items.iter().map(&id).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(items.pop())
}

/// A look-up by name whose "not found" is an answer: `None`.
pub fn absent_if_not_found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is(vikunja_core::ErrorClass::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What one delete did. A delete of what is already gone succeeds; the caller can still
/// tell the two apart (teardown reports only what it deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Deleted,
    AlreadyGone,
}

/// A delete's answer, "not found" being [`Outcome::AlreadyGone`].
pub fn delete_outcome<T>(result: Result<T>) -> Result<Outcome> {
    Ok(match absent_if_not_found(result)? {
        Some(_) => Outcome::Deleted,
        None => Outcome::AlreadyGone,
    })
}

/// A resource that has an id AWS gave it.
pub trait Identified {
    fn id(&self) -> &str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing(&'static str);
    impl Identified for Thing {
        fn id(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn several_matches_are_refused_with_their_ids() {
        let seen = Seen::from_matches(vec![Thing("vpc-1"), Thing("vpc-2")]);
        let error = seen
            .at_most_one("VPCs tagged for v")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("found 2 VPCs tagged for v (vpc-1, vpc-2)"),
            "{error}"
        );
        assert!(Seen::<Thing>::from_matches(vec![])
            .at_most_one("x")
            .unwrap()
            .is_none());
        let one = Seen::from_matches(vec![Thing("vpc-1")]);
        assert_eq!(one.at_most_one("x").unwrap().map(|t| t.0), Some("vpc-1"));
    }
}
