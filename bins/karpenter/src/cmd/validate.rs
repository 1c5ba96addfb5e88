//! `karpenter validate`: check every NodePool, NodeClaim and EC2NodeClass in manifests the way
//! the API server (CRD schema and CEL rules) and Karpenter's runtime validation would.
//!
//! Other kinds are skipped: the same files are valid input for `karpenter simulate`. Every
//! violation is printed to standard error as `FILE:DOC-INDEX KIND/NAME: FIELD: MESSAGE`.

use crate::manifest::{load_paths, Document};
use clap::Args as ClapArgs;
use karpenter_api::object::{self, Kind};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `karpenter validate`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A manifest file, a directory (read recursively: *.yaml, *.yml, *.json) or `-` for
    /// standard input. Repeatable.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|DIR|-",
        required = true
    )]
    pub files: Vec<PathBuf>,
    /// Print nothing when everything is valid.
    #[arg(short, long)]
    pub quiet: bool,
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `FILE:DOC-INDEX` (with `:items[N]` inside a `kind: List`).
    pub location: String,
    /// `KIND/NAME` of the object.
    pub object: String,
    /// The field path, e.g. `spec.template.spec.requirements[2].minValues`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.location, self.object, self.field, self.message
        )
    }
}

/// What validating a set of documents found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Karpenter objects checked, by kind.
    pub checked: BTreeMap<&'static str, usize>,
    /// Documents of other kinds, skipped.
    pub skipped: usize,
    /// Every problem, in document order.
    pub problems: Vec<Problem>,
}

/// Decodes and validates every Karpenter document; other kinds are counted as skipped.
pub fn validate_documents(docs: &[Document]) -> Outcome {
    let mut out = Outcome::default();
    for doc in docs {
        let Some(result) = object::check(&doc.value) else {
            tracing::debug!(location = %doc.location, kind = doc.kind(), "skipped");
            out.skipped += 1;
            continue;
        };
        if let Some(kind) = Kind::from_kind(doc.kind()) {
            *out.checked.entry(kind.as_str()).or_default() += 1;
        }
        for e in result {
            out.problems.push(Problem {
                location: doc.location.to_string(),
                object: doc.kind_name(),
                field: e.field,
                message: e.message,
            });
        }
    }
    out
}

/// Runs `karpenter validate`: exit 0 when every object is valid, 2 when any document is invalid
/// (bad YAML or a violation), 1 when a path cannot be read.
pub fn run(args: Args) -> ExitCode {
    let mut docs = Vec::new();
    let mut read_failed = false;
    let mut invalid = false;
    let mut load_errors = 0;
    // Paths are loaded one at a time so one unreadable or malformed file does not hide the
    // problems of the others.
    for path in &args.files {
        match load_paths(std::slice::from_ref(path)) {
            Ok(d) => docs.extend(d),
            Err(e) => {
                eprintln!("{e}");
                load_errors += 1;
                if e.is_invalid_input() {
                    invalid = true;
                } else {
                    read_failed = true;
                }
            }
        }
    }
    let outcome = validate_documents(&docs);
    for p in &outcome.problems {
        eprintln!("{p}");
    }
    invalid |= !outcome.problems.is_empty();
    if !args.quiet || invalid || read_failed {
        let checked: Vec<String> = outcome
            .checked
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let summary = if checked.is_empty() {
            "no NodePool, NodeClaim or EC2NodeClass found".to_string()
        } else {
            format!("checked {}", checked.join(", "))
        };
        let line = format!(
            "{summary}; {} other document(s) skipped; {} problem(s)",
            outcome.skipped,
            outcome.problems.len() + load_errors
        );
        if invalid || read_failed {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    if read_failed {
        ExitCode::from(1)
    } else if invalid {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
