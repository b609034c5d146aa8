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
}
