//! `yijian simulate` scripts: the script reader on arbitrary text (YAML, step kinds, keys,
//! instants, time order), and a script that reads is walked for its migration bundles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian::simulate::Script;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(script) = Script::parse(text, "fuzz.yaml") {
        let _ = (script.bundle(), script.steps(), script.version());
        let _ = script.migration_bundles();
    }
});
