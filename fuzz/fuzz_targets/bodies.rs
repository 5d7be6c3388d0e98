//! Every JSON request body of the service, as its extractor reads them: a clear error or a
//! value, never a panic (and no stack overflow on deep nesting: serde_json's recursion limit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yijian::serve::body::*;

fn read<T: serde::de::DeserializeOwned>(data: &[u8]) {
    let _ = serde_json::from_slice::<T>(data);
}

fuzz_target!(|data: &[u8]| {
    read::<SubmitBody>(data);
    read::<SupplementBody>(data);
    read::<WithdrawBody>(data);
    read::<EvaluationBody>(data);
    read::<TriggerBody>(data);
    read::<FetchBody>(data);
    read::<CompleteBody>(data);
    read::<CompleteBatchBody>(data);
    read::<FailBody>(data);
    read::<HeartbeatBody>(data);
    read::<AcceptBody>(data);
    read::<SuspendBody>(data);
    read::<ResumeBody>(data);
    read::<serde_json::Value>(data);
});
