//! A list's `search` term: bounded after NFKC (API.md §8.9) and matched
//! literally as a `LIKE` pattern over folded text, alike on both databases.

use crate::error::{AppError, AppResult};

/// Longest search term, counted after NFKC normalization (API.md §8.9).
pub const SEARCH_MAX: usize = 100;

/// A list's `search` argument as a `LIKE … ESCAPE '\'` pattern over folded
/// text; `None` for an absent or blank one. Longer than `SEARCH_MAX`
/// characters after NFKC is `BAD_USER_INPUT` on `search`, so a pattern's
/// per-row cost is bounded whatever the client typed.
pub fn search_pattern(search: Option<&str>) -> AppResult<Option<String>> {
    let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if search.len() > SEARCH_MAX * 4 || nfkc_len(search) > SEARCH_MAX {
        return Err(AppError::field(
            "search",
            &format!("must be at most {SEARCH_MAX} characters (after NFKC normalization)"),
        ));
    }
    Ok(Some(like_pattern(&crate::domain::fold(search))))
}

/// Characters after NFKC normalization: how names and searches are measured.
pub fn nfkc_len(text: &str) -> usize {
    use unicode_normalization::UnicodeNormalization;
    text.nfkc().count()
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
}
