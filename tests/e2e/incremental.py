"""Helpers of the incremental end-to-end tests (issue 13): dossiers created, deleted and
taken out of resp.fd12's rights on the central server by SQL (the rights have no web page),
a member of a dated backup damaged in place inside the guardian's volume, and bons de
travaux entered through NeoCuma Web (the benchmarks' changes)."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.appliance import USER_PASSWORD, Appliance
from tests.support import oracle

CENTRAL = "neocuma_g1"


def create_dossier(connection: Any, code: str) -> int:
    """A new, empty dossier of FD12 in resp.fd12's rights; returns its ID système."""
    (new_id,) = oracle.query(connection, f"SELECT MAX(id) + 1000 FROM {CENTRAL}.dossier")[0]
    oracle.query(
        connection,
        f"INSERT INTO {CENTRAL}.dossier SELECT %s, centre_code, %s, NULL, 'Dossier incrémental', type, 0, 0, 0,"
        f" base_reference_id, 4, modifie_le FROM {CENTRAL}.dossier WHERE centre_code = 'FD12' ORDER BY id LIMIT 1",
        (new_id, code),
    )
    oracle.query(
        connection,
        f"INSERT INTO {CENTRAL}.droit_dossier SELECT id, %s, 'ecriture' FROM {CENTRAL}.utilisateur"
        " WHERE login = 'resp.fd12'",
        (new_id,),
    )
    return int(new_id)


def delete_dossier(connection: Any, dossier_id: int) -> None:
    """Delete an empty dossier and its rights."""
    oracle.query(connection, f"DELETE FROM {CENTRAL}.droit_dossier WHERE dossier_id = %s", (dossier_id,))
    oracle.query(connection, f"DELETE FROM {CENTRAL}.dossier WHERE id = %s", (dossier_id,))


def take_rights_away(connection: Any, dossier_id: int) -> list[tuple[Any, ...]]:
    """Take ``dossier_id`` out of resp.fd12's rights; returns the rows, to put back."""
    where = f"dossier_id = %s AND utilisateur_id = (SELECT id FROM {CENTRAL}.utilisateur WHERE login = 'resp.fd12')"
    rows = oracle.query(connection, f"SELECT * FROM {CENTRAL}.droit_dossier WHERE {where}", (dossier_id,))
    oracle.query(connection, f"DELETE FROM {CENTRAL}.droit_dossier WHERE {where}", (dossier_id,))
    return [tuple(row) for row in rows]


def give_rights_back(connection: Any, rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        oracle.query(connection, f"REPLACE INTO {CENTRAL}.droit_dossier VALUES (%s, %s, %s)", row)


_DAMAGE = """
import hashlib, json, sys, zipfile
path = sys.argv[1]
with zipfile.ZipFile(path) as archive:
    infos = [i for i in archive.infolist() if i.filename.startswith("dossiers/")]
    info = max(infos, key=lambda i: i.compress_size)
with open(path, "r+b") as handle:
    handle.seek(info.header_offset + 26)
    name_length, extra_length = int.from_bytes(handle.read(2), "little"), int.from_bytes(handle.read(2), "little")
    at = info.header_offset + 30 + name_length + extra_length + info.compress_size // 2
    handle.seek(at)
    byte = handle.read(1)
    handle.seek(at)
    handle.write(bytes([byte[0] ^ 0xFF]))
with open(path, "rb") as handle:
    print(json.dumps({"member": info.filename, "sha256": hashlib.sha256(handle.read()).hexdigest()}))
"""


def damage_largest_dossier_member(appliance: Appliance, name: str) -> dict[str, str]:
    """Flip one byte in the middle of the compressed bytes of ``data/<name>``'s largest
    dossier member (the zip's directory stays readable); returns that member and the
    file's sha256 after the damage."""
    out = appliance.run_in_guardian("/opt/neocuma/bin/python", "-c", _DAMAGE, f"/var/lib/guardian/backups/data/{name}")
    found: dict[str, str] = json.loads(out.strip().splitlines()[-1])
    return found


def sha256_in_guardian(appliance: Appliance, name: str) -> str:
    out = appliance.run_in_guardian("sha256sum", f"/var/lib/guardian/backups/data/{name}")
    return out.split()[0]


def change_by_sql(connection: Any, dossier_ids: list[int]) -> None:
    """A change on the central server the way the application makes one: rows and revision."""
    marks = ", ".join(["%s"] * len(dossier_ids))
    oracle.query(
        connection, f"UPDATE {CENTRAL}.tiers SET nom = CONCAT(nom, ' *') WHERE dossier_id IN ({marks})", dossier_ids
    )
    oracle.query(connection, f"UPDATE {CENTRAL}.dossier SET revision = revision + 1 WHERE id IN ({marks})", dossier_ids)


def guardian_waits_for_a_lock(appliance: Appliance) -> bool:
    local = appliance.local_root()
    try:
        rows = oracle.query(
            local,
            "SELECT COUNT(*) FROM information_schema.processlist"
            " WHERE user = 'neocuma_guardian' AND state LIKE 'Waiting for table%%'",
        )
    finally:
        local.close()
    return int(rows[0][0]) > 0


def guardian_sessions(appliance: Appliance) -> int:
    local = appliance.local_root()
    try:
        rows = oracle.query(
            local, "SELECT COUNT(*) FROM information_schema.processlist WHERE user = 'neocuma_guardian'"
        )
    finally:
        local.close()
    return int(rows[0][0])


def enter_bons(appliance: Appliance, count: int, offset: int, wrap: bool = False) -> list[str]:
    """One bon de travaux in each of ``count`` open CUMA dossiers of the central server,
    from the ``offset``-th on (``wrap``: around the list when it runs out), through NeoCuma
    Web as ``resp.fd12``; returns their codes. Exits naming the problem when there are too
    few dossiers or a bon is refused (the benchmarks' changes)."""
    remote = appliance.remote_root()
    try:
        open_cumas = [
            (int(r[0]), str(r[1]))
            for r in oracle.query(
                remote, "SELECT id, code FROM neocuma_g1.dossier WHERE exporte = 0 AND type = 'CUMA' ORDER BY code"
            )
        ]
        if wrap and open_cumas:
            chosen = [open_cumas[(offset + i) % len(open_cumas)] for i in range(count)]
        else:
            chosen = open_cumas[offset : offset + count]
        if len(chosen) < count or len(open_cumas) < count:
            raise SystemExit(f"only {len(open_cumas)} open CUMA dossiers, {count} to change")
        web = appliance.remote_web()
        web.login("resp.fd12", USER_PASSWORD)
        for dossier_id, code in chosen:
            reply = web.post_json(f"/api/v1/dossiers/{code}/bons", oracle.bon_form(remote, "neocuma_g1", dossier_id))
            if reply.status != 201:
                raise SystemExit(f"bon refused for {code}: {reply.status} {reply.text[:200]}")
    finally:
        remote.close()
    return [code for _, code in chosen]
