"""Talking to the Sheets and Drive APIs: sheetcrm's own retry policy, and Google's errors as sheetcrm errors.

gspread sends every API call through ``HTTPClient.request``; :class:`SheetsHttpClient` replaces it::

    gc = gspread.Client(creds, session=session)
    gc.http_client = SheetsHttpClient(creds, session, account_email=account_email(creds), source=key)
    gc.open_by_key(key).sheet1.get_all_values()        # retried on 429, errors are sheetcrm errors

What is retried (gspread's ``BackOffHTTPClient`` is not used: it ignores ``Retry-After``, has no jitter,
never gives up and repeats appends, see RELIABILITY.md rows 11 and 12):

- 429, and 403 rate-limit answers: always, Google refused the call before doing anything.
- A failure to connect (refused, DNS, connect timeout) or to refresh the access token: always, nothing was sent.
- 500/502/503/504, read timeouts and broken connections: only when the call is safe to repeat
  (:func:`is_idempotent`: reads, writes to explicit ranges, formatting-only ``batchUpdate``). Any other
  call raises :class:`WriteOutcomeUnknown` at once, since Google may have applied it.
- Sleeps are exponential backoff with full jitter, at least ``Retry-After``; :class:`RetryPolicy` caps
  the attempts and the total time, and a sleep that would pass the cap is not started.

The errors, each naming the spreadsheet and the API method, never a token or key::

    SheetcrmError
    └── GoogleError                      any failed call; ``method`` and ``status`` say which and how (exit 2)
        ├── QuotaExceeded                still 429 when the retry budget ran out (exit 2)
        ├── GoogleUnavailable            still 5xx / network errors when the budget ran out (exit 2)
        ├── WriteOutcomeUnknown          a write failed after it was sent; it may be applied (exit 3)
        ├── AuthenticationFailed (InputError)  401, or the key refused when refreshing the token
        ├── AccessDenied (InputError)          403: not shared with the service account, or API disabled
        ├── SpreadsheetNotFound (InputError)   404: no spreadsheet with that key
        └── RequestRejected (InputError)       400: Google refused the request as invalid
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import email.utils
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote, urlsplit

import requests
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from gspread.http_client import FileType, HTTPClient, ParamsType
from urllib3.exceptions import NameResolutionError, NewConnectionError

from sheetcrm.errors import InputError, SheetcrmError

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "IDEMPOTENT_BATCH_REQUESTS",
    "AccessDenied",
    "AuthenticationFailed",
    "GoogleError",
    "GoogleUnavailable",
    "QuotaExceeded",
    "RequestRejected",
    "RetryPolicy",
    "SheetsHttpClient",
    "SpreadsheetNotFound",
    "WriteOutcomeUnknown",
    "api_method",
    "is_idempotent",
]

log = logging.getLogger("sheetcrm.google")

#: A source of randomness for jitter: a ``random.Random`` or a ``random.random``-like function.
Rng: TypeAlias = random.Random | Callable[[], float]

# --------------------------------------------------------------------------- errors


class GoogleError(SheetcrmError):
    """A Google API call failed; ``method`` names it (``values.batchUpdate``), ``status`` is the HTTP status."""

    def __init__(self, message: str, *, hint: str | None = None, method: str = "", status: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.method = method
        self.status = status


class QuotaExceeded(GoogleError):
    """Google kept answering 429 (quota exceeded) until the retry budget ran out."""


class GoogleUnavailable(GoogleError):
    """Google kept failing (5xx, timeouts, no connection) until the retry budget ran out."""


class WriteOutcomeUnknown(GoogleError):
    """A write that is not safe to repeat failed after it was sent: Google may or may not have applied it.

    Not a :class:`~sheetcrm.errors.WriteRefused`: that family promises the workbook is untouched, and
    here it may not be. It exits 3 all the same, as a write that did not go as planned.
    """

    exit_code = 3


class AuthenticationFailed(InputError, GoogleError):
    """Google refused the service-account key (401, or the token refresh was refused)."""


class AccessDenied(InputError, GoogleError):
    """403: the spreadsheet is not shared with the service account, or the API is not enabled."""


class SpreadsheetNotFound(InputError, GoogleError):
    """404: there is no spreadsheet with that key (or it is hidden from the service account)."""


class RequestRejected(InputError, GoogleError):
    """400: Google refused the request as invalid, with its own message."""


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry, and the timeouts of each attempt.

    ``attempts`` counts every try (the first included); ``total_seconds`` caps the time spent on one
    call, sleeps included: a sleep that would pass it is not started. The ``n``-th retry (0-based)
    sleeps ``uniform(0, min(max_delay, base_delay * 2**n))``, or ``Retry-After`` if that is longer::

        >>> RetryPolicy(attempts=3, total_seconds=20).backoff_cap(4)
        16.0
    """

    attempts: int = 6
    total_seconds: float = 100.0
    base_delay: float = 1.0
    max_delay: float = 32.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1 (the first try counts)")
        for name in ("total_seconds", "base_delay", "max_delay"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RetryPolicy.{name} must be 0 or more")
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RetryPolicy.{name} must be more than 0")

    def backoff_cap(self, retry: int) -> float:
        """The longest the ``retry``-th retry (0 for the first) sleeps without a ``Retry-After``."""
        return float(min(self.max_delay, self.base_delay * 2.0 ** min(retry, 64)))

    def delay(self, retry: int, rng: Rng, retry_after: float | None = None) -> float:
        """Seconds to sleep before the ``retry``-th retry: full jitter, but at least ``retry_after``."""
        cap = self.backoff_cap(retry)
        drawn = rng.uniform(0.0, cap) if isinstance(rng, random.Random) else cap * rng()
        return drawn if retry_after is None else max(drawn, retry_after)


DEFAULT_RETRY_POLICY = RetryPolicy()

# --------------------------------------------------------------------------- naming and idempotency

_SHEETS_PATH = re.compile(r"/v4/spreadsheets(?:/(?P<id>[^/:]+))?(?P<rest>.*)$")
_DRIVE_PATH = re.compile(r"/(?:upload/)?drive/v\d+/files(?:/(?P<id>[^/]+))?(?P<rest>/.*)?$")
_VALUES_SUFFIX = re.compile(r":(append|clear)$")
_DRIVE_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}

