"""Small rules of the console and the transfers: where a login may send the browser next, and
when a dossier counts as changed on the remote."""

from __future__ import annotations

import pytest

from appliance.domain.dossiers import changed_on_remote
from appliance.domain.states import Baseline
from appliance.web.security import csrf_valid, local_path


@pytest.mark.parametrize("target", ["/", "/statut", "/sauvegardes?tri=date", "/logs#fin"])
def test_paths_of_the_console_are_followed_after_login(target: str) -> None:
    assert local_path(target)


@pytest.mark.parametrize(
    "target",
    [
        "",
        "statut",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "https://evil.example/",
        "/\tevil",
        "javascript:alert(1)",
    ],
)
def test_anything_that_could_leave_the_console_is_not(target: str) -> None:
    assert not local_path(target)


def test_with_a_baseline_the_remote_changed_when_its_revision_moved() -> None:
    baseline = Baseline(remote_revision=4, local_revision=4)
    assert not changed_on_remote(4, 6, baseline)
    assert changed_on_remote(5, 6, baseline)


def test_without_a_baseline_only_equal_revisions_prove_the_remote_did_not_change() -> None:
    assert not changed_on_remote(7, 7, None)
    assert changed_on_remote(8, 7, None)
    assert changed_on_remote(3, 7, None)


@pytest.mark.parametrize("submitted", ["é", "jeton-é", "\ud800", "\x00", "", "token "])
def test_a_csrf_token_that_is_not_the_sessions_is_refused_never_an_error(submitted: str) -> None:
    """A token of non-ASCII text raised TypeError in compare_digest: HTTP 500 on every form
    and on the API (found by the hostile requests)."""
    assert not csrf_valid({"csrf": "token"}, submitted)
    assert csrf_valid({"csrf": "token"}, "token")
