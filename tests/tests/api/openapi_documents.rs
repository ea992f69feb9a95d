//! The eight OpenAPI documents as one product (issue 14): each carries the
//! shared definitions of `shared/openapi/common.yaml` word for word, and no
//! two documents define one name differently, so a client generated from
//! all of them at once has one `Problem`, one `Money`, one `Instant`.
//! (Redocly's recommended rules run over them in `make test` as well:
//! `infra/test-all.sh`.)

use blackbox_tests::openapi::COMPONENTS;
use blackbox_tests::workspace_root;
use serde_json::Value;
use std::collections::BTreeMap;

fn load(path: std::path::PathBuf) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const KINDS: [&str; 5] = [
    "schemas",
    "responses",
    "parameters",
    "headers",
    "securitySchemes",
];

#[test]
fn every_document_carries_the_common_definitions_and_no_two_documents_clash() {
    let common = load(workspace_root().join("shared/openapi/common.yaml"));
    let mut seen: BTreeMap<(String, String), (String, Value)> = BTreeMap::new();
    let mut clashes = Vec::new();
    for component in COMPONENTS {
        let doc = load(
            workspace_root()
                .join("components")
                .join(component)
                .join("openapi.yaml"),
        );
        for kind in KINDS {
            for (name, shared) in common["components"][kind].as_object().into_iter().flatten() {
                assert_eq!(
                    &doc["components"][kind][name], shared,
                    "{component}: components.{kind}.{name} differs from shared/openapi/common.yaml"
                );
            }
            for (name, definition) in doc["components"][kind].as_object().into_iter().flatten() {
                match seen.get(&(kind.to_owned(), name.clone())) {
                    Some((first, earlier)) if earlier != definition => clashes.push(format!(
                        "components.{kind}.{name}: {first} and {component} differ"
                    )),
                    Some(_) => {}
                    None => {
                        seen.insert(
                            (kind.to_owned(), name.clone()),
                            ((*component).to_owned(), definition.clone()),
                        );
                    }
                }
            }
        }
    }
    assert!(clashes.is_empty(), "{clashes:#?}");
}
