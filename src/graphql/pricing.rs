//! What a document costs before it runs (API.md §5, §8.1, §8.9), the one
//! price every transport admits by: every field and alias 1 (`__typename`
//! included), a count of all rows and a search 10 each, and a list its
//! page: its page size times what one node selects, a node counting at
//! least 1 even when nothing of it is selected, since the rows are read
//! whatever is selected.

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Value, Variables};

use crate::services::shared::pagination::MAX_PAGE_SIZE;

/// Fields that count every matching row: no index serves that.
const COUNTING_FIELDS: &[&str] = &["totalCount", "totalPages"];
/// What a count of all rows, and a text search, cost: at the default
/// `MAX_COMPLEXITY` a document holds about 50 of them.
const SCAN_COST: usize = 10;
/// The fields that answer a page of rows (a Relay connection or a numbered
/// page); a unit test checks each is one of the schema's.
pub const LIST_FIELDS: &[&str] = &[
    "products",
    "productsPage",
    "users",
    "usersPage",
    "securityEvents",
    "oauthClients",
];
/// The arguments that size a page, and the size when none is given.
const PAGE_ARGUMENTS: &[&str] = &["first", "last", "pageSize"];
const DEFAULT_PAGE: usize = 20;
/// The selections of a list that repeat per row.
const NODE_FIELDS: &[&str] = &["edges", "nodes", "items"];

/// What `set` costs, fragments expanded; stops just past `limit`, so a
/// fragment fan-out bomb cannot make this walk expensive.
pub fn set_cost(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    variables: &Variables,
    limit: usize,
    depth: usize,
) -> usize {
    let mut total = 0usize;
    let whole = each_field(doc, set, depth, &mut |field, depth| {
        total = total.saturating_add(field_total(doc, field, variables, limit, depth));
        total <= limit
    });
    // A walk cut short (past the limit, or fragments nested too deep to
    // follow) is priced past the limit: what was not seen is not cheap.
    if whole {
        total
    } else {
        total.max(limit.saturating_add(1))
    }
}

/// Calls `visit` on every field of `set`, fragments expanded, until it
/// answers `false` (past the limit: a fragment fan-out must not make the
/// walk itself expensive); answers whether it went on to the end. Fragment
/// cycles are a validation error; the depth bound keeps this finite first.
fn each_field<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    depth: usize,
    visit: &mut dyn FnMut(&'a Field, usize) -> bool,
) -> bool {
    if depth > 64 {
        return false;
    }
    for selection in &set.items {
        let went_on = match &selection.node {
            Selection::Field(field) => visit(&field.node, depth),
            Selection::InlineFragment(fragment) => {
                each_field(doc, &fragment.node.selection_set.node, depth + 1, visit)
            }
            Selection::FragmentSpread(spread) => {
                match doc.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) => {
                        each_field(doc, &fragment.node.selection_set.node, depth + 1, visit)
                    }
                    None => true,
                }
            }
        };
        if !went_on {
            return false;
        }
    }
    true
}

/// One field with everything under it: a list field its page of nodes.
fn field_total(
    doc: &ExecutableDocument,
    field: &Field,
    variables: &Variables,
    limit: usize,
    depth: usize,
) -> usize {
    let own = field_cost(field) + offset_cost(field, variables);
    let children = &field.selection_set.node;
    let Some(page) = page_size(field, variables) else {
        return own.saturating_add(set_cost(doc, children, variables, limit, depth + 1));
    };
    let (mut per_node, mut rest) = (0usize, 0usize);
    let whole = each_field(doc, children, depth + 1, &mut |child, depth| {
        let cost = field_total(doc, child, variables, limit, depth);
        if NODE_FIELDS.contains(&child.name.node.as_str()) {
            per_node = per_node.saturating_add(cost);
        } else {
            rest = rest.saturating_add(cost);
        }
        per_node.saturating_add(rest) <= limit
    });
    if !whole {
        rest = rest.max(limit.saturating_add(1));
    }
    own.saturating_add(rest)
        .saturating_add(page.saturating_mul(per_node.max(1)))
}

/// The page a list field asks for, variables substituted; `None` for a
/// field that is no list.
fn page_size(field: &Field, variables: &Variables) -> Option<usize> {
    if !LIST_FIELDS.contains(&field.name.node.as_str()) {
        return None;
    }
    let given = arguments(field, PAGE_ARGUMENTS, variables)
        .map(|value| match value {
            Value::Number(n) => n
                .as_u64()
                .map_or(1, |n| (n as usize).clamp(1, MAX_PAGE_SIZE as usize)),
            Value::Null => DEFAULT_PAGE,
            _ => MAX_PAGE_SIZE as usize,
        })
        .max();
    Some(given.unwrap_or(DEFAULT_PAGE))
}

