//! Substring search over folded text through each database's trigram index
//! (migration 16): PostgreSQL's `pg_trgm` GIN indexes serve `LIKE '%…%'` as
//! written; SQLite's FTS5 trigram table is asked with `MATCH` first, so a
//! search reads the rows that contain the term instead of every row. The
//! `LIKE` stays on SQLite too, as the rule the index only narrows: what
//! matches is the same on both databases whatever the index holds.

use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    IntoActiveModel, Statement, TryIntoModel, Value,
};

use super::Db;
use super::in_place::Later;

/// A table's searchable folded columns and, on SQLite, its FTS5 index.
pub struct TextIndex<C: 'static> {
    pub table: &'static str,
    /// The FTS5 table over `columns` (external content, rowid = the table's).
    pub fts: &'static str,
    pub columns: &'static [C],
}

/// Trigrams need three characters: a shorter term scans (its `LIKE`).
const TRIGRAM: usize = 3;

/// How many of a term's trigrams the index is asked for: FTS5 reads one
/// list of rows per trigram inside one step of SQLite's machine, where the
/// deadline cannot reach, so a hundred-character term of common trigrams
/// cost a hundred such lists. Any of them is as true a filter as all (the
/// `LIKE` decides); spread over the term, a few find its rare part.
const ASKED: usize = 6;

/// Rows whose indexed columns contain `folded` (already folded and bounded
/// by the caller: its per-row cost is the caller's rule).
pub fn contains<C: ColumnTrait>(db: &Db, index: &TextIndex<C>, folded: &str) -> Condition {
    let pattern = like_pattern(folded);
    let literal = index.columns.iter().fold(Condition::any(), |any, column| {
        any.add(column.like(LikeExpr::new(pattern.clone()).escape('\\')))
    });
    if db.alone().get_database_backend() != DbBackend::Sqlite || folded.chars().count() < TRIGRAM {
        return literal;
    }
    let (table, fts) = (index.table, index.fts);
    let indexed = Expr::cust_with_values(
        format!("{table}.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"),
        [trigrams_query(folded)],
    );
    Condition::all().add(indexed).add(literal)
}

/// Up to `ASKED` distinct trigrams of the term, spread from its start to
/// its end, all required: each a quoted FTS5 string (everything inside is
/// literal but a double quote, which is doubled). The index keeps no
/// positions (`detail=none`, migration 16), so rows with every trigram are
/// only candidates, and the `LIKE` decides.
fn trigrams_query(folded: &str) -> String {
    let chars: Vec<char> = folded.chars().collect();
    let mut all: Vec<String> = chars.windows(TRIGRAM).map(|w| w.iter().collect()).collect();
    all.dedup();
    let mut distinct: Vec<String> = Vec::new();
    for trigram in all {
        if !distinct.contains(&trigram) {
            distinct.push(trigram);
        }
    }
    let n = distinct.len();
    let picked: Vec<&String> = match n <= ASKED {
        true => distinct.iter().collect(),
        false => (0..ASKED)
            .map(|i| &distinct[i * (n - 1) / (ASKED - 1)])
            .collect(),
    };
    let quoted: Vec<String> = picked
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    quoted.join(" ")
}

/// `INSERT INTO {fts}(rowid, columns…) VALUES (?, …)`: a new row's index
/// row (SQLite; no trigger adds it: inside the writer's savepoints FTS5
/// would write a segment per row, see `in_place::writer`).
fn index_insert<C: ColumnTrait>(index: &TextIndex<C>, rowid: &str) -> String {
    let columns: Vec<&str> = index.columns.iter().map(|c| c.as_str()).collect();
    let marks = vec!["?"; columns.len()].join(", ");
    format!(
        "INSERT INTO {}(rowid, {}) VALUES ({rowid}, {marks})",
        index.fts,
        columns.join(", ")
    )
}

/// `Db::insert` for a row of a table with a text-search index (`texts`:
/// the row's indexed texts, in the index's column order): on SQLite its
/// FTS5 row goes in with the writer's group, after their savepoints.
pub async fn insert_searchable<A, E, C>(
    db: &Db,
    row: A,
    index: &TextIndex<C>,
    texts: &[&str],
) -> Result<E::Model, DbErr>
where
    A: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send + 'static,
    E: EntityTrait<ActiveModel = A>,
    E::Model: IntoActiveModel<A>,
    A: TryIntoModel<E::Model>,
    C: ColumnTrait,
{
    let later = (db.alone().get_database_backend() == DbBackend::Sqlite).then(|| Later {
        sql: index_insert(index, "?"),
        values: texts.iter().map(|t| Value::from(t.to_string())).collect(),
    });
    db.read().insert_then(row, later).await
}

/// The index row of the row just inserted in `txn` (SQLite: the
/// connection's last rowid; PostgreSQL's indexes need nothing).
pub async fn index_inserted<T: ConnectionTrait, C: ColumnTrait>(
    txn: &T,
    index: &TextIndex<C>,
    texts: &[&str],
) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let values: Vec<Value> = texts.iter().map(|t| Value::from(t.to_string())).collect();
    let sql = index_insert(index, "last_insert_rowid()");
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        sql,
        values,
    ))
    .await
    .map(|_| ())
}

/// Escapes `%`, `_` and `\` so user text matches literally in `LIKE … ESCAPE '\'`.
pub fn like_pattern(folded: &str) -> String {
    let mut out = String::with_capacity(folded.len() + 2);
    out.push('%');
    for c in folded.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn queries_are_quoted_trigrams_spread_over_the_term() {
        assert_eq!(trigrams_query("a\"bc"), "\"a\"\"b\" \"\"\"bc\"");
        assert_eq!(
            trigrams_query("abcdefghijk"),
            "\"abc\" \"bcd\" \"def\" \"efg\" \"ghi\" \"ijk\"",
            "spread to the end"
        );
        assert_eq!(trigrams_query(&"e".repeat(100)), "\"eee\"", "asked once");
    }
}
