"""gql_portal: domain-wide two-factor authentication over GraphQL."""

__version__ = "0.1.0"
