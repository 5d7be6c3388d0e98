//! A back office's answer to a webhook push: status, `Retry-After` and body, classified as a
//! delivery classifies them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 100 + (u16::from(data[0]) << 8 | u16::from(data[1])) % 500;
    let split = usize::from(data[2]) % (data.len() - 2);
    let (header, body) = data[3..].split_at(split.min(data.len() - 3));
    let retry_after = std::str::from_utf8(header).ok();
    let _ = yijian_adapters::webhook::classify_answer(status, retry_after, body);
});
