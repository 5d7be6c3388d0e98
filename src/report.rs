//! Rendering check findings for people (source snippet with a caret) and for tools (JSON).

use std::io::IsTerminal;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report,
};
use serde::Serialize;

use crate::definitions::{Diagnostic, Severity};

/// The findings for one file.
#[derive(Debug, Serialize)]
pub struct FileReport<'a> {
    /// The file as named on the command line.
    pub file: &'a str,
    /// Its findings.
    pub diagnostics: &'a [Diagnostic],
}

/// Renders findings as text with source snippets; colour only on a terminal without `NO_COLOR`.
pub fn human(file: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics {
        let severity = match d.severity {
            Severity::Error => miette::Severity::Error,
            _ => miette::Severity::Warning,
        };
        let mut m = MietteDiagnostic::new(d.message.clone())
            .with_code(format!("{} {}", d.code, d.code.name()))
            .with_severity(severity)
            .with_label(LabeledSpan::at(
                d.pos.offset
                    ..d.pos.offset + d.pos.len.max(usize::from(d.pos.offset < source.len())),
                format!(
                    "{} (line {}, column {})",
                    d.code.name(),
                    d.pos.line,
                    d.pos.column
                ),
            ));
        if let Some(h) = &d.hint {
            m = m.with_help(h.clone());
        }
        let report = Report::new(m).with_source_code(NamedSource::new(file, source.to_owned()));
        if handler.render_report(&mut out, report.as_ref()).is_err() {
            out.push_str(&format!("{file}:{d}\n"));
        }
        out.push('\n');
    }
    out
}

/// One line per finding: `file:line:col: severity CODE: message (hint: …)`.
pub fn plain(file: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("{file}:{d}\n"))
        .collect()
}
