//! Automatic decisions by rules: each rule is a CEL condition over the task's `input` (and
//! `task`: `{name, department, attempt}`) with a decision; the first rule that holds decides.
//! When none holds, the task is left to a person ([`Dispatch::Pending`]) or decided by a
//! fallback.

use std::fmt;

use serde_json::{Value, json};
use yijian_engine::{Adapter, Decision, Dispatch, Replier, Work};

/// Why a rule could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` does not parse: {message}")]
pub struct RuleError {
    /// The rule text.
    pub rule: String,
    /// The parser's message.
    pub message: String,
}

struct Rule {
    text: String,
    program: cel::Program,
    decision: Decision,
}

/// A rules adapter.
pub struct Rules {
    rules: Vec<Rule>,
    fallback: Option<Decision>,
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| &r.text))
            .finish()
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::new()
    }
}

impl Rules {
    /// No rules yet.
    pub fn new() -> Rules {
        Rules {
            rules: Vec::new(),
            fallback: None,
        }
    }

    /// Adds a rule: when `condition` holds, `decision`.
    ///
    /// # Errors
    /// The condition does not parse.
    pub fn when(mut self, condition: &str, decision: Decision) -> Result<Rules, RuleError> {
        let program = cel::Program::compile(condition).map_err(|e| RuleError {
            rule: condition.to_owned(),
            message: e.to_string(),
        })?;
        self.rules.push(Rule {
            text: condition.to_owned(),
            program,
            decision,
        });
        Ok(self)
    }

    /// Decides this way when no rule holds (default: leave the task to a person).
    #[must_use]
    pub fn otherwise(mut self, decision: Decision) -> Rules {
        self.fallback = Some(decision);
        self
    }

    fn holds(rule: &Rule, work: &Work) -> Result<bool, String> {
        let mut cx = cel::Context::default();
        let input = cel::to_value((*work.input).clone()).map_err(|e| e.to_string())?;
        cx.add_variable_from_value("input", input);
        let task = json!({"name": work.name(), "department": &**work.department(), "attempt": work.attempt});
        cx.add_variable_from_value("task", cel::to_value(task).map_err(|e| e.to_string())?);
        match rule.program.execute(&cx) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("gave {other:?}, not true or false")),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Adapter for Rules {
    fn dispatch(&self, work: &Work, _reply: &Replier) -> Dispatch {
        for rule in &self.rules {
            match Rules::holds(rule, work) {
                Ok(true) => return Dispatch::Decided(rule.decision.clone()),
                Ok(false) => {}
                // A rule that cannot be evaluated is a technical failure, not a decision.
                Err(error) => {
                    return Dispatch::Decided(Decision::Fail {
                        error: format!("rule `{}` could not be evaluated: {error}", rule.text),
                        retry_in: None,
                    });
                }
            }
        }
        match &self.fallback {
            Some(d) => Dispatch::Decided(d.clone()),
            None => Dispatch::Pending,
        }
    }
}

/// `{"field": value}` helper for approve outputs.
pub fn output(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
}
