from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gql_portal.accounts.mutations import AccountMutations
from gql_portal.accounts.queries import AccountQueries
from gql_portal.api.errors import ErrorCodes
from gql_portal.rules.mutations import RulesMutations
from gql_portal.two_factor.mutations import TwoFactorMutations

Query = merge_types("Query", (AccountQueries,))
Mutation = merge_types("Mutation", (AccountMutations, TwoFactorMutations, RulesMutations))


class PortalSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCodes logs what is unexpected, with the request id; expected errors
        # (wrong code, forbidden) are answers, not server faults.
        return None


def build_schema(**options: Any) -> strawberry.Schema:
    return PortalSchema(
        query=Query,
        mutation=Mutation,
        extensions=[
            ErrorCodes,
            lambda: ParserCache(maxsize=1000),
            lambda: ValidationCache(maxsize=1000),
        ],
        **options,
    )


schema = build_schema()


def schema_sdl() -> str:
    return schema.as_str() + "\n"
