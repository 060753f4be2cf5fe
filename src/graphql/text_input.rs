//! Strings are text (API.md §8.1): a NUL character in any string argument,
//! inline or by variable, at any depth of an input object, is
//! `BAD_USER_INPUT` on that field before anything runs. SQLite cuts a
//! `LIKE` pattern at a NUL (so a search matched every row) and PostgreSQL
//! cannot store one, so no service should ever see one.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Value, Variables};

use crate::graphql::document;

/// The input field (or argument) of the selected operation that holds a
/// string with a NUL, with variables substituted; `None` when none does.
pub fn nul_field(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Option<String> {
    let op = document::select(doc, operation_name)?;
    in_selections(doc, &op.selection_set.node, variables, 0)
}

fn in_selections(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    depth: usize,
) -> Option<String> {
    // Fragment cycles are a validation error; this keeps the walk finite.
    if depth > 32 {
        return None;
    }
    set.items
        .iter()
        .find_map(|selection| match &selection.node {
            Selection::Field(field) => field
                .node
                .arguments
                .iter()
                .find_map(|(name, value)| {
                    let value = value
                        .node
                        .clone()
                        .into_const_with(|var: Name| {
                            Ok::<_, ()>(variables.get(&var).cloned().unwrap_or(Value::Null))
                        })
                        .ok()?;
                    in_value(&value, name.node.as_str())
                })
                .or_else(|| {
                    in_selections(doc, &field.node.selection_set.node, variables, depth + 1)
                }),
            Selection::InlineFragment(fragment) => {
                in_selections(doc, &fragment.node.selection_set.node, variables, depth + 1)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .and_then(|f| in_selections(doc, &f.node.selection_set.node, variables, depth + 1)),
        })
}

/// `name` is the innermost field the value is under.
fn in_value(value: &Value, name: &str) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(name.to_owned()),
        Value::List(items) => items.iter().find_map(|v| in_value(v, name)),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| in_value(v, k.as_str())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(query: &str, variables: serde_json::Value) -> Option<String> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        nul_field(&doc, None, &Variables::from_json(variables))
    }

    #[test]
    fn finds_a_nul_inline_by_variable_and_deep_in_input_objects() {
        let q = r#"{ productsPage(filter: {search: "a\u0000b"}) { page } }"#;
        assert_eq!(field(q, serde_json::json!({})).as_deref(), Some("search"));
        let q = "mutation($i: RegisterInput!) { register(input: $i) { email } }";
        let vars = serde_json::json!({ "i": { "email": "x\u{0}@example.com", "password": "p" } });
        assert_eq!(field(q, vars).as_deref(), Some("email"));
        let q = "mutation($e: String!) { requestPasswordReset(email: $e) }";
        assert_eq!(
            field(q, serde_json::json!({ "e": "\u{0}" })).as_deref(),
            Some("email")
        );
        let q = "mutation($e: String!) { requestPasswordReset(email: $e) }";
        assert_eq!(field(q, serde_json::json!({ "e": "fine" })), None);
    }
}
