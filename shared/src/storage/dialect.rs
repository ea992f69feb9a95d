//! The one place where the app's SQL meets PostgreSQL.
//!
//! Every area writes its statements once, in the SQLite dialect the
//! embedded default speaks. When a deployment names a PostgreSQL database
//! (the `database_url` variable), the storage layer hands each statement
//! through [`to_postgres`] before it leaves the component, so no area knows
//! which engine answers. What changes, and why each change keeps the rule
//! it carries:
//!
//! - **Parameters.** `?1` / `?` become `$n::type`, the type taken from the
//!   value bound (`int8`, `float8`, `text`, `bytea`), because PostgreSQL
//!   infers a parameter's type from its context and refuses an `i64` for a
//!   column it inferred as `int4`, or a parameter with no context at all
//!   (`?1 IS NULL`). A `NULL` value is written as the literal `NULL`, which
//!   fits every context; the remaining parameters are renumbered.
//! - **Transactions.** `BEGIN IMMEDIATE` (SQLite's one writer at a time)
//!   becomes `BEGIN` plus a transaction-scoped advisory lock
//!   ([`WRITE_LOCK`]), so the transactions that read and then write are
//!   serialised across every node exactly as on SQLite. Single guarded
//!   statements (`UPDATE ... WHERE available >= n`) take no such lock:
//!   PostgreSQL re-checks their condition on the row it locks.
//! - **Functions.** `json_extract(x, '$.a')` → `(x)::jsonb ->> 'a'`;
//!   `group_concat` → `string_agg`; two-argument `MAX`/`MIN` →
//!   `GREATEST`/`LEAST`; `julianday` → epoch days; `sum` → `omni_sum`, an
//!   aggregate the PostgreSQL prelude ([`PRELUDE`]) defines over booleans
//!   and integers that answers `int8` (PostgreSQL's own answers `numeric`,
//!   which Spin's PostgreSQL interface cannot carry, and refuses booleans).
//! - **Planner hints.** `INDEXED BY name` is dropped: PostgreSQL's planner
//!   keeps statistics and needs none.
//! - **Settings.** `PRAGMA` statements are SQLite's own and are skipped.
//! - **Schema.** In `CREATE TABLE` / `ALTER TABLE`: `INTEGER` → `BIGINT`,
//!   `INTEGER PRIMARY KEY AUTOINCREMENT` → an identity column, `REAL` →
//!   `DOUBLE PRECISION`, `BLOB` → `BYTEA`, `TEXT` → `TEXT COLLATE "C"`
//!   (SQLite compares text bytewise; keyset paging and the stored ISO
//!   timestamps rely on that order), and `WITHOUT ROWID` is dropped.
//!
//! What cannot be translated word by word (trigger bodies) is written per
//! dialect by the area that owns it ([`crate::storage::migrations::Step`]).

use super::{SqlValue, StorageError};

/// Which SQL engine a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The advisory lock every write transaction takes on PostgreSQL: one per
/// schema, so two apps in two schemas of one database do not wait on each
/// other.
///
/// The same statement bounds how long the transaction may sit idle
/// ([`IDLE_LIMIT_MS`], `SET LOCAL` through `set_config(..., true)`):
/// Spin pools a client whose guest trapped or returned mid-transaction
/// with the transaction still open (DEPLOY.md section 9), which would keep
/// this lock, and with it every writer on every node, waiting until that
/// client happened to be reused. With the limit PostgreSQL ends such a
/// session, and releases the lock, after 10 s, at no extra round trip.
/// (Selected from, not called: the lock answers `void`, a type Spin's
/// PostgreSQL interface cannot carry.)
pub const WRITE_LOCK: &str = "SELECT set_config('idle_in_transaction_session_timeout', '10000', true) AS idle_limit \
     FROM pg_advisory_xact_lock(hashtext('omni-edge:' || current_schema()))";

/// The idle time [`WRITE_LOCK`] and [`MIGRATION_LOCK`] allow a transaction
/// between two statements; a request never pauses that long inside one.
pub const IDLE_LIMIT_MS: u64 = 10_000;

