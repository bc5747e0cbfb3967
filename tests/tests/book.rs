//! README.md and the book in `docs/book` (issue 40, item 6): the README stays a front door (under
//! 300 lines, its test command the one CI runs), every chapter is in the book, the book builds
//! cleanly, and no link of the README or the book is broken.
//!
//! Why the link check is written here: mdBook 0.5 checks no links (a link to a missing page or
//! anchor is written as it is, and an `{{#include}}` that finds no file is only logged while
//! `mdbook build` exits 0). mdbook-linkcheck 0.7.7, the latest, is built on mdBook 0.4 and cannot
//! read mdBook 0.5's render context ("Unable to parse RenderContext: missing field `sections`"),
//! and its build took 4.6 CPU-min (an HTTP client and mdBook 0.4 inside) against mdBook's 2.5.
//! linkchecker (PyPI, Debian) checks built pages and their anchors, but as root it switches itself
//! to the user `nobody` (a clone under a private home folder is then unreadable), reads no
//! Markdown anchors, and would still leave the include check to us. What is needed is small: the
//! `href`/`src` and `id` attributes of the pages mdBook writes (always double-quoted) and the links
//! of a few Markdown files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::common::{in_ci, workspace_root};

/// The README's length limit (issue 40: "README.md under 300 lines").
const README_MAX_LINES: usize = 300;

/// `mdbook` on PATH, or `None` outside CI (the test then skips with a note; `scripts/setup`
/// installs it). In CI a missing mdBook fails.
fn mdbook() -> Option<PathBuf> {
    let ok = Command::new("mdbook").arg("--version").output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(PathBuf::from("mdbook"));
    }
    assert!(!in_ci(), "mdbook is not installed; scripts/setup installs it (cargo install mdbook --no-default-features --locked)");
    eprintln!("note: skipping the book's build, mdbook is not installed (scripts/setup installs it)");
    None
}

/// Builds the book in `book_dir` into `dest` and returns every error or warning line mdBook
/// logged (an include it could not read, a chapter it could not render), or why it failed.
fn build_book(mdbook: &Path, book_dir: &Path, dest: &Path) -> Result<Vec<String>> {
    let out = Command::new(mdbook).arg("build").arg(book_dir).arg("--dest-dir").arg(dest).env("NO_COLOR", "1").output().context("running mdbook build")?;
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let mut problems: Vec<String> = log
        .lines()
        .filter(|l| {
            let first = l.split_whitespace().next().unwrap_or("");
            first == "ERROR" || first == "WARN" || first.contains("[ERROR]") || first.contains("[WARN]")
        })
        .map(|l| format!("mdbook: {}", l.trim()))
        .collect();
    if !out.status.success() {
        problems.push(format!("mdbook build exited with {}:\n{log}", out.status));
    }
    Ok(problems)
}

/// Every value of the attribute `name` (double-quoted, as mdBook writes them) in `html`.
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("{name}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let preceded_by_space = at > 0 && rest.as_bytes()[at - 1].is_ascii_whitespace();
        let after = &rest[at + needle.len()..];
        let Some(end) = after.find('"') else { break };
        if preceded_by_space {
            values.push(&after[..end]);
        }
        rest = &after[end..];
    }
    values
}

/// `%XX` escapes and the HTML entities mdBook writes into attributes, decoded.
fn decode(s: &str) -> String {
    let s = s.replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">");
    let bytes = s.as_bytes();
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True for a link that leaves the local files: a scheme (`https:`, `mailto:`) or `//host`.
fn is_external(link: &str) -> bool {
    if link.starts_with("//") {
        return true;
    }
    let end = link.find(['/', '#', '?']).unwrap_or(link.len());
    link[..end].contains(':')
}

/// `base` joined with the relative `rel`, `.` and `..` resolved without touching the disk;
/// `None` when `rel` climbs above `root`.
fn resolve(root: &Path, base_dir: &Path, rel: &str) -> Option<PathBuf> {
    let mut parts: Vec<Component<'_>> = Vec::new();
    let joined = base_dir.join(rel);
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                let _ = parts.pop()?;
            }
            Component::CurDir => {}
            other => parts.push(other),
        }
    }
    let path: PathBuf = parts.iter().collect();
    path.starts_with(root).then_some(path)
}

