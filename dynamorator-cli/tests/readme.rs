//! The README, kept honest mechanically (its Rust blocks are the library's doctests):
//! - its command-line session (the `console` block) runs here on moto, line by line in one
//!   shell, and each line prints what the README shows, times, sizes and counts aside;
//! - every code span that names a flag, a type or a method names one that exists: a flag of
//!   the tool's `--help` (or of the other tools the README runs), an item of the library's or
//!   the macro crate's source.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use support::tool;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(workspace().join("README.md")).expect("README.md reads")
}

/// The README's session: each command (after `$ `) and the lines shown after it.
#[cfg_attr(not(feature = "server-tests"), allow(dead_code))]
fn session(readme: &str) -> Vec<(String, Vec<String>)> {
    let mut commands: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("```console") {
            inside = true;
            continue;
        }
        if inside && line.starts_with("```") {
            inside = false;
            continue;
        }
        if !inside {
            continue;
        }
        match (line.strip_prefix("$ "), commands.last_mut()) {
            (Some(command), _) => commands.push((command.to_owned(), Vec::new())),
            (None, Some((_, output))) => output.push(line.to_owned()),
            (None, None) => panic!("console block starts with output: {line}"),
        }
    }
    commands
}

/// A line with what changes from run to run made plain: durations (`7d`, `59m 59s`) become
/// `T`, other numbers `#`, bars and runs of spaces go.
fn normalised(line: &str) -> String {
    let chars: Vec<char> = line.chars().filter(|&c| c != '█').collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let unit = chars.get(i).copied();
            let after = chars.get(i + 1).copied();
            let is_duration = matches!(unit, Some('d' | 'h' | 'm' | 's'))
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
                && (start == 0 || !chars[start - 1].is_ascii_alphanumeric());
            if is_duration {
                i += 1;
                // `6d 23h` is one duration.
                if !out.ends_with("T ") {
                    out.push('T');
                } else {
                    out.pop();
                }
            } else {
                out.push('#');
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn normalising_keeps_words_and_drops_what_varies() {
    assert_eq!(
        normalised("expires 2026-12-14 14:01:27 UTC (in 6d 23h)"),
        "expires #-#-# #:#:# UTC (in T)"
    );
    assert_eq!(normalised("(in 7d)"), normalised("(in 59m 59s)"));
    assert_eq!(normalised("  ≤ 128 B  ████   14   93.3%"), "≤ # B # #.#%");
    assert_eq!(normalised("p90 81 B, session:12"), "p# # B, session:#");
}

/// The README's report.json: 5 KB of JSON that gzip shrinks to under 1 KB.
#[cfg_attr(not(feature = "server-tests"), allow(dead_code))]
fn report_json() -> serde_json::Value {
    let countries = ["NO", "SE", "DK", "FI"];
    let rows: Vec<serde_json::Value> = (0..110)
        .map(|i: usize| {
            serde_json::json!({
                "day": format!("2026-11-{:02}", i % 30 + 1),
                "visits": i * 37 % 1000,
                "country": countries[i % 4],
            })
        })
        .collect();
    serde_json::json!({"month": "2026-11", "rows": rows})
}

#[cfg(feature = "server-tests")]
#[test]
fn the_readme_session_prints_what_the_readme_shows() {
    use dynamorator_testkit::TestBackend;

    let readme = readme();
    let commands = session(&readme);
    assert!(commands.len() > 15, "{} commands", commands.len());
    let dir = dynamorator_testkit::unique_file();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.json"), report_json().to_string()).unwrap();
    let table = dynamorator_testkit::unique_table_name();
    // One shell for the whole session (its `export` holds for the lines after it); a marker
    // before each line's output.
    let mut script = String::from("set -u\n");
    for (index, (command, _)) in commands.iter().enumerate() {
        let command = command.replace("my-cache", &table);
        script.push_str(&format!("echo '@@@ {index}'\n{{ {command} ; }} 2>&1\n"));
    }
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_dynamorator"));
    let bin_dir = binary.parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &dir)
        .env("AWS_ENDPOINT_URL", TestBackend::Moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut printed: Vec<Vec<String>> = vec![Vec::new(); commands.len()];
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(index) = line.strip_prefix("@@@ ") {
            current = index.parse().ok();
        } else if let Some(index) = current {
            printed[index].push(line.to_owned());
        }
    }
    for ((command, shown), printed) in commands.iter().zip(&printed) {
        let shown: Vec<String> = shown.iter().map(|l| normalised(l)).collect();
        let got: Vec<String> = printed.iter().map(|l| normalised(l)).collect();
        assert_eq!(
            got,
            shown,
            "`{command}` printed:\n{}\n(stderr of the session: {})",
            printed.join("\n"),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The inline code spans of the README's prose (fenced blocks left out).
fn code_spans(readme: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut parts = line.split('`');
        parts.next();
        while let (Some(span), Some(_)) = (parts.next(), parts.next()) {
            spans.push(span.to_owned());
        }
    }
    spans
}

/// Every identifier declared or used in the Rust sources under `dir`.
fn identifiers(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            identifiers(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                if word
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                {
                    found.insert(word.to_owned());
                }
            }
        }
    }
}

/// The names of the functions declared (`fn name`) in the Rust sources under `dir`.
fn functions(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            functions(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("fn ").skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        }
    }
}

