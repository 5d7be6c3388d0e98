//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! bodies' `ToSchema` derives.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::public::progress;
use super::routes::{actions, bundles, cases, changes, migrations, ops, queues, views};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "yijian",
        description = "一件事 bundled approvals: bundles, cases, department queues. Errors are `{\"error\": {code, message, details}}`."
    ),
    paths(
        bundles::deploy, bundles::list, bundles::latest, bundles::version, bundles::graph,
        cases::submit, cases::search, cases::get, cases::events,
        actions::supplement, actions::withdraw, actions::evaluate, actions::confirm, actions::trigger,
        queues::fetch, queues::complete_batch, queues::heartbeat, queues::accept, queues::complete, queues::fail,
        queues::suspend, queues::resume,
        changes::send_back, changes::reassign, changes::add_item, changes::remove_item,
        migrations::migrate,
        ops::incidents, ops::retry, ops::cancel, ops::healthz, ops::readyz, ops::metrics,
        progress::lookup,
        views::preview, views::why, views::check, views::board, views::simulate,
    ),
    modifiers(&Bearer, &CommonAnswers),
    tags(
        (name = "bundles", description = "Deploy and read bundles (admin deploys)"),
        (name = "cases", description = "The window: submit, read, supplement, withdraw, evaluate; triggers"),
        (name = "queues", description = "Back offices: fetch-and-lock with fencing leases"),
        (name = "operations", description = "Health, metrics, incidents"),
        (name = "progress", description = "办件进度查询 for applicants, without a token: case number + query code"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// Declares the bearer token scheme.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers any operation may give besides its own: a malformed request (400), a body
/// over the limit (413), no or a wrong token (401) and a token that may not do it (403) on
/// secured operations, an overloaded or stopping service (503 with `Retry-After`). Added
/// where an operation does not declare them itself.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |text: &str| {
            ResponseBuilder::new()
                .description(text)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
                item.patch.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = op.request_body.is_some();
                let mut add = |code: &str, text: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| answer(text).into());
                };
                add("400", "The request is malformed (path, query or body)");
                if has_body {
                    add("413", "The body is over the size limit");
                }
                if secured {
                    add("401", "No token, or not a valid one");
                    add("403", "The token may not do this");
                    add(
                        "429",
                        "Too many wrong tokens from this address (see Retry-After)",
                    );
                }
                add(
                    "503",
                    "Overloaded, timed out or shutting down (see Retry-After)",
                );
            }
        }
    }
}

/// The document as JSON, built once.
pub(crate) fn json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
    .clone()
}
