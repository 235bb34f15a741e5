"""The streaming member check, whatever the block boundaries."""

import hashlib
import random

import pytest

from appliance.adapters.backup_reader import MemberCheck
from appliance.domain.backup_format import MemberDigest
from appliance.errors import BadRequest


def _run(data: bytes, dossier_id: int | None, rows: int | None = None, seed: int = 0) -> None:
    digest = MemberDigest(hashlib.sha256(data).hexdigest(), len(data), data.count(b"\n") if rows is None else rows)
    check = MemberCheck("dossiers/x/tiers.tsv", digest, dossier_id)
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        step = rng.randrange(1, 9)
        check.update(data[position : position + step])
        position += step
    check.finish()


GOOD = b"".join(f"100012\t{i}\tnom {i}\\tavec tab\n".encode() for i in range(200))


@pytest.mark.parametrize("seed", range(20))
def test_rows_of_the_dossier_pass_for_any_block_split(seed: int) -> None:
    _run(GOOD, 100012, seed=seed)


@pytest.mark.parametrize("seed", range(20))
def test_one_row_of_another_dossier_is_caught_for_any_block_split(seed: int) -> None:
    lines = GOOD.splitlines(keepends=True)
    lines[rng_index(seed, len(lines))] = b"1000123\t5\tintrus\n"  # a longer id with the same prefix
    with pytest.raises(BadRequest, match="another dossier"):
        _run(b"".join(lines), 100012, seed=seed)


def rng_index(seed: int, size: int) -> int:
    return random.Random(seed).randrange(size)


def test_unterminated_rows_counts_and_sizes() -> None:
    with pytest.raises(BadRequest, match="not terminated"):
        _run(GOOD + b"100012\t999\tfin", 100012)
    with pytest.raises(BadRequest, match="rows, the manifest says"):
        _run(GOOD, 100012, rows=199)
    _run(b"", 100012)
    _run(GOOD, None)
