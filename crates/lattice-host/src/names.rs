//! Friendly host names: a random adjective-noun-number, as wasmCloud v1
//! hosts call themselves (e.g. `quiet-lake-4821`).

const ADJECTIVES: &[&str] = &[
    "autumn",
    "billowing",
    "bold",
    "calm",
    "cool",
    "crimson",
    "damp",
    "dawn",
    "delicate",
    "divine",
    "dry",
    "falling",
    "frosty",
    "gentle",
    "green",
    "hidden",
    "holy",
    "icy",
    "late",
    "lingering",
    "little",
    "lively",
    "long",
    "misty",
    "morning",
    "muddy",
    "nameless",
    "old",
    "patient",
    "polished",
    "proud",
    "purple",
    "quiet",
    "red",
    "restless",
    "rough",
    "shy",
    "silent",
    "small",
    "snowy",
    "solitary",
    "sparkling",
    "spring",
    "still",
    "summer",
    "twilight",
    "wandering",
    "weathered",
    "white",
    "wild",
    "winter",
    "wispy",
    "withered",
    "young",
];

const NOUNS: &[&str] = &[
    "bird",
    "breeze",
    "brook",
    "bush",
    "butterfly",
    "cherry",
    "cloud",
    "darkness",
    "dawn",
    "dew",
    "dream",
    "dust",
    "feather",
    "field",
    "fire",
    "firefly",
    "flower",
    "fog",
    "forest",
    "frog",
    "frost",
    "glade",
    "glitter",
    "grass",
    "haze",
    "hill",
    "lake",
    "leaf",
    "meadow",
    "moon",
    "morning",
    "mountain",
    "night",
    "paper",
    "pine",
    "pond",
    "rain",
    "resonance",
    "river",
    "sea",
    "shadow",
    "shape",
    "silence",
    "sky",
    "smoke",
    "snow",
    "sound",
    "star",
    "sun",
    "sunset",
    "surf",
    "thunder",
    "tree",
    "violet",
    "voice",
    "water",
    "waterfall",
    "wave",
    "wildflower",
    "wind",
];

/// A fresh friendly name.
pub(crate) fn friendly_name() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let pick = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let adjective = ADJECTIVES[pick(0) % ADJECTIVES.len()];
    let noun = NOUNS[pick(2) % NOUNS.len()];
    let number = pick(4) % 9000 + 1000;
    format!("{adjective}-{noun}-{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_names_have_three_parts() {
        let name = friendly_name();
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(parts.len(), 3, "{name}");
        assert!(ADJECTIVES.contains(&parts[0]));
        assert!(NOUNS.contains(&parts[1]));
        assert_eq!(parts[2].len(), 4);
    }
}
