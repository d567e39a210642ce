"""Service-account credentials for Google Sheets, loaded so that the key never shows.

Where the key comes from, the first one set wins:

1. ``google.credentials`` in sheetcrm.toml: a path to the JSON key file (relative to the config file's
   folder), ``{ file = "path" }``, or ``{ env = "NAME" }`` naming a variable that holds a path or the
   key's JSON itself;
2. the ``GOOGLE_APPLICATION_CREDENTIALS`` environment variable: a path, Google's own convention.

::

    creds = load_credentials(config.google, config_dir=Path("."))
    account_email(creds)            # 'crm-bot@my-project.iam.gserviceaccount.com'

A key file that other users can read is refused (POSIX only). Error messages name the file or the
variable, never the key's content, and no lower exception that could carry the content is chained
to them; the JSON is parsed in a helper that hands back only words (RELIABILITY.md row 14).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from google.auth.credentials import Credentials as AnyCredentials
from google.oauth2 import service_account

from sheetcrm.config import GoogleConfig, SecretRef
from sheetcrm.errors import ConfigError, InputError

__all__ = ["ENV_VAR", "SCOPES", "CredentialsError", "account_email", "load_credentials"]

#: What sheetcrm asks for: read and write spreadsheets, and find or create them in Drive.
SCOPES = ("https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive")

#: The environment variable Google's libraries read a key file's path from.
ENV_VAR = "GOOGLE_APPLICATION_CREDENTIALS"

_DOCS = "docs/config.md ([google], Secrets)"
_MAX_KEY_BYTES = 64 * 1024  # a key is about 2.3 KB; anything far larger is not one, so do not read it all
_REQUIRED_FIELDS = ("client_email", "private_key", "token_uri")
_KEY_HINT = (
    "sheetcrm needs a service account's JSON key: Cloud console → IAM & Admin → Service accounts → "
    f"(the account) → Keys → Add key → JSON; see {_DOCS}"
)
_Maker = Callable[[], service_account.Credentials]
_FRESH_KEY_HINT = "the key looks damaged: download a new JSON key for the service account (Keys → Add key → JSON)"


class CredentialsError(InputError):
    """The service-account key cannot be used: missing, readable by others, or not a service-account key."""


@dataclass(frozen=True)
class _Origin:
    """How the user pointed at the key, for messages: 'google.credentials', 'GOOGLE_APPLICATION_CREDENTIALS'."""

    label: str


def load_credentials(
    config: GoogleConfig | None,
    *,
    config_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> service_account.Credentials:
    """Service-account credentials (scopes: spreadsheets and drive) from the config or the environment.

    ``config_dir`` is the folder relative ``google.credentials`` paths are relative to (the config
    file's); ``environ`` is where variables are read (``os.environ`` unless a test says otherwise)::

        >>> creds = load_credentials(load_config().google, config_dir=Path("."))

    Raises :class:`~sheetcrm.errors.ConfigError` when no key is set, and :class:`CredentialsError`
    (an InputError) when the key cannot be used.
    """
    setting = config.credentials if config is not None else None
    if isinstance(setting, Path):
        return _from_file(_relative_to(setting, config_dir), _Origin("google.credentials"))
    if isinstance(setting, SecretRef):
        return _from_reference(setting, config_dir, environ)
    value = environ.get(ENV_VAR, "")
    if value.strip():
        return _from_variable(ENV_VAR, value, _Origin(ENV_VAR))
    raise ConfigError(
        "no Google service-account key: set google.credentials in sheetcrm.toml, "
        f"or the {ENV_VAR} environment variable, to the path of the key's JSON file",
        hint='google.credentials = "service-account.json" (relative to sheetcrm.toml) or { env = "NAME" }, '
        f"or export {ENV_VAR}=/path/to/key.json; see {_DOCS}",
    )


def account_email(credentials: AnyCredentials) -> str:
    """The service account's email, the address a spreadsheet must be shared with; '' if there is none.

    >>> account_email(creds)
    'crm-bot@my-project.iam.gserviceaccount.com'
    """
    email = getattr(credentials, "service_account_email", None)
    return email if isinstance(email, str) else ""


# --------------------------------------------------------------------------- where the key is


def _relative_to(path: Path, base: Path | None) -> Path:
    path = path.expanduser()
    if path.is_absolute():
        return path
    return (base if base is not None else Path.cwd()) / path


def _from_reference(ref: SecretRef, config_dir: Path | None, environ: Mapping[str, str]) -> service_account.Credentials:
    key = getattr(ref, "_key", "google.credentials") or "google.credentials"
    source = getattr(ref, "_source", None)
    where = f"{source}: " if source else ""
    if ref.file is not None:
        return _from_file(_relative_to(ref.file, config_dir), _Origin(f"{key} ({ref})"))
    assert ref.env is not None  # a SecretRef holds exactly one of env, file
    value = environ.get(ref.env)
    if value is None:
        raise ConfigError(
            f"{where}{key}: environment variable {ref.env} is not set",
            hint=f"set it to the path of the service account's JSON key (export {ref.env}=/path/to/key.json), "
            "or to the key's JSON itself",
        )
    if not value.strip():
        raise ConfigError(
            f"{where}{key}: environment variable {ref.env} is empty",
            hint=f"give {ref.env} the path of the service account's JSON key, or the key's JSON",
        )
    return _from_variable(ref.env, value, _Origin(f"{key} ({ref})"))


def _from_variable(name: str, value: str, origin: _Origin) -> service_account.Credentials:
    """A variable holds the key's JSON (it starts with ``{``) or a path to the key file."""
    text = value.strip()
    if text.startswith("{"):
        return _from_json(text, f"environment variable {name}")
    if "\n" in text or "PRIVATE KEY" in text or len(text) > 1024 or text.startswith(("ewog", "eyJ", "ew0K")):
        # Not a path, and possibly key material: describe it, never echo it.
        encoded = text.startswith(("ewog", "eyJ", "ew0K"))
        raise CredentialsError(
            f"environment variable {name} holds neither a path to a key file nor the key's JSON",
            hint=(
                f"it looks base64-encoded: decode it into a file (chmod 600) and set {name} to that file's path"
                if encoded
                else f"set {name} to the path of the service account's JSON key file"
            ),
        )
    return _from_file(Path(text).expanduser(), origin)


# --------------------------------------------------------------------------- reading the key


def _from_file(path: Path, origin: _Origin) -> service_account.Credentials:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CredentialsError(
            f"{path}: the service-account key file does not exist (set by {origin.label})",
            hint=f"check the path; {_KEY_HINT}",
        ) from None
    except OSError as exc:
        raise CredentialsError(f"{path}: cannot read the key file: {exc.strerror or type(exc).__name__}") from None
    if stat.S_ISDIR(info.st_mode):
        raise CredentialsError(f"{path}: is a folder, not a key file (set by {origin.label})")
    # Windows has no POSIX mode bits worth checking (its ACLs are another matter).
    if os.name != "nt" and info.st_mode & 0o077:
        raise CredentialsError(
            f"{path}: the key file is readable by other users",
            hint=f"chmod 600 {shlex.quote(str(path))}",
        )
    if info.st_size > _MAX_KEY_BYTES:
        raise CredentialsError(f"{path}: too large to be a service-account key ({info.st_size} bytes)", hint=_KEY_HINT)
    problem = _check_file(path)
    if problem is not None:
        raise CredentialsError(f"{path}: {problem[0]}", hint=problem[1])
    credentials = _build(
        lambda: service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(path), scopes=SCOPES
        )
    )
    if credentials is None:
        raise CredentialsError(f"{path}: the key's private_key is not a valid private key", hint=_FRESH_KEY_HINT)
    return credentials