/// The values of `field`'s arguments named in `names`, with the variables
/// substituted; a variable not given is null (the argument's default).
fn arguments<'a>(
    field: &'a Field,
    names: &'a [&str],
    variables: &'a Variables,
) -> impl Iterator<Item = Value> + 'a {
    field
        .arguments
        .iter()
        .filter(|(name, _)| names.contains(&name.node.as_str()))
        .map(|(_, value)| {
            value
                .node
                .clone()
                .into_const_with(|n| Ok::<_, ()>(variables.get(&n).cloned().unwrap_or(Value::Null)))
                .unwrap_or(Value::Null)
        })
}

/// A numbered page past the first is read after skipping the ones before
/// it (`OFFSET`): a scan of up to the whole table, priced as a count is.
fn offset_cost(field: &Field, variables: &Variables) -> usize {
    let deep = arguments(field, &["page"], variables)
        .any(|page| !matches!(page, Value::Number(n) if n.as_u64() == Some(1)));
    if deep { SCAN_COST } else { 0 }
}

/// What one selection costs itself: 1, or `SCAN_COST` for a count of all
/// rows, plus `SCAN_COST` for a `filter` that may search (`LIKE '%…%'`
/// reads every row). A filter given by a variable is priced as a search.
fn field_cost(field: &Field) -> usize {
    let base = if COUNTING_FIELDS.contains(&field.name.node.as_str()) {
        SCAN_COST
    } else {
        1
    };
    let searches = field.arguments.iter().any(|(name, value)| {
        name.node == "filter"
            // `None`: a variable somewhere in it, so it may search.
            && match value.node.clone().into_const() {
                None => true,
                Some(Value::Object(fields)) => fields
                    .iter()
                    .any(|(key, v)| key.as_str() == "search" && !matches!(v, Value::Null)),
                Some(_) => false,
            }
    });
    base + if searches { SCAN_COST } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(q: &str) -> usize {
        use async_graphql::parser::types::DocumentOperations;
        let doc = async_graphql::parser::parse_query(q).unwrap();
        let DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation");
        };
        let op = &op.node;
        let variables = Variables::from_json(serde_json::json!({ "n": 7 }));
        set_cost(&doc, &op.selection_set.node, &variables, 100_000, 0)
    }

    /// 120 aliases of `products(first: 100) { __typename }` read 12,000
    /// rows: each costs its page, not 2.
    #[test]
    fn a_list_costs_its_page_whatever_is_selected() {
        assert_eq!(cost("{ products(first: 100) { __typename } }"), 1 + 1 + 100);
        assert_eq!(
            cost("{ products(first: 10) { edges { node { id name } } } }"),
            1 + 10 * 4
        );
        assert_eq!(cost("{ usersPage { items { id } } }"), 1 + 20 * 2);
        // A page past the first skips rows (`OFFSET`): priced as a scan.
        assert_eq!(cost("{ usersPage(page: 1) { items { id } } }"), 1 + 20 * 2);
        assert_eq!(
            cost("{ usersPage(page: 2147483647) { items { id } } }"),
            1 + 10 + 20 * 2
        );
        assert_eq!(
            cost("query($n: Int) { users(first: $n) { totalCount } }"),
            1 + 10 + 7
        );
        assert_eq!(
            cost(
                "{ securityEvents(last: 5) { ...E } } fragment E on SecurityEventConnection { edges { cursor } }"
            ),
            1 + 5 * 2
        );
        assert_eq!(
            cost("query($m: Int) { users(first: $m) { totalCount } }"),
            1 + 10 + 20
        );
        assert_eq!(cost("{ me { id } }"), 2);
    }

    /// A fragment fan-out under a list (2^40 fields if walked) is priced
    /// past the limit at once, not walked.
    #[test]
    fn a_fragment_bomb_under_a_list_stops_at_the_limit() {
        let mut q = String::from("{ products { ...F0 } }");
        for i in 0..40 {
            q.push_str(&format!(
                " fragment F{i} on ProductConnection {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        q.push_str(" fragment F40 on ProductConnection { totalCount }");
        let doc = async_graphql::parser::parse_query(&q).unwrap();
        let async_graphql::parser::types::DocumentOperations::Single(op) = &doc.operations else {
            panic!("one operation");
        };
        let began = std::time::Instant::now();
        let cost = set_cost(
            &doc,
            &op.node.selection_set.node,
            &Variables::default(),
            1000,
            0,
        );
        assert!(cost > 1000);
        assert!(began.elapsed() < std::time::Duration::from_secs(1));
    }
}
