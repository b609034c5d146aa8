//! Messages about a user's file: where (file:line:col or object id), what, and what to do.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The object the message is about, e.g. `hall-1/row-B/rack-07`.
    pub object: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Error, position: None, object: None, message: message.into(), hint: None }
    }
    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(message) }
    }
    pub fn at(mut self, line: usize, col: usize) -> Self {
        self.position = Some((line, col));
        self
    }
    pub fn object(mut self, id: impl Into<String>) -> Self {
        self.object = Some(id.into());
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// Renders as `file:line:col: error: message [object]` with the hint on the next line.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayIn { d: self, file }
    }
}

struct DisplayIn<'a> {
    d: &'a Diagnostic,
    file: &'a str,
}

impl fmt::Display for DisplayIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.d;
        write!(f, "{}", self.file)?;
        if let Some((l, c)) = d.position {
            write!(f, ":{l}:{c}")?;
        }
        let sev = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {sev}: {}", d.message)?;
        if let Some(o) = &d.object {
            write!(f, " [{o}]")?;
        }
        if let Some(h) = &d.hint {
            write!(f, "\n    hint: {h}")?;
        }
        Ok(())
    }
}

/// Closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
