//! A plan item: one resource, what `up` does with it and why. Every tier's diff produces
//! these from (spec, observed); `vikunja-aws plan` prints them, `up` applies the operations
//! the same diff produced, and each item names those operations in `actions`.

use std::fmt::Display;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `up` creates it.
    Create,
    /// `up` changes it in place: every difference is one `up` applies.
    Change,
    /// It differs in a way `up` will not change in place: AWS refuses it, `up` sets the
    /// field only when it creates the resource, or `up` stops there with an error.
    CannotChangeInPlace,
    /// Everything compared matches.
    Keep,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Change => "change",
            Action::CannotChangeInPlace => "cannot-change-in-place",
            Action::Keep => "keep",
        }
    }

    pub fn sign(self) -> char {
        match self {
            Action::Create => '+',
            Action::Change => '~',
            Action::CannotChangeInPlace => '!',
            Action::Keep => '=',
        }
    }
}

/// How `up` treats one difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// `up` changes it in place on its next run.
    InPlace,
    /// `up` leaves the resource as it is.
    UpLeavesIt,
    /// `up` stops with an error at this resource; later steps do not run.
    UpStops,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    pub field: String,
    pub current: String,
    pub desired: String,
    pub how: How,
    /// What the operator must do, when `up` will not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub action: Action,
    /// What `up` would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// The fields compared with the desired state; nothing else was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compared: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The operations `up` carries out for this item, in order, as `up` reports them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

impl Item {
    /// The first difference that stops `up`, as the error `up` stops with.
    pub fn stop(&self) -> Option<String> {
        let stop = self.differences.iter().find(|d| d.how == How::UpStops)?;
        let mut message = format!(
            "{} {} cannot change in place: {} is {}, wanted {}",
            self.kind, self.name, stop.field, stop.current, stop.desired
        );
        if let Some(fix) = &stop.fix {
            message.push_str(&format!(" ({fix})"));
        }
        Some(message)
    }
}

/// One change `up` (or `down`) makes, as `plan` lists it and the run reports it.
pub trait Operation {
    /// What the description needs besides the operation: the tier's spec or names.
    type Context;
    fn describe(&self, context: &Self::Context) -> String;
}

/// A tier's plan: the items `plan` prints and the operations `up` carries out, made
/// together so that each item names its operations.
#[derive(Debug, Clone)]
pub struct Plan<Op> {
    pub items: Vec<Item>,
    pub ops: Vec<Op>,
}

impl<Op> Default for Plan<Op> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            ops: Vec::new(),
        }
    }
}

impl<Op: Operation> Plan<Op> {
    pub fn push(&mut self, mut item: Item, ops: Vec<Op>, context: &Op::Context) {
        item.actions = ops.iter().map(|op| op.describe(context)).collect();
        self.items.push(item);
        self.ops.extend(ops);
    }

    /// Why `up` stops at this tier, if it does: nothing is applied then.
    pub fn stop(&self) -> Option<String> {
        self.items.iter().find_map(Item::stop)
    }

    /// The plan, if `up` may carry it out; else the error `up` stops with.
    pub fn runnable(&self) -> vikunja_core::Result<&Self> {
        match self.stop() {
            Some(stop) => Err(vikunja_core::Error::conflict(stop)),
            None => Ok(self),
        }
    }
}

/// What a value will be once `up` has created the thing it names.
pub fn new(what: &str) -> String {
    format!("(the new {what})")
}

/// Builds one item: each comparison is recorded as compared, each difference with how `up`
/// treats it.
pub struct Check {
    pub item: Item,
}

impl Check {
    pub fn existing(kind: &'static str, name: impl Into<String>, id: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            item: Item {
                kind,
                name: name.into(),
                id: (!id.is_empty()).then_some(id),
                action: Action::Keep,
                detail: None,
                differences: Vec::new(),
                compared: Vec::new(),
                notes: Vec::new(),
                actions: Vec::new(),
            },
        }
    }

    pub fn compare(
        &mut self,
        field: impl Into<String>,
        current: impl Display,
        desired: impl Display,
        how: How,
        fix: Option<String>,
    ) {
        let field = field.into();
        let (current, desired) = (current.to_string(), desired.to_string());
        self.compared(field.clone());
        if current != desired {
            self.differ(field, current, desired, how, fix);
        }
    }

    pub fn compared(&mut self, field: impl Into<String>) {
        let field = field.into();
        if !self.item.compared.contains(&field) {
            self.item.compared.push(field);
        }
    }

    pub fn differ(
        &mut self,
        field: impl Into<String>,
        current: impl Display,
        desired: impl Display,
        how: How,
        fix: Option<String>,
    ) {
        self.item.differences.push(Difference {
            field: field.into(),
            current: current.to_string(),
            desired: desired.to_string(),
            how,
            fix,
        });
    }

    /// The stack's tag: something else under the stack's name stops `up`, which never
    /// adopts what it cannot tell is the stack's.
    pub fn owner(&mut self, ours: bool, stack: &str, fix: String) {
        let current = if ours { stack } else { "(not this stack's)" };
        let field = format!("tag {}", vikunja_core::tags::STACK);
        self.compare(field, current, stack, How::UpStops, Some(fix));
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.item.notes.push(note.into());
    }

    pub fn done(mut self) -> Item {
        let hows: Vec<How> = self.item.differences.iter().map(|d| d.how).collect();
        self.item.action = if hows.iter().any(|h| *h != How::InPlace) {
            Action::CannotChangeInPlace
        } else if hows.is_empty() {
            Action::Keep
        } else {
            Action::Change
        };
        self.item
    }
}

pub fn create(kind: &'static str, name: impl Into<String>, detail: Option<String>) -> Item {
    let mut item = Check::existing(kind, name, "").item;
    item.action = Action::Create;
    item.detail = detail;
    item
}

/// Several resources answer to one name or tag: `up` refuses to guess.
pub fn ambiguous(kind: &'static str, name: impl Into<String>, ids: &[&str], what: &str) -> Item {
    let count = ids.len();
    let mut check = Check::existing(kind, name, "");
    check.differ(
        "matches",
        format!("{count} {what} ({})", ids.join(", ")),
        "one",
        How::UpStops,
        Some(format!(
            "up refuses to choose between {count} {what}: delete or untag the ones that are not this stack's"
        )),
    );
    check.done()
}
