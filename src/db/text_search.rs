//! Substring search over folded text through each database's trigram index
//! (migration 16): PostgreSQL's `pg_trgm` GIN indexes serve `LIKE '%…%'` as
//! written; SQLite's FTS5 trigram table is asked with `MATCH` first, so a
//! search reads the rows that contain the term instead of every row. The
//! `LIKE` stays on SQLite too, as the rule the index only narrows: what
//! matches is the same on both databases whatever the index holds.

use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{ColumnTrait, Condition, DbBackend};

use super::Db;

/// A table's searchable folded columns and, on SQLite, its FTS5 index.
pub struct TextIndex<C: 'static> {
    pub table: &'static str,
    /// The FTS5 table over `columns` (external content, rowid = the table's).
    pub fts: &'static str,
    pub columns: &'static [C],
}

/// Trigrams need three characters: a shorter term scans (its `LIKE`).
const TRIGRAM: usize = 3;

/// What of a term the index is asked for: its first characters, any part
/// of it being as true a filter as the whole (the `LIKE` decides). FTS5
/// reads one list of rows per trigram inside one step of SQLite's machine,
/// where the deadline cannot reach: a hundred-character term of common
/// trigrams cost a hundred such lists.
const MATCHED: usize = 8;

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
        [fts5_phrase(
            &folded.chars().take(MATCHED).collect::<String>(),
        )],
    );
    Condition::all().add(indexed).add(literal)
}

/// The term as one FTS5 phrase: inside double quotes everything is literal
/// but a double quote, which is doubled.
fn fts5_phrase(folded: &str) -> String {
    format!("\"{}\"", folded.replace('"', "\"\""))
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
    fn phrases_double_their_quotes() {
        assert_eq!(fts5_phrase("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
