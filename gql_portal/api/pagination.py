"""The Relay page arguments, as the api layer names them; the paging core is gql_portal.paging
(features page there without importing the api layer)."""

from gql_portal.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    cursor_time,
    decode_cursor,
    encode_cursor,
    malformed_cursor,
    page_size,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "cursor_time",
    "decode_cursor",
    "encode_cursor",
    "malformed_cursor",
    "page_size",
]
