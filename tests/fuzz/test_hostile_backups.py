"""Hostile backups, seeded (issue 12, the campaign's first part): valid backups mutated at
random (bytes flipped, cut short, members renamed, dropped or duplicated, manifest fields
changed, rows rewritten with their digests fixed so only the content check can tell) and fed
to the guardian's full verification. Each case must be refused with BadRequest or verify
with every member byte for byte what the manifest vouches for (the source's, but for the
rows a case rewrote and vouched for itself): never another exception. The figures are
printed for docs/reliability.md. ``NEOCUMA_FUZZ_CASES`` and ``NEOCUMA_FUZZ_SEED`` change the
run (``make fuzz`` runs more)."""

from __future__ import annotations

import io
import os
import random
import zipfile

import pytest

from appliance.adapters.backup_reader import verify_backup
from appliance.errors import BadRequest
from tests.support.backups import Dossier, backup_members, zip_members
from tests.support.mutations import MUTATIONS, REWRITES_ROWS

pytestmark = pytest.mark.fuzz
CASES = int(os.environ.get("NEOCUMA_FUZZ_CASES", "2000"))
SEED = int(os.environ.get("NEOCUMA_FUZZ_SEED", "20261201"))
SOURCE = backup_members([Dossier(120001 + n, f"1200{n + 1:02d}", 2 + n, rows=3) for n in range(3)])


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
            mutation is REWRITES_ROWS and content == {n: d for n, d in members.items() if n != "manifest.json"}
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
