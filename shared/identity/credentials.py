"""Where a caller's credential comes from: pluggable sources, tried in order by one authenticator.

A source looks at the request for its kind of credential: it answers None when the request carries
none of that kind (the next source is asked), raises NotAuthenticated when it carries one that does not
verify (no other source is asked: a bad credential is never "no credential"), and a Principal when it
verifies. Today the one source is the Entra bearer token; the console adds its session cookie (with its
CSRF check) and the expert directory a contact center's signature by appending sources in the
composition root, without touching a route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from shared.identity.exceptions import InvalidToken, MissingCredentials
from shared.identity.policies import Policy
from shared.identity.principal import AuthMethod, Principal
from shared.identity.verifier import AccessTokenVerifier

BEARER_PREFIX = "bearer "


@dataclass(frozen=True)
class CredentialRequest:
    """What a credential source may look at, independent of the HTTP framework."""

    method: str
    url: str
    # Header names in lower case.
    headers: Mapping[str, str]
    route_params: Mapping[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class CredentialSource(Protocol):
    @property
    def method(self) -> AuthMethod: ...

    def authenticate(self, request: CredentialRequest) -> Principal | None:
        """None without a credential of this kind; raise NotAuthenticated for one that does not verify."""
        ...


class BearerTokenSource:
    """`Authorization: Bearer <access token>`, verified by the AccessTokenVerifier."""

    def __init__(self, verifier: AccessTokenVerifier) -> None:
        self._verifier = verifier

    @property
    def method(self) -> AuthMethod:
        return AuthMethod.BEARER

    def authenticate(self, request: CredentialRequest) -> Principal | None:
        authorization = request.header("authorization")
        if authorization is None or not authorization.strip():
            return None
        value = authorization.strip()
        if not value.lower().startswith(BEARER_PREFIX):
            raise InvalidToken("the Authorization header must be 'Bearer <access token>'")
        return self._verifier.verify(value[len(BEARER_PREFIX) :].strip())


class Authenticator:
    def __init__(self, sources: Sequence[CredentialSource]) -> None:
        self._sources = tuple(sources)

    @property
    def sources(self) -> tuple[CredentialSource, ...]:
        return self._sources

    def with_source(self, source: CredentialSource) -> Authenticator:
        """This authenticator with one more source, tried last."""
        return Authenticator((*self._sources, source))

    def authenticate(self, request: CredentialRequest, policy: Policy) -> Principal:
        """The principal of the first source (among those the policy accepts) that finds a credential."""
        for source in self._sources:
            if source.method not in policy.methods:
                continue
            principal = source.authenticate(request)
            if principal is not None:
                return principal
        if AuthMethod.BEARER in policy.methods:
            raise MissingCredentials("no bearer token was sent (Authorization: Bearer <access token>)")
        raise MissingCredentials("no credentials were sent")
