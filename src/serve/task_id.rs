//! Task ids: `<case_no>:<task name>`, stable for the life of a case.
//!
//! A task name is `licence`, `partner_check[1]`, `fire_check.verify` or `rectify[0]`; it
//! never holds a `:`, so the id splits at its last colon. In a path the id is
//! percent-encoded like any segment (`[` → `%5B`, `]` → `%5D`).

use std::fmt;

use yijian_engine::CaseNo;

use super::error::ApiError;

/// A task of a case, as the API names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskId {
    /// The case.
    pub case_no: CaseNo,
    /// The task's name in the case.
    pub name: String,
}

impl TaskId {
    /// The id text of a task of a case.
    pub fn format(case_no: &str, name: &str) -> String {
        yijian_engine::ids::task_id(case_no, name)
    }

    /// Parses an id.
    ///
    /// # Errors
    /// `invalid_task_id` (400) when there is no `case_no:name` in it.
    pub fn parse(text: &str) -> Result<TaskId, ApiError> {
        match text.rsplit_once(':') {
            Some((case_no, name)) if !case_no.is_empty() && !name.trim().is_empty() => Ok(TaskId {
                case_no: CaseNo::new(case_no),
                name: name.trim().to_owned(),
            }),
            _ => Err(ApiError::bad_request(
                "invalid_task_id",
                format!("`{text}` is not a task id; task ids look like `<case_no>:<task>`"),
            )),
        }
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.case_no, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = TaskId::parse("320106-20260918-00000042:partner_check[1]").expect("valid");
        assert_eq!(id.case_no.as_str(), "320106-20260918-00000042");
        assert_eq!(id.name, "partner_check[1]");
        assert_eq!(id.to_string(), "320106-20260918-00000042:partner_check[1]");
        assert!(TaskId::parse("no-colon").is_err());
        assert!(TaskId::parse(":x").is_err());
        assert!(TaskId::parse("x:").is_err());
    }
}
