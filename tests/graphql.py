"""A small GraphQL-over-HTTP client for tests: real requests through the ASGI app."""

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Result:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers = field(default_factory=httpx.Headers)

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        assert data is not None, f"no data in {self.body}"
        return data

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code") for error in self.errors]

    @property
    def code(self) -> str:
        codes = self.codes
        assert len(codes) == 1, f"expected one error, got {self.body}"
        return codes[0]

    def ok(self) -> dict[str, Any]:
        assert not self.errors, f"unexpected errors: {self.errors}"
        return self.data


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        request_headers = dict(headers or {})
        if token is not None:
            request_headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=request_headers,
        )
        return Result(response.status_code, response.json(), response.headers)

    async def login(self, email: str, password: str) -> dict[str, Any]:
        result = await self.execute(LOGIN, {"email": email, "password": password})
        return result.ok()["login"]


LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    status token expiresAt enrollmentDeadline recoveryCodes
    user { id email twoFactor { state enrolled } }
  }
}
"""
