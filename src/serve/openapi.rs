//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes and the
//! bodies' `ToSchema` derives.

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::public::progress;
use super::routes::{actions, bundles, cases, ops, queues};

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
        ops::incidents, ops::retry, ops::cancel, ops::healthz, ops::readyz, ops::metrics,
        progress::lookup,
    ),
    modifiers(&Bearer),
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
