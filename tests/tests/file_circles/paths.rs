//! The paths a file names: the leaves of its use items, a syn visitor collecting paths in code and macro arguments, and the test attributes.

use super::*;

pub(super) enum Leaf {
    Name(String),
    Glob,
    /// `use x as _`: no name, still a use.
    Hidden,
}

/// The leaves of a use tree: full path and the name it brings in.
pub(super) fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Leaf)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => out.push((prefix.clone(), Leaf::Name(prefix.last().cloned().unwrap_or_default()))),
        syn::UseTree::Name(n) => {
            let mut p = prefix.clone();
            p.push(n.ident.to_string());
            out.push((p, Leaf::Name(n.ident.to_string())));
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            if r.ident != "self" {
                p.push(r.ident.to_string());
            }
            let leaf = if r.rename == "_" { Leaf::Hidden } else { Leaf::Name(r.rename.to_string()) };
            out.push((p, leaf));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), Leaf::Glob)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// Walks one file's code and resolves every path it writes.
pub(super) struct PathCollector<'a> {
    pub(super) krate: &'a Crate,
    pub(super) scope: usize,
    /// Inline modules entered (their module indices), innermost last.
    pub(super) inline: Vec<usize>,
    /// How many `#[cfg(test)]` items enclose the code being read (the whole file when it is test code).
    pub(super) test: usize,
    pub(super) found: Vec<(Res, usize)>,
}

impl PathCollector<'_> {
    pub(super) fn current(&self) -> usize {
        *self.inline.last().unwrap_or(&self.scope)
    }

    pub(super) fn record(&mut self, segs: &[String], line: usize) {
        // Test code is a leaf: nothing outside tests can use it, so it closes no circle (docs/DESIGN.md).
        if self.test > 0 {
            return;
        }
        self.krate.via.borrow_mut().clear();
        if let Some(res) = self.krate.resolve(self.current(), segs, 0) {
            self.found.push((res, line));
        }
        // The hubs on the way (their own file and ancestors are dropped with the other edges).
        let via = std::mem::take(&mut *self.krate.via.borrow_mut());
        self.found.extend(via.into_iter().map(|(m, name)| (Res::Item(m, name), line)));
    }

    /// Paths in a macro's tokens: every `a::b::c` run (and lone names), the macro's arguments not being parsed as code.
    pub(super) fn scan_tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut line = 0;
        let mut colons = 0;
        let flush = |run: &mut Vec<String>, line: usize, this: &mut Self| {
            if !run.is_empty() {
                let segs = std::mem::take(run);
                this.record(&segs, line);
            }
        };
        for tt in tokens {
            match tt {
                proc_macro2::TokenTree::Ident(i) => {
                    if !run.is_empty() && colons != 2 {
                        flush(&mut run, line, self);
                    }
                    if run.is_empty() {
                        line = i.span().start().line;
                    }
                    run.push(i.to_string());
                    colons = 0;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() => colons += 1,
                proc_macro2::TokenTree::Group(g) => {
                    flush(&mut run, line, self);
                    colons = 0;
                    self.scan_tokens(g.stream());
                }
                _ => {
                    flush(&mut run, line, self);
                    colons = 0;
                }
            }
        }
        flush(&mut run, line, self);
    }
}

impl<'ast> Visit<'ast> for PathCollector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let test = usize::from(is_test(item_attrs(item)));
        self.test += test;
        syn::visit::visit_item(self, item);
        self.test -= test;
    }

    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let attrs: &[syn::Attribute] = match item {
            syn::ImplItem::Const(i) => &i.attrs,
            syn::ImplItem::Fn(i) => &i.attrs,
            syn::ImplItem::Type(i) => &i.attrs,
            syn::ImplItem::Macro(i) => &i.attrs,
            _ => &[],
        };
        let test = usize::from(is_test(attrs));
        self.test += test;
        syn::visit::visit_impl_item(self, item);
        self.test -= test;
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if let Some((_, items)) = &m.content {
            let inner = self.krate.modules[self.current()].children[&m.ident.to_string()];
            self.inline.push(inner);
            for item in items {
                self.visit_item(item);
            }
            self.inline.pop();
        }
        // `mod x;`: its own file, read on its own.
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut found = Vec::new();
        use_leaves(&u.tree, &mut Vec::new(), &mut found);
        let line = u.use_token.span.start().line;
        // A glob's path names a module; any other leaf an item or a module.
        for (path, _) in found {
            self.record(&path, line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p.segments.first().map(|s| s.ident.span().start().line).unwrap_or(0);
        self.record(&segs, line);
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        self.scan_tokens(m.tokens.clone());
    }

    /// An attribute's arguments can be code (`#[error("{}", crate::limits::human_bytes(*n))]`, clap's
    /// `value_parser = parse_side`); serde names functions in strings. Doc comments are not code.
    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        let syn::Meta::List(list) = &a.meta else { return };
        self.scan_tokens(list.tokens.clone());
        if !a.path().is_ident("serde") {
            return;
        }
        let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
        for w in tokens.windows(3) {
            if let (proc_macro2::TokenTree::Ident(key), proc_macro2::TokenTree::Punct(eq), proc_macro2::TokenTree::Literal(lit)) = (&w[0], &w[1], &w[2])
                && eq.as_char() == '='
                && ["with", "serialize_with", "deserialize_with", "default"].contains(&key.to_string().as_str())
                && let Ok(s) = syn::parse_str::<syn::LitStr>(&lit.to_string())
                && let Ok(path) = syn::parse_str::<syn::Path>(&s.value())
            {
                let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
                self.record(&segs, key.span().start().line);
            }
        }
    }
}

/// Whether attributes make an item test code: `#[cfg(test)]`, `#[cfg(all(test, ..))]`, `#[test]`.
pub(super) fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("test")
            || (a.path().is_ident("cfg")
                && matches!(&a.meta, syn::Meta::List(l) if {
                    let t = l.tokens.to_string();
                    t == "test" || (t.starts_with("all") && t.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "test") && !t.contains("not"))
                }))
    })
}

pub(super) fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}
