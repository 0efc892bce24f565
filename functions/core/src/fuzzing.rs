//! Inputs for the fuzz targets of the crates that read untrusted events (bolero, in each
//! crate's tests). Plain random bytes almost never get past a JSON parser, and random JSON
//! almost never has the keys an event needs, so the targets read their bytes through a
//! [`Shape`]: the event's own keys and string values, and real examples to mutate. No
//! dependency of its own; nothing outside tests calls it.

use serde_json::{Map, Number, Value};

use crate::Error;

/// Deepest container [`Shape::json`] builds (serde's limit, 128, is tested on its own).
const MAX_DEPTH: usize = 6;

/// What an event looks like: the keys and strings it uses, and well-formed examples.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    pub keys: Vec<String>,
    pub strings: Vec<String>,
    pub examples: Vec<Value>,
}

impl Shape {
    /// The keys and string values of `examples` (recursively), and the examples themselves.
    pub fn of(examples: &[Value]) -> Self {
        let mut shape = Self::default();
        for example in examples {
            shape.learn(example);
            shape.examples.push(example.clone());
        }
        shape
    }

    /// More keys than the examples show (optional fields).
    pub fn keys(mut self, keys: &[&str]) -> Self {
        self.keys.extend(keys.iter().map(|k| k.to_string()));
        self
    }

    /// More strings than the examples show (values a check looks for).
    pub fn strings(mut self, strings: &[&str]) -> Self {
        self.strings.extend(strings.iter().map(|s| s.to_string()));
        self
    }

    fn learn(&mut self, value: &Value) {
        match value {
            Value::String(s) if !self.strings.contains(s) => self.strings.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            Value::Object(map) => {
                for (key, v) in map {
                    if !self.keys.contains(key) {
                        self.keys.push(key.clone());
                    }
                    self.learn(v);
                }
            }
            _ => {}
        }
    }

    /// An event body steered by `data`: an example with a few mutations, a JSON value of
    /// the event's keys, either of them cut or spliced (broken JSON), or `data` itself.
    pub fn body(&self, data: &[u8]) -> Vec<u8> {
        let mut bytes = Bytes::new(data);
        match bytes.next() {
            0..=24 => bytes.rest().to_vec(),
            mode => {
                let value = if mode % 2 == 0 && !self.examples.is_empty() {
                    self.mutated(&mut bytes)
                } else {
                    self.json_at(&mut bytes, 0)
                };
                let mut text = serde_json::to_vec(&value).expect("a Value serializes");
                if mode >= 200 {
                    break_json(&mut text, &mut bytes);
                }
                text
            }
        }
    }

    /// An event as a value: a mutated example or a generated object of the event's keys.
    pub fn value(&self, data: &[u8]) -> Value {
        let mut bytes = Bytes::new(data);
        match bytes.next() % 3 {
            1 | 2 if !self.examples.is_empty() => self.mutated(&mut bytes),
            _ => self.json_at(&mut bytes, 0),
        }
    }

    /// A JSON value, an object most of the time, of this shape's keys and strings.
    pub fn json(&self, data: &[u8]) -> Value {
        self.json_at(&mut Bytes::new(data), 0)
    }

    fn mutated(&self, bytes: &mut Bytes) -> Value {
        let mut value = self.examples[bytes.next() as usize % self.examples.len()].clone();
        for _ in 0..1 + bytes.next() % 4 {
            if bytes.is_empty() {
                break;
            }
            self.mutate(&mut value, bytes, 0);
        }
        value
    }

