"""schemathesis checks for authql (loaded through SCHEMATHESIS_HOOKS by fuzz.sh).

schemathesis's own `not_a_server_error` counts any GraphQL error whose code it
does not know (INVALID_TOKEN, NOT_FOUND, UNAUTHENTICATED, ...) as a server
error, which is wrong for this API: those are the documented answers to the
random input it sends. This check holds the server to what API.md promises
instead: no 5xx, no INTERNAL_SERVER_ERROR anywhere in a body, a JSON body, and
an `extensions.code` on every error.
"""

import json
import os

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes


def _json_value():
    """Any JSON value as a GraphQL literal: what a hostile client can put
    in a `JSON` argument (a passkey's credential), nested a few levels."""
    scalars = st.one_of(
        st.text(max_size=40).map(nodes.String),
        st.integers().map(nodes.Int),
        st.booleans().map(nodes.Boolean),
        st.just(graphql.NullValueNode()),
    )
    names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(nodes.List),
            st.dictionaries(names, inner, max_size=4).map(
                lambda d: nodes.Object(
                    [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in d.items()]
                )
            ),
        ),
        max_leaves=12,
    )


schemathesis.graphql.scalar("JSON", _json_value())


def _errors(payload):
    for item in payload if isinstance(payload, list) else [payload]:
        if isinstance(item, dict):
            yield from item.get("errors") or []


@schemathesis.check
class authql_no_server_failure:
    """No 5xx, no INTERNAL_SERVER_ERROR, every error coded (API.md §2)."""

    def __init__(self):
        # Sets, not counters: responses may be checked again while shrinking.
        self.outcomes = set()

    def after_response(self, ctx, response, case):
        label = case.operation.label
        if response.status_code >= 500:
            raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
        if "INTERNAL_SERVER_ERROR" in response.text:
            raise AssertionError(f"INTERNAL_SERVER_ERROR in the body: {response.text[:500]}")
        try:
            payload = json.loads(response.text)
        except ValueError:
            raise AssertionError(f"HTTP {response.status_code} body is not JSON: {response.text[:200]}")
        codes = []
        for error in _errors(payload):
            code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
            if not isinstance(code, str):
                raise AssertionError(f"an error without extensions.code: {error}")
            codes.append(code)
        self.outcomes.add((label, response.status_code, codes[0] if codes else "data"))

    def after_run(self, ctx):
        summary = sorted(self.outcomes)
        path = os.environ.get("AUTHQL_FUZZ_SUMMARY")
        if path:
            with open(path, "w") as f:
                json.dump(summary, f)
        if summary and all(status == 401 for _, status, _ in summary):
            raise AssertionError("every response was a 401: the Bearer token never authenticated")
