"""Behind the LAN gateway every request comes from the gateway's address: the failed-login
throttle must count the client the gateway names (X-Forwarded-For), and only when the
request really comes from the gateway."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from jinja2 import DictLoader

from appliance.web.base import configure
from appliance.web.login import LoginRefused, register_login
from appliance.web.peers import EXTENSION, TrustedProxy
from appliance.web.throttle import PEER_FREE_FAILURES

GATEWAY = "172.18.0.5"


def _authenticate(login: str, password: str) -> str:
    if password != "right":
        raise LoginRefused("Identifiant ou mot de passe incorrect.")
    return login


def app_behind(proxy: TrustedProxy | None) -> Flask:
    app = Flask(__name__)
    configure(app, secret=b"k" * 32, cookie_name="s", secure_cookies=False)
    app.jinja_env.loader = DictLoader({"login.html": "{{ message or '' }}"})
    register_login(app, authenticate=_authenticate, landing=lambda: "/")
    if proxy is not None:
        app.extensions[EXTENSION] = proxy
    return app


def attempt(client: FlaskClient, login: str, password: str, peer: str, forwarded: str | None = None) -> int:
    with client.session_transaction() as session:
        session["csrf"] = "token"
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    response = client.post(
        "/login",
        data={"csrf": "token", "login": login, "password": password},
        headers=headers,
        environ_base={"REMOTE_ADDR": peer},
    )
    return response.status_code


def test_mistyped_passwords_of_some_lan_users_do_not_lock_the_others_out() -> None:
    web = app_behind(TrustedProxy("gateway", resolver=lambda host: frozenset({GATEWAY}))).test_client()
    for n in range(PEER_FREE_FAILURES):
        assert attempt(web, f"user{n}", "wrong", GATEWAY, "192.168.1.20") == 401
    assert attempt(web, "someone", "wrong", GATEWAY, "192.168.1.20") == 429, "that client waits"
    assert attempt(web, "colleague", "right", GATEWAY, "192.168.1.21") == 302, "another client of the LAN does not"


def test_a_client_reaching_neocuma_web_directly_cannot_pick_its_address() -> None:
    web = app_behind(TrustedProxy("gateway", resolver=lambda host: frozenset({GATEWAY}))).test_client()
    for n in range(PEER_FREE_FAILURES + 2):
        attempt(web, f"user{n}", "wrong", "192.168.1.30", f"10.0.0.{n}")
    assert attempt(web, "other", "right", "192.168.1.30", "10.0.0.99") == 429, "its own address is counted"


def test_a_malformed_forwarded_address_counts_as_the_gateway_itself() -> None:
    web = app_behind(TrustedProxy("gateway", resolver=lambda host: frozenset({GATEWAY}))).test_client()
    for n in range(PEER_FREE_FAILURES + 2):
        attempt(web, f"user{n}", "wrong", GATEWAY, "not-an-address")
    assert attempt(web, "other", "right", GATEWAY, "also-bad") == 429
    assert attempt(web, "other", "right", GATEWAY, "192.168.1.40") == 302


def test_the_gateway_is_resolved_again_after_its_time() -> None:
    now = [0.0]
    answers = [frozenset({"172.18.0.5"}), frozenset({"172.18.0.9"})]
    proxy = TrustedProxy("gateway", resolver=lambda host: answers.pop(0), seconds=30, clock=lambda: now[0])
    assert proxy.addresses() == {"172.18.0.5"}
    now[0] = 29.9
    assert proxy.addresses() == {"172.18.0.5"} and len(answers) == 1
    now[0] = 30.0
    assert proxy.addresses() == {"172.18.0.9"}
