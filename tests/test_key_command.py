"""The KMS hook: ``<key variable>_COMMAND`` names a program that prints the key
(a KMS client, a secrets manager's CLI). Played here by a real script run as a
subprocess: field encryption seals under the key it prints, a variable set to the
key itself wins over the command, and a failing, silent or missing program is a
clear error that names the variable and never holds a key."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from c360.platform.field_encryption import key_id, open_sealed, seal, sealed_key_id
from c360.platform.secret_keys import SecretKeyError, decode_key, forget_cached_keys

KMS_KEY = secrets.token_hex(32)


@pytest.fixture
def kms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    script = tmp_path / "kms.py"
    script.write_text(
        "import sys\n"
        "if sys.argv[1:] != ['decrypt', 'c360-master']:\n"
        "    print('unknown key id', file=sys.stderr); sys.exit(3)\n"
        f"print({KMS_KEY!r})\n"
    )
    monkeypatch.delenv("C360_MASTER_KEY", raising=False)
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path / "data"))
    forget_cached_keys()
    yield script
    forget_cached_keys()


def test_values_are_sealed_under_the_key_the_command_prints(
    kms: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_MASTER_KEY_COMMAND", f"{sys.executable} {kms} decrypt c360-master")
    sealed = seal("event.text", "请送到望京".encode())
    assert sealed_key_id(sealed) == key_id(decode_key(KMS_KEY, "k"))
    assert open_sealed("event.text", sealed).decode() == "请送到望京"
    assert not (kms.parent / "data" / "keys" / "master-key").exists()  # no key file made


def test_the_variable_itself_wins_over_the_command(
    kms: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = secrets.token_hex(32)
    monkeypatch.setenv("C360_MASTER_KEY_COMMAND", f"{sys.executable} {kms} decrypt c360-master")
    monkeypatch.setenv("C360_MASTER_KEY", own)
    assert sealed_key_id(seal("event.text", b"x")) == key_id(decode_key(own, "k"))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("decrypt another-key", "C360_MASTER_KEY_COMMAND exited with 3: unknown key id"),
        ("-c pass", "the output of C360_MASTER_KEY_COMMAND holds 0 bytes; a key needs at least 32"),
    ],
)
def test_a_failing_or_silent_command_is_a_clear_error(
    kms: Path, monkeypatch: pytest.MonkeyPatch, arguments: str, message: str
) -> None:
    target = "" if arguments.startswith("-c") else f"{kms} "
    monkeypatch.setenv("C360_MASTER_KEY_COMMAND", f"{sys.executable} {target}{arguments}")
    with pytest.raises(SecretKeyError) as raised:
        seal("event.text", b"x")
    assert str(raised.value) == message
    assert KMS_KEY not in str(raised.value)


def test_a_missing_program_is_named(kms: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_MASTER_KEY_COMMAND", "/nonexistent/kms-client decrypt")
    with pytest.raises(SecretKeyError, match="no such program '/nonexistent/kms-client'"):
        seal("event.text", b"x")
