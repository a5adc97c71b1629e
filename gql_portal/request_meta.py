"""Where a request came from: a core value every layer passes down, so no feature needs
another (or the api) to say who acted from where."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where an action came from; CLI and worker actions have no ip."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


SYSTEM = RequestMeta(request_id=None)