/// The advisory lock migrations take, apart from [`WRITE_LOCK`] so that a
/// node migrating does not look like a writer to anyone but another
/// migrating node; bounded the same way.
pub const MIGRATION_LOCK: &str = "SELECT set_config('idle_in_transaction_session_timeout', '10000', true) AS idle_limit \
     FROM pg_advisory_xact_lock(hashtext('omni-edge-schema:' || current_schema()))";

/// What PostgreSQL needs before the app's first step: the `omni_sum`
/// aggregate [`to_postgres`] renames `sum` to (see the module notes).
pub const PRELUDE: &str = "
    CREATE FUNCTION omni_sum_add(acc bigint, x bigint) RETURNS bigint
        LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + x END $$;
    CREATE FUNCTION omni_sum_add(acc bigint, x integer) RETURNS bigint
        LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + x END $$;
    CREATE FUNCTION omni_sum_add(acc bigint, x boolean) RETURNS bigint
        LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + x::integer END $$;
    CREATE FUNCTION omni_sum_add(acc double precision, x double precision) RETURNS double precision
        LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + x END $$;
    CREATE FUNCTION omni_sum_add(acc double precision, x numeric) RETURNS double precision
        LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN x IS NULL THEN acc ELSE COALESCE(acc, 0) + x::double precision END $$;
    CREATE AGGREGATE omni_sum(bigint) (SFUNC = omni_sum_add, STYPE = bigint);
    CREATE AGGREGATE omni_sum(integer) (SFUNC = omni_sum_add, STYPE = bigint);
    CREATE AGGREGATE omni_sum(boolean) (SFUNC = omni_sum_add, STYPE = bigint);
    CREATE AGGREGATE omni_sum(double precision) (SFUNC = omni_sum_add, STYPE = double precision);
    CREATE AGGREGATE omni_sum(numeric) (SFUNC = omni_sum_add, STYPE = double precision)";

/// A PostgreSQL failure as the app sees it: a refused constraint (unique,
/// check, foreign key, or a trigger's `constraint:` exception) is
/// [`StorageError::Constraint`]; a deadlock, a serialisation failure or a
/// lost connection, which a retry may clear, is [`StorageError::Busy`]
/// (a 503 with `Retry-After`, never a 500).
///
/// The statement (never its parameters) is appended for the log.
pub fn classify_postgres(message: &str, statement: &str) -> StorageError {
    let lower = message.to_ascii_lowercase();
    let message = format!("{message} (in `{statement}`)");
    if lower.contains("violates") || lower.contains("constraint") {
        StorageError::Constraint(message)
    } else if [
        "deadlock",
        "could not serialize",
        // A lost link, in tokio-postgres's words and in Spin's `{e:?}` of
        // them (`Error { kind: Closed, .. }`, `kind: Io`).
        "connect",
        "closed",
        "kind: io",
        "broken pipe",
        "reset by peer",
        "timed out",
    ]
    .iter()
    .any(|words| lower.contains(words))
    {
        StorageError::Busy
    } else {
        StorageError::Other(message)
    }
}

/// The column [`with_row_mark`] adds: each real row's place, NULL on the
/// one stand-in row of an empty answer.
pub const ROW_MARK: &str = "omni_row";

