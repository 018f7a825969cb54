//! From a call and one rule to the competitor names to write, each with where it came from,
//! how often, who said it and the canonical name chosen; and the phrases left out, with why.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::call::{Affiliation, Call, Phrase};
use super::names::{name_key, CompetitorList, UnknownNames};
use super::rules::{MentionedBy, NameSource, Rule};

/// Why one name is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameEvidence {
    /// The name written (the competitor list's canonical name, or Gong's spelling).
    pub name: String,
    /// How the call had it: tracker phrases, or the transcript's words.
    pub heard_as: Vec<String>,
    pub source: NameSource,
    /// How many times it was heard (among the mentions that count).
    pub mentions: u32,
    /// The sides of the speakers whose mentions count; empty when the speaker is unknown.
    pub said_by: Vec<Affiliation>,
}

impl NameEvidence {
    /// One line for people: `Chorus ← tracker: "chorus.ai", "Chorus" (3×, the customer)`;
    /// without the side when the speakers were not asked for.
    pub fn describe(&self) -> String {
        let source = match self.source {
            NameSource::Tracker => "tracker",
            NameSource::Transcript => "transcript",
        };
        let heard: Vec<String> = self.heard_as.iter().map(|h| format!("\"{h}\"")).collect();
        let sides: Vec<&str> = self.said_by.iter().map(|s| side_name(*s)).collect();
        let said_by = if sides.is_empty() {
            String::new()
        } else {
            format!(", {}", sides.join(", "))
        };
        format!(
            "{} ← {source}: {} ({}×{said_by})",
            self.name,
            heard.join(", "),
            self.mentions
        )
    }
}

/// A phrase left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedName {
    pub phrase: String,
    pub reason: String,
}

impl fmt::Display for DroppedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.phrase, self.reason)
    }
}

/// What one rule takes from a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleNames {
    pub evidence: Vec<NameEvidence>,
    pub dropped: Vec<DroppedName>,
    /// Set when the rule wants one side's mentions but the speakers could not be checked.
    pub speaker_note: Option<String>,
}

impl RuleNames {
    /// The names to write, in the order heard.
    pub fn names(&self) -> Vec<String> {
        self.evidence.iter().map(|e| e.name.clone()).collect()
    }

    /// Adds a mention, merged with earlier ones of the same name (by `same`).
    fn add(&mut self, mention: Mention<'_>, same: fn(&str) -> String) {
        let Mention {
            name,
            heard_as,
            source,
            count: mentions,
            sides,
        } = mention;
        let key = same(name);
        let index = match self.evidence.iter().position(|e| same(&e.name) == key) {
            Some(index) => index,
            None => {
                self.evidence.push(NameEvidence {
                    name: name.trim().to_owned(),
                    heard_as: Vec::new(),
                    source,
                    mentions: 0,
                    said_by: Vec::new(),
                });
                self.evidence.len() - 1
            }
        };
        let evidence = &mut self.evidence[index];
        evidence.mentions += mentions;
        if !evidence.heard_as.iter().any(|h| h == heard_as) {
            evidence.heard_as.push(heard_as.to_owned());
        }
        for side in sides {
            if !evidence.said_by.contains(&side) {
                evidence.said_by.push(side);
            }
        }
    }

    fn drop(&mut self, phrase: &str, reason: String) {
        let dropped = DroppedName {
            phrase: phrase.to_owned(),
            reason,
        };
        if !self.dropped.contains(&dropped) {
            self.dropped.push(dropped);
        }
    }
}

/// One or more mentions of a name.
struct Mention<'a> {
    name: &'a str,
    heard_as: &'a str,
    source: NameSource,
    count: u32,
    sides: Vec<Affiliation>,
}

/// Without a competitor list, names are told apart as before: trimmed, any case.
fn same_spelling(name: &str) -> String {
    name.trim().to_lowercase()
}

fn wanted_side(mentioned_by: MentionedBy) -> Option<Affiliation> {
    match mentioned_by {
        MentionedBy::Anyone => None,
        MentionedBy::Customer => Some(Affiliation::External),
        MentionedBy::Company => Some(Affiliation::Internal),
    }
}

fn side_name(side: Affiliation) -> &'static str {
    match side {
        Affiliation::External => "the customer",
        Affiliation::Internal => "the company",
        Affiliation::Unknown => "an unknown speaker",
    }
}

/// The names `rule` takes from `call`, with the competitor list's canonical names.
pub fn rule_names(call: &Call, rule: &Rule, list: &CompetitorList) -> RuleNames {
    match rule.source {
        NameSource::Tracker => tracker_names(call, rule, list),
        NameSource::Transcript => transcript_names(call, rule, list),
    }
}