# Calls that leave the same result however often they are applied: reads, and writes to explicit ranges.
_REPEATABLE = frozenset(
    {
        "spreadsheets.get",
        "spreadsheets.getByDataFilter",
        "values.get",
        "values.batchGet",
        "values.batchGetByDataFilter",
        "values.update",
        "values.batchUpdate",
        "values.batchUpdateByDataFilter",
        "values.clear",
        "values.batchClear",
        "values.batchClearByDataFilter",
    }
)

#: ``spreadsheets.batchUpdate`` requests that set state rather than add to it, so repeating them is harmless.
IDEMPOTENT_BATCH_REQUESTS = frozenset(
    {
        "updateCells",
        "repeatCell",
        "setDataValidation",
        "updateSheetProperties",
        "updateSpreadsheetProperties",
        "updateDimensionProperties",
        "updateBorders",
        "mergeCells",
        "unmergeCells",
        "setBasicFilter",
        "clearBasicFilter",
        "autoResizeDimensions",
    }
)


def api_method(method: str, url: str) -> str:
    """A readable name of the API method a request calls, as Google's reference names it.

    >>> api_method("POST", "https://sheets.googleapis.com/v4/spreadsheets/KEY/values/A1%3AB2:append")
    'values.append'
    >>> api_method("GET", "https://www.googleapis.com/drive/v3/files")
    'drive.files.list'
    """
    verb = method.upper()
    path = urlsplit(url).path
    sheets = _SHEETS_PATH.search(path)
    if sheets:
        return _sheets_method(verb, sheets["id"], sheets["rest"])
    drive = _DRIVE_PATH.search(path)
    if drive:
        return _drive_method(verb, drive["id"], drive["rest"] or "")
    return f"other.{verb}"


def _sheets_method(verb: str, spreadsheet_id: str | None, rest: str) -> str:
    if spreadsheet_id is None:
        return "spreadsheets.create" if verb == "POST" else f"spreadsheets.{verb}"
    if rest == "":
        return "spreadsheets.get" if verb == "GET" else f"spreadsheets.{verb}"
    if rest.startswith(":"):
        return "spreadsheets." + rest[1:]
    if rest.startswith("/values:"):
        return "values." + rest[len("/values:") :]
    if rest.startswith("/values/"):
        suffix = _VALUES_SUFFIX.search(rest)
        if suffix:
            return "values." + suffix[1]
        return {"GET": "values.get", "PUT": "values.update"}.get(verb, f"values.{verb}")
    if rest.startswith("/sheets/") and rest.endswith(":copyTo"):
        return "sheets.copyTo"
    if rest.startswith("/developerMetadata"):
        return "developerMetadata.search" if rest.endswith(":search") else "developerMetadata.get"
    return f"spreadsheets.{verb}"


