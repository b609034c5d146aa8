//! Checks that the layers import only downward (ARCHITECTURE.md), by reading the sources.

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every `.rs` file under `src/<dir>`, with its text.
    fn sources(dir: &str) -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
        let mut out = Vec::new();
        for e in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
        assert!(!out.is_empty(), "no sources under {}", root.display());
        out
    }

    /// The sibling modules a file names through `super::` (`super::a::X`, `super::{a::X, b::Y}`).
    fn siblings_named(text: &str, modules: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("super::") {
            rest = &rest[i + "super::".len()..];
            let items: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                group.split('}').next().unwrap_or("").split(',').collect()
            } else {
                vec![rest]
            };
            for item in items {
                let name: String = item.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if modules.contains(&name) && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        out
    }

    #[test]
    fn the_viewers_plugin_files_form_no_import_circle() {
        let files = sources("app");
        let name = |f: &str| Path::new(f).file_stem().unwrap().to_string_lossy().to_string();
        let modules: Vec<String> = files.iter().map(|(f, _)| name(f)).filter(|m| m != "mod").collect();
        let edges: Vec<(String, Vec<String>)> = files
            .iter()
            .filter(|(f, _)| name(f) != "mod")
            .map(|(f, text)| (name(f), siblings_named(text, &modules)))
            .collect();
        // Depth-first search for a path back to where it started.
        fn reaches(from: &str, to: &str, edges: &[(String, Vec<String>)], seen: &mut Vec<String>) -> bool {
            let Some((_, next)) = edges.iter().find(|(m, _)| m == from) else { return false };
            for n in next {
                if n == to {
                    return true;
                }
                if !seen.contains(n) {
                    seen.push(n.clone());
                    if reaches(n, to, edges, seen) {
                        return true;
                    }
                }
            }
            false
        }
        for (m, _) in &edges {
            assert!(!reaches(m, m, &edges, &mut Vec::new()), "src/app/{m}.rs is part of an import circle: {edges:?}");
        }
    }

    #[test]
    fn the_domain_does_not_import_the_command_line() {
        // Every top-level module but cli.rs itself (and main.rs, which only calls it).
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for e in std::fs::read_dir(&root).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.extension().is_some_and(|x| x == "rs")
                && !["cli.rs", "main.rs", "layering.rs"].contains(&name.as_str())
            {
                files.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
            }
        }
        for dir in ["model", "sim", "recording", "live"] {
            files.extend(sources(dir));
        }
        for (file, text) in files {
            for (n, line) in text.lines().enumerate() {
                assert!(!line.contains("crate::cli"), "{file}:{}: imports the command line: {line}", n + 1);
            }
        }
    }

    #[test]
    fn the_viewer_does_not_import_the_command_line_or_the_headless_commands() {
        for (file, text) in sources("app") {
            for (n, line) in text.lines().enumerate() {
                for upward in ["crate::cli", "crate::report"] {
                    assert!(!line.contains(upward), "{file}:{}: the viewer imports {upward}: {line}", n + 1);
                }
            }
        }
    }

    /// The simulation never knows it is recorded or run on a thread: `recording` reads `sim`,
    /// `live` owns both, never the other way round. Neither does the model know the simulation.
    #[test]
    fn the_simulation_does_not_import_the_recording_or_the_live_run() {
        // `tests_too`: whether the module's test files must keep the rule as well.
        let upward = |dir: &str, names: &[&str], tests_too: bool| {
            for (file, text) in sources(dir) {
                if !tests_too && file.ends_with("tests.rs") {
                    continue;
                }
                for (n, line) in text.lines().enumerate() {
                    for up in names {
                        assert!(!line.contains(up), "{file}:{}: {dir} imports {up}: {line}", n + 1);
                    }
                }
            }
        };
        upward("sim", &["crate::recording", "crate::live", "crate::report", "crate::app", "crate::open"], true);
        upward("model", &["crate::sim", "crate::recording", "crate::live", "crate::edit"], true);
        // The recording's tests also check what `replay` prints about a damaged file.
        upward("recording", &["crate::live", "crate::report", "crate::app", "crate::open"], false);
    }
}
