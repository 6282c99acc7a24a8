//! The index's vocabulary, for fast prefix search. FTS5 answers a prefix query (`w*`)
//! by merging the posting lists of every term with that prefix into one list before it
//! returns the first row, whatever the `LIMIT`: a common prefix reads hundreds of
//! thousands of postings (the cause of the slow tail measured in docs/PERFORMANCE.md).
//! So the last word of a query is expanded here instead:
//!
//! - one character: matched as a whole word (a one-letter prefix matches nearly all);
//! - two to four: FTS5's prefix indexes (`prefix='2 3 4'`) hold those prefixes as
//!   terms, read lazily, newest first, stopping at the limit;
//! - five or more: the terms with that prefix are looked up in the `terms` table (every
//!   distinct indexed word of five or more characters, kept by the indexer), and the
//!   word becomes an OR of those terms, which FTS5 also reads lazily. An OR of many
//!   terms costs more than the merge of rare ones (measured: up to 16 terms stay under a
//!   millisecond at 1M events, 32 and more take tens), so with more than
//!   [`MAX_EXPANSION`] terms, or none known, it falls back to FTS5's own prefix query,
//!   which is cheap for such rarer, longer prefixes.

use std::collections::HashSet;

use rusqlite::{Connection, params};

/// Most terms a last word expands to before FTS5's own prefix query is used instead.
pub const MAX_EXPANSION: usize = 16;
/// Shortest word kept in the vocabulary (shorter prefixes use FTS5's prefix indexes).
pub const MIN_TERM_CHARS: usize = 5;
/// Longest word kept (longer ones are hashes and the like).
const MAX_TERM_BYTES: usize = 64;
/// Words remembered in memory as already stored, before the memory is emptied.
const MAX_KNOWN: usize = 200_000;

/// The words of a text as the index's tokenizer splits them, lower-cased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The indexer's side: stores new words in the `terms` table.
#[derive(Default)]
pub struct Vocabulary {
    known: HashSet<String>,
}

impl Vocabulary {
    /// Stores the words of `text` not stored yet (inside the caller's transaction).
    pub fn add(&mut self, conn: &Connection, text: &str) -> rusqlite::Result<()> {
        let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO terms (term) VALUES (?1)")?;
        for word in words(text) {
            if word.chars().count() < MIN_TERM_CHARS
                || word.len() > MAX_TERM_BYTES
                || self.known.contains(&word)
            {
                continue;
            }
            insert.execute(params![word])?;
            if self.known.len() >= MAX_KNOWN {
                self.known.clear();
            }
            self.known.insert(word);
        }
        Ok(())
    }

    /// Forgets what it remembered (the tables were emptied).
    pub fn forget(&mut self) {
        self.known.clear();
    }
}

/// The FTS5 expression for what a person typed: every word must appear, the last one
/// as a prefix (so results follow the typing), expanded as the module says. Words are
/// quoted, so no character of the input is FTS syntax.
pub fn match_expression(conn: &Connection, text: &str) -> rusqlite::Result<Option<String>> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(str::to_owned)
        .collect();
    let Some((last, rest)) = words.split_last() else {
        return Ok(None);
    };
    let mut parts: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
    let chars = last.chars().count();
    let tail = if chars == 1 {
        format!("\"{last}\"")
    } else if chars < MIN_TERM_CHARS {
        format!("\"{last}\"*")
    } else {
        let lower = last.to_lowercase();
        let terms = completions(conn, &lower)?;
        if terms.is_empty() || terms.len() > MAX_EXPANSION {
            format!("\"{last}\"*")
        } else {
            let ors: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
            match ors.as_slice() {
                [one] => one.clone(),
                _ => format!("({})", ors.join(" OR ")),
            }
        }
    };
    parts.push(tail);
    // Explicit ANDs: FTS5 does not join a parenthesised group to a phrase implicitly.
    Ok(Some(parts.join(" AND ")))
}

/// The stored words starting with `prefix`, up to one more than [`MAX_EXPANSION`].
fn completions(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT term FROM terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
    )?;
    let upper = format!("{prefix}\u{10FFFF}");
    let limit = i64::try_from(MAX_EXPANSION + 1).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![prefix, upper, limit], |r| r.get::<_, String>(0))?;
    rows.collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_expands_by_its_length() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE terms (term TEXT PRIMARY KEY) WITHOUT ROWID;")
            .unwrap();
        let mut vocab = Vocabulary::default();
        vocab
            .add(&conn, "Struct structs structure a ab abc abcd restructure")
            .unwrap();
        let expr = |t: &str| match_expression(&conn, t).unwrap();
        assert_eq!(expr("fix a").unwrap(), "\"fix\" AND \"a\"");
        assert_eq!(expr("ab").unwrap(), "\"ab\"*");
        assert_eq!(expr("abcd").unwrap(), "\"abcd\"*");
        assert_eq!(
            expr("struct").unwrap(),
            "(\"struct\" OR \"structs\" OR \"structure\")"
        );
        assert_eq!(
            expr("x Struc").unwrap(),
            "\"x\" AND (\"struct\" OR \"structs\" OR \"structure\")"
        );
        assert_eq!(expr("zzzzz").unwrap(), "\"zzzzz\"*");
        assert_eq!(expr(" *( "), None);
        let many: Vec<String> = (0..=MAX_EXPANSION).map(|i| format!("wide{i:04}")).collect();
        vocab.add(&conn, &many.join(" ")).unwrap();
        assert_eq!(expr("wide").unwrap(), "\"wide\"*");
    }
}
