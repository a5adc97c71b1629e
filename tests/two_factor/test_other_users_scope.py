"""CONTRACT section 4: a pending token, a login answer and a plain USER see nothing about
other users, on every path the schema offers (walked from the type graph); readers do."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette

from gql_portal.accounts.models import Domain, Role, User
from gql_portal.api.schema import default_schema
from gql_portal.audit.models import AuditEvent
from gql_portal.settings import get_settings
from tests.bulk.api import START
from tests.bulk.test_subscription import websocket
from tests.factories import PASSWORD, code_for, make_domain, make_user
from tests.graphql import GraphQLClient, Result
from tests.two_factor.helpers import (
    ENABLE_USER,
    UPDATE_RULES,
    admin_token,
    align_to_step_start,
    begin,
    enrolled_user,
    login,
    next_step,
    pending_totp_token,
    secret_from_uri,
)
from tests.two_factor.scope_walk import SchemaPath, paths_from, reached

ALL_ROLES = [Role.SECURITY_ADMIN, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.USER]
REFUSALS = {"FORBIDDEN", "TWO_FACTOR_REQUIRED"}
GRAPHQL = default_schema()._schema
MAX_DEPTH = get_settings().max_query_depth
PAYLOAD = "status token"
LOGIN_ANSWERS = ("login", "confirmTotpEnrollment", "verifyTotp", "verifyRecoveryCode")


def _query_roots() -> dict[str, list[SchemaPath]]:
    assert GRAPHQL.query_type is not None
    found = {
        name: paths_from(GRAPHQL, "Query", name, MAX_DEPTH) for name in GRAPHQL.query_type.fields
    }
    return {name: paths for name, paths in found.items() if paths}


QUERY_PATHS = _query_roots()
LOGIN_PATHS = {name: paths_from(GRAPHQL, "Mutation", name, MAX_DEPTH) for name in LOGIN_ANSWERS}


@dataclass
class Scene:
    """A domain whose rules, bulk job and audit events all name the security admin."""

    domain: Domain
    admin: User
    admin_token: str
    job_id: str
    viewers: dict[str, str] = field(default_factory=dict)

    def root_arguments(self, name: str) -> str:
        return {
            "user": f'id: "{self.admin.id}"',
            "bulkJob": f'id: "{self.job_id}"',
            "auditSummary": "bucket: DAY",
            "users": "first: 20",
            "auditEvents": "first: 20",
            "bulkJobs": "first: 20",
        }.get(name, "")


async def _scene(client: GraphQLClient, app: Starlette) -> Scene:
    domain = await make_domain(two_factor=True)
    admin, token = await admin_token(client, domain)
    updated = await client.execute(UPDATE_RULES, {"input": {"minPasswordLength": 14}}, token=token)
    updated.ok()
    target = await make_user(domain)
    (await client.execute(ENABLE_USER, {"id": str(target.id)}, token=token)).ok()
    variables = {"filter": {"userIds": [str(target.id)]}, "dryRun": True}
    job = (await client.execute(START, variables, token=token)).ok()
    await app.state.bulk_dispatcher.drain()
    scene = Scene(domain, admin, token, job["startBulkTwoFactorEnablement"]["id"])

    _, scene.viewers["auditor"] = await admin_token(client, domain, [Role.AUDITOR])
    _, scene.viewers["system admin"] = await admin_token(client, domain, [Role.SYSTEM_ADMIN])
    plain = await make_user(domain)
    scene.viewers["plain user"] = (await login(client, plain.email))["token"]
    # Pending in each way there is, and holding every role: the role must not matter.
    fresh = await make_user(domain, roles=ALL_ROLES, two_factor_enabled=True)
    scene.viewers["pending enrollment"] = (await login(client, fresh.email))["token"]
    enrolled, _ = await enrolled_user(client, domain, roles=ALL_ROLES)
    scene.viewers["pending code"] = await pending_totp_token(client, enrolled.email)
    gated = await make_user(domain, roles=ALL_ROLES)
    scene.viewers["gated"] = (await login(client, gated.email))["token"]
    (await client.execute(ENABLE_USER, {"id": str(gated.id)}, token=token)).ok()
    return scene


def hidden(result: Result, path: SchemaPath, *, payload: tuple[str, ...] = ()) -> str | None:
    """Why the answer shows too much, or None: the first field leading to other users is
    null (and everything above it answered) or the document was refused."""
    codes = set(result.codes)
    if not codes <= REFUSALS:
        return f"unexpected codes {codes}"
    data = result.body.get("data")
    if reached(data, path.fields[: path.first_hop + 1]):
        return "shown"
    if not codes:
        if not reached(data, path.fields[: path.first_hop]):
            return "null above the field that leads to other users"
        for name in payload:
            if not reached(data, (path.fields[0], name)):
                return f"no {name} in the answer"
    return None


def shown(result: Result, path: SchemaPath) -> str | None:
    if result.errors:
        return f"errors {result.errors}"
    return None if reached(result.body.get("data"), path.fields) else "nothing reached"


def test_the_walk_covers_the_known_paths() -> None:
    me = {p.fields for p in QUERY_PATHS["me"]}
    assert ("me", "domain", "passwordSecurityRules", "updatedBy") in me
    assert ("me", "domain", "twoFactorStats") in me
    # updatedBy three times over fits the depth limit: the walk goes that deep.
    assert max(len(p.fields) for p in QUERY_PATHS["me"]) >= MAX_DEPTH - 1
    every = {p.fields for paths in QUERY_PATHS.values() for p in paths}
    assert {
        ("auditEvents", "edges", "node", "actor"),
        ("auditEvents", "edges", "node", "target"),
        ("bulkJob", "requestedBy"),
        ("bulkJobs", "edges", "node", "requestedBy"),
        ("users", "edges", "node"),
        ("user",),
    } <= every
    assert GRAPHQL.mutation_type is not None
    payloads = {
        name
        for name, mutation in GRAPHQL.mutation_type.fields.items()
        if "LoginPayload" in str(mutation.type)
    }
    assert payloads == set(LOGIN_ANSWERS)
    # A login answer's user is the viewer's own: below it lie the paths of `me` (one level
    # fewer fit the depth limit), which readers are shown.
    for paths in LOGIN_PATHS.values():
        assert len(paths) >= 5
        assert {p.fields[2:] for p in paths} <= {p.fields[1:] for p in QUERY_PATHS["me"]}


async def _walk_queries(
    client: GraphQLClient, scene: Scene, token: str, check: Callable[[Result, SchemaPath], Any]
) -> dict[str, Any]:
    failures = {}
    for name, paths in QUERY_PATHS.items():
        for path in paths:
            document = path.document("query", scene.root_arguments(name))
            problem = check(await client.execute(document, token=token), path)
            if problem:
                failures[".".join(path.fields)] = problem
    return failures


@pytest.mark.parametrize("viewer", ["auditor", "system admin"])
async def test_readers_see_every_path_to_other_users(
    client: GraphQLClient, app: Starlette, viewer: str
) -> None:
    scene = await _scene(client, app)
    assert await _walk_queries(client, scene, scene.viewers[viewer], shown) == {}


@pytest.mark.parametrize("viewer", ["plain user", "pending enrollment", "pending code", "gated"])
async def test_no_path_leads_a_plain_user_or_pending_token_to_other_users(
    client: GraphQLClient, app: Starlette, viewer: str
) -> None:
    scene = await _scene(client, app)
    token = scene.viewers[viewer]
    assert await _walk_queries(client, scene, token, hidden) == {}
    me = (await client.execute("{ me { id email } }", token=token)).ok()["me"]
    assert me is not None and me["email"] != scene.admin.email


@dataclass
class LoginScene:
    scene: Scene
    admin_email: str
    """A user holding every role, 2FA not enabled: its login answer is AUTHENTICATED."""
    enrolled_email: str
    secret: str
    recovery_codes: list[str]


LoginAnswer = Callable[[GraphQLClient, LoginScene, SchemaPath], Awaitable[Result]]


def _login_answer(email_of: Callable[[LoginScene], str], header: str | None = None) -> LoginAnswer:
    async def answer(client: GraphQLClient, login_scene: LoginScene, path: SchemaPath) -> Result:
        arguments = f'email: "{email_of(login_scene)}", password: "{PASSWORD}"'
        token = login_scene.scene.viewers[header] if header else None
        return await client.execute(path.document("mutation", arguments, PAYLOAD), token=token)

    return answer


async def _confirm_answer(
    client: GraphQLClient, login_scene: LoginScene, path: SchemaPath
) -> Result:
    domain = login_scene.scene.domain
    user = await make_user(domain, roles=ALL_ROLES, two_factor_enabled=True)
    token = (await login(client, user.email))["token"]
    secret = secret_from_uri((await begin(client, token))["otpauthUri"])
    document = path.document("mutation", f'code: "{code_for(secret)}"', PAYLOAD)
    return await client.execute(document, token=token)


def _code_answer(*, recovery: bool) -> LoginAnswer:
    async def answer(client: GraphQLClient, login_scene: LoginScene, path: SchemaPath) -> Result:
        next_step()  # a code is accepted once per step
        token = await pending_totp_token(client, login_scene.enrolled_email)
        if recovery:
            code = login_scene.recovery_codes.pop()
        else:
            code = code_for(login_scene.secret)
        document = path.document("mutation", f'code: "{code}"', PAYLOAD)
        return await client.execute(document, token=token)

    return answer


ANSWERS: dict[str, tuple[str, LoginAnswer]] = {
    # An admin whose login is AUTHENTICATED: still only its own fields in the answer.
    "login authenticated": ("login", _login_answer(lambda s: s.admin_email)),
    "login with a reader's token sent": (
        "login",
        _login_answer(lambda s: s.admin_email, header="auditor"),
    ),
    "login pending": ("login", _login_answer(lambda s: s.enrolled_email)),
    "confirmTotpEnrollment": ("confirmTotpEnrollment", _confirm_answer),
    "verifyTotp": ("verifyTotp", _code_answer(recovery=False)),
    "verifyRecoveryCode": ("verifyRecoveryCode", _code_answer(recovery=True)),
}


@pytest.mark.parametrize("kind", list(ANSWERS))
async def test_a_login_answer_shows_no_other_user(
    client: GraphQLClient, app: Starlette, kind: str
) -> None:
    scene = await _scene(client, app)
    admin = await make_user(scene.domain, roles=ALL_ROLES)
    enrolled, enrollment = await enrolled_user(client, scene.domain, roles=ALL_ROLES)
    login_scene = LoginScene(
        scene, admin.email, enrolled.email, enrollment.secret, list(enrollment.recovery_codes)
    )
    align_to_step_start()
    field_name, answer = ANSWERS[kind]
    failures = {}
    for path in LOGIN_PATHS[field_name]:
        problem = hidden(await answer(client, login_scene, path), path, payload=("token",))
        if problem:
            failures[".".join(path.fields)] = problem
    assert failures == {}


async def test_aliases_and_fragments_do_not_open_a_login_answer(
    client: GraphQLClient, app: Starlette
) -> None:
    scene = await _scene(client, app)
    email = (await make_user(scene.domain, roles=ALL_ROLES)).email
    document = f"""
    mutation {{ a: login(email: "{email}", password: "{PASSWORD}") {{
        ... on LoginPayload {{ t: token u: user {{ ...Up }} }} }} }}
    fragment Up on User {{
        d: domain {{ r: passwordSecurityRules {{ who: updatedBy {{ email }} }} }} }}
    """
    answer = (await client.execute(document)).ok()["a"]
    assert answer["t"] and answer["u"]["d"]["r"] == {"who": None}


async def test_the_login_answers_rule_stays_inside_it(
    client: GraphQLClient, app: Starlette
) -> None:
    """A later root field of the same document is the request's token's again."""
    scene = await _scene(client, app)
    email = (await make_user(scene.domain)).email
    document = f"""
    mutation {{
      login(email: "{email}", password: "{PASSWORD}") {{
        token user {{ domain {{ passwordSecurityRules {{ updatedBy {{ email }} }} }} }} }}
      updatePasswordSecurityRules(input: {{ minPasswordLength: 15 }}) {{ updatedBy {{ email }} }}
    }}
    """
    data = (await client.execute(document, token=scene.admin_token)).ok()
    assert data["login"]["user"]["domain"]["passwordSecurityRules"]["updatedBy"] is None
    assert data["updatePasswordSecurityRules"]["updatedBy"] == {"email": scene.admin.email}


async def test_stats_refused_in_a_login_answer_leave_an_access_denied_event(
    client: GraphQLClient, app: Starlette
) -> None:
    scene = await _scene(client, app)
    domain = scene.domain
    email = (await make_user(domain, roles=ALL_ROLES)).email
    document = f"""mutation {{ login(email: "{email}", password: "{PASSWORD}") {{
        token user {{ domain {{ twoFactorStats {{ users }} }} }} }} }}"""
    result = await client.execute(document, token=scene.viewers["auditor"])
    assert result.code == "FORBIDDEN", result.body
    event = await AuditEvent.filter(action="ACCESS_DENIED").order_by("-id").first()
    assert event is not None and event.domain_id == domain.id
    # The auditor's token came with the request, but the answer was not theirs.
    assert event.actor_id is None and event.details == {"operation": "twoFactorStats"}


SUBSCRIPTION_PATHS = paths_from(GRAPHQL, "Subscription", "bulkJob", MAX_DEPTH)


async def _subscription_answer(app: Starlette, token: str, document: str) -> Result:
    async with websocket(app) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document}})
        message = await asyncio.wait_for(ws.receive_json(), timeout=10)
    if message["type"] == "error":
        return Result(200, {"data": None, "errors": message["payload"]})
    return Result(200, message["payload"])


@pytest.mark.parametrize(
    ("viewer", "check"),
    [("auditor", shown), ("plain user", hidden), ("pending code", hidden)],
    ids=["auditor", "plain user", "pending code"],
)
async def test_the_bulk_job_subscription_follows_the_same_rule(
    client: GraphQLClient, app: Starlette, viewer: str, check: Callable[..., str | None]
) -> None:
    scene = await _scene(client, app)
    assert any(p.fields == ("bulkJob", "requestedBy") for p in SUBSCRIPTION_PATHS)
    failures = {}
    for path in SUBSCRIPTION_PATHS:
        document = path.document("subscription", scene.root_arguments("bulkJob"))
        problem = check(await _subscription_answer(app, scene.viewers[viewer], document), path)
        if problem:
            failures[".".join(path.fields)] = problem
    assert failures == {}
