//! Reads a parsed document before execution: which operation will run, its
//! type, and its root fields. The HTTP layer uses this to refuse mutations
//! over GET, to cap password-hashing fields per request, and to let the
//! anonymous auth mutations through with a stale `Authorization` header.

pub use super::document_cache::DocumentCache;
use super::pricing;
use async_graphql::Variables;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};

/// Root fields that check or set a password: each costs an argon2 hash, so a
/// request may hold at most one of them, aliases and batches included (API.md §5).
pub const PASSWORD_FIELDS: &[&str] = &[
    "login",
    "register",
    "changePassword",
    "resetPassword",
    "enableTwoFactor",
    "disableTwoFactor",
    "reauthenticate",
    "deleteAccount",
];

/// Root fields anyone may call, and those that check a credential or a code: at most
/// `MAX_ANONYMOUS_WRITES` per request, aliases and batches included, so one request cannot
/// become thousands of hashes, write transactions, ceremonies or mails (API.md §8.1, §8.9).
pub const ANONYMOUS_WRITE_FIELDS: &[&str] = &[
    "register",
    "login",
    "verifyOtp",
    "resendOtp",
    "refreshToken",
    "activateAccount",
    "activateAccountWithCode",
    "resendActivationEmail",
    "requestPasswordReset",
    "resetPassword",
    "confirmEmailChange",
    "beginPasskeyLogin",
    "finishPasskeyLogin",
    "requestEmailSignIn",
    "signInWithEmailCode",
    "exchangeSocialCode",
    "signInWithIdToken",
    "linkIdentity",
    "linkIdentityWithIdToken",
];
pub const MAX_ANONYMOUS_WRITES: usize = 3;

/// Root fields that ignore the `Authorization` header, as SimpleJWT's token
/// views do, so a client with an expired token can still refresh or sign in (API.md §1).
pub const ANONYMOUS_AUTH_FIELDS: &[&str] = &[
    "register",
    "activateAccount",
    "activateAccountWithCode",
    "resendActivationEmail",
    "login",
    "verifyOtp",
    "resendOtp",
    "refreshToken",
    "requestPasswordReset",
    "resetPassword",
    "requestEmailSignIn",
    "signInWithEmailCode",
    "exchangeSocialCode",
    "signInWithIdToken",
];

/// What the HTTP layer needs to know about one operation before running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationShape {
    pub ty: OperationType,
    /// Root field names (not aliases), one entry per selection, fragments expanded.
    pub root_fields: Vec<String>,
    /// What the selections cost at every level, `__typename` included,
    /// fragments expanded: 1 each, more for counts and searches
    /// (`field_cost`); counting stops just past the limit it was given.
    pub field_count: usize,
}

impl OperationShape {
    pub fn count_of(&self, names: &[&str]) -> usize {
        self.root_fields
            .iter()
            .filter(|f| names.contains(&f.as_str()))
            .count()
    }

    /// True when every root field is one of `names` (and there is at least one).
    pub fn only(&self, names: &[&str]) -> bool {
        !self.root_fields.is_empty() && self.count_of(names) == self.root_fields.len()
    }
}

/// The operation that `operation_name` selects, or `None` when the selection
/// is ambiguous or unknown (validation then reports it).
///
/// `count_limit` bounds the field count: async-graphql's complexity leaves
/// out `__typename`, so an alias flood of it would otherwise cost nothing,
/// while API.md §5 says every field and alias costs at least 1.
pub fn shape(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    count_limit: usize,
) -> Option<OperationShape> {
    let op = select(doc, operation_name)?;
    let mut root_fields = Vec::new();
    // Root fields hidden past the walk's bounds cannot be capped: such an
    // operation is priced past every limit, so it is refused whole.
    let whole = collect_fields(doc, &op.selection_set.node, &mut root_fields, 0);
    let variables = with_defaults(op, variables);
    let field_count = match whole {
        true => pricing::set_cost(doc, &op.selection_set.node, &variables, count_limit, 0),
        false => usize::MAX,
    };
    Some(OperationShape {
        ty: op.ty,
        root_fields,
        field_count,
    })
}