/// Whether `statement` (translated) answers rows: a query, or a write
/// with `RETURNING`. Others are sent as `execute`, which answers a count.
pub fn returns_rows(statement: &str) -> bool {
    let Ok(tokens) = lex(statement) else {
        return true;
    };
    let mut words = tokens.iter().filter_map(|t| match t {
        Token::Word(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    });
    match words.next().as_deref() {
        Some("SELECT" | "WITH" | "VALUES" | "TABLE") => true,
        _ => words.any(|w| w == "RETURNING"),
    }
}

/// `statement` rewritten so that it answers at least one row, marked.
///
/// Why? Spin 4.0.0 to 4.0.2 never return from a PostgreSQL `query` that
/// matches no rows (spinframework/spin#3671, fixed by #3673 after 4.0.2):
/// the host waits for the first row to learn the columns. So every query
/// is sent as this: the statement's rows, numbered in their order in
/// [`ROW_MARK`], or one row whose mark is NULL when there are none, which
/// [`without_row_mark`] drops again. Writes inside it (`INSERT ...
/// RETURNING`) run exactly as on their own.
pub fn with_row_mark(statement: &str) -> String {
    format!(
        "WITH omni_q AS ({statement}) SELECT omni_r.* FROM (VALUES (0)) AS omni_one (z) \
         LEFT JOIN (SELECT omni_q.*, row_number() OVER () AS {ROW_MARK} FROM omni_q) AS omni_r ON true \
         ORDER BY omni_r.{ROW_MARK}"
    )
}

/// The rows [`with_row_mark`]'s statement answered, as the statement
/// itself would have: the stand-in row and the mark column removed.
pub fn without_row_mark(mut rows: super::Rows) -> super::Rows {
    let Some(mark) = rows.columns.iter().position(|c| c == ROW_MARK) else {
        return rows;
    };
    rows.columns.remove(mark);
    rows.rows.retain(|row| row[mark] != SqlValue::Null);
    for row in &mut rows.rows {
        row.remove(mark);
    }
    rows
}

/// One statement as PostgreSQL takes it, with the parameters it still binds.
#[derive(Debug, Clone, PartialEq)]
pub struct PgStatement {
    pub text: String,
    pub params: Vec<SqlValue>,
}

/// The statements that carry `statement` out on PostgreSQL: none for a
/// SQLite setting, two for a write transaction's `BEGIN`, one otherwise.
pub fn to_postgres(statement: &str, params: &[SqlValue]) -> Result<Vec<PgStatement>, StorageError> {
    let tokens = lex(statement)?;
    let words: Vec<String> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        })
        .take(3)
        .collect();
    let first = words.first().map(String::as_str).unwrap_or_default();
    let plain = |text: &str| PgStatement {
        text: text.to_owned(),
        params: Vec::new(),
    };
    match first {
        "PRAGMA" => return Ok(Vec::new()),
        "BEGIN" => {
            return Ok(
                if words
                    .get(1)
                    .is_some_and(|w| w == "IMMEDIATE" || w == "EXCLUSIVE")
                {
                    vec![plain("BEGIN"), plain(WRITE_LOCK)]
                } else {
                    vec![plain("BEGIN")]
                },
            );
        }
        _ => {}
    }
    let schema = matches!(first, "CREATE" | "ALTER") && words.get(1).is_some_and(|w| w == "TABLE");
    let mut out = Translation {
        params,
        bound: Vec::new(),
        numbers: vec![None; params.len()],
        next_bare: 0,
    };
    let text = out.range(&tokens, schema)?;
    Ok(vec![PgStatement {
        text,
        params: out.bound,
    }])
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// A literal, quoted identifier, number, `$$` body or run of spaces,
    /// copied as written.
    Verbatim(String),
    /// `?N` (1-based) or a bare `?` (`None`).
    Param(Option<usize>),
    Open,
    Close,
    Comma,
    /// Any other operator character.
    Symbol(char),
}

fn lex(sql: &str) -> Result<Vec<Token>, StorageError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let unterminated = || StorageError::Other(format!("unterminated literal in SQL: {sql}"));
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            tokens.push(Token::Verbatim(" ".into()));
            continue;
        }
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '\'' || c == '"' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(unterminated()),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
            continue;
        }
        if c == '$' && chars.get(i + 1) == Some(&'$') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest.find("$$").ok_or_else(unterminated)?;
            let body_chars = rest[..end].chars().count();
            i += 2 + body_chars + 2;
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
            continue;
        }
        if c == '?' {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start + 1..i].iter().collect();
            tokens.push(Token::Param(if digits.is_empty() {
                None
            } else {
                Some(digits.parse().map_err(|_| unterminated())?)
            }));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Verbatim(chars[start..i].iter().collect()));
            continue;
        }
        i += 1;
        tokens.push(match c {
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            other => Token::Symbol(other),
        });
    }
    Ok(tokens)
}