/// Every broken relative link and anchor of the pages under `site` (the output of `mdbook
/// build`): a page or asset that does not exist, a link that leaves the book, an `#anchor` that
/// no `id` of the target page carries. 404.html is left out: it is written for a web server's
/// root (`<base href="/">`), not for relative reading.
fn check_site(site: &Path) -> Result<Vec<String>> {
    let mut pages: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut stack = vec![site.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                let _ = pages.insert(path, text);
            }
        }
    }
    if pages.is_empty() {
        return Ok(vec![format!("no pages in {}", site.display())]);
    }
    let ids: BTreeMap<&PathBuf, BTreeSet<String>> = pages.iter().map(|(p, html)| (p, attribute_values(html, "id").into_iter().chain(attribute_values(html, "name")).map(decode).collect())).collect();
    let mut problems = Vec::new();
    for (page, html) in &pages {
        if page.file_name().is_some_and(|n| n == "404.html") {
            continue;
        }
        let shown = page.strip_prefix(site).unwrap_or(page).display().to_string();
        let dir = page.parent().unwrap_or(site);
        for link in attribute_values(html, "href").into_iter().chain(attribute_values(html, "src")) {
            if link.is_empty() || is_external(link) {
                continue;
            }
            let link = decode(link);
            let (path_part, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or("");
            let target = if path_part.is_empty() {
                page.clone()
            } else {
                let Some(t) = resolve(site, dir, path_part) else {
                    problems.push(format!("{shown}: link {link:?} leaves the book"));
                    continue;
                };
                if t.is_dir() { t.join("index.html") } else { t }
            };
            if !target.is_file() {
                problems.push(format!("{shown}: link {link:?}: no such page or file"));
                continue;
            }
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                match ids.get(&target) {
                    Some(set) if set.contains(fragment) => {}
                    Some(_) => problems.push(format!("{shown}: link {link:?}: no element with id {fragment:?} in that page")),
                    None => problems.push(format!("{shown}: link {link:?}: an anchor into a file that is not a page")),
                }
            }
        }
    }
    Ok(problems)
}

/// The lines of `markdown` outside fenced code blocks, with their line numbers (1-based).
fn prose_lines(markdown: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in markdown.lines().enumerate() {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if t.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        out.push((i + 1, line));
    }
    out
}

/// `line` with its inline code spans blanked out (a code span holds no link).
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for ch in line.chars() {
        if ch == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { ch });
        }
    }
    out
}

/// The targets of the inline links `[text](target "title")` and reference definitions
/// `[label]: target` of a Markdown text, with their line numbers.
fn markdown_links(markdown: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    for (n, raw) in prose_lines(markdown) {
        let line = without_code_spans(raw);
        let trimmed = line.trim_start();
        if trimmed.starts_with('[')
            && let Some(close) = trimmed.find("]:")
        {
            let target = trimmed[close + 2..].split_whitespace().next().unwrap_or("");
            links.push((n, target.trim_matches(['<', '>']).to_string()));
            continue;
        }
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            links.push((n, target.trim_matches(['<', '>']).to_string()));
            rest = &after[end..];
        }
    }
    links
}

/// GitHub's anchor of a heading's text: lower case, letters, digits, `-` and `_` kept, spaces to
/// `-`, everything else dropped; the inline formatting marks go first.
fn github_slug(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| !matches!(c, '`' | '*'))
        .flat_map(char::to_lowercase)
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The anchors GitHub gives the headings of a Markdown text (repeats get `-1`, `-2`, ...).
fn markdown_anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, line) in prose_lines(markdown) {
        let t = line.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !t[hashes..].starts_with(' ') {
            continue;
        }
        let slug = github_slug(t[hashes..].trim());
        let n = seen.entry(slug.clone()).or_insert(0);
        let _ = anchors.insert(if *n == 0 { slug.clone() } else { format!("{slug}-{n}") });
        *n += 1;
    }
    anchors
}

