//! Working-day calendar files (`yijian calendar`, a deployment's own calendars).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian_engine::calendar::Calendar;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Calendar::from_yaml(text, "fuzz.yaml");
});
