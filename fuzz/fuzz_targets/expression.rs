//! CEL expressions as designers write them in `when`, `rule`, `input` and `documents`,
//! compiled alone and inside a bundle, where the checker walks every path they read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_definitions::{CheckOptions, Expr, check_bytes};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Expr::compile(text);
    let quoted = serde_json::to_string(text).unwrap_or_default();
    let bundle = format!(
        "yijian: 1\nid: fuzz\nversion: 1\ntitle: fuzz\ntime_limit: 1wd\n\
         form: {{n: {{type: number}}, s: {{type: string}}, l: {{type: list, items: {{x: {{type: string}}}}}}}}\n\
         tasks:\n  a: {{title: A, department: d, when: {quoted}, input: {{v: {quoted}}}}}\n"
    );
    let _ = check_bytes(bundle.as_bytes(), &CheckOptions::default());
});
