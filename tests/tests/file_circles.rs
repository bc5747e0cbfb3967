//! No file circles (issue 13, docs/DESIGN.md "Files within a crate"): within each crate, the source
//! files depend on each other one way.
//!
//! The check parses every workspace crate's `src/` with `syn` (code only: comments and doc links are not
//! code) and follows the module tree from each crate root (`lib.rs`, `main.rs`, `bin/*.rs`) through its
//! `mod` declarations. Every path in the code is resolved as rustc resolves names, as far as a parser can
//! without type information: `use` items (groups, renames, globs, re-exports), paths in types,
//! expressions, patterns and trait bounds, `crate::`/`self::`/`super::`, paths inside macro arguments
//! (`format!`, `assert!`, ...), and the function paths in serde attributes (`deserialize_with =
//! "crate::card::one_or_many"`). A path that ends at an item gives an edge from the file that wrote it to
//! the file that defines the item; a re-export (`pub use`) is followed to the definition, and the
//! files whose `use` items the path went through (`crate::hub::X` where `hub.rs` re-exports `X`,
//! from this crate or another) are edges too (issue 58: a circle through a re-exporting hub counts).
//!
//! The rule: a file's child modules (`foo/bar.rs` under `foo.rs`, `#[cfg(test)] mod tests;`) are parts of
//! it, so a child using its ancestors' items (`super::Thing`, `crate::Error` from `lib.rs`) is not an
//! edge. Every other edge counts, tests included; the graph of files must have no cycle of any length
//! (Tarjan's strongly connected components). The failure lists each circle with its files and, for every
//! edge inside it, the items and the lines that make it.
//!
//! Hand-written because no crate does this: `cargo-modules` needs rust-analyzer's whole IDE stack and a
//! nightly-style binary install, and its cycle finder counts `super::` uses of a parent as circles.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use syn::visit::Visit;
mod paths;

use paths::{Leaf, PathCollector, is_test, use_leaves};

/// One module: a file's own module or an inline `mod x { .. }` inside a file.
struct Module {
    /// Index into `Crate::files`.
    file: usize,
    parent: Option<usize>,
    children: BTreeMap<String, usize>,
    /// Names this module defines (types, functions, constants, traits, macros, ...).
    items: BTreeSet<String>,
    /// Names this module brings in with `use`: name -> path as written.
    imports: BTreeMap<String, Vec<Vec<String>>>,
    /// `use path::*` of this module.
    globs: Vec<Vec<String>>,
}

/// One crate: its files and module tree (module 0 is the root).
struct Crate {
    name: String,
    files: Vec<PathBuf>,
    /// The module each file opens (its own module).
    file_module: Vec<usize>,
    /// Whether a file is test code (declared under `#[cfg(test)]`).
    test_file: Vec<bool>,
    modules: Vec<Module>,
    /// The modules whose imports the last resolution went through, with the name looked up there
    /// (a `pub use` hub between the file that writes a path and the file that defines the item).
    via: RefCell<Vec<(usize, String)>>,
    /// The (module, name) lookups under way through globs, innermost last.
    globbing: RefCell<Vec<(usize, String)>>,
}

/// What a path names.
#[derive(Clone, Debug, PartialEq)]
enum Res {
    Module(usize),
    Item(usize, String),
}

/// Why file `from` depends on file `to`: the items, each with the line that names it.
type Edges = BTreeMap<(usize, usize), BTreeMap<String, BTreeSet<usize>>>;

impl Crate {
    /// Reads the module tree from a crate root file.
    fn read(name: &str, root: &Path) -> Result<Crate> {
        let mut c =
            Crate { name: name.to_string(), files: Vec::new(), file_module: Vec::new(), test_file: Vec::new(), modules: Vec::new(), via: RefCell::new(Vec::new()), globbing: RefCell::new(Vec::new()) };
        c.read_file(root, None, true, false)?;
        Ok(c)
    }

