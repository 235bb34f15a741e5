"""The manifests' JSON layout (domain/json_layout.py): the same document as any JSON
encoder writes, one top-level key per line and one entry of a top-level object or array per
line, non-ASCII text kept as it is."""

from __future__ import annotations

import json

from appliance.domain.json_layout import dump_lines


def test_the_layout_is_the_same_document_one_entry_per_line() -> None:
    document = {
        "format": "neocuma-data-backup",
        "centre": {"code": "FD12", "nom": "Fédération de l'Aveyron"},
        "members": {f"dossiers/12000{n}/tiers.tsv": {"size": n, "sha256": "ab" * 32, "rows": n} for n in range(3)},
        "dossiers": [{"id": n, "code": f"12000{n}", "tables": {"tiers": {"rows": n}}} for n in range(2)],
        "removed": [],
        "empty": {},
        "count": 0,
    }
    raw = dump_lines(document)
    assert json.loads(raw) == document
    lines = raw.decode("utf-8").splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and raw.endswith(b"}\n")
    assert ' "format": "neocuma-data-backup",' in lines
    assert '  "nom": "Fédération de l\'Aveyron"' in lines, "non-ASCII text kept, one entry per line"
    assert sum(line.startswith('  "dossiers/') for line in lines) == 3
    assert sum(line.startswith('  {"id": ') for line in lines) == 2
    assert ' "removed": [],' in lines and ' "empty": {},' in lines and ' "count": 0' in lines
