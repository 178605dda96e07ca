//! The Prometheus text format read back: each metric name with the label sets of its samples.

use std::collections::HashMap;

/// Samples on `/metrics`: name → the label sets of its samples.
pub fn exposition(text: &str) -> HashMap<String, Vec<HashMap<String, String>>> {
    let mut samples: HashMap<String, Vec<HashMap<String, String>>> = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let mut labels = HashMap::new();
        if line[name_end..].starts_with('{') {
            let mut rest = &line[name_end + 1..];
            while let Some((label, after)) = rest.split_once("=\"") {
                let mut value = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next().expect("a closed label value") {
                        (i, '"') => break i,
                        (_, '\\') => value.push(match chars.next().unwrap().1 {
                            'n' => '\n',
                            c => c,
                        }),
                        (_, c) => value.push(c),
                    }
                };
                labels.insert(label.trim_start_matches(',').to_owned(), value);
                rest = &after[end + 1..];
                if rest.starts_with('}') {
                    break;
                }
            }
        }
        samples.entry(line[..name_end].to_owned()).or_default().push(labels);
    }
    samples
}
