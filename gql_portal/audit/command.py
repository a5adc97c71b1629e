"""``gql-portal audit verify`` and ``audit seal``: the chain checks operators run."""

from datetime import timedelta

from gql_portal.accounts.services import get_domain_by_name
from gql_portal.audit.chain import ChainReport, seal_chain, verify_chain
from gql_portal.errors import NotFoundError


async def _chain_of(domain_name: str) -> int:
    domain = await get_domain_by_name(domain_name)
    if domain is None:
        raise NotFoundError(f"domain {domain_name} does not exist")
    return domain.id


async def verify_domain(domain_name: str) -> ChainReport:
    return await verify_chain(await _chain_of(domain_name))


async def seal_domain(domain_name: str) -> int:
    # An operator asks for it now: no settle delay, everything written so far is sealed.
    return await seal_chain(await _chain_of(domain_name), settle=timedelta(0))