struct Translation<'p> {
    params: &'p [SqlValue],
    bound: Vec<SqlValue>,
    /// Each original parameter's `$n`, once it is bound.
    numbers: Vec<Option<usize>>,
    next_bare: usize,
}

impl Translation<'_> {
    fn param(&mut self, index: Option<usize>) -> Result<String, StorageError> {
        let index = match index {
            Some(n) => n.checked_sub(1),
            None => {
                self.next_bare += 1;
                Some(self.next_bare - 1)
            }
        }
        .filter(|i| *i < self.params.len())
        .ok_or_else(|| {
            StorageError::Other("a statement names a parameter it was not given".into())
        })?;
        let value = &self.params[index];
        let cast = match value {
            SqlValue::Null => return Ok("NULL".into()),
            SqlValue::Integer(_) => "int8",
            SqlValue::Real(_) => "float8",
            SqlValue::Text(_) => "text",
            SqlValue::Blob(_) => "bytea",
        };
        let number = match self.numbers[index] {
            Some(n) => n,
            None => {
                self.bound.push(value.clone());
                self.numbers[index] = Some(self.bound.len());
                self.bound.len()
            }
        };
        Ok(format!("${number}::{cast}"))
    }

    /// Translates `tokens`; `schema` is set inside `CREATE`/`ALTER TABLE`.
    fn range(&mut self, tokens: &[Token], schema: bool) -> Result<String, StorageError> {
        let mut out = String::new();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                Token::Word(word) => {
                    let upper = word.to_ascii_uppercase();
                    if matches!(tokens.get(i + 1), Some(Token::Open))
                        && !schema_word(&upper, schema)
                    {
                        let close = matching(tokens, i + 1)?;
                        let args = split_args(&tokens[i + 2..close]);
                        let mut translated = Vec::with_capacity(args.len());
                        for arg in &args {
                            translated.push(self.range(arg, schema)?.trim().to_owned());
                        }
                        out.push_str(&function(word, &upper, &translated));
                        i = close + 1;
                        continue;
                    }
                    if upper == "INDEXED"
                        && word_at(tokens, i + 2).is_some_and(|w| w.eq_ignore_ascii_case("BY"))
                    {
                        // INDEXED, space, BY, space, name.
                        i += 5;
                        continue;
                    }
                    if schema {
                        match upper.as_str() {
                            "INTEGER"
                                if following_words(tokens, i + 1, 3)
                                    == ["PRIMARY", "KEY", "AUTOINCREMENT"] =>
                            {
                                out.push_str("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
                                i = skip_words(tokens, i + 1, 3);
                                continue;
                            }
                            "INTEGER" => out.push_str("BIGINT"),
                            "REAL" => out.push_str("DOUBLE PRECISION"),
                            "BLOB" => out.push_str("BYTEA"),
                            "TEXT" => out.push_str("TEXT COLLATE \"C\""),
                            "WITHOUT" if following_words(tokens, i + 1, 1) == ["ROWID"] => {
                                i = skip_words(tokens, i + 1, 1);
                                continue;
                            }
                            _ => out.push_str(word),
                        }
                    } else {
                        out.push_str(word);
                    }
                }
                Token::Verbatim(text) => out.push_str(text),
                Token::Param(index) => {
                    let rendered = self.param(*index)?;
                    out.push_str(&rendered);
                }
                Token::Open => {
                    let close = matching(tokens, i)?;
                    out.push('(');
                    out.push_str(&self.range(&tokens[i + 1..close], schema)?);
                    out.push(')');
                    i = close + 1;
                    continue;
                }
                Token::Close => out.push(')'),
                Token::Comma => out.push(','),
                Token::Symbol('+') if unary(&tokens[..i]) => {}
                Token::Symbol(c) => out.push(*c),
            }
            i += 1;
        }
        Ok(out)
    }
}