    /// Walks down to one node (each byte picks a child or stops) and changes it.
    fn mutate(&self, value: &mut Value, bytes: &mut Bytes, depth: usize) {
        let choice = bytes.next();
        // A quarter of the bytes stop here; the rest go one level further down.
        let descend = !matches!(choice % 4, 0) && depth < MAX_DEPTH;
        match value {
            Value::Object(map) if descend && !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(bytes.next() as usize % map.len())
                    .cloned()
                    .expect("in range");
                if choice % 4 == 3 {
                    map.remove(&key); // a missing field
                } else {
                    self.mutate(map.get_mut(&key).expect("present"), bytes, depth + 1);
                }
            }
            Value::Array(items) if descend && !items.is_empty() => {
                let at = bytes.next() as usize % items.len();
                self.mutate(&mut items[at], bytes, depth + 1);
            }
            Value::Object(map) if choice % 8 == 4 => {
                let key = self.key(bytes); // an extra (or unknown) field
                map.insert(key, self.json_at(bytes, depth + 1));
            }
            _ => *value = self.json_at(bytes, depth),
        }
    }

    fn json_at(&self, bytes: &mut Bytes, depth: usize) -> Value {
        if bytes.is_empty() {
            return Value::Null;
        }
        let kinds = if depth >= MAX_DEPTH { 8 } else { 12 };
        let kind = if depth == 0 && !matches!(bytes.peek() % 8, 0) {
            10
        } else {
            bytes.next() % kinds
        };
        match kind {
            0 => Value::Null,
            1 => Value::Bool(bytes.next() & 1 == 1),
            2 => Value::from(bytes.next() as i64 - 128),
            3 => Value::from(i64::from_le_bytes(bytes.array())),
            4 => Value::from(u64::from_le_bytes(bytes.array())),
            5 => Number::from_f64(f64::from_le_bytes(bytes.array()))
                .map(Value::Number)
                .unwrap_or(Value::from(0.5)),
            6 | 7 => Value::String(self.string(bytes)),
            8 => {
                let n = bytes.next() % 5;
                Value::Array((0..n).map(|_| self.json_at(bytes, depth + 1)).collect())
            }
            _ => {
                let n = bytes.next() % 8;
                let mut map = Map::new();
                for _ in 0..n {
                    let key = self.key(bytes);
                    map.insert(key, self.json_at(bytes, depth + 1));
                }
                Value::Object(map)
            }
        }
    }

    fn key(&self, bytes: &mut Bytes) -> String {
        let pick = bytes.next();
        if pick < 224 && !self.keys.is_empty() {
            self.keys[pick as usize % self.keys.len()].clone()
        } else {
            bytes.text()
        }
    }

    fn string(&self, bytes: &mut Bytes) -> String {
        let pick = bytes.next();
        match pick {
            0..=159 if !self.strings.is_empty() => {
                self.strings[pick as usize % self.strings.len()].clone()
            }
            160..=199 if !self.strings.is_empty() => {
                // A known value with something after it: a near miss.
                let known = &self.strings[pick as usize % self.strings.len()];
                format!("{known}{}", bytes.text())
            }
            _ => bytes.text(),
        }
    }
}

/// Cuts the text short, or overwrites or inserts one byte: JSON that does not parse (or,
/// now and then, parses as something else).
fn break_json(text: &mut Vec<u8>, bytes: &mut Bytes) {
    let at = u16::from_le_bytes(bytes.array()) as usize % (text.len() + 1);
    match bytes.next() % 3 {
        0 => text.truncate(at),
        1 if at < text.len() => text[at] = bytes.next(),
        _ => text.insert(at, bytes.next()),
    }
}

/// `depth` unclosed containers: `[[[…`, `{"a":{"a":…` or a mix, what a recursive parser
/// overflows its stack on.
pub fn nested(depth: usize, kind: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 5);
    for level in 0..depth {
        let object = match kind % 3 {
            0 => false,
            1 => true,
            _ => level % 2 == 1,
        };
        out.extend_from_slice(if object { b"{\"a\":" } else { b"[" });
    }
    out
}

/// The error a malformed input must become: `InvalidInput`, with a message that says what.
#[track_caller]
pub fn assert_invalid_input(error: &Error, input: &dyn std::fmt::Debug) {
    assert_eq!(error.name(), "InvalidInput", "{error} for {input:?}");
    let message = error.to_string();
    let said = message.strip_prefix("invalid input: ").unwrap_or(&message);
    assert!(!said.trim().is_empty(), "an empty message for {input:?}");
}

/// The fuzzer's bytes, read front to back; zeros once they run out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    fn peek(&self) -> u8 {
        self.data.get(self.at).copied().unwrap_or(0)
    }

    fn next(&mut self) -> u8 {
        let byte = self.peek();
        self.at += 1;
        byte
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next())
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.at.min(self.data.len())..]
    }

    /// Up to 31 bytes as text (lossy: any bytes make a string).
    fn text(&mut self) -> String {
        let n = (self.next() % 32) as usize;
        let start = self.at.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.at = start + n;
        String::from_utf8_lossy(&self.data[start..end]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_learn_their_examples_and_make_every_kind_of_body() {
        let shape = Shape::of(&[json!({"settings": {"stack": "vikunja"}})]).keys(&["network"]);
        assert_eq!(shape.keys, ["settings", "stack", "network"]);
        assert_eq!(shape.strings, ["vikunja"]);
        let mut parsed = 0;
        let mut with_keys = 0;
        for seed in 0..2000u32 {
            let data: Vec<u8> = (0..64)
                .map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 40_503) >> 13) as u8)
                .collect();
            if let Ok(value) = serde_json::from_slice::<Value>(&shape.body(&data)) {
                parsed += 1;
                with_keys += usize::from(value.get("settings").is_some());
            }
            shape.value(&data);
        }
        assert!(parsed > 1000 && parsed < 2000, "{parsed}");
        assert!(with_keys > 300, "{with_keys}");
        assert_eq!(nested(3, 0), b"[[[");
        assert_eq!(nested(2, 2), b"[{\"a\":");
    }
}
