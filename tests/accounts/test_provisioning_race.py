"""The last-admin rule under concurrency, on the backend under test (SQLite serialises
write transactions; PostgreSQL runs these on two pool connections at once)."""

import asyncio

from gql_portal.accounts import provisioning
from gql_portal.accounts.models import Role, User
from gql_portal.errors import BadUserInputError
from gql_portal.request_meta import RequestMeta
from tests.accounts.provisioning_helpers import DEACTIVATE, events, signed_in
from tests.database import TestDatabase
from tests.factories import make_domain, make_user
from tests.graphql import GraphQLClient

META = RequestMeta(ip="203.0.113.9", user_agent="race", request_id="race")


async def test_deactivating_the_last_two_admins_at_once_one_wins(
    database: TestDatabase,
) -> None:
    domain = await make_domain()
    first = await make_user(domain, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    second = await make_user(domain, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    for _ in range(5):
        outcomes = await asyncio.gather(
            *(
                provisioning.set_user_active(
                    user_id=user.id,
                    domain_id=domain.id,
                    active=False,
                    actor=None,
                    meta=META,
                    via="scim",
                )
                for user in (first, second)
            ),
            return_exceptions=True,
        )
        refused = [outcome for outcome in outcomes if isinstance(outcome, BadUserInputError)]
        assert len(refused) == 1, outcomes
        assert refused[0].extensions == {"field": "userId", "reason": "role_rule"}
        assert await User.filter(domain_id=domain.id, active=True).count() == 1
        await User.filter(domain_id=domain.id).update(active=True, deactivated_at=None)
    assert len(await events(domain, "USER_DEACTIVATED")) == 5


async def test_a_role_change_and_a_deactivation_at_once_keep_one(
    database: TestDatabase,
) -> None:
    domain = await make_domain()
    first = await make_user(domain, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    second = await make_user(domain, roles=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN])
    outcomes = await asyncio.gather(
        provisioning.update_user(
            user_id=first.id,
            domain_id=domain.id,
            roles=[Role.USER],
            actor=None,
            meta=META,
            via="scim",
        ),
        provisioning.set_user_active(
            user_id=second.id, domain_id=domain.id, active=False, actor=None, meta=META, via="scim"
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(outcome, BadUserInputError) for outcome in outcomes) == 1, outcomes
    holders = await User.filter(domain_id=domain.id, active=True, roles__contains=",SYSTEM_ADMIN,")
    assert len(holders) == 1


async def test_two_admins_deactivating_each_other_over_http(client: GraphQLClient) -> None:
    domain = await make_domain()
    first, first_token = await signed_in(client, domain, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN)
    second, second_token = await signed_in(client, domain, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN)
    results = await asyncio.gather(
        client.execute(DEACTIVATE, {"id": str(second.id)}, token=first_token),
        client.execute(DEACTIVATE, {"id": str(first.id)}, token=second_token),
    )
    succeeded = [result for result in results if not result.errors]
    assert len(succeeded) == 1, [result.body for result in results]
    # The loser was refused by the rule, or (its own account gone first) as signed out.
    assert next(result.code for result in results if result.errors) in {
        "BAD_USER_INPUT",
        "UNAUTHENTICATED",
    }
    assert await User.filter(domain_id=domain.id, active=True).count() == 1
    assert not await events(domain, "USER_UPDATED")
