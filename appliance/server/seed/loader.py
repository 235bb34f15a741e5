"""Load generated centres into a new data generation of a (central) server and switch to it."""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.adapters import generations
from appliance.adapters.mysql import ConnectionPool, MysqlClient
from appliance.domain.ddl import generation_ddl
from appliance.domain.numbers import ascii_digits
from appliance.domain.sqltext import insert_statements
from appliance.errors import Unavailable
from appliance.server.seed.demo_files import write_demo_files
from appliance.server.seed.generator import GeneratorOptions, generate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeedResult:
    generation: int
    rows: int
    sql_bytes: int
    seconds: float


def seed_generation(
    pool: ConnectionPool,
    client: MysqlClient,
    system_root: Path,
    options: GeneratorOptions,
    server_name: str,
) -> SeedResult:
    """Generate ``options``' centres into a new generation, then make it live; keeps the
    previous generation and drops older ones. Raises Unavailable if MySQL fails; the live
    generation is then unchanged."""
    started = time.monotonic()
    with pool.acquire() as connection:
        generation = generations.next_generation(connection)
        schema = generations.create_generation_schema(connection, generation)
    log.info("seeding %s: %d dossiers, %d years, seed %d", schema, options.dossiers, options.years, options.seed)
    process = client.start(["--batch"], database=schema, stdout=subprocess.DEVNULL)
    rows = 0
    size = 0
    codes: list[str] = []
    try:
        assert process.process.stdin is not None
        stdin = process.process.stdin
        header = "SET SESSION unique_checks = 0;\nSET SESSION foreign_key_checks = 0;\n" + generation_ddl().script()
        stdin.write(header.encode())
        for batch in generate(options):
            if batch.table.name == "dossier":
                codes += [str(row[2]) for row in batch.rows if row[1] == options.centres[0].code]
            for statement in insert_statements(batch.table.name, batch.table.column_names, batch.rows):
                data = statement.encode("utf-8")
                stdin.write(data)
                size += len(data)
            rows += len(batch.rows)
        stdin.close()
        status, stderr = process.finish(timeout=3600)
    except BrokenPipeError:
        status, stderr = process.finish(timeout=60)
    except BaseException:
        process.kill()
        raise
    if status != 0:
        with pool.acquire() as connection:
            generations.drop_generation_schema(connection, generation)
        raise Unavailable(f"loading the generated data failed: {stderr}")
    system_dir = system_root / f"g{generation}"
    write_demo_files(system_dir, server_name, options.seed, codes)
    with pool.acquire() as connection:
        previous, previous_system, _ = generations.live_generations(connection)
        generations.switch_live(connection, generation, generation)
        keep = {generation} | ({previous} if previous is not None else set())
        generations.prune_generations(connection, keep)
    _prune_system_dirs(system_root, {generation} | ({previous_system} if previous_system else set()))
    seconds = time.monotonic() - started
    log.info("seeded %s: %d rows, %.1f MB of SQL in %.1f s", schema, rows, size / 1e6, seconds)
    return SeedResult(generation, rows, size, seconds)


def _prune_system_dirs(root: Path, keep: set[int]) -> None:
    import shutil

    for path in root.glob("g*"):
        suffix = path.name[1:]
        if path.is_dir() and ascii_digits(suffix) and int(suffix) not in keep:
            shutil.rmtree(path)
            log.info("dropped system-files generation %s", path.name)