/// Whether a `+` after `before` is unary: SQLite's way of keeping a
/// column out of index selection (`WHERE +status = ...`), which PostgreSQL
/// has no operator for (and no need of).
fn unary(before: &[Token]) -> bool {
    let previous = before
        .iter()
        .rev()
        .find(|t| !matches!(t, Token::Verbatim(s) if s.trim().is_empty()));
    match previous {
        None | Some(Token::Open | Token::Comma | Token::Symbol(_)) => true,
        Some(Token::Word(w)) => matches!(
            w.to_ascii_uppercase().as_str(),
            "WHERE"
                | "AND"
                | "OR"
                | "NOT"
                | "ON"
                | "WHEN"
                | "THEN"
                | "ELSE"
                | "SELECT"
                | "BY"
                | "HAVING"
        ),
        _ => false,
    }
}

/// Type names followed by `(` in a schema (`CHECK (...)` and friends) are
/// not function calls to translate.
fn schema_word(upper: &str, schema: bool) -> bool {
    schema
        && matches!(
            upper,
            "CHECK" | "PRIMARY" | "KEY" | "UNIQUE" | "REFERENCES" | "TABLE" | "IN"
        )
}

fn function(word: &str, upper: &str, args: &[String]) -> String {
    let joined = args.join(", ");
    match (upper, args) {
        ("JSON_EXTRACT", [document, path]) => match json_path(path) {
            Some(keys) if keys.len() == 1 => format!("(({document})::jsonb ->> '{}')", keys[0]),
            Some(keys) => format!("(({document})::jsonb #>> '{{{}}}')", keys.join(",")),
            None => format!("{word}({joined})"),
        },
        ("GROUP_CONCAT", [value]) => format!("string_agg(({value})::text, ',')"),
        ("GROUP_CONCAT", [value, separator]) => format!("string_agg(({value})::text, {separator})"),
        ("MAX", [_, _, ..]) => format!("GREATEST({joined})"),
        ("MIN", [_, _, ..]) => format!("LEAST({joined})"),
        ("SUM", [_]) => format!("omni_sum({joined})"),
        ("HEX", [value]) => format!("upper(encode({value}, 'hex'))"),
        ("RANDOMBLOB", [n]) => format!("substr(sha256(gen_random_uuid()::text::bytea), 1, {n})"),
        ("JULIANDAY", [time]) => {
            format!("(EXTRACT(EPOCH FROM ({time})::timestamptz)::float8 / 86400.0 + 2440587.5)")
        }
        _ => format!("{word}({joined})"),
    }
}

/// The keys of a JSON path literal such as `'$.a.b'`.
fn json_path(literal: &str) -> Option<Vec<&str>> {
    let inner = literal.trim().strip_prefix("'$.")?.strip_suffix('\'')?;
    let keys: Vec<&str> = inner.split('.').collect();
    keys.iter()
        .all(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(keys)
}

fn matching(tokens: &[Token], open: usize) -> Result<usize, StorageError> {
    let mut depth = 0usize;
    for (at, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    return Ok(at);
                }
            }
            _ => {}
        }
    }
    Err(StorageError::Other("unbalanced parentheses in SQL".into()))
}