/// Every `--flag` of the tool and its commands, from their `--help`.
fn tool_flags() -> BTreeSet<String> {
    let help = |args: &[&str]| {
        let output = tool().args(args).arg("--help").output().unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let top = help(&[]);
    let commands: Vec<String> = top
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|command| command != "help")
        .collect();
    assert!(commands.len() > 10, "{commands:?}");
    let mut flags = BTreeSet::new();
    for text in std::iter::once(top).chain(commands.iter().map(|c| help(&[c.as_str()]))) {
        for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']') {
            if let Some(flag) = word.strip_prefix("--") {
                let flag: String = flag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                flags.insert(format!("--{flag}"));
            }
        }
    }
    flags
}

/// Flags of the other tools the README runs (cargo, cargo-hack, the test scripts).
const OTHER_TOOLS_FLAGS: &[&str] = &[
    "--example",
    "--features",
    "--path",
    "--open",
    "--all-features",
    "--no-default-features",
    "--feature-powerset",
    "--workspace",
    "--all-targets",
    "--check",
    "--test",
    "--root",
    "--nocapture",
    "--all",
];

/// Names that are not this crate's: the Python package's API, the standard library and the
/// crates the README mentions.
const NOT_OURS: &[&str] = &[
    // The Python package.
    "DynamoDBStore",
    "batch_get",
    "list_keys",
    "put",
    "get",
    "delete",
    "json",
    "dumps",
    // Rust and its ecosystem.
    "std",
    "Arc",
    "Box",
    "Option",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "Vec",
    "String",
    "HashMap",
    "Duration",
    "Send",
    "Sync",
    "Clone",
    "Serialize",
    "Deserialize",
    "DeserializeOwned",
    "Display",
    "From",
    "ToOwned",
    "Self",
    "TypeId",
    "LazyLock",
    "OnceLock",
    "NaiveDateTime",
    "anyhow",
    "io",
    "type_name",
    "any",
    "hash",
    "serde",
    "chrono",
    "time",
    "reqwest",
    "Client",
    "IOCached",
    "io_cached",
    "cached",
    "convert",
    "create",
    "map_error",
    "tokio",
    "main",
    "tracing",
    "metrics",
    "ok",
    "map",
    "flatten",
    "unwrap_or_default",
    // The README's own examples and arithmetic.
    "my_crate",
    "weather",
    "FetchError",
    "CacheText",
    "rate_key",
    "trunc",
];

#[test]
fn the_readme_names_only_flags_types_and_methods_that_exist() {
    let root = workspace();
    let mut known = BTreeSet::new();
    identifiers(&root.join("dynamorator/src"), &mut known);
    identifiers(&root.join("dynamorator-derive/src"), &mut known);
    let mut fns = BTreeSet::new();
    functions(&root.join("dynamorator/src"), &mut fns);
    functions(&root.join("dynamorator-derive/src"), &mut fns);
    // The macros' keys (`skip(..)`, `l1(..)`) are words of the macro crate.
    identifiers(&root.join("dynamorator-derive/src"), &mut fns);
    let flags = tool_flags();
    let exists = |name: &str| known.contains(name) || NOT_OURS.contains(&name);

    let mut unknown = BTreeSet::new();
    for span in code_spans(&readme()) {
        // Flags: the tool's, or another tool's.
        for word in span.split_whitespace() {
            if let Some(rest) = word.strip_prefix("--") {
                let flag: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                let flag = format!("--{flag}");
                if flag.len() > 2
                    && !flags.contains(&flag)
                    && !OTHER_TOOLS_FLAGS.contains(&flag.as_str())
                {
                    unknown.insert(format!("flag {flag} (in `{span}`)"));
                }
            }
        }
        // Paths such as `Store::builder` or `CorruptReason::Split`: every segment exists.
        for word in span.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
            if word.contains("::") {
                for segment in word.split("::").filter(|s| !s.is_empty()) {
                    if segment != "dynamorator" && !exists(segment) {
                        unknown.insert(format!("{segment} (in `{span}`)"));
                    }
                }
            }
        }
        // Calls such as `.region(..)` or `get_or_insert_with(key, loader)`: a function of
        // the library or the macros (a memoised function's companions included).
        let mut rest = span.as_str();
        while let Some(open) = rest.find('(') {
            let before = &rest[..open];
            let name: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
                .chars()
                .rev()
                .collect();
            let is_call = !name.is_empty()
                && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && !before.ends_with(&format!("#[{name}"))
                && !before.ends_with('!');
            if is_call && !fns.contains(&name) && !NOT_OURS.contains(&name.as_str()) {
                unknown.insert(format!("fn {name} (in `{span}`)"));
            }
            rest = &rest[open + 1..];
        }
        // A type alone, such as `GetMany` or `Cache<T>`.
        let head: String = span
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let alone = span == head || span.starts_with(&format!("{head}<"));
        // (An environment variable, all capitals, is no type.)
        let capitals = head.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        if alone
            && !capitals
            && head.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && !exists(&head)
        {
            unknown.insert(format!("type {head} (in `{span}`)"));
        }
    }
    assert!(
        unknown.is_empty(),
        "the README names what does not exist:\n{}",
        unknown.into_iter().collect::<Vec<_>>().join("\n")
    );
}
