//! The core's modules depend one way (model → ports/protocol → logic → actors → root): no
//! file reaches a module that reaches back. Read from the sources, so a new `use` that makes a
//! cycle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules each top-level module refers to (`crate::x`), from its file and its
/// submodules' files.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut visit = vec![src.clone()];
    while let Some(dir) = visit.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let module = relative.components().next().unwrap().as_os_str().to_string_lossy().replace(".rs", "");
            if module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Tests may reach anywhere.
            let code = text.split("#[cfg(test)]").next().unwrap();
            let used = graph.entry(module.clone()).or_default();
            for part in code.split("crate::").skip(1) {
                let name: String = part.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && name != module {
                    used.insert(name);
                }
            }
            // `use crate::{a, b}` groups.
            for group in code.split("crate::{").skip(1) {
                for name in group.split('}').next().unwrap().split(',') {
                    let name: String = name.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != module {
                        used.insert(name);
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn the_core_has_no_import_cycle() {
    let graph = dependencies();
    assert!(graph.len() > 10, "read the modules: {graph:?}");
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = path.iter().position(|n| n == node) {
            panic!("import cycle: {} → {node}", path[at..].join(" → "));
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_model_depends_on_nothing_and_story_actors_do_not_know_the_wire() {
    let graph = dependencies();
    assert_eq!(graph["model"], BTreeSet::new(), "the model stands alone");
    for forbidden in ["protocol", "conversation", "conversation_supervisor", "root", "connection"] {
        assert!(!graph["story"].contains(forbidden), "the story actor reaches {forbidden}");
    }
    for forbidden in ["root", "conversation_supervisor"] {
        assert!(!graph["connection"].contains(forbidden), "the connection reaches {forbidden}");
        assert!(!graph["conversation"].contains(forbidden), "the conversation reaches {forbidden}");
    }
}
