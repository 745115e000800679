//! The layer rule, checked over the source tree (issue 11): a module imports
//! only layers below it, the two front doors (`api`, `portal`) never import each
//! other, and nothing below `startup` imports it.
//!
//! ```text
//! startup                                  builds everything, mounts both doors
//! api | portal                             adapters: decode, call below, encode
//! app, mail, backup, demo, attempts, error what the product does
//! engine                                   per-license actors, registry, catalog
//! store                                    the Store trait and its backends
//! config, telemetry, metrics, crypto, private_files, csv_out   support
//! domain                                   pure rules, imports nothing of the crate
//! ```
//!
//! `KNOWN` lists allowed exceptions (none today); the test fails on a new upward
//! import, and on an entry that no longer happens (the list only shrinks).
//!
//! A second test keeps the front doors thin: no handler in `api` or `portal`
//! calls a `Store` method itself; it hands `state.store()` to an app function.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The layer of each top-level module (higher may import lower).
    fn rank(module: &str) -> Option<u8> {
        Some(match module {
            "domain" => 0,
            "config" | "telemetry" | "metrics" | "crypto" | "private_files" | "csv_out" => 1,
            "store" => 2,
            "engine" => 3,
            "app" | "mail" | "backup" | "demo" | "attempts" | "error" => 4,
            "api" | "portal" => 5,
            "startup" => 6,
            "layers" => 7,
            _ => return None,
        })
    }

    /// Upward imports still allowed, as "file -> module". Empty since issue 11's
    /// first step: keep it so (an entry here is a debt with a name).
    const KNOWN: &[&str] = &[];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every "file -> module" edge that breaks the rule.
    fn violations() -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&root.join("src"), &mut files);
        let mut out = BTreeSet::new();
        for f in files {
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let first = rel
                .trim_start_matches("src/")
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned();
            let Some(mine) = rank(&first) else { continue };
            let text = std::fs::read_to_string(&f).unwrap();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let m: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(
                        !part.starts_with('{'),
                        "{rel}: write `use crate::module::…` per module"
                    );
                    let Some(theirs) = rank(&m) else { continue };
                    let front_doors = first != m && mine == 5 && theirs == 5;
                    let support_in_domain = mine == 0 && m != "domain";
                    if theirs > mine || front_doors || support_in_domain {
                        out.insert(format!("{rel} -> {m}"));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn layers_import_only_downward() {
        let found = violations();
        let known: BTreeSet<String> = KNOWN.iter().map(|s| s.to_string()).collect();
        let new: Vec<&String> = found.difference(&known).collect();
        let gone: Vec<&String> = known.difference(&found).collect();
        assert!(
            new.is_empty(),
            "upward imports (see src/layers.rs for the layers): {new:#?}"
        );
        assert!(
            gone.is_empty(),
            "these no longer happen: remove them from KNOWN so they stay gone: {gone:#?}"
        );
    }

    /// Calls of a store method in `text`: `store().x(` or `store.x(` (whitespace
    /// and line breaks ignored), other than `as_ref`.
    fn store_calls(text: &str) -> Vec<String> {
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        let joined = lines.join(" ");
        let words: Vec<&str> = joined.split_whitespace().collect();
        // One space between words, none around a `.` (method chains over lines).
        let code = words.join(" ").replace(" .", ".").replace(". ", ".");
        let mut out = Vec::new();
        for pat in ["store().", "store."] {
            for (i, _) in code.match_indices(pat) {
                let before = code[..i].chars().last().unwrap_or(' ');
                if before.is_ascii_alphanumeric() || before == '_' {
                    continue;
                }
                let rest = &code[i + pat.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != "as_ref" && rest[name.len()..].starts_with('(') {
                    out.push(name);
                }
            }
        }
        out
    }

    #[test]
    fn front_doors_never_call_the_store() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&root.join("src/api"), &mut files);
        rust_files(&root.join("src/portal"), &mut files);
        let found: Vec<String> = files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                store_calls(&text)
                    .into_iter()
                    .map(move |m| format!("{} calls store.{m}", f.display()))
            })
            .collect();
        assert!(
            found.is_empty(),
            "handlers call an app function instead: {found:#?}"
        );
    }

    #[test]
    fn store_calls_are_found_across_lines() {
        let text = "let x = state\n    .store()\n    .get_customer(id);\nlet y = store.list_products(env);\n// store.ignored(x)\nf(state.store(), 1); restore.x(); state.store().as_ref();\nmatch store.get_secret(n)";
        assert_eq!(
            store_calls(text),
            vec!["get_customer", "list_products", "get_secret"]
        );
    }
}
