"""NeoCuma Web's part of the hostile requests (tests/integration/test_hostile_requests.py):
the logged-in clients a campaign uses and its kinds of cases, each an invalid request and
the HTTP statuses that may answer it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_from_bytes

from flask.testing import FlaskClient

from tests.integration.conftest import Central
from tests.integration.webclient import api_token, client_for, csrf, login
from tests.support import oracle
from tests.support.hostile import ODD_TEXTS, bad_dates, bad_quantity, bad_whole, hostile_value, long_text, odd_text

FIELDS = ("tiers_id", "activite_id", "date", "quantite")


@dataclasses.dataclass
class Web:
    writer: FlaskClient
    token: str
    form_csrf: str
    code: str
    exercice: int
    bon: dict[str, Any]
    others: list[str]  # dossier codes outside the writer's rights
    reader: FlaskClient  # anim.fd12: reads only
    reader_bon: tuple[str, dict[str, Any]]
    responsable: FlaskClient
    exported_bon: tuple[str, dict[str, Any]]
    anonymous: FlaskClient
    logins: FlaskClient


def web_setup(central: Central) -> Web:
    connection = central.root_connection()
    s = central.schema
    dossier_id, code = oracle.dossiers_of(connection, s, "compta1.fd12", "d.exporte = 0 AND r.acces = 'ecriture'")[0]
    exercice = oracle.query(
        connection, f"SELECT id FROM `{s}`.exercice WHERE dossier_id = %s AND cloture = 0", (dossier_id,)
    )
    mine = {c for _, c in oracle.dossiers_of(connection, s, "compta1.fd12")}
    others = [str(r[0]) for r in oracle.query(connection, f"SELECT code FROM `{s}`.dossier") if r[0] not in mine]
    read_id, read_code = oracle.dossiers_of(connection, s, "anim.fd12", "d.exporte = 0")[0]
    exported_id, exported_code = oracle.dossiers_of(connection, s, "resp.fd12", "d.exporte = 1")[0]
    bons = {d: oracle.bon_form(connection, s, d) for d in (dossier_id, read_id, exported_id)}
    connection.close()
    clients = {name: client_for(central) for name in ("compta1.fd12", "anim.fd12", "resp.fd12")}
    for name, client in clients.items():
        assert login(client, name).status_code == 302
    writer = clients["compta1.fd12"]
    return Web(
        writer=writer,
        token=api_token(writer),
        form_csrf=csrf(writer, "/dossiers"),
        code=code,
        exercice=int(exercice[0][0]),
        bon=bons[dossier_id],
        others=others,
        reader=clients["anim.fd12"],
        reader_bon=(read_code, bons[read_id]),
        responsable=clients["resp.fd12"],
        exported_bon=(exported_code, bons[exported_id]),
        anonymous=client_for(central),
        logins=client_for(central),
    )


def _bad_field(rng: random.Random, field: str, web: Web) -> Any:
    day = dt.date.fromisoformat(web.bon["date"])
    return {
        "tiers_id": lambda: bad_whole(rng),
        "activite_id": lambda: bad_whole(rng),
        "date": lambda: rng.choice([*bad_dates(day), hostile_value(rng)]),
        "quantite": lambda: bad_quantity(rng),
    }[field]()


def _bad_bon(rng: random.Random, web: Web) -> dict[str, Any]:
    """The writer's valid bon with at least one field made invalid (changed or removed), and
    maybe extra fields."""
    body: dict[str, Any] = dict(web.bon)
    for field in rng.sample(FIELDS, rng.randint(1, 3)):
        if rng.random() < 0.15:
            body.pop(field)
        else:
            body[field] = _bad_field(rng, field, web)
    for _ in range(rng.choice([0, 0, 1, 3])):
        body[rng.choice(["extra", "", "__proto__", "tiers_id ", odd_text(rng)])] = hostile_value(rng)
    return body


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \\ud800 escapes


def _form(fields: dict[str, Any]) -> bytes:
    """A urlencoded body, whatever the texts hold (lone surrogates as their UTF-8-like bytes)."""
    return "&".join(
        quote_from_bytes(str(k).encode("utf-8", "surrogatepass"))
        + "="
        + quote_from_bytes(str(v).encode("utf-8", "surrogatepass"))
        for k, v in fields.items()
    ).encode()


Answer = tuple[str, Any, set[int]]  # what, the response, the statuses allowed


def _api_fields(rng: random.Random, web: Web) -> Answer:
    path = f"/api/v1/dossiers/{web.code}/bons"
    response = web.writer.post(
        path, data=_json(_bad_bon(rng, web)), headers={"X-CSRF-Token": web.token}, content_type="application/json"
    )
    return "api bad fields", response, {422, 413}


def _api_body(rng: random.Random, web: Web) -> Answer:
    good = _json(web.bon)
    bad = _json(_bad_bon(rng, web))
    depth = rng.choice([100, 5_000, 30_000])
    body = rng.choice(
        [
            b"",
            b"pas du json",
            good[: rng.randrange(len(good))],
            b"\xff\xfe" + good,
            b"\xef\xbb\xbf" + bad,
            good.replace(b'"', b"'"),
            good[:-1] + b', "quantite": "-1"}',  # a key twice: the last one counts
            json.dumps([web.bon]).encode(),
            b"null",
            b"42",
            b'"texte"',
            b"[" * depth + b"]" * depth,
            b'{"tiers_id": ' + b"[" * depth + b"]" * depth + b', "date": "x"}',
            _json(dict(web.bon, tiers_id="\ud800", quantite=float("nan"))),
            b'{"quantite": Infinity, "tiers_id": -Infinity, "date": NaN}',
            _json(dict(web.bon, date=long_text(rng) * 2)),
            b" " * 70_000 + good,
            good + b"\x00",
        ]
    )
    response = web.writer.post(
        f"/api/v1/dossiers/{web.code}/bons",
        data=body,
        headers={"X-CSRF-Token": web.token},
        content_type="application/json",
    )
    return "api bad body", response, {400, 413, 422}


def _api_content_type(rng: random.Random, web: Web) -> Answer:
    kind = rng.choice(
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/jso",
            "json",
            "",
            "text/json",
        ]
    )
    response = web.writer.post(
        f"/api/v1/dossiers/{web.code}/bons", data=_json(web.bon), headers={"X-CSRF-Token": web.token}, content_type=kind
    )
    return "api wrong content type", response, {400}


def _api_csrf(rng: random.Random, web: Web) -> Answer:
    token = rng.choice(
        [
            None,
            "",
            web.token + "x",
            web.token[:-1],
            web.token.upper(),
            "é" + web.token[1:],
            api_token(web.reader),
            "\x7f" * 43,
            "ÿ" * 5000,
        ]
    )
    headers = {} if token is None else {"X-CSRF-Token": token}
    response = web.writer.post(f"/api/v1/dossiers/{web.code}/bons", json=web.bon, headers=headers)
    return "api wrong csrf", response, {403}


def _form_fields(rng: random.Random, web: Web) -> Answer:
    fields = dict(_bad_bon(rng, web), csrf=web.form_csrf)
    response = web.writer.post(
        f"/dossiers/{web.code}/bons", data=_form(fields), content_type="application/x-www-form-urlencoded"
    )
    return "form bad fields", response, {422, 413}


def _form_csrf(rng: random.Random, web: Web) -> Answer:
    fields: dict[str, Any] = dict(web.bon)
    token = rng.choice(
        [
            None,
            "",
            web.form_csrf + "x",
            "é" + web.form_csrf[1:],
            "\ud800",
            "\x00",
            odd_text(rng),
            long_text(rng)[:3000],
            csrf(web.reader, "/dossiers"),
        ]
    )
    if token is not None:
        fields["csrf"] = token
    kind = rng.choice(["application/x-www-form-urlencoded", "text/plain"])
    response = web.writer.post(f"/dossiers/{web.code}/bons", data=_form(fields), content_type=kind)
    return "form wrong csrf", response, {400}


def _form_as_json(rng: random.Random, web: Web) -> Answer:
    body = _json(dict(web.bon, csrf=web.form_csrf))
    response = web.writer.post(
        f"/dossiers/{web.code}/bons", data=body, content_type=rng.choice(["application/json", "text/plain"])
    )
    return "form sent as json", response, {400}


def _outside(rng: random.Random, web: Web) -> Answer:
    code = rng.choice(
        [
            rng.choice(web.others),
            web.code + "\n",
            web.code + " ",
            " " + web.code,
            web.code.lower() + "x",
            odd_text(rng),
            "..",
            "%2e%2e",
            long_text(rng)[:2000],
            web.code + "\x00",
        ]
    )
    path = quote(code.encode("utf-8", "surrogatepass"), safe="%")
    if rng.random() < 0.5:
        response = web.writer.post(f"/api/v1/dossiers/{path}/bons", json=web.bon, headers={"X-CSRF-Token": web.token})
    else:
        response = web.writer.post(f"/dossiers/{path}/bons", data=dict(web.bon, csrf=web.form_csrf))
    return "dossier outside rights", response, {404, 400}


def _rights(rng: random.Random, web: Web) -> Answer:
    choice = rng.randrange(5)
    if choice == 0:
        code, bon = web.reader_bon
        return (
            "read-only right",
            web.reader.post(f"/api/v1/dossiers/{code}/bons", json=bon, headers={"X-CSRF-Token": api_token(web.reader)}),
            {403},
        )
    if choice == 1:
        code, bon = web.exported_bon
        client = web.responsable
        return (
            "exported dossier",
            client.post(f"/api/v1/dossiers/{code}/bons", json=bon, headers={"X-CSRF-Token": api_token(client)}),
            {403},
        )
    if choice == 2:
        code, bon = web.exported_bon
        client = web.responsable
        return (
            "exported dossier (form)",
            client.post(f"/dossiers/{code}/bons", data=dict(bon, csrf=csrf(client, "/dossiers"))),
            {403},
        )
    if choice == 3:
        return "not logged in (api)", web.anonymous.post(f"/api/v1/dossiers/{web.code}/bons", json=web.bon), {401}
    return "not logged in (form)", web.anonymous.post(f"/dossiers/{web.code}/bons", data=web.bon), {302}


def _reads(rng: random.Random, web: Web) -> Answer:
    page = quote(
        rng.choice(["-1", "1e3", "١", "²", "100001", "9" * 19, "", " ", "0x1", "1.0", odd_text(rng) + "x"]).encode(
            "utf-8", "surrogatepass"
        )
    )
    prefix = rng.choice(["/api/v1", ""])
    base = f"{prefix}/dossiers/{web.code}"
    path = rng.choice(
        [
            f"{base}/exercices/{web.exercice}/{rng.choice(['bons', 'factures', 'ecritures'])}?page={page}",
            f"{base}/tiers?categorie={quote(str(hostile_value(rng)).encode('utf-8', 'surrogatepass'))}",
            f"{base}/exercices/{rng.choice(['0', '-1', '9' * 5000, '1.0', '1e2', *_digits(web.exercice)])}/bons",
            f"{base}/exercices/{web.exercice}/{quote(rng.choice(ODD_TEXTS).encode('utf-8', 'surrogatepass'))}",
        ]
    )
    return "bad read parameters", web.writer.get(path), {400, 404}


def _digits(number: int) -> list[str]:
    """``number`` in other digits: Arabic-Indic, fullwidth, mathematical bold."""
    return [
        quote(str(number).translate(str.maketrans("0123456789", d)))
        for d in ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗")
    ]


def _logins(rng: random.Random, web: Web) -> Answer:
    fields = {
        "login": rng.choice(["compta1.fd12", "COMPTA1.FD12", str(hostile_value(rng))]),
        "password": str(hostile_value(rng)),
    }
    if rng.random() < 0.7:
        fields["csrf"] = csrf(web.logins)
    if rng.random() < 0.3:
        return (
            "logout without csrf",
            web.writer.post(
                "/logout", data=_form({"csrf": odd_text(rng)}), content_type="application/x-www-form-urlencoded"
            ),
            {400},
        )
    response = web.logins.post("/login", data=_form(fields), content_type="application/x-www-form-urlencoded")
    return "bad login", response, {400, 401, 413, 429}


def _forged_session(rng: random.Random, web: Web) -> Answer:
    cookie = rng.choice(["", "x", "eyJsb2dpbiI6ImNvbXB0YTEuZmQxMiJ9.forged.sig", odd_text(rng), "A" * 4000])
    web.anonymous.set_cookie("neocuma_session", quote(cookie.encode("utf-8", "surrogatepass")))
    if rng.random() < 0.5:
        return "forged session (api)", web.anonymous.post(f"/api/v1/dossiers/{web.code}/bons", json=web.bon), {401}
    return "forged session (page)", web.anonymous.get(f"/dossiers/{web.code}"), {302}


def _methods(rng: random.Random, web: Web) -> Answer:
    method = getattr(web.writer, rng.choice(["put", "delete", "patch"]))
    path = rng.choice([f"/api/v1/dossiers/{web.code}/bons", f"/dossiers/{web.code}/bons", "/api/v1/session"])
    return "wrong method", method(path, json=web.bon, headers={"X-CSRF-Token": web.token}), {405}


KINDS: list[Callable[[random.Random, Web], Answer]] = [
    _api_fields, _api_fields, _api_fields, _api_body, _api_body, _api_content_type, _api_csrf,
    _form_fields, _form_fields, _form_csrf, _form_as_json, _outside, _rights, _reads, _reads, _logins,
    _forged_session, _methods,
]  # fmt: skip
