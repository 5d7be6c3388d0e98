//! The router: every endpoint of api.md, the protection layer, JSON 404/405 answers.

pub(crate) mod actions;
pub(crate) mod bundles;
pub(crate) mod cases;
pub(crate) mod changes;
pub(crate) mod migrations;
pub(crate) mod ops;
pub(crate) mod queues;
pub(crate) mod views;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use yijian_engine::store::Store;

use super::error::ApiError;
use super::limits;
use super::state::AppState;

/// The application: every route, with its state and protection layers.
pub(crate) fn router<S: Store + Clone>(state: AppState<S>) -> Router {
    let max_body = state.limits().max_body;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz::<S>))
        .route("/metrics", get(ops::metrics::<S>))
        .route("/v1/openapi.json", get(ops::openapi))
        .route(
            "/v1/bundles",
            post(bundles::deploy::<S>).get(bundles::list::<S>),
        )
        .route("/v1/bundles/check", post(views::check::<S>))
        .route("/v1/bundles/simulate", post(views::simulate::<S>))
        .route("/v1/bundles/{id}", get(bundles::latest::<S>))
        .route("/v1/bundles/{id}/preview", post(views::preview::<S>))
        .route("/v1/bundles/{id}/{version}", get(bundles::version::<S>))
        .route("/v1/bundles/{id}/{version}/graph", get(bundles::graph::<S>))
        .route(
            "/v1/cases",
            post(cases::submit::<S>).get(cases::search::<S>),
        )
        .route("/v1/cases/{case_no}", get(cases::get::<S>))
        .route("/v1/cases/{case_no}/events", get(cases::events::<S>))
        .route("/v1/cases/{case_no}/why", get(views::why::<S>))
        .route(
            "/v1/cases/{case_no}/supplements",
            post(actions::supplement::<S>),
        )
        .route("/v1/cases/{case_no}/withdraw", post(actions::withdraw::<S>))
        .route(
            "/v1/cases/{case_no}/evaluation",
            post(actions::evaluate::<S>),
        )
        .route("/v1/cases/{case_no}/confirm", post(actions::confirm::<S>))
        .route("/v1/triggers", post(actions::trigger::<S>))
        .route("/v1/departments/{id}/tasks/fetch", post(queues::fetch::<S>))
        .route(
            "/v1/departments/{id}/tasks/complete",
            post(queues::complete_batch::<S>),
        )
        .route(
            "/v1/tasks/{task_id}/heartbeat",
            post(queues::heartbeat::<S>),
        )
        .route("/v1/tasks/{task_id}/accept", post(queues::accept::<S>))
        .route("/v1/tasks/{task_id}/complete", post(queues::complete::<S>))
        .route("/v1/tasks/{task_id}/fail", post(queues::fail::<S>))
        .route("/v1/tasks/{task_id}/suspend", post(queues::suspend::<S>))
        .route("/v1/tasks/{task_id}/resume", post(queues::resume::<S>))
        .route(
            "/v1/tasks/{task_id}/send-back",
            post(changes::send_back::<S>),
        )
        .route("/v1/tasks/{task_id}/reassign", post(changes::reassign::<S>))
        .route("/v1/cases/{case_no}/items", post(changes::add_item::<S>))
        .route(
            "/v1/bundles/{id}/migrations",
            post(migrations::migrate::<S>),
        )
        .route(
            "/v1/cases/{case_no}/items/{task}/remove",
            post(changes::remove_item::<S>),
        )
        .route("/v1/board", get(views::board::<S>))
        .route("/v1/incidents", get(ops::incidents::<S>))
        .route("/v1/incidents/{id}/retry", post(ops::retry::<S>))
        .route("/v1/incidents/{id}/cancel", post(ops::cancel::<S>))
        .route("/v1/progress", post(super::public::progress::lookup::<S>))
        .route("/progress", get(super::public::progress_page))
        .route("/progress.js", get(super::public::progress_js))
        .route("/guide", get(super::public::guide::index::<S>))
        .route("/guide/{bundle}", get(super::public::guide::one::<S>))
        .nest("/engine-rest", super::camunda::router::<S>())
        .route("/", get(super::console::root))
        .route("/console", get(super::console::root))
        .route("/console/", get(super::console::index))
        .route("/console/login", post(super::console::login::<S>))
        .route("/console/logout", post(super::console::logout::<S>))
        .route("/console/session", get(super::console::session::<S>))
        .route("/console/{file}", get(super::console::file))
        .fallback(|| async {
            ApiError::not_found("no_route", "no such endpoint; see /v1/openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed {
                message: "this endpoint does not take that method; see /v1/openapi.json".to_owned(),
            }
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::protect::<S>,
        ))
        .with_state(state)
}