/// Every broken relative link of the Markdown file `file` read as GitHub shows it: a file or
/// folder of the repository that does not exist, a link that leaves `root`, and with `anchors`
/// an anchor that no heading of the target Markdown file gives. (A chapter's anchors are checked
/// on the built pages instead: GitHub does not expand mdBook's `{{#include}}`, so an anchor into
/// included text exists in the book only.)
fn check_markdown_file(root: &Path, file: &Path, anchors: bool) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let shown = file.strip_prefix(root).unwrap_or(file).display().to_string();
    let dir = file.parent().unwrap_or(root);
    let mut problems = Vec::new();
    for (line, link) in markdown_links(&text) {
        if link.is_empty() || is_external(&link) {
            continue;
        }
        let link_d = decode(&link);
        let (path_part, fragment) = match link_d.split_once('#') {
            Some((p, f)) => (p.to_string(), Some(f.to_string())),
            None => (link_d.clone(), None),
        };
        let target = if path_part.is_empty() {
            file.to_path_buf()
        } else {
            let Some(t) = resolve(root, dir, &path_part) else {
                problems.push(format!("{shown}:{line}: link {link:?} leaves the repository"));
                continue;
            };
            t
        };
        if !target.exists() {
            problems.push(format!("{shown}:{line}: link {link:?}: no such file or folder"));
            continue;
        }
        if let Some(fragment) = fragment.filter(|f| anchors && !f.is_empty()) {
            let is_md = target.extension().is_some_and(|e| e == "md");
            let anchors = if is_md { markdown_anchors(&std::fs::read_to_string(&target)?) } else { BTreeSet::new() };
            if !anchors.contains(&fragment) {
                problems.push(format!("{shown}:{line}: link {link:?}: no heading with the anchor {fragment:?} there"));
            }
        }
    }
    Ok(problems)
}

/// The chapters SUMMARY.md lists, relative to the book's `src`.
fn summary_chapters(summary: &str) -> BTreeSet<PathBuf> {
    markdown_links(summary).into_iter().filter(|(_, l)| !l.is_empty() && !is_external(l)).map(|(_, l)| PathBuf::from(l.split('#').next().unwrap_or(""))).collect()
}

/// Every `.md` file under `dir`, relative to it.
fn markdown_files(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut files = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "md") {
                let _ = files.insert(p.strip_prefix(dir)?.to_path_buf());
            }
        }
    }
    Ok(files)
}

