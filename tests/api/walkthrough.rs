//! docs/walkthrough.md, executed: every command of its `sh` blocks runs, in order,
//! against a real server — `curl` as HTTP calls, `jq` as a small path evaluator — so the
//! document cannot rot. A command this runner does not understand fails the test.

use std::collections::HashMap;
use std::path::Path;

use reqwest::Method;
use serde_json::Value;

use super::server::Server;

/// The commands of the document's `sh` blocks (a command may span lines inside quotes).
fn commands(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut block = String::new();
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            if in_sh {
                out.extend(split_commands(&block));
                block.clear();
            }
            in_sh = line.trim() == "```sh";
            continue;
        }
        if in_sh {
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

/// Splits shell text at newlines outside quotes.
fn split_commands(text: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\n') => {
                if !cur.trim().is_empty() && !cur.trim_start().starts_with('#') {
                    out.push(cur.trim().to_owned());
                }
                cur.clear();
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some('"'), '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        cur.push(c);
    }
    out
}

/// Shell words with `$VAR` expanded (not inside single quotes).
fn words(text: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut started) =
        (Vec::new(), String::new(), None::<char>, false);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                started = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') if i < chars.len() => {
                cur.push(chars[i]);
                i += 1;
            }
            (q, '$') if q != Some('\'') => {
                let name: String = chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                i += name.len();
                cur.push_str(
                    vars.get(&name)
                        .unwrap_or_else(|| panic!("${name} is not set")),
                );
                started = true;
            }
            _ => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

/// Splits at `|` and `>` outside quotes: `(stages, redirect target)`.
fn pipeline(text: &str) -> (Vec<String>, Option<String>) {
    let (mut stages, mut cur, mut quote) = (Vec::new(), String::new(), None::<char>);
    let mut target = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|') => {
                stages.push(std::mem::take(&mut cur));
                continue;
            }
            (None, '>') => {
                stages.push(std::mem::take(&mut cur));
                target = Some(String::new());
                continue;
            }
            _ => {}
        }
        match &mut target {
            Some(t) => t.push(c),
            None => cur.push(c),
        }
    }
    if target.is_none() {
        stages.push(cur);
    }
    (stages, target.map(|t| t.trim().to_owned()))
}

/// `.a.b[0].c`, optionally `| @uri`: what the document's captured `jq -r` use.
fn jq(expr: &str, input: &Value) -> String {
    let (path, uri) = match expr.split_once('|') {
        Some((p, f)) => {
            assert_eq!(f.trim(), "@uri", "unsupported jq filter in `{expr}`");
            (p.trim(), true)
        }
        None => (expr.trim(), false),
    };
    let mut v = input;
    for part in path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
    {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (
                k,
                Some(i.trim_end_matches(']').parse::<usize>().expect("index")),
            ),
            None => (part, None),
        };
        if !key.is_empty() {
            v = &v[key];
        }
        if let Some(i) = index {
            v = &v[i];
        }
    }
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if uri {
        super::server::enc(&text).replace(':', "%3A")
    } else {
        text
    }
}

struct Runner<'a> {
    server: &'a Server,
    vars: HashMap<String, String>,
    files: HashMap<String, Value>,
}

impl Runner<'_> {
    async fn curl(&self, args: &[String]) -> Value {
        let (mut method, mut token, mut body, mut url, mut fail) =
            (Method::GET, None, None, None, false);
        let mut it = args.iter().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "-X" => method = it.next().expect("method").parse().expect("a method"),
                "-H" => {
                    let h = it.next().expect("header");
                    token = Some(
                        h.strip_prefix("Authorization: Bearer ")
                            .expect("only the bearer header")
                            .to_owned(),
                    );
                }
                "-d" => {
                    body = Some(it.next().expect("data").clone());
                    if method == Method::GET {
                        method = Method::POST;
                    }
                }
                flags
                    if flags.starts_with('-') && flags[1..].chars().all(|c| "sSf".contains(c)) =>
                {
                    fail |= flags.contains('f');
                }
                u if u.starts_with("http") => url = Some(u.to_owned()),
                other => panic!("unsupported curl argument `{other}`"),
            }
        }
        let path = url.expect("a URL").replacen(&self.server.base, "", 1);
        let json = body.map(|b| serde_json::from_str(&b).unwrap_or_else(|e| panic!("{e}: {b}")));
        let (status, value) = self
            .server
            .call(method, &path, token.as_deref(), json)
            .await;
        if fail {
            assert!(status.is_success(), "curl -f {path}: {status} {value}");
        }
        value
    }

    async fn run_pipeline(&mut self, text: &str, capture: bool) -> Option<String> {
        let (stages, target) = pipeline(text);
        let first = words(&stages[0], &self.vars);
        let mut value = match first[0].as_str() {
            "curl" => self.curl(&first).await,
            "jq" => {
                assert_eq!(first[1], "-r", "{text}");
                let file = &first[3];
                let input = self
                    .files
                    .get(file)
                    .cloned()
                    .unwrap_or_else(|| panic!("no file {file}"));
                return Some(jq(&first[2], &input));
            }
            "echo" => return None,
            other => panic!("unsupported command `{other}`"),
        };
        if let Some(file) = target {
            self.files.insert(file, value.clone());
        }
        let mut captured = None;
        for stage in &stages[1..] {
            let w = words(stage, &self.vars);
            assert_eq!(w[0], "jq", "only jq after a pipe: {text}");
            if capture && w.get(1).map(String::as_str) == Some("-r") {
                captured = Some(jq(&w[2], &value));
            }
            value = Value::Null;
        }
        captured
    }

    async fn run(&mut self, command: &str) {
        let assignment = command
            .split_once('=')
            .filter(|(name, _)| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
        match assignment {
            Some((name, rest)) if rest.starts_with("$(") => {
                let inner = rest
                    .trim_start_matches("$(")
                    .strip_suffix(')')
                    .expect("$( … )");
                let value = self
                    .run_pipeline(inner, true)
                    .await
                    .expect("a captured value");
                self.vars.insert(name.to_owned(), value);
            }
            Some(("YJ", _)) => {}
            Some((name, rest)) => {
                let value = words(rest, &self.vars).join(" ");
                self.vars.insert(name.to_owned(), value);
            }
            None => {
                self.run_pipeline(command, false).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_runs_as_written() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/walkthrough.md"))
            .expect("docs/walkthrough.md");
    let server = Server::start().await;
    let tokens_file = server.dir.path().join("yijian-dev-tokens.json");
    let tokens: Value =
        serde_json::from_str(&std::fs::read_to_string(tokens_file).expect("tokens")).expect("json");
    let mut runner = Runner {
        server: &server,
        vars: HashMap::from([("YJ".to_owned(), server.base.clone())]),
        files: HashMap::from([("yijian-dev-tokens.json".to_owned(), tokens)]),
    };
    let commands = commands(&doc);
    assert!(
        commands.len() > 20,
        "the walkthrough's commands were found: {commands:?}"
    );
    for c in &commands {
        eprintln!("$ {c}");
        runner.run(c).await;
    }
    let case_no = runner.vars.get("CASE").cloned().expect("CASE was set");
    let case = server.case(&case_no).await;
    assert_eq!(case["status"], "completed", "{case:#}");
    assert_eq!(
        case["result"]["documents"]["食品经营许可证"],
        "JY13201060000001"
    );
    assert_eq!(case["evaluations"][0]["grade"], 5);
    drop(server.stop().await);
}
