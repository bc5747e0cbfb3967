//! The crate layering of docs/DESIGN.md (issue 40, item 5), read from `cargo metadata`: the
//! workspace's normal (not dev, not build) dependencies on this platform, followed transitively.
//!
//! - `coxa-planner` and `coxa-sim` depend on the plain data types: they never reach
//!   `coxa-anatomy`, `coxa-io`, `coxa-infer`, `coxa-pacs`, `coxa-shape` or `coxa-msk`;
//! - `coxa-shape` and `coxa-diagnostics` take plain data: they never reach `coxa-anatomy`,
//!   `coxa-io`, `coxa-infer` or `coxa-pacs`; `coxa-core` depends on no other coxa crate;
//! - `coxa-msk` stands on core, osim and shape: it never reaches the simulator, the planner,
//!   anatomy, ONNX or PACS (it reaches `coxa-io` through `coxa-osim` alone, whose model and
//!   motion files are read bounded by `coxa_io::read_text_bounded`, issue 45);
//! - only `coxa-infer` links ONNX Runtime (`ort`): any other crate reaches `ort` only through it;
//! - only `coxa-viewer` links bevy (and wgpu, winit): the headless `coxa` has none of it;
//! - only `coxa-pacs` touches the network (`ureq` and its `rustls` with the public roots for DICOMweb, `dicom-ul` for
//!   DIMSE, and the other HTTP stacks should one come in): any other crate only through it;
//! - `coxa-msk` exists, in `models/msk`;
//! - `coxa-case`, the library of one case, never reaches a command line (`clap`), the window or the
//!   program (`coxa-scenarios`, `coxa-viewer`); only the program links `clap` (issue 58);
//! - `coxa-infer` and `coxa-pacs` never reach `coxa-anatomy`: the class table they name their
//!   outputs by is `coxa_core::labels::COXA_CLASSES` (issue 58).
//!
//! A broken rule names the chain of crates that breaks it, e.g. `coxa-sim -> coxa-msk ->
//! coxa-shape`. Parsed with serde_json rather than the `cargo_metadata` crate: the few fields read
//! here (packages, resolve nodes, dependency kinds) do not need its types.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::common::workspace_root;

/// The crates that talk over the network: coxa-pacs's DICOMweb client (ureq, rustls) and DIMSE
/// (dicom-ul), and the HTTP, TLS and socket stacks a change could bring in instead.
const NETWORK: &[&str] = &["ureq", "ureq-proto", "rustls", "webpki-roots", "webpki-root-certs", "dicom-ul", "reqwest", "hyper", "h2", "native-tls", "openssl", "curl", "tokio", "mio", "socket2"];
/// ONNX Runtime's bindings.
const ONNX: &[&str] = &["ort", "ort-sys"];
/// The window and the GPU: bevy, its renderer and its windowing.
const WINDOW: &[&str] = &["bevy", "bevy_render", "bevy_winit", "wgpu", "wgpu-types", "winit"];

/// The resolved dependency graph: package ids, their names, and each one's normal dependencies.
struct Graph {
    name: BTreeMap<String, String>,
    deps: BTreeMap<String, Vec<String>>,
    /// Workspace members: name -> (id, manifest path).
    members: BTreeMap<String, (String, String)>,
}

