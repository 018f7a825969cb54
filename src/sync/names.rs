//! Competitor names a team can trust: the competitor list (`[[sync.competitors]]`) maps the
//! ways a competitor is spelled to one canonical name, and finds its names as whole words in
//! transcript sentences.
//!
//! Names are compared by their *key*: letters and digits only, lower-cased (Unicode), so
//! `Zoom Info`, `zoominfo` and `ZoomInfo` are one name, and `chorus.ai` is `Chorus AI`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// One competitor: the name written, and the other ways it is spelled.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Competitor {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// What becomes of a tracker phrase that matches no competitor of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownNames {
    /// Written as Gong spelled it.
    #[default]
    Keep,
    /// Left out, and recorded in the plan.
    Drop,
}

/// The key names are compared by.
pub fn name_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The competitor list, ready for matching.
#[derive(Debug, Clone, Default)]
pub struct CompetitorList {
    /// Every name and alias, by key, to the index of its competitor.
    by_key: HashMap<String, usize>,
    names: Vec<String>,
    entries: Vec<Competitor>,
    pub unknown: UnknownNames,
    /// The longest key of any name or alias: how far a transcript match looks ahead.
    longest_key: usize,
}

/// A name found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// The canonical name.
    pub name: &'a str,
    /// The words as the text has them.
    pub heard_as: String,
}

impl CompetitorList {
    /// The list of `competitors`. Two entries that share a key are a configuration error,
    /// caught when the configuration is validated; here the first wins.
    pub fn new(competitors: &[Competitor], unknown: UnknownNames) -> Self {
        let mut list = Self {
            unknown,
            entries: competitors.to_vec(),
            ..Self::default()
        };
        for (index, competitor) in competitors.iter().enumerate() {
            list.names.push(competitor.name.trim().to_owned());
            for spelling in std::iter::once(&competitor.name).chain(&competitor.aliases) {
                let key = name_key(spelling);
                if key.is_empty() {
                    continue;
                }
                list.longest_key = list.longest_key.max(key.chars().count());
                list.by_key.entry(key).or_insert(index);
            }
        }
        list
    }

    /// The competitors as configured.
    pub fn entries(&self) -> &[Competitor] {
        &self.entries
    }

    /// Whether no competitor is listed: phrases are then written as Gong spelled them.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The canonical name of `phrase`, if the list knows it.
    pub fn canonical(&self, phrase: &str) -> Option<&str> {
        self.by_key
            .get(&name_key(phrase))
            .map(|&index| self.names[index].as_str())
    }

    /// `name` and, when it is a listed competitor's, every other spelling of that competitor.
    pub fn spellings<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        let entry = self
            .by_key
            .get(&name_key(name))
            .map(|&index| &self.entries[index]);
        std::iter::once(name).chain(entry.into_iter().flat_map(|competitor| {
            std::iter::once(competitor.name.as_str())
                .chain(competitor.aliases.iter().map(String::as_str))
        }))
    }

    /// Every mention of a listed competitor in `text`, as whole words, in order. At each word
    /// the longest name that starts there wins ("Outreach.io" over "Outreach"), and words
    /// may be split or joined ("Zoom Info" is "ZoomInfo"), but never cut: "Gongs" and
    /// "Hong Kong" do not name "Gong".
    pub fn find_in<'a>(&'a self, text: &str) -> Vec<Found<'a>> {
        let words: Vec<&str> = words(text).collect();
        let mut found = Vec::new();
        let mut start = 0;
        while start < words.len() {
            // The keys of the phrases starting here, one word longer each, while a name
            // that long exists.
            let mut key = String::new();
            let mut candidates = Vec::new();
            for (end, word) in words.iter().enumerate().skip(start) {
                key.push_str(&name_key(word));
                if key.chars().count() > self.longest_key {
                    break;
                }
                candidates.push((end + 1, key.clone()));
            }
            let hit = candidates
                .iter()
                .rev()
                .find_map(|(end, key)| self.by_key.get(key).map(|&index| (*end, index)));
            match hit {
                Some((end, index)) => {
                    found.push(Found {
                        name: &self.names[index],
                        heard_as: words[start..end].join(" "),
                    });
                    start = end;
                }
                None => start += 1,
            }
        }
        found
    }
}

/// The words of `text`: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// A list from `(name, aliases)` pairs, for the domain's tests.
#[cfg(test)]
pub(super) fn list_of(entries: &[(&str, &[&str])], unknown: UnknownNames) -> CompetitorList {
    let competitors: Vec<Competitor> = entries
        .iter()
        .map(|(name, aliases)| Competitor {
            name: (*name).to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        })
        .collect();
    CompetitorList::new(&competitors, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, &[&str])]) -> CompetitorList {
        list_of(entries, UnknownNames::Keep)
    }

    #[test]
    fn aliases_case_space_and_punctuation_lead_to_the_canonical_name() {
        let list = list(&[("Chorus", &["chorus.ai", "Chorus AI"]), ("ZoomInfo", &[])]);
        for phrase in ["chorus.ai", "Chorus", "CHORUS AI", "chorus-ai"] {
            assert_eq!(list.canonical(phrase), Some("Chorus"), "{phrase}");
        }
        for phrase in ["Zoom Info", "zoominfo", "ZoomInfo", "zoom-info"] {
            assert_eq!(list.canonical(phrase), Some("ZoomInfo"), "{phrase}");
        }
        assert_eq!(list.canonical("Clari"), None);
    }

    #[test]
    fn unicode_case_is_folded() {
        let list = list(&[("Größe", &[]), ("Ärzte Online", &[])]);
        assert_eq!(list.canonical("GRÖSSE"), None, "no ß/ss folding, only case");
        assert_eq!(list.canonical("größe"), Some("Größe"));
        assert_eq!(list.canonical("ÄRZTE-ONLINE"), Some("Ärzte Online"));
    }

    #[test]
    fn overlapping_names_each_keep_their_own() {
        let list = list(&[("Outreach", &[]), ("Outreach.io", &["outreach io"])]);
        assert_eq!(list.canonical("Outreach"), Some("Outreach"));
        assert_eq!(list.canonical("outreach.io"), Some("Outreach.io"));
        let found: Vec<&str> = list
            .find_in("We use Outreach.io today; outreach is what they call it.")
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(found, ["Outreach.io", "Outreach"]);
    }

    #[test]
    fn transcript_matches_are_whole_words() {
        let list = list(&[("Gong", &[]), ("ZoomInfo", &[]), ("Chorus", &["chorus.ai"])]);
        let names = |text: &str| -> Vec<String> {
            list.find_in(text)
                .iter()
                .map(|f| f.name.to_owned())
                .collect()
        };
        assert!(names("The gongs rang in Hong Kong").is_empty());
        assert!(names("Gongfu and hongkong").is_empty());
        assert_eq!(
            names("Honestly, Gong, and then gong again."),
            ["Gong", "Gong"]
        );
        assert_eq!(names("we pulled it from zoom info"), ["ZoomInfo"]);
        let found = list.find_in("They trialled Chorus.ai last year");
        assert_eq!(found[0].name, "Chorus");
        assert_eq!(found[0].heard_as, "Chorus ai");
    }
}
