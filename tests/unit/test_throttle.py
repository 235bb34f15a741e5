"""The failed-login throttle: waits that double after a few failures, keys as the database
compares logins, a bounded memory."""

from appliance.web.throttle import FREE_FAILURES, MAX_WAIT, PEER_FREE_FAILURES, FailedLogins, login_key


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_few_failures_are_free_then_the_wait_doubles_up_to_a_ceiling() -> None:
    clock = _Clock()
    failures = FailedLogins(clock=clock)
    for _ in range(FREE_FAILURES - 1):
        assert failures.record("login:a", "peer:1") == 0.0
    assert failures.retry_after("login:a") == 0.0
    assert failures.record("login:a", "peer:1") == 1.0
    assert failures.retry_after("login:a") == 1.0 and failures.retry_after("login:a", "peer:1") == 1.0
    assert failures.retry_after("login:b", "peer:1") == 0.0, "an address shared behind a NAT gets more tries"
    for n in range(PEER_FREE_FAILURES - FREE_FAILURES):
        failures.record(f"login:other{n}", "peer:1")
    assert failures.retry_after("login:b", "peer:1") == 1.0, "then the address waits too"
    clock.now += 1.0
    assert failures.retry_after("login:a") == 0.0
    waits = [failures.record("login:a") for _ in range(12)]
    assert waits[:3] == [2.0, 4.0, 8.0] and waits[-1] == MAX_WAIT
    clock.now += 601
    assert failures.retry_after("login:a") == 0.0, "failures older than the window are forgotten"


def test_logins_are_keyed_as_the_database_compares_them() -> None:
    assert login_key("Resp.FD12") == login_key(" resp.fd12 ") == login_key("résp.fd12") == "login:resp.fd12"
    assert login_key("resp.fd24") != login_key("resp.fd12")


def test_memory_is_bounded() -> None:
    failures = FailedLogins(max_keys=100)
    for n in range(5000):
        failures.record(f"login:{n}", f"peer:{n}")
    assert len(failures) == 100
    assert failures.retry_after("login:0") == 0.0 and len(failures) == 100


def test_the_ssh_delay_doubles_from_the_first_failure_up_to_8_s() -> None:
    from appliance.web.throttle import ssh_delay

    assert [ssh_delay(n) for n in (1, 2, 3, 4, 5, 6, 50)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
