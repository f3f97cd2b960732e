//! The markdown report: a summary table and the phases' detailed sections.

use crate::requests::Tally;

/// The results being assembled: a summary table plus detailed sections.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) summary: Vec<[String; 3]>,
    pub(crate) details: String,
    /// True when a throughput or latency run got a wrong or failed answer.
    pub(crate) wrong_answers: bool,
}

impl Report {
    pub(crate) fn figure(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        aim: impl Into<String>,
    ) {
        self.summary.push([name.into(), value.into(), aim.into()]);
    }
}

pub(crate) fn ms(v: f64) -> String {
    format!("{v:.2}")
}

pub(crate) fn cpu_note((own, busy): (f64, f64)) -> String {
    format!("{:.0}% / {:.2}", busy * 100.0, own)
}

/// The tally's example problems as markdown sentences.
pub(crate) fn problem_note(t: &Tally) -> String {
    t.problems()
        .map(|(kind, p)| format!(" {kind}: `{}`.", p.replace('|', "\\|").replace('`', "'")))
        .collect()
}

pub(crate) fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("—".into(), |v| v.to_string())
}
