//! Reading Kubernetes manifests from files, directories and standard input.
//!
//! `validate` and `simulate` share this: every path is read in the order given; a directory
//! contributes every `*.yaml`, `*.yml` and `*.json` below it in path order; `-` is standard input.
//! Files are multi-document YAML (JSON is YAML too); a `kind: List` document contributes its
//! `items`. Each document keeps where it came from, so errors can name the file, the document's
//! index in it and the object.

use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a document came from: the file (or `-`), its index among the file's documents, and its
/// index in a `kind: List`'s items when it was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file path as given or found, or `-` for standard input.
    pub source: String,
    /// Zero-based index of the YAML document in the file.
    pub index: usize,
    /// Zero-based index in the `items` of a `kind: List` document.
    pub item: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.index)?;
        if let Some(i) = self.item {
            write!(f, ":items[{i}]")?;
        }
        Ok(())
    }
}

/// One Kubernetes object read from a manifest.
#[derive(Debug, Clone)]
pub struct Document {
    /// Where it was read.
    pub location: Location,
    /// The object as parsed YAML.
    pub value: Value,
}

impl Document {
    fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut v = &self.value;
        for key in path {
            v = v.get(*key)?;
        }
        v.as_str()
    }

    /// `kind`, or the empty string when missing.
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or("")
    }

    /// `apiVersion`, or the empty string when missing.
    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"]).unwrap_or("")
    }

    /// `metadata.name`, or the empty string when missing.
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or("")
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.str_at(&["metadata", "namespace"])
    }

    /// `KIND/NAME` as people write it in kubectl.
    pub fn kind_name(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// Decodes the document into a typed object; a failure names the field path.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        serde_path_to_error::deserialize(self.value.clone()).map_err(|e| {
            let path = e.path().to_string();
            DecodeError {
                location: self.location.clone(),
                kind_name: self.kind_name(),
                field: if path == "." { String::new() } else { path },
                message: e.into_inner().to_string(),
            }
        })
    }
}

/// A document that is not a valid object of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location} {kind_name}: {field}: {message}")]
pub struct DecodeError {
    /// Where the document was read.
    pub location: Location,
    /// `KIND/NAME` of the object.
    pub kind_name: String,
    /// The path of the offending field, e.g. `spec.template.spec.requirements[0].operator`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// A failure to read manifests.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A path could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A document is not valid YAML.
    #[error("{location}: invalid YAML: {message}")]
    Yaml {
        /// The file and document index.
        location: Location,
        /// The parser's message.
        message: String,
    },
    /// A document is not a Kubernetes object (not a mapping, or a List whose items are not).
    #[error("{location}: {message}")]
    NotAnObject {
        /// The file and document index.
        location: Location,
        /// What is wrong.
        message: String,
    },
}

impl LoadError {
    /// Whether the error is about the input's content (exit 2) rather than reading it (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(self, LoadError::Io { .. })
    }
}

/// Reads every document from the given paths, in order.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<Document>, LoadError> {
    let mut docs = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p == Path::new("-") {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| LoadError::Io {
                    path: "-".into(),
                    source,
                })?;
            parse_documents("-", &text, &mut docs)?;
            continue;
        }
        for file in expand_path(p)? {
            let source = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| LoadError::Io {
                path: source.clone(),
                source: e,
            })?;
            parse_documents(&source, &text, &mut docs)?;
        }
    }
    Ok(docs)
}

/// A file is itself; a directory is every manifest file below it, sorted by path.
fn expand_path(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let io = |source| LoadError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| LoadError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Splits multi-document YAML text into documents, expanding `kind: List`. Empty documents are
/// skipped but still count for the index, so indexes match the file as a person counts `---`.
pub fn parse_documents(source: &str, text: &str, out: &mut Vec<Document>) -> Result<(), LoadError> {
    for (index, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let location = Location {
            source: source.to_string(),
            index,
            item: None,
        };
        let value = match <Value as serde::Deserialize>::deserialize(de) {
            Ok(v) => v,
            Err(e) => {
                return Err(LoadError::Yaml {
                    location,
                    message: e.to_string(),
                })
            }
        };
        match value {
            Value::Null => continue,
            Value::Mapping(_) => {}
            _ => {
                return Err(LoadError::NotAnObject {
                    location,
                    message: "document is not a mapping with apiVersion and kind".into(),
                })
            }
        }
        let is_list = value.get("kind").and_then(Value::as_str) == Some("List");
        if !is_list {
            out.push(Document { location, value });
            continue;
        }
        let items = match value.get("items") {
            None | Some(Value::Null) => continue,
            Some(Value::Sequence(items)) => items.clone(),
            Some(_) => {
                return Err(LoadError::NotAnObject {
                    location,
                    message: "List: items: must be a sequence of objects".into(),
                })
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let location = Location {
                item: Some(i),
                ..location.clone()
            };
            if !item.is_mapping() {
                return Err(LoadError::NotAnObject {
                    location,
                    message: "List item is not an object".into(),
                });
            }
            out.push(Document {
                location,
                value: item,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Document>, LoadError> {
        let mut out = Vec::new();
        parse_documents("f.yaml", text, &mut out).map(|_| out)
    }

    #[test]
    fn multi_document_and_lists() {
        let docs = parse(
            "kind: Pod\nmetadata: {name: a}\n---\n---\nkind: List\nitems:\n- {kind: Node, metadata: {name: n1}}\n- {kind: Pod, metadata: {name: b, namespace: x}}\n",
        )
        .unwrap();
        let names: Vec<String> = docs.iter().map(Document::kind_name).collect();
        assert_eq!(names, ["Pod/a", "Node/n1", "Pod/b"]);
        assert_eq!(docs[2].location.to_string(), "f.yaml:2:items[1]");
        assert_eq!(docs[2].namespace(), Some("x"));
    }

    #[test]
    fn invalid_yaml_names_the_document() {
        let err = parse("kind: Pod\n---\nkind: [unclosed\n").unwrap_err();
        assert!(
            err.to_string().starts_with("f.yaml:1: invalid YAML"),
            "{err}"
        );
        assert!(err.is_invalid_input());
        let err = parse("- a\n- b\n").unwrap_err();
        assert!(err.to_string().contains("not a mapping"), "{err}");
    }

    #[test]
    fn decode_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Obj {
            spec: Spec,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Spec {
            weight: u8,
        }
        let docs = parse("kind: NodePool\nmetadata: {name: p}\nspec: {weight: many}\n").unwrap();
        let err = docs[0].decode::<Obj>().unwrap_err();
        assert_eq!(err.field, "spec.weight");
        assert!(
            err.to_string()
                .starts_with("f.yaml:0 NodePool/p: spec.weight: "),
            "{err}"
        );
    }

    #[test]
    fn directories_are_read_in_path_order() {
        let dir =
            std::env::temp_dir().join(format!("karpenter-manifest-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("b.yaml"), "kind: Pod\nmetadata: {name: b}\n").unwrap();
        std::fs::write(dir.join("a.yml"), "kind: Pod\nmetadata: {name: a}\n").unwrap();
        std::fs::write(
            dir.join("sub/c.json"),
            "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"c\"}}",
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not a manifest").unwrap();
        let docs = load_paths(&[&dir]).unwrap();
        let names: Vec<&str> = docs.iter().map(Document::name).collect();
        assert_eq!(names, ["a", "b", "c"]);
        std::fs::remove_dir_all(&dir).unwrap();
        let err = load_paths(&[dir.join("missing.yaml")]).unwrap_err();
        assert!(!err.is_invalid_input());
    }
}
