"""Fakes around the real local MariaDB, for tests that run the guardian's jobs against it
(tests/integration/test_hostile_loads.py): a local server that serves what the control
row names, a reporter that keeps nothing, and a remote whose every export sends given bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from appliance.adapters.local_database import MysqlLocalDatabase
from appliance.domain.backup_format import Opener
from appliance.guardian.ports import Sink


class LocalServerOverMysql:
    """The local NeoCuma server as a sync sees it: it serves what the control row names."""

    def __init__(self, database: MysqlLocalDatabase) -> None:
        self.database = database

    def healthz(self) -> dict[str, Any]:
        live = self.database.live()
        return {"status": "ok", "data_generation": live.data_generation, "system_generation": live.system_generation}

    def dossier_count(self, login: str, *_: str) -> tuple[int | None, int]:
        return self.database.live().data_generation, len(self.database.dossiers())

    def reload(self) -> None:
        return None

    def system_generations(self) -> list[int]:
        return []

    def install_system(self, generation: int, system_zip: Opener) -> int:
        return 0

    def remove_system(self, generation: int) -> None:
        return None

    def clean_system_staging(self) -> list[str]:
        return []


class SilentProgress:
    def update(self, step: str | None = None, bytes_done: int | None = None, **_: Any) -> None:
        return None


class RemoteSending:
    """The central server as a pull sees it: every export sends ``data``."""

    def __init__(self, codes: Sequence[str]) -> None:
        self.codes = list(codes)
        self.data = b""

    def session(self, login: str, password: str) -> RemoteSending:
        return self

    def __enter__(self) -> RemoteSending:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def dossiers(self) -> dict[str, object]:
        return dict.fromkeys(self.codes, object())

    def export(self, codes: Sequence[str], sink: Sink) -> int:
        return int(sink.write(self.data))