fn split_args(tokens: &[Token]) -> Vec<&[Token]> {
    if tokens
        .iter()
        .all(|t| matches!(t, Token::Verbatim(s) if s.trim().is_empty()))
    {
        return Vec::new();
    }
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, token) in tokens.iter().enumerate() {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Comma if depth == 0 => {
                args.push(&tokens[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    args.push(&tokens[start..]);
    args
}

fn word_at(tokens: &[Token], at: usize) -> Option<&str> {
    match tokens.get(at) {
        Some(Token::Word(w)) => Some(w),
        _ => None,
    }
}

/// The next `n` words after `from`, across spaces, upper-cased.
fn following_words(tokens: &[Token], from: usize, n: usize) -> Vec<String> {
    tokens[from.min(tokens.len())..]
        .iter()
        .filter(|t| !matches!(t, Token::Verbatim(s) if s.trim().is_empty()))
        .take(n)
        .map(|t| match t {
            Token::Word(w) => w.to_ascii_uppercase(),
            _ => String::new(),
        })
        .collect()
}

/// The index just past the next `n` words after `from`.
fn skip_words(tokens: &[Token], from: usize, n: usize) -> usize {
    let mut seen = 0;
    let mut at = from;
    while at < tokens.len() && seen < n {
        if matches!(tokens[at], Token::Word(_)) {
            seen += 1;
        }
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one statement `sql` becomes, its spaces squashed.
    fn one(sql: &str, params: &[SqlValue]) -> PgStatement {
        let mut out = to_postgres(sql, params).unwrap();
        assert_eq!(out.len(), 1, "{out:?}");
        let mut statement = out.remove(0);
        statement.text = squash(&statement.text);
        statement
    }

    fn squash(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn parameters_are_typed_by_their_values_and_nulls_are_literal() {
        let s = one(
            "UPDATE stock SET reserved = reserved + ?2, note = ?3 WHERE store = ?1 AND ?3 IS NULL AND x = ?2",
            &[
                SqlValue::from("WAW-01"),
                SqlValue::Integer(2),
                SqlValue::Null,
            ],
        );
        assert_eq!(
            s.text,
            "UPDATE stock SET reserved = reserved + $1::int8, note = NULL WHERE store = $2::text AND NULL IS NULL AND x = $1::int8"
        );
        assert_eq!(
            s.params,
            vec![SqlValue::Integer(2), SqlValue::from("WAW-01")]
        );
        let bare = one(
            "SELECT ?, ?",
            &[SqlValue::Blob(vec![1]), SqlValue::Real(0.5)],
        );
        assert_eq!(bare.text, "SELECT $1::bytea, $2::float8");
    }

    #[test]
    fn question_marks_inside_literals_stay() {
        let s = one("SELECT '?1' || ?1 AS x", &[SqlValue::from("a")]);
        assert_eq!(s.text, "SELECT '?1' || $1::text AS x");
    }

    #[test]
    fn a_missing_parameter_is_an_error() {
        assert!(to_postgres("SELECT ?2", &[SqlValue::Integer(1)]).is_err());
    }

    #[test]
    fn the_locks_bound_idle_time_to_the_documented_limit() {
        for lock in [WRITE_LOCK, MIGRATION_LOCK] {
            assert!(lock.contains(&format!("'{IDLE_LIMIT_MS}', true")), "{lock}");
        }
    }

    #[test]
    fn write_transactions_take_the_advisory_lock_and_pragmas_vanish() {
        let begin = to_postgres("BEGIN IMMEDIATE", &[]).unwrap();
        assert_eq!(begin.len(), 2);
        assert_eq!(begin[1].text, WRITE_LOCK);
        assert_eq!(to_postgres("BEGIN", &[]).unwrap().len(), 1);
        assert!(
            to_postgres("PRAGMA busy_timeout = 0", &[])
                .unwrap()
                .is_empty()
        );
        assert_eq!(one("SAVEPOINT unit", &[]).text, "SAVEPOINT unit");
    }

    #[test]
    fn functions_are_renamed_with_their_arguments_translated() {
        let s = one(
            "SELECT COALESCE(json_extract(c.data, '$.name'), c.sku) AS name, group_concat(code, ' ') AS g,
                MAX(accepted + ?1, 0) AS m, max(x) AS n, sum(a IS NOT NULL) FILTER (WHERE b) AS s,
                json_extract(d, '$.a.b') AS deep, julianday(t) AS j
             FROM items INDEXED BY items_by_name WHERE +sku = ?1 AND a + 1 > 2",
            &[SqlValue::Integer(3)],
        );
        assert_eq!(
            s.text,
            "SELECT COALESCE(((c.data)::jsonb ->> 'name'), c.sku) AS name, string_agg((code)::text, ' ') AS g, \
             GREATEST(accepted + $1::int8, 0) AS m, max(x) AS n, omni_sum(a IS NOT NULL) FILTER (WHERE b) AS s, \
             ((d)::jsonb #>> '{a,b}') AS deep, (EXTRACT(EPOCH FROM (t)::timestamptz)::float8 / 86400.0 + 2440587.5) AS j \
             FROM items WHERE sku = $1::int8 AND a + 1 > 2"
        );
    }

    #[test]
    fn schema_types_are_mapped_and_text_compares_bytewise() {
        let s = one(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL CHECK (n >= 0),
                name TEXT, lat REAL, body BLOB, kind TEXT CHECK (kind IN ('TEXT', 'b'))) WITHOUT ROWID",
            &[],
        );
        assert_eq!(
            s.text,
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0), \
             name TEXT COLLATE \"C\", lat DOUBLE PRECISION, body BYTEA, kind TEXT COLLATE \"C\" CHECK (kind IN ('TEXT', 'b')))"
        );
        assert_eq!(
            one("CREATE INDEX i ON t (name) WHERE n > 0", &[]).text,
            "CREATE INDEX i ON t (name) WHERE n > 0"
        );
    }

    #[test]
    fn queries_and_returning_writes_answer_rows_and_others_a_count() {
        assert!(returns_rows("SELECT 1"));
        assert!(returns_rows("WITH a AS (SELECT 1) SELECT * FROM a"));
        assert!(returns_rows(
            "INSERT INTO t (a) VALUES ($1::int8) RETURNING a"
        ));
        assert!(!returns_rows("UPDATE t SET a = 'RETURNING'"));
        assert!(!returns_rows("BEGIN"));
        assert!(!returns_rows(
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$"
        ));
    }

    #[test]
    fn the_row_mark_is_removed_with_the_stand_in_row() {
        let marked = crate::storage::Rows {
            columns: vec!["a".into(), ROW_MARK.into()],
            rows: vec![vec![SqlValue::Null, SqlValue::Null]],
        };
        let empty = without_row_mark(marked);
        assert_eq!(empty.columns, vec!["a".to_owned()]);
        assert!(empty.rows.is_empty());
        let two = crate::storage::Rows {
            columns: vec!["a".into(), ROW_MARK.into()],
            rows: vec![
                vec![SqlValue::Null, SqlValue::Integer(1)],
                vec![SqlValue::Integer(7), SqlValue::Integer(2)],
            ],
        };
        assert_eq!(
            without_row_mark(two).rows,
            vec![vec![SqlValue::Null], vec![SqlValue::Integer(7)]]
        );
    }

    #[test]
    fn a_lost_connection_is_busy_in_either_hosts_words_and_a_refusal_a_constraint() {
        for message in [
            "Error { kind: Closed, cause: None }",
            "Error { kind: Io, cause: Some(Os { code: 104, kind: ConnectionReset }) }",
            "connection closed",
            "error connecting to server: Connection refused",
            "40P01: deadlock detected",
        ] {
            assert_eq!(
                classify_postgres(message, "SELECT 1"),
                StorageError::Busy,
                "{message}"
            );
        }
        assert!(matches!(
            classify_postgres(
                "23505: duplicate key value violates unique constraint \"k\"",
                "INSERT"
            ),
            StorageError::Constraint(_)
        ));
        assert!(matches!(
            classify_postgres("42P01: relation \"t\" does not exist", "SELECT"),
            StorageError::Other(_)
        ));
    }

    #[test]
    fn dollar_quoted_bodies_pass_through() {
        let body = "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF x = ? THEN RETURN NULL; END IF; END $$";
        assert_eq!(one(body, &[]).text, body);
        assert_eq!(
            one("VALUES ('RSV-' || hex(randomblob(8)))", &[]).text,
            "VALUES ('RSV-' || upper(encode(substr(sha256(gen_random_uuid()::text::bytea), 1, 8), 'hex')))"
        );
    }
}
