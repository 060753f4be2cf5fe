//! `schema.graphql` at the repository root must equal what the server serves.

use std::collections::HashMap;
use std::path::Path;

#[test]
fn checked_in_schema_matches_the_server() {
    let vars: HashMap<String, String> = [(
        "SECRET_KEY".to_owned(),
        crate::helpers::app::SECRET_KEY.to_owned(),
    )]
    .into();
    let (settings, _) = authql::config::Settings::from_vars(&vars, Path::new("/x")).unwrap();
    let served = authql::graphql::sdl(&settings);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        served == checked_in,
        "schema.graphql is out of date; regenerate it with:\n    cargo run -- export-schema schema.graphql"
    );
}
