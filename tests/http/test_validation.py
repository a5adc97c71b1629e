"""Documents refused before execution: one credential check, depth, aliases, tokens, repeats."""

import pytest

from gql_portal.audit.models import AuditEvent
from tests.factories import PASSWORD, make_domain, make_user
from tests.graphql import GraphQLClient
from tests.http.support import VERIFY, client_with, code_failures, enrolled_user_with_pending_token


def aliased_verify(count: int) -> str:
    fields = " ".join(f'a{i}: verifyTotp(code: "{i:06d}") {{ status }}' for i in range(count))
    return f"mutation {{ {fields} }}"


async def test_a_single_wrong_code_is_counted(client: GraphQLClient) -> None:
    # The control for the tests below: the counter they watch does move.
    user, _, token = await enrolled_user_with_pending_token(client)
    result = await client.execute(VERIFY, {"code": "000000"}, token=token)
    assert result.code == "INVALID_CODE"
    assert await code_failures(user) == 1


@pytest.mark.parametrize("count", [2, 50])
async def test_aliased_verify_totp_is_refused_and_counts_nothing(
    client: GraphQLClient, count: int
) -> None:
    user, _, token = await enrolled_user_with_pending_token(client)
    events = await AuditEvent.all().count()
    result = await client.execute(aliased_verify(count), token=token)
    assert result.body["data"] is None
    assert set(result.codes) == {"BAD_USER_INPUT"}
    assert any("one credential check" in error["message"] for error in result.errors)
    assert await code_failures(user) == 0
    assert await AuditEvent.all().count() == events


@pytest.mark.parametrize(
    "document",
    [
        # the same fragment spread twice
        """mutation { ...V ...V }
           fragment V on Mutation { verifyTotp(code: "111111") { status } }""",
        # a fragment inside a fragment, next to a direct field
        """mutation { verifyTotp(code: "111111") { status } ...Outer }
           fragment Outer on Mutation { ...Inner }
           fragment Inner on Mutation { b: verifyTotp(code: "222222") { status } }""",
        # inline fragments, with and without a type condition
        """mutation { ... on Mutation { a: verifyTotp(code: "111111") { status } }
                      ... { b: verifyRecoveryCode(code: "abcd-efgh") { status } } }""",
        # two operations in one document
        """mutation A { verifyTotp(code: "111111") { status } }
           mutation B { verifyTotp(code: "222222") { status } }""",
        # different credential fields
        """mutation { verifyTotp(code: "111111") { status }
                      regenerateRecoveryCodes(code: "222222") }""",
        # fifty aliases hidden in a fragment
        "mutation { ...Many } fragment Many on Mutation { "
        + " ".join(f'a{i}: verifyTotp(code: "{i:06d}") {{ status }}' for i in range(50))
        + " }",
    ],
)
async def test_credential_checks_through_fragments_are_refused(
    client: GraphQLClient, document: str
) -> None:
    user, _, token = await enrolled_user_with_pending_token(client)
    result = await client.execute(document, token=token)
    assert "BAD_USER_INPUT" in result.codes
    assert any("one credential check" in error["message"] for error in result.errors)
    assert result.body["data"] is None
    assert await code_failures(user) == 0


async def test_two_logins_in_one_document_are_refused_and_not_throttled(
    client: GraphQLClient,
) -> None:
    domain = await make_domain()
    user = await make_user(domain)
    document = f"""mutation {{
      a: login(email: "{user.email}", password: "wrong-password-1") {{ status }}
      b: login(email: "{user.email}", password: "{PASSWORD}") {{ status }}
    }}"""
    result = await client.execute(document)
    assert result.code == "BAD_USER_INPUT"
    assert await AuditEvent.filter(action="LOGIN_FAILED").count() == 0
    assert (await client.login(user.email, PASSWORD))["status"] == "AUTHENTICATED"


async def test_one_credential_check_with_other_fields_still_runs(client: GraphQLClient) -> None:
    user, _, token = await enrolled_user_with_pending_token(client)
    document = 'mutation { verifyTotp(code: "000000") { status } logout }'
    result = await client.execute(document, token=token)
    assert "INVALID_CODE" in result.codes
    assert await code_failures(user) == 1


async def test_depth_limit() -> None:
    async with client_with(max_query_depth=2) as client:
        shallow = await client.execute("{ me { domain { name } } }")
        deep = await client.execute(
            "{ me { domain { passwordSecurityRules { updatedBy { id } } } } }"
        )
    assert shallow.ok()["me"] is None
    assert deep.code == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth" in deep.errors[0]["message"]


async def test_alias_limit(client: GraphQLClient) -> None:
    allowed = " ".join(f"a{i}: __typename" for i in range(30))
    assert (await client.execute(f"{{ {allowed} }}")).ok()["a29"] == "Query"
    refused = await client.execute(f"{{ {allowed} extra: __typename }}")
    assert refused.code == "BAD_USER_INPUT"
    assert "31 aliases found. Allowed: 30" in refused.errors[0]["message"]


async def test_token_limit(client: GraphQLClient) -> None:
    fields = " ".join(f"a{i}: __typename" for i in range(700))  # ~2,100 tokens
    result = await client.execute(f"{{ {fields} }}")
    assert result.code == "BAD_USER_INPUT"
    assert "Document contains more than 2000 tokens" in result.errors[0]["message"]
    async with client_with(max_tokens=10) as small:
        refused = await small.execute("{ me { id email displayName roles createdAt lastLoginAt } }")
    assert "more than 10 tokens" in refused.errors[0]["message"]


async def test_repeated_fields_are_limited(client: GraphQLClient) -> None:
    assert (await client.execute("{ __typename __typename __typename }")).ok()
    result = await client.execute("{ __typename __typename __typename __typename }")
    assert result.code == "BAD_USER_INPUT"
    assert "repeated more than 3 times" in result.errors[0]["message"]


async def test_directives_per_field_are_limited(client: GraphQLClient) -> None:
    four = "@include(if: true) @skip(if: false) @include(if: true) @skip(if: false)"
    result = await client.execute(f"{{ __typename {four} @include(if: true) }}")
    assert any("More than 4 directives" in error["message"] for error in result.errors)
    assert result.body["data"] is None
