//! A list's `search` term: bounded after NFKC (API.md §8.9) and matched
//! literally over folded text, alike on both databases.

use crate::db::text_search::like_pattern;
use crate::error::{AppError, AppResult};

/// Longest search term, counted after NFKC normalization (API.md §8.9).
pub const SEARCH_MAX: usize = 100;

/// A list's `search` argument, folded; `None` for an absent or blank one.
/// Longer than `SEARCH_MAX` characters after NFKC is `BAD_USER_INPUT` on
/// `search`, so a match's per-row cost is bounded whatever the client typed.
pub fn search_term(search: Option<&str>) -> AppResult<Option<String>> {
    let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if search.len() > SEARCH_MAX * 4 || nfkc_len(search) > SEARCH_MAX {
        return Err(AppError::field(
            "search",
            &format!("must be at most {SEARCH_MAX} characters (after NFKC normalization)"),
        ));
    }
    Ok(Some(crate::domain::fold(search)))
}

/// The term as a `LIKE … ESCAPE '\'` pattern, for lists without a trigram index.
pub fn search_pattern(search: Option<&str>) -> AppResult<Option<String>> {
    Ok(search_term(search)?.map(|term| like_pattern(&term)))
}

/// Characters after NFKC normalization: how names and searches are measured.
pub fn nfkc_len(text: &str) -> usize {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().count()
}
