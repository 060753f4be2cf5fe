//! Parsed documents kept by their text, so the same few queries a client
//! sends over and over are parsed once.

use async_graphql::parser::types::ExecutableDocument;

/// Parsed documents by their text. Clients send the same few queries over
/// and over, and parsing one (a pest grammar) cost about a tenth of a small
/// request's CPU. Bounded: past `MAX_ENTRIES` it starts over, and long or
/// unparsable documents are not kept, so unique queries cost what they did.
#[derive(Default)]
pub struct DocumentCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, ExecutableDocument>>,
}

impl DocumentCache {
    // A parsed document takes several times its text; these bounds keep the
    // worst case (a client sending many distinct large queries) to some tens
    // of MiB. The standard introspection query is about 1.2 KiB.
    const MAX_ENTRIES: usize = 512;
    const MAX_QUERY_BYTES: usize = 4 * 1024;

    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::ServerError> {
        let cacheable = query.len() <= Self::MAX_QUERY_BYTES;
        if cacheable {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(doc) = entries.get(query) {
                return Ok(doc.clone());
            }
        }
        let doc = async_graphql::parser::parse_query(query)?;
        if cacheable {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(query.to_owned(), doc.clone());
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_cache_returns_what_parsing_returns_and_keeps_no_errors() {
        let cache = DocumentCache::default();
        let q = "query Me { me { id } }";
        let first = cache.parse(q).unwrap();
        let again = cache.parse(q).unwrap();
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        assert!(cache.parse("{ me { id }").is_err());
        assert_eq!(cache.entries.lock().unwrap().len(), 1);
        for i in 0..DocumentCache::MAX_ENTRIES + 5 {
            cache.parse(&format!("{{ f{i} }}")).unwrap();
        }
        assert!(cache.entries.lock().unwrap().len() <= DocumentCache::MAX_ENTRIES);
    }
}
