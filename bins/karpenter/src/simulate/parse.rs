//! Reading manifests for `simulate`, parsing large files on every core.
//!
//! A large file is split at its document markers (`---` at the start of a line, which YAML
//! forbids inside any scalar) into one piece per core; the pieces are parsed at once with
//! [`manifest::parse_documents`] and their documents renumbered as if the file had been read in
//! one go. Anything unusual — a `...` end marker, a `%` directive, a parse error — falls back to
//! reading the whole file sequentially, so results and error messages are exactly those of
//! [`manifest::load_paths`].

use crate::manifest::{self, Document, LoadError};
use std::io::Read;
use std::path::Path;

/// Files smaller than this are parsed on one thread.
const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// How many threads to use for `work` items (1 below `min`), at most 8.
pub fn threads_for(work: usize, min: usize) -> usize {
    if work < min {
        return 1;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

/// Reads every document from the given paths, in order, as [`manifest::load_paths`] does.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Document>, LoadError> {
    let mut docs = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let text = if p == Path::new("-") {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| LoadError::Io {
                    path: "-".into(),
                    source,
                })?;
            text
        } else if p.is_file() {
            std::fs::read_to_string(p).map_err(|source| LoadError::Io {
                path: p.display().to_string(),
                source,
            })?
        } else {
            docs.extend(manifest::load_paths(&[p])?);
            continue;
        };
        parse_text(&p.display().to_string(), &text, &mut docs)?;
    }
    Ok(docs)
}

/// Whether a line is a document start marker: `---` alone or followed by a blank.
fn is_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// Parses one file's text, in parallel when it is large.
pub fn parse_text(source: &str, text: &str, out: &mut Vec<Document>) -> Result<(), LoadError> {
    let threads = threads_for(text.len(), PARALLEL_MIN_BYTES);
    if threads <= 1 {
        return manifest::parse_documents(source, text, out);
    }
    match parse_parallel(source, text, threads) {
        Some(docs) => {
            out.extend(docs);
            Ok(())
        }
        None => manifest::parse_documents(source, text, out),
    }
}

/// The parallel path; `None` asks for the sequential one.
fn parse_parallel(source: &str, text: &str, threads: usize) -> Option<Vec<Document>> {
    let mut markers = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("...") || line.starts_with('%') {
            return None;
        }
        if is_marker(line) {
            markers.push(offset);
        }
        offset += line.len();
    }
    let first = *markers.first()?;
    // Before the first marker: nothing but blanks and comments, or exactly one document.
    let head = &text[..first];
    let head_docs = usize::from(head.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    }));
    // Cut points at markers, about equal in bytes.
    let per = text.len().div_ceil(threads);
    let mut cuts = vec![0];
    for &m in &markers {
        if m >= cuts.last().copied().unwrap_or(0) + per && m > 0 {
            cuts.push(m);
        }
    }
    if cuts.len() < 2 {
        return None;
    }
    cuts.push(text.len());
    // Document index of each piece's first document: head documents plus the markers before it.
    let pieces: Vec<(usize, &str)> = cuts
        .windows(2)
        .map(|w| {
            let before = markers.partition_point(|&m| m < w[0]);
            let base = if w[0] == 0 { 0 } else { head_docs + before };
            (base, &text[w[0]..w[1]])
        })
        .collect();
    let results: Vec<Option<Vec<Document>>> = std::thread::scope(|s| {
        let handles: Vec<_> = pieces
            .iter()
            .map(|&(base, piece)| {
                s.spawn(move || {
                    let mut docs = Vec::new();
                    manifest::parse_documents(source, piece, &mut docs).ok()?;
                    for d in &mut docs {
                        d.location.index += base;
                    }
                    Some(docs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut docs = Vec::new();
    for r in results {
        docs.extend(r?);
    }
    Some(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequential(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        manifest::parse_documents("f", text, &mut out).unwrap();
        out.iter()
            .map(|d| (d.location.to_string(), d.kind_name()))
            .collect()
    }

    fn parallel(text: &str, threads: usize) -> Option<Vec<(String, String)>> {
        parse_parallel("f", text, threads).map(|docs| {
            docs.iter()
                .map(|d| (d.location.to_string(), d.kind_name()))
                .collect()
        })
    }

    #[test]
    fn same_documents_and_indexes_as_sequential() {
        let pod = |n: usize| format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{n}\n");
        let many: String = (0..50).map(|i| format!("---\n{}", pod(i))).collect();
        let cases = [
            many.clone(),
            format!("{}{many}", pod(99)),
            format!("# leading comment\n\n{many}"),
            format!("{many}---\n---\n# trailing\n"),
            format!(
                "{}---\n\n---\nkind: List\nitems:\n- {{kind: Node, metadata: {{name: n}}}}\n{many}",
                pod(7)
            ),
            format!("{many}--- # marker with a comment\nkind: Node\nmetadata: {{name: last}}\n"),
            format!("key: |\n  text\n  --- not a marker, indented\n{many}"),
        ];
        for (i, text) in cases.iter().enumerate() {
            for threads in [2, 3, 8] {
                let p = parallel(text, threads).unwrap_or_else(|| panic!("case {i} fell back"));
                assert_eq!(p, sequential(text), "case {i}, {threads} threads");
            }
        }
    }

    #[test]
    fn unusual_files_fall_back() {
        assert!(parallel("%YAML 1.2\n---\na: 1\n---\nb: 2\n", 2).is_none());
        assert!(parallel("a: 1\n...\n---\nb: 2\n", 2).is_none());
        assert!(parallel("a: 1\n---\nb: [unclosed\n", 2).is_none());
        assert!(parallel("a: 1\n", 2).is_none(), "no marker at all");
        // A large file with a broken last document: the error is the sequential one.
        let mut text: String = (0..8000)
            .map(|i| format!("---\nkind: Pod\nmetadata: {{name: p{i}}}\n"))
            .collect();
        text.push_str("---\nkind: [unclosed\n");
        assert!(text.len() > PARALLEL_MIN_BYTES);
        let mut out = Vec::new();
        let err = parse_text("f", &text, &mut out).unwrap_err();
        assert!(err.to_string().starts_with("f:8000: invalid YAML"), "{err}");
    }
}