def _from_json(text: str, where: str) -> service_account.Credentials:
    problem = _key_problem(text)
    if problem is not None:
        raise CredentialsError(f"{where}: {problem[0]}", hint=problem[1])
    credentials = _build(
        lambda: service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            json.loads(text), scopes=SCOPES
        )
    )
    if credentials is None:
        raise CredentialsError(f"{where}: the key's private_key is not a valid private key", hint=_FRESH_KEY_HINT)
    return credentials


def _check_file(path: Path) -> tuple[str, str | None] | None:
    """What is wrong with the key file, in words; None if it looks like a service-account key."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return "not a service-account key: not UTF-8 text", _KEY_HINT
    except OSError as exc:
        return f"cannot read the key file: {exc.strerror or type(exc).__name__}", None
    return _key_problem(text)


def _key_problem(text: str) -> tuple[str, str | None] | None:
    """What is wrong with a key's JSON, in words that quote none of it; None if it looks right.

    Only plain strings leave this function: the parsed key and the JSON error (whose ``doc`` is the
    whole text) stay inside it.
    """
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not a service-account key: not valid JSON (line {exc.lineno}, column {exc.colno})", _KEY_HINT
    except RecursionError:
        return "not a service-account key: not valid JSON", _KEY_HINT
    if not isinstance(info, dict):
        return "not a service-account key: the JSON is not an object", _KEY_HINT
    kind = info.get("type")
    if kind != "service_account":
        return _wrong_kind(info, kind), _KEY_HINT
    missing = [name for name in _REQUIRED_FIELDS if not (isinstance(info.get(name), str) and info[name].strip())]
    if missing:
        return f"the service-account key lacks {', '.join(missing)}", _FRESH_KEY_HINT
    return None


def _wrong_kind(info: dict[str, object], kind: object) -> str:
    if "installed" in info or "web" in info:
        return "an OAuth client secret (client_secret_….json), not a service-account key"
    if kind == "authorized_user":
        return "user credentials (from `gcloud auth application-default login`), not a service-account key"
    if kind == "external_account":
        return "a workload identity federation configuration, not a service-account key"
    if isinstance(kind, str) and re.fullmatch(r"[a-z_]{1,40}", kind):
        return f'a key of type "{kind}", not a service-account key (type "service_account")'
    if kind is None:
        return 'not a service-account key: no "type" field'
    return 'not a service-account key: "type" is not "service_account"'


def _build(make: _Maker) -> service_account.Credentials | None:
    """Run google-auth's constructor; None when it refuses the key.

    Its errors come from parsing the private key, so they are dropped, not chained or shown.
    """
    try:
        return make()
    except Exception:  # ValueError, TypeError, MalformedError, cryptography's errors: all mean "bad key"
        return None