impl Graph {
    /// Reads `cargo metadata --format-version 1` output.
    fn from_metadata(m: &Value) -> Result<Self> {
        let packages = m["packages"].as_array().context("cargo metadata: no packages")?;
        let name: BTreeMap<String, String> = packages.iter().filter_map(|p| Some((p["id"].as_str()?.to_string(), p["name"].as_str()?.to_string()))).collect();
        let manifest: BTreeMap<&str, &str> = packages.iter().filter_map(|p| Some((p["id"].as_str()?, p["manifest_path"].as_str()?))).collect();
        let members = m["workspace_members"]
            .as_array()
            .context("cargo metadata: no workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .map(|id| (name[id].clone(), (id.to_string(), manifest.get(id).copied().unwrap_or_default().to_string())))
            .collect();
        let mut deps = BTreeMap::new();
        for node in m["resolve"]["nodes"].as_array().context("cargo metadata: no resolve.nodes")? {
            let id = node["id"].as_str().context("a resolve node without id")?.to_string();
            let normal = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                // `kind` null: a normal dependency (not "dev", not "build").
                .filter(|d| d["dep_kinds"].as_array().is_some_and(|k| k.iter().any(|k| k["kind"].is_null())))
                .filter_map(|d| d["pkg"].as_str().map(str::to_string))
                .collect();
            deps.insert(id, normal);
        }
        Ok(Self { name, deps, members })
    }

    /// A shortest chain of normal dependencies from the workspace crate `from` to a crate named in
    /// `to`, not passing through one named in `gateways` (the crates allowed to link them), as names.
    fn chain(&self, from: &str, to: &[&str], gateways: &[&str]) -> Option<Vec<String>> {
        let start = &self.members.get(from)?.0;
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut seen = BTreeSet::from([start.as_str()]);
        let mut queue = VecDeque::from([start.as_str()]);
        while let Some(id) = queue.pop_front() {
            if id != start && to.contains(&self.name[id].as_str()) {
                let mut chain = vec![self.name[id].clone()];
                let mut at = id;
                while let Some(prev) = came_from.get(at) {
                    chain.push(self.name[*prev].clone());
                    at = prev;
                }
                chain.reverse();
                return Some(chain);
            }
            if id != start && gateways.contains(&self.name[id].as_str()) {
                continue;
            }
            for d in self.deps.get(id).into_iter().flatten() {
                if seen.insert(d) {
                    came_from.insert(d, id);
                    queue.push_back(d);
                }
            }
        }
        None
    }

    /// Every workspace crate (other than the gateways) that reaches a crate named in `to` other
    /// than through a gateway, as "a -> b -> c" lines.
    fn offenders(&self, to: &[&str], gateways: &[&str]) -> Vec<String> {
        self.members.keys().filter(|m| !gateways.contains(&m.as_str())).filter_map(|m| self.chain(m, to, gateways)).map(|c| c.join(" -> ")).collect()
    }
}

/// The workspace's graph on this machine's platform, read once.
fn graph() -> &'static Graph {
    static GRAPH: OnceLock<Graph> = OnceLock::new();
    GRAPH.get_or_init(|| read_graph().expect("cargo metadata"))
}

fn read_graph() -> Result<Graph> {
    let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into())).arg("-vV").output().context("running rustc -vV")?;
    let host = String::from_utf8_lossy(&rustc.stdout).lines().find_map(|l| l.strip_prefix("host: ").map(str::to_string)).context("rustc -vV names no host")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", &host, "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Graph::from_metadata(&serde_json::from_slice(&out.stdout).context("cargo metadata's JSON")?)
}

/// Fails naming every chain from one of `from` to one of `forbidden`.
fn assert_never_reach(g: &Graph, from: &[&str], forbidden: &[&str], why: &str) {
    let mut broken = Vec::new();
    for f in from {
        assert!(g.members.contains_key(*f), "{f} is not a workspace member any more: update tests/tests/layering.rs and docs/DESIGN.md");
        // Each forbidden crate on its own, so every one reached is named.
        broken.extend(forbidden.iter().filter_map(|t| g.chain(f, &[t], &[])).map(|c| c.join(" -> ")));
    }
    assert!(broken.is_empty(), "the crate layering is broken ({why}; docs/DESIGN.md):\n  {}", broken.join("\n  "));
}

#[test]
fn planner_and_sim_reach_only_the_plain_data_types() {
    assert_never_reach(
        graph(),
        &["coxa-planner", "coxa-sim"],
        &["coxa-anatomy", "coxa-io", "coxa-infer", "coxa-pacs", "coxa-shape", "coxa-msk"],
        "planner and sim depend on the plain data types, never on anatomy, I/O, ONNX, PACS, shape or the musculoskeletal model",
    );
}

#[test]
fn sim_does_not_depend_on_shape() {
    assert_never_reach(graph(), &["coxa-sim"], &["coxa-shape"], "coxa-sim keeps ROM, contact and dislocation; the shape model is coxa-msk's");
}

