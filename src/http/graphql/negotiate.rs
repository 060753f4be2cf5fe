//! Content negotiation for GraphQL over HTTP: which media type the answer
//! takes (`Accept`), and which request bodies are accepted (`Content-Type`).

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

/// The response media type, chosen from the request's `Accept` (GraphQL over
/// HTTP: `application/graphql-response+json` when allowed, else `application/json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    GraphqlResponseJson,
    Json,
}

impl ResponseType {
    /// `application/graphql-response+json` only when the client names it (at
    /// least as preferred as `application/json`): a bare wildcard such as
    /// `*/*` — what curl and `fetch` send by default — gets `application/json`,
    /// as GraphQL over HTTP recommends for clients that predate the new type
    /// (and graphql-http's audit checks), so they keep their 200 on
    /// validation errors.
    pub fn negotiate(accept: Option<&str>) -> ResponseType {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
            // The spec's legacy rule: no Accept header means application/json.
            return ResponseType::Json;
        };
        let grj = quality_named(accept, "application", "graphql-response+json");
        let json = quality(accept, "application", "json");
        if grj > 0.0 && grj >= json {
            ResponseType::GraphqlResponseJson
        } else {
            ResponseType::Json
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Whether a `Content-Type` names a JSON body (the only kind `POST` takes:
/// refusing forms and `text/plain` closes the CSRF path, API.md §5).
pub fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media == APPLICATION_JSON || media == GRAPHQL_RESPONSE_JSON
}

/// Whether a browser asks for a page (GraphiQL) rather than data.
pub fn wants_html(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
}

/// The q-value the most specific matching media range gives `ty/sub`.
fn quality(accept: &str, ty: &str, sub: &str) -> f32 {
    best_range(accept, ty, sub).map_or(0.0, |(_, q)| q)
}

/// The q-value of a range naming `ty/sub` itself; wildcards do not count.
fn quality_named(accept: &str, ty: &str, sub: &str) -> f32 {
    match best_range(accept, ty, sub) {
        Some((3, q)) => q,
        _ => 0.0,
    }
}

/// `(specificity, q)` of the most specific range matching `ty/sub`:
/// 3 for `ty/sub`, 2 for `ty/*`, 1 for `*/*`.
fn best_range(accept: &str, ty: &str, sub: &str) -> Option<(u8, f32)> {
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some((rt, rs)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (rt, rs) {
            (t, s) if t == ty && s == sub => 3,
            (t, "*") if t == ty => 2,
            ("*", "*") => 1,
            _ => continue,
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_accept() {
        use ResponseType::{GraphqlResponseJson as Grj, Json};
        assert_eq!(ResponseType::negotiate(None), Json);
        for (accept, expected) in [
            ("application/json", Json),
            (GRAPHQL_RESPONSE_JSON, Grj),
            (
                "application/graphql-response+json, application/json;q=0.9",
                Grj,
            ),
            ("application/json, */*;q=0.5", Json),
            ("*/*", Json),
            ("application/*", Json),
            ("*/*, application/graphql-response+json", Grj),
            ("application/graphql-response+json;q=0.5, */*", Json),
            ("*/*, application/graphql-response+json;q=0", Json),
            ("text/plain", Json),
        ] {
            assert_eq!(ResponseType::negotiate(Some(accept)), expected, "{accept}");
        }
    }

    #[test]
    fn only_json_content_types_are_accepted() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/x-www-form-urlencoded")));
        assert!(!is_json(Some("multipart/form-data; boundary=x")));
        assert!(!is_json(None));
    }
}
