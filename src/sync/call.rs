//! A call as the domain sees it: the CRM records it is linked to, and what its trackers
//! heard. The Gong client turns Gong's wire format into this at its edge.

use std::time::Duration;

/// One call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Call {
    pub id: String,
    /// `External`, `Internal` or `Unknown`, as Gong classifies the call, when known.
    pub scope: Option<String>,
    /// How long the call lasted, when known.
    pub duration: Option<Duration>,
    /// Linked CRM records, per CRM system; empty when Gong knows none (or the webhook did
    /// not carry them).
    pub context: Vec<CrmContext>,
    pub trackers: Vec<Tracker>,
}

/// The records of one CRM system linked to a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmContext {
    pub system: String,
    pub objects: Vec<CrmObject>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmObject {
    pub object_type: String,
    pub object_id: String,
}

/// A tracker and the phrases it heard (keyword trackers; smart trackers hear none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracker {
    pub name: String,
    pub phrases: Vec<String>,
}
