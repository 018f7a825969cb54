//! Finds a key repeated within one JSON object, anywhere in a document. serde_json keeps the
//! last of repeated keys when it reads a `Value` but refuses them when it reads a struct, so
//! a body with one could pass the door and then be unreadable by the worker: such a body is
//! refused up front instead, naming the key.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The path (`callData.metaData.id`) of the first key repeated in its object, if any.
pub fn first_repeated(json: &str) -> Result<Option<String>, serde_json::Error> {
    let mut path = Vec::new();
    let mut repeated = None;
    let scan = Scan {
        path: &mut path,
        repeated: &mut repeated,
    };
    let mut deserializer = serde_json::Deserializer::from_str(json);
    scan.deserialize(&mut deserializer)?;
    Ok(repeated)
}

/// Walks one value, with the path leading to it.
struct Scan<'a> {
    path: &'a mut Vec<String>,
    repeated: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.repeated.is_some() {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            self.path.push(key.clone());
            if !seen.insert(key) {
                *self.repeated = Some(self.path.join("."));
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(Scan {
                    path: self.path,
                    repeated: self.repeated,
                })?;
            }
            self.path.pop();
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            self.path.push(format!("[{index}]"));
            let next = seq.next_element_seed(Scan {
                path: self.path,
                repeated: self.repeated,
            })?;
            self.path.pop();
            if next.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_repeated;

    fn repeated(json: &str) -> Option<String> {
        first_repeated(json).expect("valid JSON")
    }

    #[test]
    fn a_repeated_key_is_named_by_its_path() {
        assert_eq!(
            repeated(r#"{"callData": {"metaData": {"id": "7", "id": "8"}}}"#).as_deref(),
            Some("callData.metaData.id")
        );
        assert_eq!(
            repeated(r#"{"a": [{"x": 1}, {"y": 1, "y": 2}]}"#).as_deref(),
            Some("a.[1].y")
        );
        assert_eq!(
            repeated(r#"{"isTest": true, "isTest": false}"#).as_deref(),
            Some("isTest")
        );
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        assert_eq!(
            repeated(r#"{"a": {"id": 1}, "b": {"id": 1}, "id": [1, {"id": 2}]}"#),
            None
        );
        assert_eq!(repeated("[]"), None);
        assert_eq!(repeated(r#""text""#), None);
    }
}
