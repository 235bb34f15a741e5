"""The retry policy (issue 29, ``domain.retry``): which refusals a new request cures, the
doubling waits, the attempts of a run and the slot's end; and the protocol's flag."""

from __future__ import annotations

import datetime as dt

from appliance.domain.protocol import RETRYABLE_EXIT_STATUS, ProtocolError
from appliance.domain.retry import RetryPolicy, is_retryable, next_retry, retry_delay

POLICY = RetryPolicy(attempts=5, first_delay=5.0, longest_delay=60.0)
NOW = dt.datetime(2026, 12, 6, 2, 5, tzinfo=dt.UTC)
RACE = "dossier(s) modifié(s) pendant le début de l'export, redemandez les changements : 980011"


def test_the_flag_or_the_known_refusal_of_an_older_server_is_retryable() -> None:
    assert is_retryable("unavailable", RETRYABLE_EXIT_STATUS, "file d'attente pleine")
    assert is_retryable("unavailable", 6, RACE), "a server from before the flag"
    assert not is_retryable("unavailable", 6, "ce serveur n'a encore aucune donnée synchronisée")
    assert not is_retryable("outside_rights", 5, RACE)
    assert not is_retryable("wrong_password", 5, "mot de passe ressaisi incorrect")


def test_the_waits_double_up_to_the_longest() -> None:
    assert [retry_delay(POLICY, n) for n in range(1, 7)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_a_run_started_by_hand_stops_after_its_attempts() -> None:
    assert [next_retry(POLICY, n, NOW, None).delay for n in range(1, 5)] == [5.0, 10.0, 20.0, 40.0]
    last = next_retry(POLICY, 5, NOW, None)
    assert last.delay is None and last.reason == "abandon après 5 essais"


def test_no_retry_starts_at_or_after_the_slots_end() -> None:
    end = NOW + dt.timedelta(seconds=10)
    assert next_retry(POLICY, 1, NOW, end).delay == 5.0
    closing = next_retry(POLICY, 2, NOW, end)
    assert closing.delay is None
    assert closing.reason == "abandon après 2 essais : le créneau se termine à 02:05 UTC"
    assert next_retry(POLICY, 1, end - dt.timedelta(seconds=5), end).delay is None
    assert next_retry(POLICY, 1, NOW, NOW - dt.timedelta(minutes=1)).reason.startswith("abandon après 1 essai :")


def test_a_retryable_refusal_keeps_its_line_and_changes_only_its_exit_status() -> None:
    plain, flagged = ProtocolError("unavailable", RACE), ProtocolError("unavailable", RACE, retryable=True)
    assert flagged.line() == plain.line() == f"error unavailable: {RACE}\n"
    assert (plain.exit_status, flagged.exit_status) == (6, RETRYABLE_EXIT_STATUS)
