//! CustomResourceDefinitions generated from the Rust types.

use crate::{EC2NodeClass, NodeClaim, NodePool};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

/// The three CRDs, in the order `karpenter crds` prints them: NodePool, NodeClaim, EC2NodeClass.
///
/// Fields the Rust types default (so that reading a manifest with them missing yields every
/// validation error at once rather than a single decode error) are still marked required in the
/// schema where Karpenter's CRDs require them.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut pool = NodePool::crd();
    let mut claim = NodeClaim::crd();
    let mut class = EC2NodeClass::crd();
    let node_class_ref = ["group", "kind", "name"];
    require(
        &mut pool,
        &["spec", "template", "spec"],
        &["nodeClassRef", "requirements"],
    );
    require(
        &mut pool,
        &["spec", "template", "spec", "nodeClassRef"],
        &node_class_ref,
    );
    require(&mut claim, &["spec"], &["nodeClassRef", "requirements"]);
    require(&mut claim, &["spec", "nodeClassRef"], &node_class_ref);
    require(
        &mut class,
        &["spec"],
        &[
            "amiSelectorTerms",
            "securityGroupSelectorTerms",
            "subnetSelectorTerms",
        ],
    );
    vec![pool, claim, class]
}

/// Marks `fields` of the object schema at `path` required (and non-empty when strings).
fn require(crd: &mut CustomResourceDefinition, path: &[&str], fields: &[&str]) {
    let Some(mut schema) = crd.spec.versions[0]
        .schema
        .as_mut()
        .and_then(|s| s.open_api_v3_schema.as_mut())
    else {
        return;
    };
    for step in path {
        match schema.properties.as_mut().and_then(|p| p.get_mut(*step)) {
            Some(next) => schema = next,
            None => return,
        }
    }
    let required = schema.required.get_or_insert_with(Vec::new);
    for f in fields {
        if !required.iter().any(|r| r == f) {
            required.push((*f).to_string());
        }
    }
    required.sort();
    if let Some(props) = schema.properties.as_mut() {
        for f in fields {
            if let Some(JSONSchemaProps {
                type_: Some(t),
                min_length,
                ..
            }) = props.get_mut(*f)
            {
                if t == "string" {
                    *min_length = Some(1);
                }
            }
            if let Some(p) = props.get_mut(*f) {
                p.default = None;
            }
        }
    }
}

/// The file name a CRD is checked in under, `<group>_<plural>.yaml` as Karpenter's chart names
/// them (e.g. `karpenter.sh_nodepools.yaml`).
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

/// One CRD as a YAML document (without a leading `---`).
pub fn to_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(crd)
}

/// Every CRD as one multi-document YAML stream, each document preceded by `---`.
pub fn all_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&to_yaml(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_have_names_columns_and_status() {
        let crds = crds();
        let names: Vec<String> = crds.iter().map(file_name).collect();
        assert_eq!(
            names,
            [
                "karpenter.sh_nodepools.yaml",
                "karpenter.sh_nodeclaims.yaml",
                "karpenter.k8s.aws_ec2nodeclasses.yaml"
            ]
        );
        for crd in &crds {
            assert_eq!(crd.spec.scope, "Cluster");
            assert_eq!(
                crd.spec.names.categories.as_deref(),
                Some(&["karpenter".to_string()][..])
            );
            let v = &crd.spec.versions[0];
            assert!(v.subresources.as_ref().unwrap().status.is_some());
            let cols: Vec<&str> = v
                .additional_printer_columns
                .as_ref()
                .unwrap()
                .iter()
                .filter(|c| c.priority.unwrap_or(0) == 0)
                .map(|c| c.name.as_str())
                .collect();
            match crd.spec.names.kind.as_str() {
                "NodePool" => assert_eq!(cols, ["NodeClass", "Nodes", "Ready", "Age"]),
                "NodeClaim" => {
                    assert_eq!(cols, ["Type", "Capacity", "Zone", "Node", "Ready", "Age"])
                }
                _ => assert_eq!(cols, ["Ready", "Age"]),
            }
        }
        assert_eq!(
            crds[2].spec.names.short_names.as_deref(),
            Some(&["ec2nc".to_string(), "ec2ncs".to_string()][..])
        );
        let yaml = all_yaml().unwrap();
        assert_eq!(yaml.matches("---\n").count(), 3);
        assert!(yaml.contains("pattern: ^(([0-9]+(s|m|h))+|Never)$"));
        // Karpenter's CEL rules travel with the schema.
        for rule in [
            "rule: self.all(x, has(x.schedule) == has(x.duration))",
            "message: must have only one blockDeviceMappings with rootVolume",
            "message: must specify exactly one of ['role', 'instanceProfile']",
            "message: requirements operator 'In' must have a value defined",
        ] {
            assert!(yaml.contains(rule), "{rule}");
        }
        let spec = crds[0].spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap()
            .properties
            .as_ref()
            .unwrap()["spec"]
            .properties
            .as_ref()
            .unwrap()["template"]
            .properties
            .as_ref()
            .unwrap()["spec"]
            .clone();
        assert_eq!(
            spec.required.as_deref(),
            Some(&["nodeClassRef".to_string(), "requirements".to_string()][..])
        );
        let ncr = &spec.properties.as_ref().unwrap()["nodeClassRef"];
        assert_eq!(ncr.required.as_ref().map(Vec::len), Some(3));
        assert_eq!(ncr.properties.as_ref().unwrap()["name"].min_length, Some(1));
    }
}