#[test]
fn shape_and_diagnostics_take_plain_data_and_core_is_the_bottom() {
    let g = graph();
    assert_never_reach(g, &["coxa-shape", "coxa-diagnostics"], &["coxa-anatomy", "coxa-io", "coxa-infer", "coxa-pacs"], "shape and diagnostics take plain data");
    let others: Vec<&str> = g.members.keys().map(String::as_str).filter(|m| *m != "coxa-core").collect();
    assert_never_reach(g, &["coxa-core"], &others, "coxa-core, the plain data types, depends on no other coxa crate");
}

#[test]
fn msk_stands_on_core_osim_and_shape() {
    assert_never_reach(
        graph(),
        &["coxa-msk"],
        &["coxa-sim", "coxa-planner", "coxa-anatomy", "coxa-infer", "coxa-pacs", "coxa-viewer"],
        "coxa-msk depends on coxa-core, coxa-osim and coxa-shape, never on the simulator",
    );
    // coxa-io only through coxa-osim (its files read bounded, issue 45), never directly.
    let direct = graph().chain("coxa-msk", &["coxa-io"], &["coxa-osim"]);
    assert!(direct.is_none(), "coxa-msk reaches coxa-io other than through coxa-osim: {}", direct.unwrap_or_default().join(" -> "));
}

#[test]
fn only_the_viewer_links_bevy() {
    let g = graph();
    assert!(g.chain("coxa-viewer", &["bevy"], &[]).is_some(), "coxa-viewer no longer links bevy: update WINDOW in tests/tests/layering.rs");
    let broken = g.offenders(WINDOW, &["coxa-viewer"]);
    assert!(broken.is_empty(), "only coxa-viewer may link bevy and the GPU (docs/DESIGN.md; the headless coxa has none); these reach it otherwise:\n  {}", broken.join("\n  "));
}

#[test]
fn only_infer_links_onnx_runtime() {
    let g = graph();
    assert!(g.chain("coxa-infer", ONNX, &[]).is_some(), "coxa-infer no longer links ort: update ONNX in tests/tests/layering.rs");
    let broken = g.offenders(ONNX, &["coxa-infer"]);
    assert!(broken.is_empty(), "only coxa-infer may link ONNX Runtime (docs/DESIGN.md); these reach it otherwise:\n  {}", broken.join("\n  "));
}

#[test]
fn only_pacs_touches_the_network() {
    let g = graph();
    for n in ["ureq", "dicom-ul"] {
        assert!(g.chain("coxa-pacs", &[n], &[]).is_some(), "coxa-pacs no longer links {n}: update NETWORK in tests/tests/layering.rs");
    }
    let broken = g.offenders(NETWORK, &["coxa-pacs"]);
    assert!(broken.is_empty(), "only coxa-pacs may touch the network (docs/DESIGN.md); these reach a network crate otherwise:\n  {}", broken.join("\n  "));
}

#[test]
fn the_case_library_knows_no_command_line_and_no_window() {
    let g = graph();
    let mut forbidden = vec!["clap", "clap_derive", "coxa-scenarios", "coxa-viewer"];
    forbidden.extend_from_slice(WINDOW);
    assert_never_reach(g, &["coxa-case"], &forbidden, "coxa-case is the library of one case: no command line, no window, no program (docs/DESIGN.md)");
}

#[test]
fn only_the_program_links_clap() {
    let broken = graph().offenders(&["clap"], &["coxa-scenarios", "coxa-python"]);
    assert!(broken.is_empty(), "only the coxa program (coxa-scenarios) may link clap (issue 58); these reach it otherwise:\n  {}", broken.join("\n  "));
}

#[test]
fn infer_and_pacs_take_the_class_table_from_core() {
    assert_never_reach(graph(), &["coxa-infer", "coxa-pacs"], &["coxa-anatomy"], "the class table is coxa-core's; models and PACS results do not need the segmentation");
}

#[test]
fn msk_is_its_own_crate() {
    let (_, manifest) = graph().members.get("coxa-msk").expect("coxa-msk is a workspace member (issue 40, item 3)");
    assert!(manifest.replace('\\', "/").ends_with("models/msk/Cargo.toml"), "coxa-msk lives in models/msk, not {manifest}");
}

