"""The notification-intake benchmark: a short real run against the session Azurite (figures printed,
never judged by their values), the batches it posts, and when it reports failure."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks.bench_notification_intake import (
    Acknowledgement,
    BenchOptions,
    RunResult,
    Tenant,
    build_batches,
    main,
    parse_options,
    print_report,
    signing_jwk,
    validation_token,
)
from devstack.azurite import Azurite
from shared.notifications.decryption import decrypt_encrypted_content
from shared.notifications.encryption_keys import EncryptionKeyRing
from shared.notifications.model import parse_notification_collection, parse_presence_payload
from shared.notifications.validation_tokens import ValidationTokenVerifier
from shared.security.signing_keys import StaticKeySource
from tests.support.notification_encryption import generate_encryption_certificate

APP_ID = "00000000-0000-0000-0000-00000000c0de"
NUMBER = r"\d[\d,]*(?:\.\d+)?"


@pytest.mark.integration
@pytest.mark.parametrize("concurrency", [1, 2])
def test_a_short_run_prints_every_figure_and_exits_zero(
    azurite: Azurite, capsys: pytest.CaptureFixture[str], concurrency: int
) -> None:
    # GIVEN the session Azurite and a run of 3 batches of 5 notifications after 1 warm-up batch
    argv = ["--batches", "3", "--batch-size", "5", "--warmup", "1", "--concurrency", str(concurrency)]
    argv += ["--tables-connection-string", azurite.connection_string]

    # WHEN the benchmark runs against the local host
    code = main(argv)

    # THEN it succeeds and prints latency percentiles, throughput, the 202 counts, table requests, machine
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"3 batches x 5 notifications = 15, concurrency {concurrency}, 1 warm-up batches" in out
    assert re.search(rf"p50 {NUMBER}  p90 {NUMBER}  p99 {NUMBER}  max {NUMBER}", out), out
    assert re.search(rf"throughput: {NUMBER} notifications/s", out), out
    assert "15 accepted, 0 dropped (202 bodies); 15 Service Bus messages built" in out
    # The subscription directory caches what warm-up read: no table round trip per notification.
    assert re.search(r"table requests while measuring: 0 \(setup and warm-up: [1-9]\d*\)", out), out
    assert re.search(r"machine: \d+ CPUs, Python 3\.11\.\d+", out), out


def test_batches_carry_distinct_agents_whose_sequence_numbers_grow() -> None:
    # GIVEN a tenant with 6 agents and the app's certificate
    certificate = generate_encryption_certificate("bench-test")
    tenant_id = str(uuid.uuid4())
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tenant = Tenant(
        tenant_id=tenant_id,
        subscription_id=str(uuid.uuid4()),
        client_state="client-state",
        validation_token=validation_token(signing_key, APP_ID, tenant_id, datetime.now(UTC)),
        agents=tuple(str(uuid.uuid4()) for _ in range(6)),
    )

    # WHEN 3 batches of 4 notifications are built
    bodies = build_batches(tenant, certificate, 3, 4)

    # THEN every batch is distinct, Graph-shaped, decryptable, with distinct agents, and each agent's
    # sequence numbers grow from batch to batch
    assert len(set(bodies)) == 3
    ring = EncryptionKeyRing(certificate)
    last_sequence: dict[str, str] = {}
    for body in bodies:
        collection = parse_notification_collection(body)
        assert collection.rejected == ()
        assert collection.validation_tokens == (tenant.validation_token,)
        users = []
        for notification in collection.notifications:
            assert notification.subscription_id == tenant.subscription_id
            assert notification.tenant_id == tenant_id
            assert notification.encrypted_content is not None
            presence = parse_presence_payload(decrypt_encrypted_content(notification.encrypted_content, ring))
            assert notification.resource_data is not None
            assert presence.id == notification.resource_data.id
            assert presence.sequence_number is not None
            assert presence.sequence_number > last_sequence.get(presence.id, "")
            last_sequence[presence.id] = presence.sequence_number
            users.append(presence.id)
        assert len(users) == len(set(users)) == 4
    assert set(last_sequence) == set(tenant.agents)


def test_a_dropped_notification_makes_the_run_fail(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a run where one batch of 5 came back with 4 accepted
    options = BenchOptions(batches=2, batch_size=5, concurrency=1, warmup=0, tables_connection_string=None)
    result = RunResult(
        warmup=(),
        measured=(Acknowledgement(10.0, 202, 5, 5), Acknowledgement(12.0, 202, 5, 4)),
        wall_seconds=0.03,
        messages_built=9,
        table_requests=0,
        setup_table_requests=3,
        build_seconds=0.01,
        key_size=2048,
    )

    # WHEN the report is printed
    code = print_report(options, result)

    # THEN the counts are shown and the exit code says the run failed
    captured = capsys.readouterr()
    assert code == 1
    assert "9 accepted, 1 dropped (202 bodies); 9 Service Bus messages built" in captured.out
    assert "1 measured and 0 warm-up notifications dropped" in captured.err


def test_a_batch_answered_with_an_error_makes_the_run_fail(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a run whose only batch was answered 503
    options = BenchOptions(batches=1, batch_size=5, concurrency=1, warmup=0, tables_connection_string=None)
    result = RunResult(
        warmup=(),
        measured=(Acknowledgement(10.0, 503, 0, 0),),
        wall_seconds=0.01,
        messages_built=0,
        table_requests=0,
        setup_table_requests=3,
        build_seconds=0.01,
        key_size=2048,
    )

    # WHEN the report is printed
    code = print_report(options, result)

    # THEN the run fails, naming the status
    assert code == 1
    assert "1 batches were not acknowledged with 202: [503]" in capsys.readouterr().err


def test_a_run_whose_table_requests_were_not_seen_fails(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a run where setup (which writes the subscription record) showed no table request at all
    options = BenchOptions(batches=1, batch_size=5, concurrency=1, warmup=0, tables_connection_string=None)
    result = RunResult(
        warmup=(),
        measured=(Acknowledgement(10.0, 202, 5, 5),),
        wall_seconds=0.01,
        messages_built=5,
        table_requests=0,
        setup_table_requests=0,
        build_seconds=0.01,
        key_size=2048,
    )

    # WHEN the report is printed
    code = print_report(options, result)

    # THEN the run fails: a count of 0 while measuring would mean nothing
    assert code == 1
    assert "the request count cannot be trusted" in capsys.readouterr().err


def test_a_batch_larger_than_the_subscription_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN more notifications per batch than the 650 agents one subscription covers
    # WHEN the options are parsed
    with pytest.raises(SystemExit) as exit_info:
        parse_options(["--batch-size", "651"])

    # THEN argparse refuses them with a usage error
    assert exit_info.value.code == 2
    assert "at most 650" in capsys.readouterr().err


def test_the_app_accepts_the_validation_token_with_the_served_keys() -> None:
    # GIVEN a signing key, the JWKS document the benchmark serves for it, and a token for a tenant
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tenant_id = str(uuid.uuid4())
    token = validation_token(key, APP_ID, tenant_id, datetime.now(UTC))
    verifier = ValidationTokenVerifier(APP_ID, StaticKeySource({"keys": [signing_jwk(key)]}))

    # WHEN the app's verifier checks the token
    covered = verifier.verify(token)

    # THEN it is valid and covers that tenant
    assert covered == tenant_id
