from appliance.domain.passwords import hash_password, verify_password


def test_hash_verifies_only_the_right_password() -> None:
    encoded = hash_password("Demo-FD12-2026", log2_n=10)
    assert encoded.startswith("scrypt$10$")
    assert "Demo-FD12-2026" not in encoded
    assert verify_password("Demo-FD12-2026", encoded)
    assert not verify_password("demo-fd12-2026", encoded)


def test_salts_differ_unless_given() -> None:
    assert hash_password("x", log2_n=10) != hash_password("x", log2_n=10)
    assert hash_password("x", salt=b"s" * 16, log2_n=10) == hash_password("x", salt=b"s" * 16, log2_n=10)


def test_malformed_hashes_never_verify() -> None:
    for bad in (
        "",
        "plain",
        "scrypt$1$8$1$AAAA$AAAA",
        "scrypt$14$8$1$!!$AAAA",
        "bcrypt$x$y$z$a$b",
        "scrypt$40$8$1$AAAA$AAAA",
    ):
        assert not verify_password("x", bad)


def test_a_stored_hash_may_not_ask_for_more_work_than_the_bound() -> None:
    import time

    heavy = hash_password("secret", log2_n=16).replace("scrypt$16$8$1$", "scrypt$20$16$1$")
    started = time.monotonic()
    assert not verify_password("secret", heavy), "2 GiB of scrypt memory: refused unverified"
    assert time.monotonic() - started < 0.05
    assert verify_password("secret", hash_password("secret", log2_n=16)), "the bound itself is accepted"