def _drive_method(verb: str, file_id: str | None, rest: str) -> str:
    parts = [part for part in rest.split("/") if part]
    if not parts:
        resource, has_id = "files", file_id is not None
    elif len(parts) == 1 and parts[0] in ("copy", "export", "watch"):
        return f"drive.files.{parts[0]}"
    else:
        resource, has_id = parts[0], len(parts) > 1
    action = "list" if verb == "GET" and not has_id else _DRIVE_VERBS.get(verb, verb.lower())
    return f"drive.{resource}.{action}"


def is_idempotent(method: str, url: str, json: Mapping[str, Any] | None = None) -> bool:
    """Whether a request may be sent again after a 5xx or a timeout without changing the outcome.

    Reads, ``values.update``/``batchUpdate``/``clear``/``batchClear`` (explicit ranges) are; so is a
    ``spreadsheets.batchUpdate`` made only of :data:`IDEMPOTENT_BATCH_REQUESTS`. ``values.append``,
    ``addSheet``, ``insertDimension``, Drive ``files.create`` and the like are not: repeated, they add twice.

    >>> is_idempotent("POST", "https://sheets.googleapis.com/v4/spreadsheets/KEY:batchUpdate",
    ...               {"requests": [{"addSheet": {}}]})
    False
    """
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        return True
    name = api_method(verb, url)
    if name in _REPEATABLE:
        return True
    if name == "spreadsheets.batchUpdate" and json is not None:
        batch = json.get("requests")
        return isinstance(batch, list) and all(
            isinstance(item, Mapping) and item and set(item) <= IDEMPOTENT_BATCH_REQUESTS for item in batch
        )
    return False


# --------------------------------------------------------------------------- reading Google's answers

# Google's canonical status names, for answers whose body does not carry one.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_TRANSIENT = frozenset({500, 502, 503, 504})
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_API_DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured"})
_GENERIC_403 = "The caller does not have permission"
_MESSAGE_LIMIT = 500

# Defence in depth: Google's messages do not echo credentials, but nothing that looks like one gets through.
_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)", re.DOTALL)
_BEARER = re.compile(r"(?i)\bbearer\s+\S+")
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")
_LONG_OPAQUE = re.compile(r"[A-Za-z0-9+/=._-]{100,}")


