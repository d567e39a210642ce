"""Open a Google spreadsheet: credentials, the HTTP session (Google's, or an emulator's), the backend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from sheetcrm.sync.gsheets.backend import GoogleSheetsBackend, spreadsheet_key

if TYPE_CHECKING:
    from sheetcrm.config import GoogleConfig

ENDPOINT_VARIABLE = "SHEETCRM_SHEETS_ENDPOINT"
"""Points sheetcrm at another Sheets API, e.g. ``sheetcrm emulator``'s ``http://127.0.0.1:8555``."""


def endpoint(google: GoogleConfig | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The Sheets API endpoint in use: the environment variable, else ``[google] endpoint``, else Google's (None)."""
    chosen = environ.get(ENDPOINT_VARIABLE) or (google.endpoint if google is not None else None)
    return chosen.rstrip("/") if chosen else None


def open_google_backend(
    source: str,
    *,
    google: GoogleConfig | None = None,
    config_dir: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    state_root: Path | None = None,
) -> GoogleSheetsBackend:
    """A backend for ``gsheets://KEY`` or a docs.google.com URL, authenticated with the service-account key.

    Nothing is sent until the first read: opening only checks the key file.
    """
    from google.auth.transport.requests import AuthorizedSession

    from sheetcrm.sync.gsheets.auth import account_email, load_credentials
    from sheetcrm.sync.gsheets.http import RetryPolicy, SheetsHttpClient
    from sheetcrm.testing.sheets_emulator import emulated_session

    key = spreadsheet_key(source)
    if key is None:
        raise ValueError(f"{source} is not a Google Sheets address")
    credentials = load_credentials(google, config_dir=config_dir, environ=environ)
    base = endpoint(google, environ)
    session = emulated_session(credentials, base) if base else AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    policy = RetryPolicy()
    if google is not None:
        policy = RetryPolicy(
            attempts=google.retry_attempts, total_seconds=google.retry_seconds, read_timeout=google.timeout
        )
    client = SheetsHttpClient(
        credentials, session, policy=policy, account_email=account_email(credentials), source=f"gsheets://{key}"
    )
    return GoogleSheetsBackend(key, client, state_root=state_root)


__all__ = ["ENDPOINT_VARIABLE", "endpoint", "open_google_backend"]
