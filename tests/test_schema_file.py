from pathlib import Path

from gql_portal.api.schema import schema_sdl

ROOT = Path(__file__).resolve().parents[1]


def test_committed_schema_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema_sdl(), "run `make schema` and commit schema.graphql"


def test_schema_names_the_contract() -> None:
    sdl = schema_sdl()
    for name in [
        "me: User",
        "login(email: String!, password: String!): LoginPayload!",
        "logout: Boolean!",
        "beginTotpEnrollment: TotpEnrollment!",
        "confirmTotpEnrollment(code: String!): LoginPayload!",
        "verifyTotp(code: String!): LoginPayload!",
        "verifyRecoveryCode(code: String!): LoginPayload!",
        "regenerateRecoveryCodes(code: String!): [String!]!",
        "setDomainTwoFactor(enabled: Boolean!): PasswordSecurityRules!",
        "enableUserTwoFactor(userId: ID!): User!",
        "disableUserTwoFactor(userId: ID!): User!",
        "resetUserTwoFactor(userId: ID!): User!",
    ]:
        assert name in sdl, name
