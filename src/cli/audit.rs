//! `yijian audit verify [CASE] [--db URL]`: recompute the hash chains of the audit trail
//! (全程留痕) and name the first broken link of each case.

use std::process::ExitCode;

use anyhow::Context as _;
use yijian::engine::ids::CaseNo;
use yijian_store_sql::{BrokenLink, SqlStore};

pub(crate) fn verify(db: &str, case: Option<&str>) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = SqlStore::connect(db).await.with_context(|| format!("cannot open the store at {db}"))?;
        let case = case.map(CaseNo::new);
        let breaks = store.verify(case.as_ref()).await.context("verifying the audit trail")?;
        if breaks.is_empty() {
            match &case {
                Some(c) => println!("ok  case {c}: every event chains to the one before"),
                None => println!("ok  every case's events chain to the ones before"),
            }
            return Ok(ExitCode::SUCCESS);
        }
        for b in &breaks {
            let what = match &b.link {
                BrokenLink::Hash { expected, found } => {
                    format!("the event does not hash to its stored hash (expected {expected}, stored {found}): it was changed")
                }
                BrokenLink::Prev { expected, found } => {
                    format!("its prev_hash is not the previous event's hash (expected {expected}, stored {found}): an earlier event was replaced or removed")
                }
                BrokenLink::Missing { found } => match found {
                    Some(n) => format!("the event is missing (the next stored is {n})"),
                    None => "the event is missing".to_owned(),
                },
                other => format!("{other:?}"),
            };
            println!("BROKEN  case {} event {}: {what}", b.case_no, b.seq);
        }
        println!("{} broken chain(s)", breaks.len());
        Ok(ExitCode::from(1))
    })
}
