//! The shape every master-data batch shares: `{"<kind>": [rows...]}`, parsed
//! all or nothing, written in one transaction.

use omni_shared::catalog::{BatchError, BatchKeys, FieldError, RowError, parse_batch};
use omni_shared::pipeline::Ctx;
use omni_shared::storage::{Sql, StorageError, in_transaction};
use omni_shared::web::{Problem, json_response, parse_json};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use spin_sdk::http::Response;

/// Parses the batch under `key`, checks the caller is an operator, and writes
/// every row through `write` inside one transaction. `write` returns the row
/// errors only the database can find (an unknown SKU); any of them rolls the
/// whole batch back.
pub fn upsert<R, T>(
    ctx: &Ctx<'_>,
    key: &'static str,
    write: impl Fn(&dyn Sql, &T, &str) -> Result<Option<FieldError>, StorageError>,
) -> Result<Response, Problem>
where
    R: DeserializeOwned,
    T: TryFrom<R, Error = Vec<FieldError>> + BatchKeys,
{
    ctx.caller()?.require_ops()?;
    let rows = rows_under(ctx, key)?;
    let entries = parse_batch::<R, T>(rows).map_err(batch_problem)?;
    let now = ctx.now().to_rfc3339();
    let sql = ctx.sql()?;
    let outcome = in_transaction(sql, |tx| {
        let mut errors = Vec::new();
        for (row, entry) in entries.iter().enumerate() {
            if let Some(e) = write(tx, entry, &now)? {
                errors.push(RowError {
                    row,
                    field: e.field,
                    reason: e.reason,
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(BatchOutcome::Refused(errors))
        }
    });
    match outcome {
        Ok(_) => Ok(json_response(200, &json!({ "upserted": entries.len() }))),
        Err(BatchOutcome::Refused(errors)) => Err(batch_problem(BatchError::InvalidRows(errors))),
        Err(BatchOutcome::Storage(e)) => Err(Problem::from(e)),
    }
}

enum BatchOutcome {
    Refused(Vec<RowError>),
    Storage(StorageError),
}

impl From<StorageError> for BatchOutcome {
    fn from(e: StorageError) -> Self {
        BatchOutcome::Storage(e)
    }
}

/// The body must be an object holding exactly the `key` array: a body that
/// names another kind (`{"stores": ...}` sent to items) is refused rather
/// than read as empty.
fn rows_under(ctx: &Ctx<'_>, key: &str) -> Result<Vec<Value>, Problem> {
    let mut body: Map<String, Value> = parse_json(ctx.req)?;
    if let Some(other) = body.keys().find(|k| *k != key) {
        return Err(Problem::invalid_body(format!(
            "unknown field `{other}`; expected only `{key}`"
        )));
    }
    match body.remove(key) {
        Some(Value::Array(rows)) if !rows.is_empty() => Ok(rows),
        Some(Value::Array(_)) => Err(Problem::invalid_body(format!(
            "`{key}` must hold at least one row"
        ))),
        Some(_) => Err(Problem::invalid_body(format!(
            "`{key}` must be an array of rows"
        ))),
        None => Err(Problem::invalid_body(format!("missing field `{key}`"))),
    }
}

fn batch_problem(error: BatchError) -> Problem {
    match error {
        BatchError::TooManyRows { .. } => {
            Problem::new(413, "payload-too-large", "Payload Too Large")
                .with_detail(error.to_string())
        }
        BatchError::InvalidRows(ref errors) => Problem::unprocessable(error.to_string())
            .with_extension("errors", serde_json::to_value(errors).unwrap_or_default()),
    }
}