/// The variables as the engine will see them: those sent, and the
/// defaults of those not sent (a page size may come from a default).
fn with_defaults<'a>(
    op: &OperationDefinition,
    variables: &'a Variables,
) -> std::borrow::Cow<'a, Variables> {
    let missing = op
        .variable_definitions
        .iter()
        .filter(|d| d.node.default_value.is_some() && !variables.contains_key(&d.node.name.node));
    if missing.clone().next().is_none() {
        return std::borrow::Cow::Borrowed(variables);
    }
    let mut filled = variables.clone();
    for definition in missing {
        if let Some(default) = &definition.node.default_value {
            filled.insert(definition.node.name.node.clone(), default.node.clone());
        }
    }
    std::borrow::Cow::Owned(filled)
}

/// The operation a request runs (see `shape`).
pub fn select<'a>(
    doc: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        _ => None,
    }
}

/// Root fields collected at most (the caps are a few; `MAX_COMPLEXITY`
/// refuses more long before).
const MAX_ROOT_FIELDS: usize = 10_000;

/// Fragment cycles are a validation error; the depth bound keeps this walk
/// finite before validation has run.
fn collect_fields(
    doc: &ExecutableDocument,
    set: &SelectionSet,
    out: &mut Vec<String>,
    depth: usize,
) -> bool {
    // Past this many root fields every cap is passed already: a fragment
    // fan-out must not make the walk itself expensive. A walk cut short
    // answers false, and the operation is refused (`shape`).
    if depth > 32 || out.len() > MAX_ROOT_FIELDS {
        return false;
    }
    for selection in &set.items {
        if out.len() > MAX_ROOT_FIELDS {
            return false;
        }
        let whole = match &selection.node {
            Selection::Field(field) => {
                out.push(field.node.name.node.to_string());
                true
            }
            Selection::InlineFragment(fragment) => {
                collect_fields(doc, &fragment.node.selection_set.node, out, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                match doc.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) => {
                        collect_fields(doc, &fragment.node.selection_set.node, out, depth + 1)
                    }
                    None => true,
                }
            }
        };
        if !whole {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The root fields of `type <name>` in the SDL, doc strings skipped.
    fn root_fields(sdl: &str, name: &str) -> Vec<String> {
        let block = sdl
            .split(&format!("type {name} {{"))
            .nth(1)
            .and_then(|rest| rest.split("\n}").next())
            .unwrap_or_default();
        let mut in_doc = false;
        let mut fields = Vec::new();
        for line in block.lines().map(str::trim) {
            if line.starts_with("\"\"\"") {
                in_doc = !(in_doc || line.len() > 3 && line.ends_with("\"\"\""));
                continue;
            }
            if !in_doc && !line.is_empty() {
                fields.push(line.split(['(', ':']).next().unwrap_or("").to_owned());
            }
        }
        fields
    }

    /// Renaming `login` must not silently drop the one-password-field rule
    /// (or let `login` stop ignoring a stale token): every name in the lists
    /// is a root field the schema has.
    #[test]
    fn the_field_lists_name_root_fields_the_schema_has() {
        let vars = [("SECRET_KEY".to_owned(), "k".repeat(32))].into();
        let (settings, _) =
            crate::config::Settings::from_vars(&vars, std::path::Path::new("/nonexistent"))
                .unwrap();
        let sdl = crate::graphql::sdl(&settings);
        let mutations = root_fields(&sdl, "Mutation");
        let queries = root_fields(&sdl, "Query");
        assert!(mutations.len() > 10 && queries.len() > 5, "{mutations:?}");
        for field in PASSWORD_FIELDS
            .iter()
            .chain(ANONYMOUS_AUTH_FIELDS)
            .chain(ANONYMOUS_WRITE_FIELDS)
            .chain(pricing::LIST_FIELDS)
        {
            assert!(
                mutations.iter().chain(&queries).any(|f| f == field),
                "{field} is not a root field of the schema"
            );
        }
        assert!(!mutations.iter().any(|f| f == "nosuchfield"));
    }

    fn parse(q: &str, name: Option<&str>) -> OperationShape {
        shape(
            &async_graphql::parser::parse_query(q).unwrap(),
            name,
            &Variables::default(),
            1000,
        )
        .unwrap()
    }

    #[test]
    fn aliases_count_once_each() {
        let s = parse(
            r#"mutation { a: login(input: {}) { __typename } b: login(input: {}) { __typename } }"#,
            None,
        );
        assert_eq!(s.ty, OperationType::Mutation);
        assert_eq!(s.count_of(PASSWORD_FIELDS), 2);
    }

    /// A full-table count and a text search cost 10 each (API.md §8.1);
    /// a filter given by a variable is priced as a search.
    #[test]
    fn counts_and_searches_cost_ten() {
        let cost = |q: &str| parse(q, None).field_count;
        // The field, its page of one node, and what else it selects.
        assert_eq!(cost("{ productsPage(pageSize: 1) { page } }"), 3);
        assert_eq!(cost("{ productsPage(pageSize: 1) { totalCount } }"), 12);
        // No page size: the default page of 20.
        let searched = r#"{ productsPage(filter: {search: "qzx"}) { totalCount } }"#;
        assert_eq!(cost(searched), 41);
        assert_eq!(
            cost("{ products(filter: {search: null}) { totalCount } }"),
            31
        );
        assert_eq!(
            cost("{ products(filter: {inStock: true}) { totalCount } }"),
            31
        );
        let by_variable = "query($f: ProductFilter) { products(filter: $f) { totalCount } }";
        assert_eq!(cost(by_variable), 41);
    }

    #[test]
    fn fragments_are_expanded() {
        let s = parse(
            "mutation M { ...F ... on Mutation { register(input: {}) { email } } } fragment F on Mutation { login(input: {}) { __typename } }",
            Some("M"),
        );
        assert_eq!(s.root_fields, vec!["login", "register"]);
    }

    #[test]
    fn named_operations_are_selected() {
        let doc = async_graphql::parser::parse_query("query A { me { id } } mutation B { logout }")
            .unwrap();
        assert_eq!(
            shape(&doc, Some("B"), &Variables::default(), 10)
                .unwrap()
                .ty,
            OperationType::Mutation
        );
        assert_eq!(
            shape(&doc, Some("A"), &Variables::default(), 10)
                .unwrap()
                .ty,
            OperationType::Query
        );
        assert!(shape(&doc, None, &Variables::default(), 10).is_none());
    }

    #[test]
    fn every_field_counts_typename_included_and_fragments_expand() {
        let s = parse(
            "{ a: __typename b: __typename me { id ...F } } fragment F on User { email username }",
            None,
        );
        assert_eq!(s.field_count, 6);
    }

    /// Root fields hidden 33 fragments deep escaped the caps; a page size
    /// from a variable's default was priced as the default page.
    #[test]
    fn hidden_root_fields_and_defaulted_page_sizes_are_priced() {
        let mut q = String::from("mutation { ...F1 }");
        for i in 1..=33 {
            q.push_str(&format!(" fragment F{i} on Mutation {{ ...F{} }}", i + 1));
        }
        q.push_str(" fragment F34 on Mutation { a: login(input: {}) { __typename } }");
        let s = parse(&q, None);
        assert_eq!(s.field_count, usize::MAX);
        let defaulted = parse(
            "query($n: Int = 100) { a: products(first: $n) { __typename } }",
            None,
        );
        assert_eq!(defaulted.field_count, 1 + 1 + 100);
    }

    #[test]
    fn counting_stops_past_the_limit() {
        let doc = async_graphql::parser::parse_query(
            "{ ...A ...A } fragment A on Query { ...B ...B } fragment B on Query { ...C ...C } fragment C on Query { x y z }",
        )
        .unwrap();
        assert_eq!(
            shape(&doc, None, &Variables::default(), 5)
                .unwrap()
                .field_count,
            6
        );
        assert_eq!(
            shape(&doc, None, &Variables::default(), 1000)
                .unwrap()
                .field_count,
            24
        );
    }

    #[test]
    fn anonymous_auth_fields_only() {
        assert!(
            parse(
                "mutation { refreshToken(refreshToken: \"x\") { accessToken } }",
                None
            )
            .only(ANONYMOUS_AUTH_FIELDS)
        );
        assert!(
            !parse(
                "mutation { refreshToken(refreshToken: \"x\") { accessToken } logout }",
                None
            )
            .only(ANONYMOUS_AUTH_FIELDS)
        );
    }
}