    fn read_file(&mut self, path: &Path, parent: Option<usize>, mod_rs: bool, test: bool) -> Result<usize> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file = syn::parse_file(&text).with_context(|| format!("parsing {}", path.display()))?;
        let index = self.files.len();
        self.files.push(path.to_path_buf());
        let module = self.new_module(index, parent);
        self.file_module.push(module);
        self.test_file.push(test);
        // Where `mod x;` looks for its file: beside a mod-rs file (lib.rs, main.rs, mod.rs), else in a folder named after the file.
        let dir = if mod_rs { path.parent().unwrap().to_path_buf() } else { path.with_extension("") };
        self.read_items(&file.items, module, &dir, path.parent().unwrap(), test)?;
        Ok(module)
    }

    fn new_module(&mut self, file: usize, parent: Option<usize>) -> usize {
        self.modules.push(Module { file, parent, children: BTreeMap::new(), items: BTreeSet::new(), imports: BTreeMap::new(), globs: Vec::new() });
        self.modules.len() - 1
    }

    /// Records the names `items` define and import, and reads the modules they declare.
    fn read_items(&mut self, items: &[syn::Item], module: usize, dir: &Path, file_dir: &Path, test: bool) -> Result<()> {
        for item in items {
            let name = match item {
                syn::Item::Const(i) => Some(&i.ident),
                syn::Item::Enum(i) => Some(&i.ident),
                syn::Item::Fn(i) => Some(&i.sig.ident),
                syn::Item::Static(i) => Some(&i.ident),
                syn::Item::Struct(i) => Some(&i.ident),
                syn::Item::Trait(i) => Some(&i.ident),
                syn::Item::TraitAlias(i) => Some(&i.ident),
                syn::Item::Type(i) => Some(&i.ident),
                syn::Item::Union(i) => Some(&i.ident),
                syn::Item::Macro(i) => i.ident.as_ref(),
                _ => None,
            };
            if let Some(name) = name {
                self.modules[module].items.insert(name.to_string());
            }
            match item {
                syn::Item::Use(u) => {
                    let mut found = Vec::new();
                    use_leaves(&u.tree, &mut Vec::new(), &mut found);
                    for (path, name) in found {
                        match name {
                            Leaf::Glob => self.modules[module].globs.push(path),
                            Leaf::Name(n) => self.modules[module].imports.entry(n).or_default().push(path),
                            Leaf::Hidden => {}
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let test = test || is_test(&m.attrs);
                    let path_attr = m.attrs.iter().find(|a| a.path().is_ident("path")).map(|a| match &a.meta {
                        syn::Meta::NameValue(syn::MetaNameValue { value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }), .. }) => Ok(s.value()),
                        _ => bail!("unreadable #[path] on mod {name}"),
                    });
                    let child = match (&m.content, path_attr) {
                        (Some((_, inner)), _) => {
                            let child = self.new_module(self.modules[module].file, Some(module));
                            self.read_items(inner, child, &dir.join(&name), file_dir, test)?;
                            child
                        }
                        (None, Some(p)) => {
                            let p = file_dir.join(p?);
                            self.read_file(&p, Some(module), true, test)?
                        }
                        (None, None) => {
                            let flat = dir.join(format!("{name}.rs"));
                            let nested = dir.join(&name).join("mod.rs");
                            if flat.exists() {
                                self.read_file(&flat, Some(module), false, test)?
                            } else if nested.exists() {
                                self.read_file(&nested, Some(module), true, test)?
                            } else {
                                bail!("mod {name} declared in {} has no file ({} or {})", self.files[self.modules[module].file].display(), flat.display(), nested.display())
                            }
                        }
                    };
                    self.modules[module].children.insert(name, child);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn root_of(&self, mut m: usize) -> usize {
        while let Some(p) = self.modules[m].parent {
            m = p;
        }
        m
    }

    /// What `path`, written in module `scope`, names; `None` for another crate's item, a local or a generic.
    fn resolve(&self, scope: usize, path: &[String], depth: usize) -> Option<Res> {
        if depth > 40 || path.is_empty() {
            return None;
        }
        let (mut m, rest) = match path[0].as_str() {
            "crate" => (self.root_of(scope), &path[1..]),
            "self" => (scope, &path[1..]),
            "super" => {
                let mut m = scope;
                let mut i = 0;
                while i < path.len() && path[i] == "super" {
                    m = self.modules[m].parent?;
                    i += 1;
                }
                (m, &path[i..])
            }
            first => match self.lookup(scope, first, depth + 1)? {
                Res::Module(m) => (m, &path[1..]),
                item => return Some(item),
            },
        };
        for seg in rest {
            match self.lookup(m, seg, depth + 1) {
                Some(Res::Module(next)) => m = next,
                Some(item) => return Some(item),
                // Not a name the module declares (an enum's variant, a macro-made item): charge the module.
                None => return Some(Res::Item(m, seg.clone())),
            }
        }
        Some(Res::Module(m))
    }

    /// What `name` means inside module `m`.
    fn lookup(&self, m: usize, name: &str, depth: usize) -> Option<Res> {
        if depth > 40 {
            return None;
        }
        let module = &self.modules[m];
        if let Some(&child) = module.children.get(name) {
            return Some(Res::Module(child));
        }
        if module.items.contains(name) {
            return Some(Res::Item(m, name.to_string()));
        }
        if let Some(paths) = module.imports.get(name) {
            // The module that imports the name is on the way, whatever the name turns out to be
            // (another crate's item too): a file naming `hub::X` depends on the hub.
            self.via.borrow_mut().push((m, name.to_string()));
            // A name may be imported twice (a type and a function of the same name from two places): the first that resolves.
            return paths.iter().find_map(|p| self.resolve(m, p, depth + 1));
        }
        // Globs can import each other (a parent's `pub use child::*`, the child's `use super::*`):
        // a name already being looked up through this module's globs is not looked up again.
        let key = (m, name.to_string());
        if module.globs.is_empty() || self.globbing.borrow().contains(&key) {
            return None;
        }
        self.globbing.borrow_mut().push(key);
        let found = module.globs.iter().find_map(|g| match self.resolve(m, g, depth + 1) {
            Some(Res::Module(source)) if source != m => self.lookup(source, name, depth + 1),
            _ => None,
        });
        self.globbing.borrow_mut().pop();
        if found.is_some() {
            self.via.borrow_mut().push((m, name.to_string()));
        }
        found
    }

    /// Files that are `file`'s ancestors: the files of the modules around its own module.
    fn ancestor_files(&self, file: usize) -> BTreeSet<usize> {
        let mut out = BTreeSet::new();
        let mut m = self.modules[self.file_module[file]].parent;
        while let Some(p) = m {
            out.insert(self.modules[p].file);
            m = self.modules[p].parent;
        }
        out
    }

    /// Every edge between two files, with its items and lines.
    fn edges(&self) -> Result<Edges> {
        let mut edges = Edges::new();
        for (file, path) in self.files.iter().enumerate() {
            let text = std::fs::read_to_string(path)?;
            let parsed = syn::parse_file(&text)?;
            let mut v = PathCollector { krate: self, scope: self.file_module[file], inline: Vec::new(), test: usize::from(self.test_file[file]), found: Vec::new() };
            v.visit_file(&parsed);
            let ancestors = self.ancestor_files(file);
            for (res, line) in v.found {
                let (target, item) = match res {
                    Res::Module(m) => (self.modules[m].file, format!("mod {}", self.module_path(m))),
                    Res::Item(m, name) => (self.modules[m].file, format!("{}::{name}", self.module_path(m))),
                };
                if target != file && !ancestors.contains(&target) {
                    edges.entry((file, target)).or_default().entry(item).or_default().insert(line);
                }
            }
        }
        Ok(edges)
    }

    fn module_path(&self, m: usize) -> String {
        let mut parts = Vec::new();
        let mut cur = m;
        while let Some(p) = self.modules[cur].parent {
            let name = self.modules[p].children.iter().find(|(_, c)| **c == cur).map(|(n, _)| n.clone()).unwrap_or_default();
            parts.push(name);
            cur = p;
        }
        parts.push("crate".into());
        parts.reverse();
        parts.join("::")
    }

    /// The circles: groups of two or more files that reach each other, each with the edges inside it.
    fn circles(&self) -> Result<Vec<String>> {
        let edges = self.edges()?;
        let n = self.files.len();
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b) in edges.keys() {
            next[a].push(b);
        }
        let mut out = Vec::new();
        for group in tarjan(&next) {
            if group.len() < 2 {
                continue;
            }
            let set: BTreeSet<usize> = group.iter().copied().collect();
            let names: Vec<String> = set.iter().map(|&f| self.short(f)).collect();
            let mut text = format!("{}: circle of {} files: {}\n", self.name, set.len(), names.join(", "));
            for ((a, b), items) in edges.range((*set.first().unwrap(), 0)..) {
                if !set.contains(a) || !set.contains(b) {
                    continue;
                }
                let listed: Vec<String> = items.iter().map(|(item, lines)| format!("{item} (line {})", lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "))).collect();
                text.push_str(&format!("    {} -> {}: {}\n", self.short(*a), self.short(*b), listed.join("; ")));
            }
            out.push(text);
        }
        Ok(out)
    }

    fn short(&self, f: usize) -> String {
        let p = &self.files[f];
        let s = p.to_string_lossy();
        s.find("src/").map(|i| s[i + 4..].to_string()).unwrap_or_else(|| s.to_string())
    }
}

/// Tarjan's strongly connected components of a graph given as successor lists.
fn tarjan(next: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        next: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        out: Vec<Vec<usize>>,
    }
    fn connect(s: &mut State, v: usize) {
        s.index[v] = Some(s.counter);
        s.low[v] = s.counter;
        s.counter += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.next[v] {
            match s.index[w] {
                None => {
                    connect(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut group = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(group);
        }
    }
    let n = next.len();
    let mut s = State { next, index: vec![None; n], low: vec![0; n], on_stack: vec![false; n], stack: Vec::new(), counter: 0, out: Vec::new() };
    for v in 0..n {
        if s.index[v].is_none() {
            connect(&mut s, v);
        }
    }
    s.out
}

/// The crate roots of a package folder: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`.
fn crate_roots(package: &Path) -> Vec<(String, PathBuf)> {
    let name = package.file_name().unwrap().to_string_lossy().to_string();
    let src = package.join("src");
    let mut roots = Vec::new();
    for (file, label) in [("lib.rs", "lib"), ("main.rs", "main")] {
        if src.join(file).exists() {
            roots.push((format!("{name} ({label})"), src.join(file)));
        }
    }
    if let Ok(bins) = std::fs::read_dir(src.join("bin")) {
        let mut bins: Vec<PathBuf> = bins.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        bins.sort();
        for b in bins {
            let root = if b.is_dir() { b.join("main.rs") } else { b.clone() };
            if root.extension().is_some_and(|e| e == "rs") && root.exists() {
                roots.push((format!("{name} (bin {})", b.file_stem().unwrap().to_string_lossy()), root));
            }
        }
    }
    roots
}

/// The circles of every crate under the given package folders.
fn circles_of(packages: &[PathBuf]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for package in packages {
        for (name, root) in crate_roots(package) {
            out.extend(Crate::read(&name, &root)?.circles()?);
        }
    }
    Ok(out)
}

/// The workspace's member folders, from the root Cargo.toml.
fn workspace_packages() -> Result<Vec<PathBuf>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))?.parse()?;
    let members = manifest["workspace"]["members"].as_array().context("workspace.members")?;
    Ok(members.iter().filter_map(|m| m.as_str()).map(|m| root.join(m)).collect())
}

#[test]
fn no_file_circles_in_the_workspace() -> Result<()> {
    let packages = workspace_packages()?;
    assert!(packages.len() >= 10, "the workspace's members were not read: {packages:?}");
    let circles = circles_of(&packages)?;
    assert!(circles.is_empty(), "{} file circle(s) (docs/DESIGN.md, \"Files within a crate\"):\n{}", circles.len(), circles.join(""));
    Ok(())
}

/// The checker itself, on a small crate written for it: it finds what it must and nothing else.
#[test]
fn the_circle_check_finds_circles_of_any_length_and_only_those() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let package = dir.path().join("demo");
    let files: &[(&str, &str)] = &[
        ("lib.rs", "//! Root.\npub mod a;\npub mod b;\npub mod c;\npub mod p;\npub mod d;\npub mod e;\npub mod q;\npub mod r;\npub use c::C;\npub struct Root;\n"),
        // a -> b through a type path in a signature.
        ("a.rs", "pub struct A;\npub fn f(_: crate::b::B) {}\n"),
        // b -> c through a re-export at the crate root, written inside a macro's arguments.
        ("b.rs", "pub struct B;\npub fn g() { let _ = format!(\"{:?}\", crate::C::new()); }\n"),
        // c -> a through a serde function path; a doc link to d is not code.
        (
            "c.rs",
            "/// See [`crate::d::D`].\npub struct C;\nimpl C { pub fn new() -> Self { C } }\n#[derive(serde::Deserialize)]\npub struct S { #[serde(deserialize_with = \"crate::a::read\")] pub x: u8 }\n",
        ),
        // A parent and its child using each other: one unit, no circle; the child's use of the root is not an edge either.
        ("p.rs", "mod child;\npub use child::Kid;\npub struct Parent;\n"),
        ("p/child.rs", "use super::Parent;\npub struct Kid(pub Parent, pub crate::Root);\n"),
        // d and e: a two-file circle through `use` with a group and a rename, and through `super::`.
        ("d.rs", "//! crate::e::E in a comment is not code.\nuse crate::{e::E as Other};\npub struct D(pub Other);\n"),
        ("e.rs", "pub struct E;\nfn h() -> super::d::D { todo!() }\n"),
        // q and r: a circle through a re-exporting hub (r re-exports another crate's type, which q names through r).
        ("q.rs", "pub struct Q;\npub fn f(_: crate::r::Map<u8, u8>) {}\n"),
        ("r.rs", "pub use std::collections::HashMap as Map;\npub fn g(_: crate::q::Q) {}\n"),
    ];
    for (name, text) in files {
        let path = package.join("src").join(name);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, text)?;
    }
    let circles = circles_of(std::slice::from_ref(&package))?;
    assert_eq!(circles.len(), 3, "{circles:#?}");
    let abc = circles.iter().find(|c| c.contains("a.rs")).context("the a-b-c circle")?;
    assert!(abc.starts_with("demo (lib): circle of 3 files: a.rs, b.rs, c.rs\n"), "{abc}");
    assert!(abc.contains("a.rs -> b.rs: crate::b::B (line 2)"), "{abc}");
    assert!(abc.contains("b.rs -> c.rs: crate::c::C (line 2)"), "{abc}");
    assert!(abc.contains("c.rs -> a.rs: crate::a::read (line 5)"), "{abc}");
    let de = circles.iter().find(|c| c.contains("d.rs")).context("the d-e circle")?;
    assert!(de.contains("d.rs -> e.rs: crate::e::E (line 2, 3)") && de.contains("e.rs -> d.rs: crate::d::D (line 2)"), "{de}");
    let qr = circles.iter().find(|c| c.contains("q.rs")).context("the circle through the hub r")?;
    assert!(qr.contains("q.rs -> r.rs: crate::r::Map (line 2)") && qr.contains("r.rs -> q.rs: crate::q::Q (line 2)"), "{qr}");
    assert!(!circles.iter().any(|c| c.contains("p.rs") || c.contains("child.rs")), "{circles:#?}");
    Ok(())
}
