//! Public pages and calls, without a token: the 办事指南 of each bundle (`/guide`), and the
//! applicant's progress lookup (`/progress`, `POST /v1/progress`) by case number and query
//! code. Pages are server-rendered HTML with every value escaped; the progress page's
//! script only calls `POST /v1/progress` and writes text nodes.

pub(crate) mod code;
pub(crate) mod guide;
pub(crate) mod limiter;
pub(crate) mod mask;
pub(crate) mod progress;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

/// A page: the shared style, a title, a body (already escaped by the caller).
pub(crate) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        yijian_definitions::guide::escape(title)
    );
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        )],
        Html(html),
    )
        .into_response()
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif;\
max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.6}\
h1{font-size:1.5rem;border-bottom:3px solid #b71c1c;padding-bottom:.4rem}\
label{display:block;margin:.6rem 0 .2rem}input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}\
button{margin-top:1rem;font-size:1rem;padding:.5rem 1.4rem;background:#b71c1c;color:#fff;border:0;border-radius:4px}\
table{border-collapse:collapse;width:100%;margin-top:1rem}th,td{border:1px solid #bbb;padding:.35rem .5rem;text-align:left}\
th{background:#f3f3f3}.meta{color:#666}.error{color:#b71c1c}.notice{background:#fff8e1;padding:.6rem;border-left:4px solid #f9a825}";

/// The progress page: a form for the receipt's case number and code.
pub(crate) async fn progress_page() -> Response {
    page(
        "办件进度查询",
        "<h1>办件进度查询</h1>\
         <p>请输入受理回执上的<b>办件编号</b>和<b>查询码</b>。无需注册登录。</p>\
         <form id=\"lookup\"><label for=\"case_no\">办件编号</label>\
         <input id=\"case_no\" name=\"case_no\" autocomplete=\"off\" required>\
         <label for=\"code\">查询码</label>\
         <input id=\"code\" name=\"code\" autocomplete=\"off\" required>\
         <button type=\"submit\">查询</button></form>\
         <div id=\"result\" aria-live=\"polite\"></div>\
         <p class=\"meta\"><a href=\"/guide\">办事指南</a></p>\
         <script src=\"/progress.js\"></script>",
    )
}

/// The progress page's script (same origin, so the page's CSP allows it).
pub(crate) async fn progress_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PROGRESS_JS,
    )
        .into_response()
}

const PROGRESS_JS: &str = include_str!("public/progress.js");