def _scrub(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern in (_PEM, _BEARER, _JWT, _LONG_OPAQUE):
        text = pattern.sub("[redacted]", text)
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


@dataclass(frozen=True)
class _GoogleAnswer:
    """What an error response says: ``{"error": {"code", "message", "status", "errors"/"details"}}``."""

    status: int
    name: str
    message: str
    reasons: frozenset[str]


def _read_answer(response: requests.Response) -> _GoogleAnswer:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    message, name = "", ""
    reasons: set[str] = set()
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        name = str(error.get("status") or "")
        for key in ("errors", "details"):
            items = error.get(key)
            if isinstance(items, list):
                reasons.update(str(item["reason"]) for item in items if isinstance(item, dict) and "reason" in item)
    elif isinstance(error, str) and isinstance(body, dict):  # the OAuth shape: {"error": "...", "error_description"}
        message = str(body.get("error_description") or error)
    status = response.status_code
    return _GoogleAnswer(
        status=status,
        name=name or _STATUS_NAMES.get(status, str(response.reason or "").upper().replace(" ", "_")),
        message=message or str(response.reason or f"HTTP {status}"),
        reasons=frozenset(reasons),
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        # wall time on purpose: the date is the server's wall clock, not our monotonic one
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _walk(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it wraps (requests -> urllib3 -> socket), each once."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for link in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(link, BaseException):
                todo.append(link)


def _connect_failure(exc: BaseException, host: str, policy: RetryPolicy) -> str | None:
    """How connecting failed, if it did; None when the request may have been sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"{host}: no connection within {policy.connect_timeout:g} s"
    chain = list(_walk(exc))
    if any(isinstance(item, NameResolutionError) for item in chain):
        return f"{host}: cannot resolve the host name"
    if any(isinstance(item, ConnectionRefusedError) for item in chain):
        return f"{host}: connection refused"
    if any(isinstance(item, NewConnectionError) for item in chain):
        return f"{host}: cannot connect"
    return None


# --------------------------------------------------------------------------- the client


@dataclass(frozen=True)
class _Failure:
    """One failed attempt that retrying might cure."""

    kind: Literal["quota", "unavailable"]
    what: str  # "503 UNAVAILABLE", "sheets.googleapis.com: connection refused": no URL, no body
    sent: bool  # the request may have reached Google, so only a repeatable call may be sent again
    retry_after: float | None = None
    status: int | None = None


class SheetsHttpClient(HTTPClient):
    """gspread's HTTP client with sheetcrm's retry policy, timeouts, call counts and errors.

    Every call gets ``timeout=(connect_timeout, read_timeout)``; ``calls`` counts attempts per API
    method and ``retries`` the retries. ``sleep``, ``clock`` and ``rng`` are seams for tests.
    ``account_email`` and ``source`` (the spreadsheet as the user named it) go into error messages::

        gc = gspread.Client(creds, session=session)
        gc.http_client = SheetsHttpClient(creds, session, account_email=account_email(creds), source=key)
        with gc.http_client.idempotent(False):      # the backend knows better for this call
            ...
    """

    def __init__(
        self,
        auth: Credentials | None,
        session: requests.Session | None = None,
        *,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Rng = random.random,
        account_email: str | None = None,
        source: str = "",
    ) -> None:
        super().__init__(auth, session)  # type: ignore[arg-type]  # gspread allows auth=None with a session
        if session is not None and auth is not None:
            self.auth = auth  # gspread only keeps it without a session, but Client.expiry reads it
        self.policy = policy
        self.source = source
        self.account_email = account_email or _email_of(auth) or _email_of(getattr(self.session, "credentials", None))
        self.calls: collections.Counter[str] = collections.Counter()
        self.retries = 0
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._local = threading.local()  # the idempotent() override, per thread

    @property
    def calls_total(self) -> int:
        """Attempts sent over all API methods, retries included."""
        return sum(self.calls.values())

    @contextlib.contextmanager
    def idempotent(self, repeatable: bool = True) -> Iterator[None]:
        """Within the block, treat every call as safe to repeat (True) or not (False), whatever it looks like."""
        previous = getattr(self._local, "forced", None)
        self._local.forced = repeatable
        try:
            yield
        finally:
            self._local.forced = previous

    def request(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
        *,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send one API call, retrying as the policy allows; a non-2xx answer raises a :class:`GoogleError`.

        ``idempotent`` overrides :func:`is_idempotent` for this call (as :meth:`idempotent` does for a block).
        """
        name = api_method(method, endpoint)
        forced = idempotent if idempotent is not None else getattr(self._local, "forced", None)
        repeatable = forced if forced is not None else is_idempotent(method, endpoint, json)
        # requests reads upload file objects while preparing the first attempt; a second would send them empty
        resendable = files is None
        timeout = self.timeout if self.timeout is not None else (self.policy.connect_timeout, self.policy.read_timeout)
        where = self._where(endpoint)
        start = self._clock()
        tries = quota_answers = 0
        while True:
            tries += 1
            with self._lock:
                self.calls[name] += 1
            outcome = self._attempt(method, endpoint, params, data, json, files, headers, timeout, name, where)
            if isinstance(outcome, requests.Response):
                return outcome
            if isinstance(outcome, GoogleError):
                raise outcome  # raised outside any except block, so no lower exception is chained to it
            failure = outcome
            if failure.kind == "quota":
                quota_answers += 1
            if failure.sent and not repeatable:
                raise WriteOutcomeUnknown(
                    f"{where}: {name} failed after it was sent ({failure.what}); "
                    "Google may or may not have applied the write",
                    hint="open the spreadsheet to check; running the command again is safe: "
                    "sheetcrm reads the sheet again before it writes",
                    method=name,
                    status=failure.status,
                )
            elapsed = self._clock() - start
            if tries >= self.policy.attempts or not resendable:
                raise self._gave_up(failure, name, where, tries, elapsed, quota_answers)
            delay = self.policy.delay(tries - 1, self._rng, failure.retry_after)
            if elapsed + delay > self.policy.total_seconds:  # never start a sleep that would pass the cap
                raise self._gave_up(failure, name, where, tries, elapsed, quota_answers)
            log.debug(
                "retrying %s after %s (attempt %d of %d): sleeping %.2f s",
                name,
                failure.what,
                tries + 1,
                self.policy.attempts,
                delay,
            )
            with self._lock:
                self.retries += 1
            self._sleep(delay)

    # ---- one attempt

    def _attempt(
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None,
        data: bytes | None,
        json: Mapping[str, Any] | None,
        files: FileType,
        headers: MutableMapping[str, str] | None,
        timeout: float | tuple[float, float],
        name: str,
        where: str,
    ) -> requests.Response | _Failure | GoogleError:
        host = urlsplit(endpoint).hostname or "Google"
        # Each handler turns the exception into plain data; nothing keeps the exception (whose text
        # names the URL, query values included) or raises while it is being handled.
        try:
            response = self.session.request(
                method=method,
                url=endpoint,
                json=json,
                params=params,
                data=data,
                files=files,
                headers=headers,
                timeout=timeout,
            )
        except auth_exceptions.RefreshError as exc:
            if exc.retryable:  # google-auth already retried the token endpoint's 5xx itself
                return _Failure("unavailable", "the token endpoint failed", sent=False)
            return self._refresh_refused(exc, name, where)
        except auth_exceptions.TransportError:
            return _Failure("unavailable", "cannot reach Google to refresh the access token", sent=False)
        except requests.exceptions.SSLError:
            return GoogleUnavailable(
                f"{where}: the secure connection to {host} failed (TLS) for {name}",
                hint="a proxy or firewall may be intercepting HTTPS; check the network, or REQUESTS_CA_BUNDLE",
                method=name,
            )
        except requests.exceptions.ReadTimeout:
            return _Failure("unavailable", f"no answer within {self.policy.read_timeout:g} s", sent=True)
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            refused = _connect_failure(exc, host, self.policy)
            if refused is not None:
                return _Failure("unavailable", refused, sent=False)
            return _Failure("unavailable", f"{host}: the connection broke", sent=True)
        except requests.exceptions.RequestException as exc:  # a malformed request: retrying cannot help
            return GoogleError(f"{where}: cannot send {name}: {type(exc).__name__}", method=name)
        if response.ok:
            return response
        answer = _read_answer(response)
        retry_after = _retry_after(response.headers.get("Retry-After"))
        response.close()
        if answer.status == 429 or (answer.status == 403 and _rate_limited(answer)):
            what = f"{answer.status} {answer.name}"
            return _Failure("quota", what, sent=False, retry_after=retry_after, status=answer.status)
        if answer.status in _TRANSIENT:
            what = f"{answer.status} {answer.name}"
            return _Failure("unavailable", what, sent=True, retry_after=retry_after, status=answer.status)
        return self._translate(answer, name, where)

    # ---- errors

    def _where(self, endpoint: str) -> str:
        if self.source:
            return self.source
        path = urlsplit(endpoint).path
        found = _SHEETS_PATH.search(path) or _DRIVE_PATH.search(path)
        return unquote(found["id"]) if found and found["id"] else "Google Sheets"

    def _who(self) -> str:
        return f"the service account {self.account_email}" if self.account_email else "the service account"

    def _secrets(self) -> tuple[str | None, ...]:
        token = getattr(getattr(self.session, "credentials", None), "token", None)
        auth_token = getattr(getattr(self, "auth", None), "token", None)
        return (token if isinstance(token, str) else None, auth_token if isinstance(auth_token, str) else None)

    def _translate(self, answer: _GoogleAnswer, name: str, where: str) -> GoogleError:
        message = _scrub(answer.message, self._secrets())
        email_ = self.account_email or "the service account's email (client_email in its key)"
        status = answer.status
        if status == 401:
            return AuthenticationFailed(
                f"{where}: Google refused the credentials of {self._who()} (401 {answer.name})",
                hint=_NEW_KEY_HINT.format(email=email_),
                method=name,
                status=status,
            )
        if status == 403:
            if _api_disabled(answer):
                return AccessDenied(
                    f"{where}: the API is not enabled in the Cloud project of {self._who()}: {message}",
                    hint="enable the Google Sheets API and the Google Drive API in that project "
                    "(console.cloud.google.com → APIs & Services → Library), wait a few minutes, then run again",
                    method=name,
                    status=status,
                )
            if "storageQuotaExceeded" in answer.reasons:
                return AccessDenied(
                    f"{where}: {self._who()} has no Drive storage to create a spreadsheet in ({name})",
                    hint=f"create the spreadsheet yourself, share it with {email_} (Editor), and give sheetcrm its key",
                    method=name,
                    status=status,
                )
            detail = "" if message.rstrip(".") == _GENERIC_403 else f" (Google: {message})"
            return AccessDenied(
                f"{where}: {self._who()} may not read/write this spreadsheet{detail}",
                hint=f"share the spreadsheet with {email_} (Editor to let sheetcrm write)",
                method=name,
                status=status,
            )
        if status == 404:
            return SpreadsheetNotFound(
                f"{where}: no spreadsheet with that key (Google answered 404 to {name})",
                hint="check the key (the part between /d/ and /edit in the spreadsheet's URL) "
                f"and that the spreadsheet is shared with {email_}",
                method=name,
                status=status,
            )
        if status == 400:
            return RequestRejected(
                f"{where}: Google refused {name}: {message}",
                hint=_rejected_hint(message),
                method=name,
                status=status,
            )
        return GoogleError(
            f"{where}: Google answered {status} {answer.name} to {name}: {message}", method=name, status=status
        )

    def _refresh_refused(self, exc: auth_exceptions.RefreshError, name: str, where: str) -> AuthenticationFailed:
        first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "the token request was refused"
        reason = _scrub(first, self._secrets())
        email_ = self.account_email or "the service account's email (client_email in its key)"
        clock_skew = any(word in reason for word in ("iat", "exp ", "timeframe", "short-lived"))
        hint = (
            "the computer's clock looks wrong, and Google refuses keys signed at a time far from its own: "
            "set the clock right (turn on network time), then run again"
            if clock_skew
            else _NEW_KEY_HINT.format(email=email_)
        )
        return AuthenticationFailed(
            f"{where}: Google refused the key of {self._who()} when getting an access token: {reason}",
            hint=hint,
            method=name,
        )

    def _gave_up(
        self, failure: _Failure, name: str, where: str, tries: int, elapsed: float, quota_answers: int
    ) -> GoogleError:
        if failure.kind == "quota":
            return QuotaExceeded(
                f"{where}: Google Sheets answered 429 (quota exceeded) {quota_answers} times "
                f"over {elapsed:.0f} seconds ({name})",
                hint="wait a minute and run again; the Sheets API allows about 60 requests per minute per user",
                method=name,
                status=failure.status,
            )
        return GoogleUnavailable(
            f"{where}: Google did not complete {name}: {failure.what} ({tries} tries over {elapsed:.0f} seconds)",
            hint="Google may be having trouble, or the network is down: check the connection "
            "(and https://www.google.com/appsstatus), then run again",
            method=name,
            status=failure.status,
        )


_NEW_KEY_HINT = (
    "the key may have been revoked or deleted, or the service account disabled: create a new JSON key "
    "for {email} (Cloud console → IAM & Admin → Service accounts → Keys) and point google.credentials at it"
)


def _rate_limited(answer: _GoogleAnswer) -> bool:
    """Drive (and older Sheets) answers rate limits with 403 and a reason instead of 429."""
    return bool(answer.reasons & _RATE_LIMIT_REASONS) or answer.name == "RESOURCE_EXHAUSTED"


def _api_disabled(answer: _GoogleAnswer) -> bool:
    text = answer.message
    return (
        bool(answer.reasons & _API_DISABLED_REASONS)
        or "has not been used in project" in text
        or " is disabled" in text
        or "it is disabled" in text
    )


def _rejected_hint(message: str) -> str | None:
    if "Unable to parse range" in message:
        return "check that the sheet (tab) in the range exists; sheet names are case-sensitive"
    if "not supported for this document" in message:
        return (
            "the file is an Excel file stored in Drive, not a Google Sheet: open it in Google Sheets and use "
            "File → Save as Google Sheets, then use the new spreadsheet's key"
        )
    return None


def _email_of(credentials: object) -> str | None:
    email_ = getattr(credentials, "service_account_email", None)
    return email_ if isinstance(email_, str) and "@" in email_ else None
