"""Secret keys that must never live in the database: the key of the audit chain
and the key of the credit subject digests.

Each key is 32 random bytes (``secrets.token_bytes``), taken from an environment
variable when it is set (hex, or standard / URL-safe base64, at least 32 bytes)
and otherwise from a file in the data directory's key store,
``<C360_DATA_DIR>/keys/<name>``: created on first use, 0600 in a 0700 directory,
holding the key as hex. Whoever can write the database but cannot read this
file (or the process environment) cannot compute a valid digest.

======================  ================================  =============================
key                     environment variable              file
======================  ================================  =============================
audit chain             ``C360_AUDIT_KEY``                ``keys/audit-key``
credit subject digests  ``C360_SUBJECT_KEY``              ``keys/credit-subject-key``
======================  ================================  =============================

Instead of the key itself, ``<variable>_COMMAND`` may name a command that prints
it (``C360_MASTER_KEY_COMMAND="vault kv get -field=key secret/c360"``): the hook
for a KMS or a secrets manager, run once per process without a shell.

A key is read once per process and per place (the variable's value, the
command, the file's path) and kept; it never appears in a message or a log line, only its key id
(:func:`key_id`, a keyed digest of a fixed text, safe to show).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import shlex
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from c360.platform.private_files import close_key_file
from c360.platform.settings import get_settings

log = logging.getLogger(__name__)

KEY_BYTES = 32
"""Length of a generated key, and the least an environment variable may give."""


class SecretKeyError(RuntimeError):
    """A key is configured but unusable; the message says where and why, never the key."""


@dataclass(frozen=True, slots=True)
class KeySpec:
    """Where one key comes from."""

    name: str
    """The file name in the key store."""
    env_var: str
    """The environment variable that, when set, holds the key instead."""


AUDIT_KEY = KeySpec("audit-key", "C360_AUDIT_KEY")
SUBJECT_KEY = KeySpec("credit-subject-key", "C360_SUBJECT_KEY")

_cache: dict[tuple[str, str], bytes] = {}
_guard = threading.Lock()


def key_store(data_dir: Path | None = None) -> Path:
    """The key store directory: ``<data dir>/keys``."""
    return (data_dir if data_dir is not None else get_settings().data_dir) / "keys"


def key_path(spec: KeySpec, data_dir: Path | None = None) -> Path:
    """The file ``spec`` is kept in when its environment variable is unset."""
    return key_store(data_dir) / spec.name


def decode_key(text: str, where: str) -> bytes:
    """The key written as ``text`` (hex, or base64 of either alphabet), at least
    :data:`KEY_BYTES` long; :class:`SecretKeyError` naming ``where`` otherwise."""
    text = text.strip()
    decoded: list[bytes] = []
    with contextlib.suppress(ValueError):
        decoded.append(bytes.fromhex(text))
    padded = text + "=" * (-len(text) % 4)
    for alphabet in (b"+/", b"-_"):
        with contextlib.suppress(binascii.Error, ValueError):
            decoded.append(base64.b64decode(padded, altchars=alphabet, validate=True))
    if not decoded:
        raise SecretKeyError(f"{where} is neither hex nor base64")
    for raw in decoded:  # hex first: 64 hex digits are also valid base64
        if len(raw) >= KEY_BYTES:
            return raw
    raise SecretKeyError(f"{where} holds {len(decoded[0])} bytes; a key needs at least {KEY_BYTES}")


def _create(path: Path) -> None:
    """Write a new random key to ``path`` unless one is there. The key is written
    to a private temporary file and linked into place, so a concurrent reader
    never sees a half-written file and of two racing processes one key wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):  # a directory made by an older version, or by hand
        if stat.S_IMODE(path.parent.stat().st_mode) & 0o077:
            path.parent.chmod(0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
        log.info("generated a secret key in %s", path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> bytes:
    close_key_file(path, "secret key")
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise SecretKeyError(f"{path} is not a key written by c360 (not ASCII)") from None
    return decode_key(text, str(path))


KEY_COMMAND_TIMEOUT_S = 30


def command_variable(spec: KeySpec) -> str:
    """The variable naming a command that prints the key (the KMS hook)."""
    return f"{spec.env_var}_COMMAND"


def _from_command(command: str, where: str) -> bytes:
    """The key a command prints on its standard output (hex or base64): the hook
    for a KMS or a secrets manager, e.g. ``vault kv get -field=key secret/c360``
    or ``aws kms decrypt … --query Plaintext --output text``. Run without a
    shell; its output is never logged."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise SecretKeyError(f"{where} cannot be split into a command: {exc}") from None
    if not argv:
        raise SecretKeyError(f"{where} is empty")
    try:
        done = subprocess.run(
            argv, capture_output=True, timeout=KEY_COMMAND_TIMEOUT_S, check=False, text=True
        )
    except FileNotFoundError:
        raise SecretKeyError(f"{where}: no such program {argv[0]!r}") from None
    except subprocess.TimeoutExpired:
        raise SecretKeyError(f"{where} did not answer in {KEY_COMMAND_TIMEOUT_S} s") from None
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()[-1:] or [""]
        raise SecretKeyError(f"{where} exited with {done.returncode}: {said[0][:200]}")
    return decode_key(done.stdout, f"the output of {where}")


def load_key(spec: KeySpec, *, data_dir: Path | None = None, create: bool = True) -> bytes:
    """The key ``spec`` names: from its environment variable if set, else from
    the command its ``…_COMMAND`` variable names (a KMS hook), else from its file
    in the key store (generated there first if ``create`` and absent)."""
    configured = os.environ.get(spec.env_var)
    command = os.environ.get(command_variable(spec)) if configured is None else None
    if configured is not None:
        place = ("env", configured)
    elif command:
        place = ("command", command)
    else:
        place = ("file", str(key_path(spec, data_dir).resolve()))
    with _guard:
        found = _cache.get(place)
        if found is not None:
            return found
        if configured is not None:
            key = decode_key(configured, spec.env_var)
        elif command:
            key = _from_command(command, command_variable(spec))
        else:
            path = Path(place[1])
            try:
                if not path.exists():
                    if not create:
                        raise SecretKeyError(f"no key in {path} (and {spec.env_var} is not set)")
                    _create(path)
                key = _read(path)
            except OSError as exc:
                raise SecretKeyError(f"cannot use the key file {path}: {exc.strerror}") from None
        _cache[place] = key
        return key


def key_id(key: bytes) -> str:
    """A short name for ``key`` that is safe to store and show (16 hex digits of an
    HMAC of a fixed text): tells which key a digest was made with, never the key."""
    return hmac.new(key, b"c360 key id", hashlib.sha256).hexdigest()[:16]


def forget_cached_keys() -> None:
    """Drop the keys read so far (tests that change the data dir or the variables)."""
    with _guard:
        _cache.clear()


__all__ = [
    "AUDIT_KEY",
    "KEY_BYTES",
    "SUBJECT_KEY",
    "KeySpec",
    "SecretKeyError",
    "command_variable",
    "decode_key",
    "forget_cached_keys",
    "key_id",
    "key_path",
    "key_store",
    "load_key",
]
