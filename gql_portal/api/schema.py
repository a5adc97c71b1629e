from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from gql_portal.accounts.mutations import (
    AccountMutations,
    OwnAccountMutations,
    UserAdminMutations,
)
from gql_portal.accounts.queries import AccountQueries
from gql_portal.api.cost import QueryCostLimit
from gql_portal.api.documents import DocumentCache, PreparedDocuments
from gql_portal.api.errors import ErrorCodes, ProductionErrorCodes, ensure_codes
from gql_portal.api.executor import PortalExecutor, ShortPathExecutor
from gql_portal.api.fast_path import fast_path_allowed
from gql_portal.api.validation import validation_rules
from gql_portal.audit.queries import AuditQueries
from gql_portal.bulk.mutations import BulkMutations
from gql_portal.bulk.queries import BulkQueries
from gql_portal.bulk.subscriptions import BulkSubscriptions
from gql_portal.http.graphql_metrics import OperationMetrics
from gql_portal.notifications.queries import NotificationQueries
from gql_portal.rules.mutations import RulesMutations
from gql_portal.scim.mutations import ScimMutations
from gql_portal.scim.queries import ScimQueries
from gql_portal.settings import Settings, get_settings
from gql_portal.two_factor.mutations import TwoFactorMutations

Query = merge_types(
    "Query", (AccountQueries, AuditQueries, BulkQueries, NotificationQueries, ScimQueries)
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        UserAdminMutations,
        OwnAccountMutations,
        TwoFactorMutations,
        RulesMutations,
        BulkMutations,
        ScimMutations,
    ),
)
Subscription = merge_types("Subscription", (BulkSubscriptions,))


class PortalSchema(strawberry.Schema):
    # Every document is parsed and validated there (api/documents.py), set by build_schema.
    documents: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # ErrorCodes logs what is unexpected, with the request id; expected errors
        # (wrong code, forbidden) are answers, not server faults.
        return None

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = ensure_codes(result.errors)
        return result


def build_schema(settings: Settings | None = None, **options: Any) -> PortalSchema:
    settings = settings or get_settings()
    # Extensions are classes or factories, never shared instances.
    portal = PortalSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Exit hooks run in reverse: metrics read the errors ErrorCodes has shaped.
            OperationMetrics,
            ProductionErrorCodes if settings.is_production else ErrorCodes,
            lambda: PreparedDocuments(portal.documents),
            # After parsing and validation, before any resolver: nothing runs when refused.
            lambda: QueryCostLimit(max_cost=settings.max_query_cost),
        ],
        execution_context_class=ShortPathExecutor
        if fast_path_allowed(settings)
        else PortalExecutor,
        **options,
    )
    portal.documents = DocumentCache(
        portal._schema,
        validation_rules(settings),
        max_tokens=settings.max_tokens,
        hide_suggestions=settings.is_production,
    )
    return portal


@lru_cache(maxsize=1)
def default_schema() -> PortalSchema:
    """The schema as configured, built at first use: importing this module reads no settings."""
    return build_schema()


def schema_sdl() -> str:
    return default_schema().as_str() + "\n"
