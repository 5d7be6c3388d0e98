//! The bundle reader and checker on arbitrary bytes: findings, never a panic, a hang or an
//! unbounded allocation (the reader's budgets bound nesting and node counts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_definitions::{CheckOptions, check_bytes};

fuzz_target!(|data: &[u8]| {
    let checked = check_bytes(data, &CheckOptions::default());
    if let Some(bp) = &checked.blueprint {
        // A bundle that compiles also draws and writes its guide.
        let _ = yijian_definitions::render(bp, yijian_definitions::GraphFormat::Mermaid);
        let guide = yijian_definitions::guide::Guide::of(bp);
        let _ = yijian_definitions::guide::render_html(&guide);
    }
});
