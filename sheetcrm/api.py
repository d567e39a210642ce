"""Library entry points that tie the config to the workbook layer."""

from __future__ import annotations

from pathlib import Path

from sheetcrm.config import Config, load_config
from sheetcrm.errors import ConfigError
from sheetcrm.sync import workbook as _workbook
from sheetcrm.sync.workbook import Workbook


def open_workbook(source: str | Path | None = None, *, config: Config | str | Path | None = None) -> Workbook:
    """Open a workbook, with the sheet options and safety settings of a config.

    ``source`` is a path to ``.xlsx``/``.xlsm``/``.csv``, or a Google Sheet
    (``gsheets://KEY`` or its URL, with the key of ``[google] credentials``); without it, the config's
    ``workbook`` is used. ``config`` is a Config, a path to a sheetcrm.toml, or None for
    ``./sheetcrm.toml`` when present (defaults otherwise).

    >>> workbook = sheetcrm.open_workbook("crm.xlsx")
    >>> customers = workbook["Customers"]
    """
    settings = config if isinstance(config, Config) else load_config(config)
    chosen = source if source is not None else settings.workbook
    if chosen is None:
        where = settings.path or "sheetcrm.toml"
        raise ConfigError(
            f"{where}: no workbook given",
            hint='pass the workbook path, or set workbook = "crm.xlsx" in sheetcrm.toml',
        )
    header_rows = {t.sheet: t.header_row for t in settings.tables.values() if t.header_row is not None}
    return _workbook.open_workbook(
        chosen,
        header_rows=header_rows,
        backups=settings.safety.backups,
        lock_timeout=settings.safety.lock_timeout,
        google=settings.google,
        read_together=[t.sheet for t in settings.tables.values()],
        config_dir=settings.path.parent if settings.path is not None else None,
    )
