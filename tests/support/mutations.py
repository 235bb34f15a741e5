"""Hostile mutations of a data backup, seeded (issue 12's campaign): bytes flipped, cut
short, members renamed, dropped or duplicated, manifest fields given other types or values,
TSV rows added, removed, moved to another dossier or rewritten with their digests fixed (so
only the content checks can refuse them). Each mutation edits the members in place and
returns None, or returns the zip's bytes itself. Shared by tests/fuzz (the verification)
and tests/integration/test_hostile_loads.py (real loads and imports)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from tests.support.backups import zip_members

Members = dict[str, bytes]
Mutation = Callable[[random.Random, Members], bytes | None]


def _manifest(members: Members) -> dict[str, Any]:
    return dict(json.loads(members["manifest.json"]))


def vouch(members: Members, name: str) -> None:
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
    vouch(members, name)
    return None


MUTATIONS: list[Mutation] = [
    _flip,
    _cut,
    _rename,
    _drop,
    _duplicate,
    _manifest_field,
    _rows,
]
REWRITES_ROWS = _rows  # the mutation whose rows, vouched for, only a load can judge

# Values MariaDB must refuse in some columns (a warning), or take as they are in others.
_HOSTILE_VALUES: list[bytes] = [
    b"",
    b"\\N",
    b"NULL",
    b"-1",
    b"0",
    b"+3",
    b" 7",
    b"1.5",
    b"1e3",
    b"0x1F",
    b"4294967296",
    b"99999999999999999999999",
    b"abc",
    b"x" * 300,
    b"2026-02-30",
    b"2026-12-31 23:59:59",
    b"lecture",
    "été".encode(),
    b"\xff\xfe",
    b"a\\tb",
    b"a\\\nb",
    b"\\\\",
]


def _value(rng: random.Random, members: Members) -> bytes | None:
    """One field of one row given a hostile value, the digest fixed: only MariaDB can judge."""
    name = rng.choice(sorted(n for n in members if n.endswith(".tsv") and members[n]))
    lines = members[name].split(b"\n")
    row = rng.randrange(max(1, len(lines) - 1))
    fields = lines[row].split(b"\t")
    fields[rng.randrange(len(fields))] = rng.choice(_HOSTILE_VALUES)
    lines[row] = b"\t".join(fields)
    members[name] = b"\n".join(lines)
    vouch(members, name)
    return None


def _revision(rng: random.Random, members: Members) -> bytes | None:
    """A dossier's revision in the manifest that its row does not hold (still a valid number)."""
    manifest = _manifest(members)
    entry = rng.choice(manifest["dossiers"])
    entry["revision"] = rng.choice([0, entry["revision"] + 1, max(0, entry["revision"] - 1), 2**31, True])
    members["manifest.json"] = json.dumps(manifest).encode()
    return None


# For real loads: the same, and more of the changes that reach MariaDB or the dossiers' state.
LOAD_MUTATIONS: list[Mutation] = [*MUTATIONS, _rows, _value, _value, _revision]


def mutated_zips(source: bytes, count: int, seed: int) -> Iterator[tuple[int, Mutation, bytes]]:
    """``count`` mutations of the zip ``source`` by LOAD_MUTATIONS, seeded: (case, mutation, zip)."""
    rng = random.Random(seed)
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for case in range(count):
        mutated = dict(members)
        mutation = rng.choice(LOAD_MUTATIONS)
        data = mutation(rng, mutated)
        yield case, mutation, zip_members(mutated) if data is None else data
