//! Public pages and calls, without a token: the 办事指南 of each bundle (`/guide`), and the
//! applicant's progress lookup (`/progress`, `POST /v1/progress`) by case number and query
//! code.

pub(crate) mod code;
