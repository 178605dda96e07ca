//! A write's statements with their values, and the one place where values are written into SQL
//! text: a replica's batch call to its primary (one round trip for a whole transaction) takes
//! plain SQL without parameters. Text and blobs travel hex-encoded (`CAST(X'…' AS TEXT)`), so
//! no value is ever read as SQL, whatever quotes, comment markers or NUL bytes it holds.

use super::{DbError, DbResult};
use libsql::Value;
use std::borrow::Cow;
use std::fmt::Write;

/// One statement and its positional values (`?1`, `?2`, … or `?`).
#[derive(Clone, Debug)]
pub struct Sql {
    pub text: Cow<'static, str>,
    pub values: Vec<Value>,
}

impl Sql {
    /// `values` as `libsql::params!` makes them.
    pub fn new(
        text: impl Into<Cow<'static, str>>,
        values: impl IntoIterator<Item = libsql::Result<Value>>,
    ) -> DbResult<Self> {
        Ok(Self { text: text.into(), values: values.into_iter().collect::<Result<_, _>>()? })
    }

    /// The statement with its values written in, for a batch call.
    pub fn inlined(&self) -> DbResult<String> {
        inline(&self.text, &self.values)
    }
}

/// `text` with each placeholder replaced by its value as an SQL literal. Quoted strings,
/// quoted identifiers and comments are copied as they are; named parameters are refused.
pub fn inline(text: &str, values: &[Value]) -> DbResult<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + values.len() * 16);
    let (mut at, mut copied, mut next_bare) = (0, 0, 0usize);
    while at < bytes.len() {
        // The byte after the construct that starts here.
        let end = match bytes[at] {
            quote @ (b'\'' | b'"' | b'`') => closing(bytes, at + 1, quote),
            b'[' => bytes[at..].iter().position(|&b| b == b']').map_or(bytes.len(), |p| at + p + 1),
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| at + p + 1)
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                text[at + 2..].find("*/").map_or(bytes.len(), |p| at + 2 + p + 2)
            }
            b'?' => {
                let digits = bytes[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let index = if digits == 0 {
                    next_bare += 1;
                    next_bare
                } else {
                    let index: usize = text[at + 1..at + 1 + digits].parse().map_err(|_| placeholder(text))?;
                    next_bare = next_bare.max(index);
                    index
                };
                let value = index.checked_sub(1).and_then(|i| values.get(i)).ok_or_else(|| placeholder(text))?;
                out.push_str(&text[copied..at]);
                literal(&mut out, value)?;
                at += 1 + digits;
                copied = at;
                continue;
            }
            b':' | b'@' | b'$' if bytes.get(at + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') => {
                return Err(DbError::NotInlinable(format!("named parameters in {text}")));
            }
            _ => at + 1,
        };
        at = end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// Past the quote that closes one opened before `from` (a doubled quote is part of the text).
fn closing(bytes: &[u8], mut from: usize, quote: u8) -> usize {
    while from < bytes.len() {
        if bytes[from] == quote {
            if bytes.get(from + 1) == Some(&quote) {
                from += 2;
                continue;
            }
            return from + 1;
        }
        from += 1;
    }
    bytes.len()
}

fn placeholder(text: &str) -> DbError {
    DbError::NotInlinable(format!("a placeholder has no value in {text}"))
}

/// `value` as SQL that evaluates to exactly it (type included). Negative numbers are
/// parenthesised: after a `-` in the statement, `-1` would start a comment.
fn literal(out: &mut String, value: &Value) -> DbResult<()> {
    match value {
        Value::Null => out.push_str("NULL"),
        Value::Integer(i64::MIN) => out.push_str("(-9223372036854775807-1)"),
        Value::Integer(i) if *i < 0 => {
            let _ = write!(out, "({i})");
        }
        Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        // SQLite reads some decimals back one unit off (measured: 8.437437495857088e299), and
        // nothing stored is a real: refused rather than stored inexactly.
        Value::Real(r) => return Err(DbError::NotInlinable(format!("a real ({r}) cannot be written exactly"))),
        Value::Text(text) => {
            out.push_str("CAST(");
            hex(out, text.as_bytes());
            out.push_str(" AS TEXT)");
        }
        Value::Blob(bytes) => hex(out, bytes),
    }
    Ok(())
}

fn hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(bytes.len() * 2 + 3);
    out.push_str("X'");
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn placeholders_are_replaced_only_outside_quotes_and_comments() {
        let text = "SELECT '?1 it''s', \"?2\", [?3], `?4`, ?2, ?1 -- ?2\n, ? /* ?1 */, -?3";
        let values = [Value::Integer(7), Value::Text("a'b".into()), Value::Integer(-5)];
        assert_eq!(
            inline(text, &values).unwrap(),
            "SELECT '?1 it''s', \"?2\", [?3], `?4`, CAST(X'612762' AS TEXT), 7 -- ?2\n, (-5) /* ?1 */, -(-5)"
        );
        assert!(inline("SELECT ?4", &values).is_err(), "a placeholder past the values");
        assert!(inline("SELECT ?0", &values).is_err());
        assert!(inline("SELECT :name", &values).is_err(), "named parameters are refused");
        assert_eq!(inline("SELECT ?, ?, ?", &values).unwrap(), "SELECT 7, CAST(X'612762' AS TEXT), (-5)");
        assert_eq!(inline("SELECT ?, ?", &[Value::Null, Value::Blob(vec![0, 255])]).unwrap(), "SELECT NULL, X'00FF'");
        assert_eq!(inline("SELECT ?1", &[Value::Integer(i64::MIN)]).unwrap(), "SELECT (-9223372036854775807-1)");
        assert!(inline("SELECT ?1", &[Value::Real(0.5)]).is_err(), "reals are refused, not rounded");
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Integer),
            prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(-1), Just(0)].prop_map(Value::Integer),
            any::<String>().prop_map(Value::Text),
            "['\"`;\\-/*?\\\\\\x00 a-z\n]{0,12}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Blob),
        ]
    }

    /// What SQLite stored: each column's type and bytes.
    async fn stored(conn: &libsql::Connection, table: &str) -> Vec<(String, String)> {
        crate::db::query_all(
            conn,
            &format!(
                "SELECT typeof(a), quote(a) FROM {table} UNION ALL SELECT typeof(b), quote(b) FROM {table}
                 UNION ALL SELECT typeof(c), quote(c) FROM {table}"
            ),
            (),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .await
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        /// Inlined values are stored exactly as the same values bound as parameters.
        #[test]
        fn inlined_values_store_exactly_what_bound_values_do(a in value(), b in value(), c in value()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(async {
                let db = libsql::Builder::new_local(":memory:").build().await.unwrap();
                let conn = db.connect().unwrap();
                conn.execute_batch("CREATE TABLE bound (a, b, c); CREATE TABLE inlined (a, b, c);").await.unwrap();
                let insert = "INSERT INTO {t} (a, b, c) VALUES (?1, ?2, ?3) -- ?1 'x";
                let values = vec![a, b, c];
                conn.execute(&insert.replace("{t}", "bound"), values.clone()).await.unwrap();
                let sql = inline(&insert.replace("{t}", "inlined"), &values).unwrap();
                conn.execute_batch(&format!("{sql}\n;SELECT 1")).await.unwrap();
                assert_eq!(stored(&conn, "bound").await, stored(&conn, "inlined").await, "{sql}");
            });
        }
    }
}
