from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.notifications.exceptions import (
    InvalidValidationTokenError,
    MissingValidationTokenError,
    UnknownSigningKeyError,
)
from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.security.signing_keys import StaticKeySource
from tests.unit.notifications.support import APP_ID, TENANT_A, TENANT_B, FakeClock, TokenSigner


class CountingKeySource:
    """Counts key lookups, i.e. full verifications."""

    def __init__(self, inner: StaticKeySource) -> None:
        self.inner = inner
        self.lookups = 0

    def signing_key(self, kid: str) -> rsa.RSAPublicKey:
        self.lookups += 1
        return self.inner.signing_key(kid)


@pytest.fixture
def key_source(signer: TokenSigner) -> CountingKeySource:
    return CountingKeySource(StaticKeySource(signer.jwks()))


@pytest.fixture
def verifier(key_source: CountingKeySource, clock: FakeClock) -> ValidationTokenVerifier:
    return ValidationTokenVerifier(APP_ID, key_source, clock)


def test_a_graph_token_for_the_expected_tenant_passes(
    verifier: ValidationTokenVerifier, signer: TokenSigner
) -> None:
    # GIVEN a token as Graph mints it for our app and tenant A
    token = signer.token(TENANT_A)

    # WHEN / THEN the batch verifies
    verifier.verify_all([token], {TENANT_A})


def test_a_v2_issuer_with_azp_passes(verifier: ValidationTokenVerifier, signer: TokenSigner) -> None:
    # GIVEN a v2.0-style token (login.microsoftonline.com issuer, azp instead of appid)
    token = signer.token(
        TENANT_A,
        iss=f"https://login.microsoftonline.com/{TENANT_A}/v2.0",
        appid=None,
        azp="0bf30f3b-4a52-48df-9a82-234910c4a086",
    )

    # WHEN / THEN
    assert verifier.verify(token) == TENANT_A


def test_one_token_per_tenant_covers_a_mixed_batch(
    verifier: ValidationTokenVerifier, signer: TokenSigner
) -> None:
    # GIVEN a batch with notifications for two tenants and a token for each
    tokens = [signer.token(TENANT_A), signer.token(TENANT_B)]

    # WHEN / THEN (tenant ids compare case-insensitively)
    verifier.verify_all(tokens, {TENANT_A, TENANT_B.upper()})


def test_a_tenant_without_a_token_fails_the_batch(
    verifier: ValidationTokenVerifier, signer: TokenSigner
) -> None:
    # GIVEN notifications for tenants A and B but only A's token
    # WHEN / THEN
    with pytest.raises(MissingValidationTokenError, match=TENANT_B):
        verifier.verify_all([signer.token(TENANT_A)], {TENANT_A, TENANT_B})


def test_no_tokens_at_all_fails_when_a_tenant_is_expected(verifier: ValidationTokenVerifier) -> None:
    # GIVEN a rich-notification batch stripped of its tokens
    # WHEN / THEN
    with pytest.raises(MissingValidationTokenError):
        verifier.verify_all([], {TENANT_A})


def test_one_bad_token_fails_the_batch_even_if_the_tenants_are_covered(
    verifier: ValidationTokenVerifier, signer: TokenSigner
) -> None:
    # GIVEN a good token for A and a token for B meant for another app
    tokens = [signer.token(TENANT_A), signer.token(TENANT_B, aud="some-other-app")]

    # WHEN / THEN every token must pass
    with pytest.raises(InvalidValidationTokenError, match="not issued for this app"):
        verifier.verify_all(tokens, {TENANT_A})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "another-app"}, "not issued for this app"),
        ({"appid": "11111111-2222-3333-4444-555555555555"}, "Microsoft Graph change tracking"),
        ({"appid": None}, "Microsoft Graph change tracking"),
        ({"iss": "https://evil.example.com/"}, "issuer"),
        ({"iss": f"https://sts.windows.net/{TENANT_B}/"}, "issuer"),
        ({"tid": None}, "tid"),
        ({"tid": "not-a-guid"}, "tid"),
        ({"exp": None}, "no exp claim"),
        ({"exp": "tomorrow"}, "NumericDate"),
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(
    verifier: ValidationTokenVerifier, signer: TokenSigner, overrides: dict[str, object], message: str
) -> None:
    # GIVEN a correctly signed token with one wrong claim
    token = signer.token(TENANT_A, **overrides)

    # WHEN / THEN
    with pytest.raises(InvalidValidationTokenError, match=message):
        verifier.verify(token)