fn tracker_names(call: &Call, rule: &Rule, list: &CompetitorList) -> RuleNames {
    let wanted = rule.tracker.trim();
    let phrases: Vec<&Phrase> = call
        .trackers
        .iter()
        .filter(|tracker| tracker.name.trim().eq_ignore_ascii_case(wanted))
        .flat_map(|tracker| &tracker.phrases)
        .filter(|phrase| !phrase.text.trim().is_empty())
        .collect();
    let side = wanted_side(rule.mentioned_by);
    let mut names = RuleNames::default();
    // Gong has occurrences only for calls since 2023 and for trackers that do not list each
    // term separately: without any, the speaker cannot be checked and every phrase counts.
    let checkable = phrases.iter().any(|p| !p.speaker_ids.is_empty());
    if side.is_some() && !checkable && !phrases.is_empty() {
        names.speaker_note = Some(format!(
            "the speaker could not be checked: Gong sent no occurrences for tracker \"{wanted}\"; every phrase counts"
        ));
    }
    let same = if list.is_empty() {
        same_spelling
    } else {
        name_key
    };
    for phrase in phrases {
        let text = phrase.text.trim();
        let sides: Vec<Affiliation> = phrase
            .speaker_ids
            .iter()
            .map(|id| call.side_of(id))
            .collect();
        let (count, sides) = match (side, checkable) {
            (Some(side), true) => {
                let by_side = sides.iter().filter(|&&spoke| spoke == side).count();
                if by_side == 0 {
                    let speakers = dedup(sides.iter().map(|s| side_name(*s)).collect());
                    let reason = format!(
                        "not said by {} (said by {})",
                        side_name(side),
                        speakers.join(", ")
                    );
                    names.drop(text, reason);
                    continue;
                }
                (u32::try_from(by_side).unwrap_or(u32::MAX), vec![side])
            }
            _ => (phrase.count.max(1), sides),
        };
        let name = match list.canonical(text) {
            Some(name) => name.to_owned(),
            None if list.is_empty() || list.unknown == UnknownNames::Keep => text.to_owned(),
            None => {
                let reason = "not in sync.competitors (sync.unknown_names = \"drop\")";
                names.drop(text, reason.into());
                continue;
            }
        };
        let mention = Mention {
            name: &name,
            heard_as: text,
            source: NameSource::Tracker,
            count,
            sides,
        };
        names.add(mention, same);
    }
    names
}

fn transcript_names(call: &Call, rule: &Rule, list: &CompetitorList) -> RuleNames {
    let mut names = RuleNames::default();
    let Some(sentences) = &call.transcript else {
        names.speaker_note = Some("Gong has no transcript for this call".into());
        return names;
    };
    let side = wanted_side(rule.mentioned_by);
    for sentence in sentences {
        let speaker = call.side_of(&sentence.speaker_id);
        for found in list.find_in(&sentence.text) {
            if let Some(side) = side.filter(|side| *side != speaker) {
                let reason = format!("said by {}, not {}", side_name(speaker), side_name(side));
                names.drop(&found.heard_as, reason);
                continue;
            }
            let mention = Mention {
                name: found.name,
                heard_as: &found.heard_as,
                source: NameSource::Transcript,
                count: 1,
                sides: vec![speaker],
            };
            names.add(mention, name_key);
        }
    }
    names
}

