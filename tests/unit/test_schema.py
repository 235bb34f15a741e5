from appliance.domain.ddl import create_table_sql, generation_ddl, generation_schema_name, quote_identifier
from appliance.domain.schema import ALL_TABLES, DOSSIER_TABLES, SCHEMA_VERSION, Scope


def test_every_dossier_table_is_keyed_by_dossier_and_per_dossier_id() -> None:
    assert len(DOSSIER_TABLES) >= 12
    for table in DOSSIER_TABLES:
        assert table.scope is Scope.DOSSIER
        assert table.primary_key == ("dossier_id", "id"), table.name
        assert "AUTO_INCREMENT" not in create_table_sql(table).upper()


def test_ddl_has_no_trigger_nor_foreign_key_and_records_the_version() -> None:
    script = generation_ddl().script().upper()
    assert "TRIGGER" not in script
    assert "FOREIGN KEY" not in script
    assert f"VALUES ({SCHEMA_VERSION})" in script
    assert script.count("CREATE TABLE") == len(ALL_TABLES) + 1


def test_table_names_are_unique() -> None:
    names = [table.name for table in ALL_TABLES]
    assert len(names) == len(set(names))


def test_identifiers_are_checked() -> None:
    assert quote_identifier("bon_travaux") == "`bon_travaux`"
    for bad in ("", "a`b", "a b", "x;drop", "x\n", "é", "a\u200bb"):
        try:
            quote_identifier(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_generation_schema_names() -> None:
    assert generation_schema_name(3) == "neocuma_g3"
    try:
        generation_schema_name(0)
    except ValueError:
        return
    raise AssertionError("generation 0 was accepted")