def test_an_expired_token_is_refused_after_the_leeway(
    verifier: ValidationTokenVerifier, signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN a token that expires in an hour
    token = signer.token(TENANT_A)

    # WHEN the clock is just inside the leeway it passes; just past it, it fails
    clock.advance(timedelta(hours=1, minutes=1))
    verifier.verify(token)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(InvalidValidationTokenError, match="expired"):
        verifier.verify(token)


def test_a_token_not_valid_yet_is_refused(
    verifier: ValidationTokenVerifier, signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN a token whose nbf is 10 minutes ahead of us
    claims = signer.claims(TENANT_A, now=clock.now + timedelta(minutes=10))

    # WHEN / THEN
    with pytest.raises(InvalidValidationTokenError, match="not valid yet"):
        verifier.verify(signer.sign(claims))


def test_a_token_signed_by_another_key_with_our_kid_is_refused(verifier: ValidationTokenVerifier) -> None:
    # GIVEN an attacker's key presenting our kid
    attacker = TokenSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid="test-key-1")

    # WHEN / THEN
    with pytest.raises(InvalidValidationTokenError, match="signature"):
        verifier.verify(attacker.token(TENANT_A))


def test_a_token_with_an_unknown_kid_is_refused(
    verifier: ValidationTokenVerifier, signer: TokenSigner
) -> None:
    # GIVEN a token naming a kid the issuer does not publish
    token = signer.sign(signer.claims(TENANT_A), headers={"kid": "unknown"})

    # WHEN / THEN
    with pytest.raises(UnknownSigningKeyError):
        verifier.verify(token)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "x" * 20_000,
    ],
)
def test_garbage_is_refused(verifier: ValidationTokenVerifier, token: str) -> None:
    # GIVEN something that is not a JWT
    # WHEN / THEN
    with pytest.raises(InvalidValidationTokenError):
        verifier.verify(token)


def test_an_unsigned_or_hmac_token_is_refused(verifier: ValidationTokenVerifier, signer: TokenSigner) -> None:
    # GIVEN tokens using alg none and HS256 (with the public key as secret: the classic confusion attack)
    claims = signer.claims(TENANT_A)
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": signer.kid})
    hmac_token = jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": signer.kid})

    # WHEN / THEN both are refused before any key is used
    for token in (unsigned, hmac_token):
        with pytest.raises(InvalidValidationTokenError, match="RS256"):
            verifier.verify(token)


def test_a_batch_reusing_one_token_costs_one_verification(
    verifier: ValidationTokenVerifier, signer: TokenSigner, key_source: CountingKeySource
) -> None:
    # GIVEN a token Graph repeats across batches
    token = signer.token(TENANT_A)

    # WHEN 100 batches arrive with it
    for _ in range(100):
        verifier.verify_all([token], {TENANT_A})

    # THEN its signature was checked once
    assert key_source.lookups == 1


def test_a_cached_token_still_expires(
    verifier: ValidationTokenVerifier, signer: TokenSigner, clock: FakeClock
) -> None:
    # GIVEN a token verified (and cached) now
    token = signer.token(TENANT_A)
    verifier.verify(token)

    # WHEN its lifetime and the leeway pass
    clock.advance(timedelta(hours=2))

    # THEN the cache does not keep it alive
    with pytest.raises(InvalidValidationTokenError, match="expired"):
        verifier.verify(token)


def test_failed_tokens_are_not_cached(
    verifier: ValidationTokenVerifier, signer: TokenSigner, key_source: CountingKeySource
) -> None:
    # GIVEN a token for another audience
    token = signer.token(TENANT_A, aud="another-app")

    # WHEN it is presented twice
    for _ in range(2):
        with pytest.raises(InvalidValidationTokenError):
            verifier.verify(token)

    # THEN it was fully checked (and refused) both times
    assert key_source.lookups == 2


def test_the_cache_is_bounded(signer: TokenSigner, key_source: CountingKeySource, clock: FakeClock) -> None:
    # GIVEN a verifier remembering at most 2 tokens
    verifier = ValidationTokenVerifier(APP_ID, key_source, clock, cache_size=2)
    tokens = [signer.token(TENANT_A) for _ in range(3)]

    # WHEN three distinct tokens are verified, then the first again
    for token in tokens:
        verifier.verify(token)
    verifier.verify(tokens[0])

    # THEN the first had been evicted and was verified again
    assert key_source.lookups == 4