/// The checks on a made-up graph that breaks each rule: they fail, naming the chain.
#[test]
fn a_broken_layering_names_the_chain() {
    let pkg = |n: &str| serde_json::json!({"id": format!("{n} 0.1.0"), "name": n, "manifest_path": format!("/w/{n}/Cargo.toml")});
    let dep = |n: &str, kind: Value| serde_json::json!({"pkg": format!("{n} 0.1.0"), "dep_kinds": [{"kind": kind, "target": null}]});
    let names = ["coxa-core", "coxa-sim", "coxa-msk", "coxa-shape", "coxa-infer", "coxa-viewer", "ort", "coxa-pacs", "ureq"];
    let m = serde_json::json!({
        "packages": names.map(pkg),
        "workspace_members": names.iter().filter(|n| n.starts_with("coxa")).map(|n| format!("{n} 0.1.0")).collect::<Vec<_>>(),
        "resolve": {"nodes": [
            {"id": "coxa-sim 0.1.0", "deps": [dep("coxa-core", Value::Null), dep("coxa-msk", Value::Null), dep("coxa-pacs", "dev".into())]},
            {"id": "coxa-msk 0.1.0", "deps": [dep("coxa-shape", Value::Null)]},
            {"id": "coxa-viewer 0.1.0", "deps": [dep("coxa-infer", Value::Null), dep("ort", Value::Null)]},
            {"id": "coxa-infer 0.1.0", "deps": [dep("ort", Value::Null)]},
            {"id": "coxa-pacs 0.1.0", "deps": [dep("ureq", Value::Null)]},
        ]},
    });
    let g = Graph::from_metadata(&m).unwrap();
    assert_eq!(g.chain("coxa-sim", &["coxa-shape"], &[]).unwrap().join(" -> "), "coxa-sim -> coxa-msk -> coxa-shape");
    // A dev-dependency is not followed; through the gateway is allowed, beside it is not.
    assert_eq!(g.chain("coxa-sim", &["ureq"], &[]), None);
    assert_eq!(g.offenders(ONNX, &["coxa-infer"]), ["coxa-viewer -> ort"]);
    assert_eq!(g.offenders(NETWORK, &["coxa-pacs"]), Vec::<String>::new());
    let fails = std::panic::catch_unwind(|| assert_never_reach(&g, &["coxa-sim"], &["coxa-shape"], "why")).unwrap_err();
    let msg = fails.downcast_ref::<String>().unwrap();
    assert!(msg.contains("coxa-sim -> coxa-msk -> coxa-shape") && msg.contains("why"), "{msg}");
}

/// The crate names `cargo tree` lists for `args` (normal dependencies on this platform).
fn tree(args: &[&str]) -> Result<BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--locked", "-e", "normal", "--prefix", "none", "--format", "{p}", "--manifest-path"])
        .arg(workspace_root().join("Cargo.toml"))
        .args(args)
        .output()
        .context("running cargo tree")?;
    if !out.status.success() {
        bail!("cargo tree {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect())
}

/// Issue 63, item 6: STEP (truck, with its unmaintained dependencies) is in the program and in
/// the Python wheel only when asked for: `coxa-python` with its default features links no truck
/// crate, with `--features step` it does; `coxa-scenarios` has it by default and not without its
/// default features.
#[test]
fn step_is_in_the_program_and_in_the_wheel_only_when_asked() -> Result<()> {
    let truck = |crates: &BTreeSet<String>| crates.iter().filter(|c| c.starts_with("truck-")).cloned().collect::<Vec<_>>();
    assert_eq!(truck(&tree(&["-p", "coxa-python"])?), Vec::<String>::new(), "the default wheel");
    assert!(truck(&tree(&["-p", "coxa-python", "--features", "step"])?).contains(&"truck-stepio".to_string()), "the wheel with STEP asked for");
    assert!(truck(&tree(&["-p", "coxa-scenarios"])?).contains(&"truck-stepio".to_string()), "the program");
    assert_eq!(truck(&tree(&["-p", "coxa-scenarios", "--no-default-features"])?), Vec::<String>::new(), "the program without its default features");
    Ok(())
}