fn dedup(items: Vec<&str>) -> Vec<&str> {
    let mut unique = Vec::new();
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::call::{Party, Sentence, Tracker};
    use crate::sync::names::list_of as list;

    const REP: &str = "6432345678555530067";
    const BUYER: &str = "8432345678555530067";

    /// Parties as Gong's OpenAPI example shapes them: a speaker id and an affiliation.
    fn call(phrases: Vec<Phrase>) -> Call {
        Call {
            trackers: vec![Tracker {
                name: "Competitors".into(),
                phrases,
            }],
            parties: vec![
                Party {
                    speaker_id: REP.into(),
                    affiliation: Affiliation::Internal,
                },
                Party {
                    speaker_id: BUYER.into(),
                    affiliation: Affiliation::External,
                },
            ],
            ..Call::default()
        }
    }

    fn said(text: &str, speakers: &[&str]) -> Phrase {
        Phrase {
            text: text.into(),
            count: u32::try_from(speakers.len()).unwrap_or(0),
            speaker_ids: speakers.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn rule(mentioned_by: MentionedBy) -> Rule {
        Rule {
            mentioned_by,
            ..Rule::default()
        }
    }

    #[test]
    fn without_a_list_phrases_are_written_as_before() {
        let phrases = [
            " Clari",
            "Chorus",
            "clari",
            "",
            "CHORUS",
            "Outreach",
            "chorus.ai",
        ];
        let call = call(phrases.iter().map(|p| Phrase::heard(p)).collect());
        let names = rule_names(&call, &Rule::default(), &CompetitorList::default());
        assert_eq!(names.names(), ["Clari", "Chorus", "Outreach", "chorus.ai"]);
        assert!(names.dropped.is_empty() && names.speaker_note.is_none());
        assert_eq!(names.evidence[0].heard_as, ["Clari", "clari"]);
        assert_eq!(names.evidence[0].mentions, 2);
    }

    #[test]
    fn aliases_become_one_canonical_name_and_unknown_ones_follow_the_setting() {
        let phrases = ["chorus.ai", "Chorus", "Zoom Info", "Wingman"];
        let call = call(phrases.iter().map(|p| Phrase::heard(p)).collect());
        let entries: &[(&str, &[&str])] = &[("Chorus", &["chorus.ai"]), ("ZoomInfo", &[])];
        let kept = rule_names(&call, &Rule::default(), &list(entries, UnknownNames::Keep));
        assert_eq!(kept.names(), ["Chorus", "ZoomInfo", "Wingman"]);
        assert_eq!(kept.evidence[0].heard_as, ["chorus.ai", "Chorus"]);
        let dropped = rule_names(&call, &Rule::default(), &list(entries, UnknownNames::Drop));
        assert_eq!(dropped.names(), ["Chorus", "ZoomInfo"]);
        assert_eq!(dropped.dropped[0].phrase, "Wingman");
        assert!(dropped.dropped[0]
            .reason
            .contains("not in sync.competitors"));
    }

    #[test]
    fn only_the_wanted_side_counts_when_gong_says_who_spoke() {
        let call = call(vec![
            said("Clari", &[BUYER, REP]),
            said("Gong", &[REP, REP]),
            said("Chorus", &["5550000000000000000"]),
        ]);
        let customer = rule_names(
            &call,
            &rule(MentionedBy::Customer),
            &CompetitorList::default(),
        );
        assert_eq!(customer.names(), ["Clari"]);
        assert_eq!(customer.evidence[0].mentions, 1);
        assert_eq!(customer.evidence[0].said_by, [Affiliation::External]);
        let reasons: Vec<(&str, &str)> = customer
            .dropped
            .iter()
            .map(|d| (d.phrase.as_str(), d.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("Gong", "not said by the customer (said by the company)"),
                (
                    "Chorus",
                    "not said by the customer (said by an unknown speaker)"
                )
            ]
        );
        let company = rule_names(
            &call,
            &rule(MentionedBy::Company),
            &CompetitorList::default(),
        );
        assert_eq!(company.names(), ["Clari", "Gong"]);
        let anyone = rule_names(
            &call,
            &rule(MentionedBy::Anyone),
            &CompetitorList::default(),
        );
        assert_eq!(anyone.names(), ["Clari", "Gong", "Chorus"]);
        assert_eq!(
            anyone.evidence[0].said_by,
            [Affiliation::External, Affiliation::Internal]
        );
    }

    #[test]
    fn evidence_reads_as_one_line() {
        let call = call(vec![
            said("chorus.ai", &[BUYER]),
            said("Chorus", &[BUYER, BUYER]),
        ]);
        let entries: &[(&str, &[&str])] = &[("Chorus", &["chorus.ai"])];
        let names = rule_names(
            &call,
            &rule(MentionedBy::Customer),
            &list(entries, UnknownNames::Keep),
        );
        assert_eq!(
            names.evidence[0].describe(),
            "Chorus ← tracker: \"chorus.ai\", \"Chorus\" (3×, the customer)"
        );
        let unchecked = rule_names(
            &self::call(vec![Phrase::heard("Clari")]),
            &Rule::default(),
            &CompetitorList::default(),
        );
        assert_eq!(
            unchecked.evidence[0].describe(),
            "Clari ← tracker: \"Clari\" (1×)"
        );
    }

    #[test]
    fn without_occurrences_the_speaker_is_not_checked_and_every_phrase_counts() {
        let call = call(vec![Phrase::heard("Clari"), Phrase::heard("Gong")]);
        let names = rule_names(
            &call,
            &rule(MentionedBy::Customer),
            &CompetitorList::default(),
        );
        assert_eq!(names.names(), ["Clari", "Gong"]);
        let note = names.speaker_note.expect("a note");
        assert!(note.contains("could not be checked"), "{note}");
    }

    #[test]
    fn a_transcript_is_searched_for_the_list_by_speaker() {
        let mut call = call(Vec::new());
        call.transcript = Some(vec![
            Sentence {
                speaker_id: REP.into(),
                text: "Unlike Gong, we keep it simple.".into(),
            },
            Sentence {
                speaker_id: BUYER.into(),
                text: "We are also looking at Clari and zoom info; the gongs are loud.".into(),
            },
        ]);
        let entries: &[(&str, &[&str])] = &[("Gong", &[]), ("Clari", &[]), ("ZoomInfo", &[])];
        let transcript_rule = Rule {
            source: NameSource::Transcript,
            mentioned_by: MentionedBy::Customer,
            ..Rule::default()
        };
        let names = rule_names(&call, &transcript_rule, &list(entries, UnknownNames::Keep));
        assert_eq!(names.names(), ["Clari", "ZoomInfo"]);
        assert_eq!(names.evidence[1].heard_as, ["zoom info"]);
        assert_eq!(names.evidence[0].source, NameSource::Transcript);
        assert_eq!(names.dropped[0].phrase, "Gong");
        let none = Call {
            transcript: None,
            ..call
        };
        let missing = rule_names(&none, &transcript_rule, &list(entries, UnknownNames::Keep));
        assert!(missing.names().is_empty());
        assert!(missing.speaker_note.is_some());
    }
}
