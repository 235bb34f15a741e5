"""Hostile backups, seeded (issue 12, the campaign's first part): valid backups mutated at
random (bytes flipped, cut short, members renamed, dropped or duplicated, manifest fields
changed, rows rewritten with their digests fixed so only the content check can tell) and fed
to the guardian's full verification. Each case must be refused with BadRequest or verify
with every member byte for byte what the manifest vouches for (the source's, but for the
rows a case rewrote and vouched for itself): never another exception. The figures are
printed for docs/reliability.md. ``NEOCUMA_FUZZ_CASES`` and ``NEOCUMA_FUZZ_SEED`` change the
run (``make fuzz`` runs more)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members, zip_members

pytestmark = pytest.mark.fuzz
CASES = int(os.environ.get("NEOCUMA_FUZZ_CASES", "2000"))
SEED = int(os.environ.get("NEOCUMA_FUZZ_SEED", "20261201"))
SOURCE = backup_members([Dossier(120001 + n, f"1200{n + 1:02d}", 2 + n, rows=3) for n in range(3)])
Members = dict[str, bytes]


def _manifest(members: Members) -> dict[str, Any]:
    return dict(json.loads(members["manifest.json"]))


def _vouch(members: Members, name: str) -> None:
    """Make the manifest vouch for ``name``'s new content (size and sha256)."""
    manifest = _manifest(members)
    data = members[name]
    digest = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    if name in manifest["members"]:
        manifest["members"][name].update(digest)
    for table, entry in manifest["centre_tables"].items():
        if name == f"centre/{table}.tsv":
            entry.update(digest)
    for dossier in manifest["dossiers"]:
        for table, entry in dossier["tables"].items():
            if name == f"dossiers/{dossier['code']}/{table}.tsv":
                entry.update(digest)
    members["manifest.json"] = json.dumps(manifest).encode()


def _flip(rng: random.Random, members: Members) -> bytes | None:
    data = bytearray(zip_members(members))
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _cut(rng: random.Random, members: Members) -> bytes | None:
    data = zip_members(members)
    return data[: rng.randrange(len(data))]


def _rename(rng: random.Random, members: Members) -> bytes | None:
    name = rng.choice(sorted(members))
    target = rng.choice(["../" + name, "/" + name, name + "\x00", name.upper(), "dossiers/x/" + name, name + "/"])
    members[target] = members.pop(name)
    return None


def _drop(rng: random.Random, members: Members) -> bytes | None:
    members.pop(rng.choice(sorted(members)))
    return None


def _duplicate(rng: random.Random, members: Members) -> bytes | None:
    name = rng.choice(sorted(members))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        archive.writestr(name, members[name][::-1])
    return out.getvalue()


_VALUES: list[Any] = [None, -1, 0, 2**63, 1.5, "", "x" * 300, [], {}, True, "../x", {"a": [1]}]


def _manifest_field(rng: random.Random, members: Members) -> bytes | None:
    manifest = _manifest(members)
    where: Any = manifest
    while isinstance(where, dict | list) and where and rng.random() < 0.7:
        key = rng.choice(sorted(where)) if isinstance(where, dict) else rng.randrange(len(where))
        if not isinstance(where[key], dict | list) or not where[key]:
            where[key] = rng.choice(_VALUES)
            break
        where = where[key]
    else:
        if isinstance(where, dict) and where:
            where[rng.choice(sorted(where))] = rng.choice(_VALUES)
    members["manifest.json"] = json.dumps(manifest).encode()
    return None


def _rows(rng: random.Random, members: Members) -> bytes | None:
    """Rewrite a TSV member and fix its digest: only the row checks can refuse it."""
    name = rng.choice(sorted(n for n in members if n.endswith(".tsv")))
    lines = members[name].split(b"\n")
    choice = rng.randrange(4)
    if choice == 0:
        lines.insert(rng.randrange(len(lines)), lines[rng.randrange(len(lines))])  # a row more
    elif choice == 1 and len(lines) > 1:
        lines.pop(rng.randrange(len(lines) - 1))  # a row less
    elif choice == 2:
        lines[0] = b"999999\t" + lines[0]  # another dossier's id
    else:
        lines[rng.randrange(len(lines))] += rng.choice([b"\t\xff\xfe", b"\\", b"\t" * 50, "é".encode()])
    members[name] = b"\n".join(lines)
    _vouch(members, name)
    return None


MUTATIONS: list[Callable[[random.Random, Members], bytes | None]] = [
    _flip,
    _cut,
    _rename,
    _drop,
    _duplicate,
    _manifest_field,
    _rows,
]


def test_hostile_backups_are_refused_or_verify_identical() -> None:
    rng = random.Random(SEED)
    refused = identical = 0
    crashes: list[str] = []
    by_mutation: dict[str, int] = {}
    for case in range(CASES):
        members = dict(SOURCE)
        mutation = rng.choice(MUTATIONS)
        data = mutation(rng, members)
        if data is None:
            data = zip_members(members)
        try:
            verify_backup(lambda data=data: io.BytesIO(data), name=f"case-{case}.zip")
        except BadRequest:
            refused += 1
            by_mutation[mutation.__name__] = by_mutation.get(mutation.__name__, 0) + 1
            continue
        except Exception as error:  # noqa: BLE001 - what the test is about
            crashes.append(f"case {case} ({mutation.__name__}): {type(error).__name__}: {error}"[:300])
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            accepted = {name: archive.read(name) for name in archive.namelist()}
        content = {n: d for n, d in accepted.items() if n != "manifest.json"}
        if content == {n: d for n, d in SOURCE.items() if n != "manifest.json"} or (
            mutation is _rows and content == {n: d for n, d in members.items() if n != "manifest.json"}
        ):
            # The source's members (a manifest field a reader does not need may differ), or
            # rows rewritten with their digests fixed, exactly as the manifest vouches: the
            # load's own checks (MariaDB's warnings) judge those.
            identical += 1
        else:
            crashes.append(f"case {case} ({mutation.__name__}): accepted with content nobody vouched for")
    print(
        f"\nhostile backups, seed {SEED}: {CASES} cases, {refused} refused, {identical} accepted as vouched, "
        f"{len(crashes)} crashes; refused by mutation {dict(sorted(by_mutation.items()))}"
    )
    assert not crashes, "\n".join(crashes[:20])
    assert refused + identical == CASES