#[test]
fn readme_is_short_and_keeps_the_test_command() -> Result<()> {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    let lines = readme.lines().count();
    assert!(lines < README_MAX_LINES, "README.md has {lines} lines; it must stay under {README_MAX_LINES}: move the detail into the book (docs/book/src)");

    // CI (`.ci/run`) runs `scripts/test`, "exactly the README's test command": the first code block
    // under the README's "## Tests" must be that command alone.
    let tests_at = readme.lines().position(|l| l.trim() == "## Tests").context("README.md has no \"## Tests\" section")?;
    let mut block = Vec::new();
    let mut in_block = false;
    for line in readme.lines().skip(tests_at + 1) {
        if line.starts_with("## ") && !in_block {
            break;
        }
        if line.starts_with("```") {
            if in_block {
                break;
            }
            in_block = true;
            continue;
        }
        if in_block {
            block.push(line.trim());
        }
    }
    assert_eq!(block, ["scripts/test"], "README.md's test command (the first code block under \"## Tests\")");
    let ci = std::fs::read_to_string(root.join(".ci/run"))?;
    let last = ci.lines().map(str::trim).rfind(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
    // The command may close descriptors the tests must not inherit (`9>&-`: the CI lock's), and
    // nothing else: no other command, argument or redirection.
    let mut words = last.split_whitespace();
    let command = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let closes_a_descriptor = |w: &str| w.strip_suffix(">&-").is_some_and(|fd| !fd.is_empty() && fd.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(command, "scripts/test", ".ci/run must run the README's test command (its last line: {last:?})");
    assert!(rest.iter().all(|w| closes_a_descriptor(w)), ".ci/run's last line may only add descriptor closings (N>&-) to the README's test command: {last:?}");
    Ok(())
}

#[test]
fn readme_links_resolve() -> Result<()> {
    let root = workspace_root();
    let problems = check_markdown_file(&root, &root.join("README.md"), true)?;
    assert!(problems.is_empty(), "broken links in README.md:\n{}", problems.join("\n"));
    // The README points into the book; an empty list would mean the link scan found nothing.
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    assert!(markdown_links(&readme).iter().any(|(_, l)| l.starts_with("docs/book/")), "README.md links to no chapter of docs/book");
    Ok(())
}

#[test]
fn every_chapter_is_in_the_summary() -> Result<()> {
    let src = workspace_root().join("docs/book/src");
    let listed = summary_chapters(&std::fs::read_to_string(src.join("SUMMARY.md"))?);
    let mut files = markdown_files(&src)?;
    let _ = files.remove(Path::new("SUMMARY.md"));
    let orphans: Vec<_> = files.difference(&listed).map(|p| p.display().to_string()).collect();
    assert!(orphans.is_empty(), "chapters not in docs/book/src/SUMMARY.md (mdBook would leave them out of the book): {orphans:?}");
    let missing: Vec<_> = listed.difference(&files).map(|p| p.display().to_string()).collect();
    assert!(missing.is_empty(), "SUMMARY.md lists chapters that do not exist: {missing:?}");
    Ok(())
}

#[test]
fn the_book_builds_and_its_links_resolve() -> Result<()> {
    let Some(mdbook) = mdbook() else { return Ok(()) };
    let root = workspace_root();
    let dest = tempfile::tempdir()?;
    let mut problems = build_book(&mdbook, &root.join("docs/book"), dest.path())?;
    problems.extend(check_site(dest.path())?);
    // Markdown links inside the book resolve through the built pages above; the chapters' links
    // read as Markdown on GitHub must resolve too (the same targets, as .md files).
    let src = root.join("docs/book/src");
    for chapter in markdown_files(&src)? {
        problems.extend(check_markdown_file(&root, &src.join(chapter), false)?);
    }
    assert!(problems.is_empty(), "the book (docs/book) has {} problem(s):\n{}", problems.len(), problems.join("\n"));
    Ok(())
}

/// The check above finds what it is for: a tiny book with a missing page, a missing anchor, a
/// link out of the book and an include of a missing file, and a README with a dead link.
#[test]
fn the_link_check_finds_broken_links() -> Result<()> {
    let Some(mdbook) = mdbook() else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let book = dir.path().join("book");
    std::fs::create_dir_all(book.join("src"))?;
    std::fs::write(book.join("book.toml"), "[book]\ntitle = \"t\"\n[build]\ncreate-missing = false\n")?;
    std::fs::write(book.join("src/SUMMARY.md"), "# Summary\n\n- [A](a.md)\n- [B](b.md)\n")?;
    std::fs::write(book.join("src/a.md"), "# A\n\n[good](b.md#hello-world) [page](nope.md) [anchor](b.md#nope) [out](../../../x.md) [self](#a)\n\n{{#include missing.md}}\n")?;
    std::fs::write(book.join("src/b.md"), "# B\n\n## Hello world\n")?;
    let site = dir.path().join("site");
    let log = build_book(&mdbook, &book, &site)?;
    assert!(log.iter().any(|l| l.contains("missing.md")), "the missing include was not reported: {log:?}");
    let problems = check_site(&site)?;
    let text = problems.join("\n");
    for expected in ["\"nope.html\": no such page", "\"b.html#nope\": no element with id \"nope\"", "\"../../../x.html\" leaves the book"] {
        assert!(text.contains(expected), "the check missed {expected}; it found:\n{text}");
    }
    assert!(!text.contains("hello-world") && !text.contains("\"#a\""), "a good link was reported:\n{text}");

    std::fs::write(dir.path().join("README.md"), "# R\n\n## Part one\n\n[ok](book/src/a.md) [dead](book/src/c.md) [anchor](#part-one) [bad anchor](#part-two) `[code](nowhere)`\n")?;
    let problems = check_markdown_file(dir.path(), &dir.path().join("README.md"), true)?.join("\n");
    assert!(problems.contains("\"book/src/c.md\": no such file"), "{problems}");
    assert!(problems.contains("\"#part-two\""), "{problems}");
    assert!(!problems.contains("a.md\"") && !problems.contains("#part-one") && !problems.contains("nowhere"), "a good link was reported:\n{problems}");
    Ok(())
}
