"""Send mails through the team's SMTP server, each send answered by a :class:`Delivery`.

    >>> with SmtpSender(config.smtp) as sender:
    ...     delivery = sender.send(message)
    >>> delivery.status
    'sent'

A problem with one message is a Delivery, never an exception, so one bad address does not
stop the others. What a status promises:

- ``"sent"``: the server accepted the message (250 after its data);
- ``"failed"``: the server certainly did not take it: it could not be reached, TLS or the
  login failed, it answered MAIL, RCPT or DATA with an error, or the connection broke
  before the message data was handed over. Sending it again later cannot make a copy;
- ``"unknown"``: the connection broke (or timed out) once the message data was being
  handed over, so the server may have accepted it. Treat it as maybe delivered.

The connection is opened on the first send and kept for the next ones. After it breaks,
the next send reconnects once; a connection (or login) that fails makes every later send of
this sender fail at once with the same error, rather than wait out a timeout per mail or
retry a rejected password until the account is locked.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from sheetcrm.config import SmtpConfig, resolve_secret
from sheetcrm.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["Delivery", "DeliveryStatus", "SmtpSender"]

# Counts and statuses only: never a message's subject, body or customer data, never the password;
# a recipient's address only at debug level.
log = logging.getLogger("sheetcrm.remind")

DeliveryStatus = Literal["sent", "failed", "unknown"]


@dataclass(frozen=True)
class Delivery:
    """What became of one message: ``status`` (see the module docs) and the server's or network's reason."""

    recipient: str
    status: DeliveryStatus
    error: str = ""


class _SMTP(smtplib.SMTP):
    """Notes when DATA begins: a connection lost before that certainly delivered nothing."""

    data_started = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class _SMTP_SSL(_SMTP, smtplib.SMTP_SSL):
    """Implicit TLS, noting DATA like :class:`_SMTP`."""


class SmtpSender:
    """Sends mails through the server of an :class:`SmtpConfig`, connecting on the first send.

    ``sleep`` and ``clock`` pace the sends (at most ``max_per_minute``); tests pass fakes::

        >>> with SmtpSender(config.smtp) as sender:
        ...     deliveries = [sender.send(message) for message in messages]

    Raises ConfigError at once when the config cannot work (no host, no sender, a password
    that cannot be read, an unreadable ``ca_file``); problems of the server or of a message
    are :class:`Delivery` results.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not config.host:
            raise ConfigError(
                "smtp.host is not set, so there is no mail server to send through",
                hint="set [smtp] host (and port) in sheetcrm.toml, or send reminders to the outbox channel",
            )
        if not config.sender:
            raise ConfigError(
                "smtp.sender is not set, so the mails would have no From address",
                hint='set [smtp] sender = "CRM <crm@example.com>" in sheetcrm.toml',
            )
        if config.username and config.password is None:
            raise ConfigError(
                "smtp.username is set but smtp.password is not",
                hint='set [smtp] password = { env = "SMTP_PASSWORD" }, or remove username to send without a login',
            )
        if config.password is not None and not config.username:
            raise ConfigError(
                "smtp.password is set but smtp.username is not", hint="set [smtp] username to the login's user name"
            )
        self._config = config
        self._host: str = config.host
        # Read now so that a missing secret stops the run before the first mail, not halfway.
        self._password = resolve_secret(config.password) if config.password is not None else None
        self._context = self._tls_context(config) if config.security != "none" else None
        self._sleep = sleep
        self._clock = clock
        self._smtp: _SMTP | None = None
        self._down: str | None = None  # why connecting failed; later sends fail with it at once
        self._last_handover: float | None = None
        self._counts: Counter[str] = Counter()

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def send(self, message: EmailMessage) -> Delivery:
        """Send ``message`` to its To address; never raises for a problem of the server or the message."""
        recipient = str(message.get("To", ""))
        if not recipient:
            return self._record(Delivery(recipient, "failed", "the message has no To address"))
        if self._down is not None:
            return self._record(Delivery(recipient, "failed", self._down), quiet=True)
        self._wait_for_rate_limit()
        for attempt in (1, 2):
            reused = self._smtp is not None
            smtp = self._smtp or self._connect()
            if smtp is None:
                assert self._down is not None  # _connect logged why it failed
                return self._record(Delivery(recipient, "failed", self._down), quiet=True)
            delivery, retry = self._hand_over(smtp, message, recipient)
            # A kept connection the server closed before our DATA (an idle timeout, a 421) delivered
            # nothing, so sending again on a fresh one cannot make a copy.
            if not (retry and reused and attempt == 1):
                break
            log.debug("the SMTP connection was closed by the server; reconnecting")
        return self._record(delivery)

    def close(self) -> None:
        """Quit the connection politely (QUIT) and log what was sent; sending again reconnects."""
        smtp, self._smtp, self._down = self._smtp, None, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()  # the server went away first; nothing left to say goodbye to
        if self._counts:
            log.info(
                "smtp: %d sent, %d failed, %d unknown",
                self._counts["sent"],
                self._counts["failed"],
                self._counts["unknown"],
            )
            self._counts.clear()

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file is not None else None)
        except OSError as exc:  # ssl.SSLError is an OSError too
            raise ConfigError(
                f"smtp.ca_file: cannot load {config.ca_file}: {exc.strerror or exc}",
                hint="point ca_file at the PEM file of the authority that signed the mail server's certificate",
            ) from None

    def _wait_for_rate_limit(self) -> None:
        """Space hand-overs at least 60/max_per_minute seconds apart, so no minute holds more than the limit."""
        per_minute = self._config.max_per_minute
        if per_minute and self._last_handover is not None:
            wait = self._last_handover + 60.0 / per_minute - self._clock()
            if wait > 0:
                self._sleep(wait)

    def _connect(self) -> _SMTP | None:
        config = self._config
        step = f"connecting to {self._host}:{config.port}"
        smtp: _SMTP | None = None
        try:
            if config.security == "ssl":
                smtp = _SMTP_SSL(self._host, config.port, timeout=config.timeout, context=self._context)
            else:
                smtp = _SMTP(self._host, config.port, timeout=config.timeout)
                if config.security == "starttls":
                    step = f"starting TLS with {self._host}:{config.port}"
                    smtp.starttls(context=self._context)
            if config.username:
                assert self._password is not None  # __init__ refuses a username without a password
                if config.security == "none":
                    log.warning("smtp: logging in without TLS; the password crosses the network unencrypted")
                step = f"logging in to {self._host} as {config.username}"
                smtp.login(config.username, self._password)
        except (smtplib.SMTPException, OSError) as exc:
            if smtp is not None:
                smtp.close()
            self._down = f"{step}: {_reason(exc)}"
            log.warning("smtp: %s", self._down)
            return None
        log.debug("smtp: connected to %s:%d (%s)", self._host, config.port, config.security)
        self._smtp = smtp
        return smtp

    def _hand_over(self, smtp: _SMTP, message: EmailMessage, recipient: str) -> tuple[Delivery, bool]:
        """One attempt: the delivery, and whether the server closed the connection before DATA."""
        smtp.data_started = False
        self._last_handover = self._clock()
        try:
            refused = smtp.send_message(message)
        except smtplib.SMTPServerDisconnected as exc:
            return self._broken(smtp, recipient, exc)
        except (smtplib.SMTPException, ValueError) as exc:  # refused by the server, or a message it cannot take
            closed = smtp.sock is None  # smtplib closes on 421 "service not available"
            if closed:
                self._drop()
            return Delivery(recipient, "failed", _reason(exc)), closed and not smtp.data_started
        except OSError as exc:  # after SMTPException, which is an OSError too: a reset, a timeout, a TLS error
            return self._broken(smtp, recipient, exc)
        if refused:  # only when a message has several recipients and some were refused
            shown = "; ".join(f"{address}: {_reason_of(code, text)}" for address, (code, text) in refused.items())
            return Delivery(recipient, "sent", f"refused for some recipients: {shown}"), False
        return Delivery(recipient, "sent"), False

    def _broken(self, smtp: _SMTP, recipient: str, exc: OSError) -> tuple[Delivery, bool]:
        """The connection broke: unknown once DATA had begun, else certainly not delivered."""
        self._drop()
        if smtp.data_started:
            error = f"the connection broke while the message was handed over ({_reason(exc)}); it may have arrived"
            return Delivery(recipient, "unknown", error), False
        return Delivery(recipient, "failed", f"the connection broke: {_reason(exc)}"), True

    def _drop(self) -> None:
        """Forget a broken connection without QUIT; the next send opens a new one."""
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _record(self, delivery: Delivery, *, quiet: bool = False) -> Delivery:
        """Count the delivery; ``quiet`` when its cause (a failed connection) was logged already."""
        self._counts[delivery.status] += 1
        if delivery.status != "sent" and not quiet:
            # The reason may quote the address back ("550 <lin@example.com>: no such user"): debug only.
            log.warning("smtp: a mail was not confirmed sent (%s)", delivery.status)
        log.debug("smtp: %s to %s%s", delivery.status, delivery.recipient, f": {delivery.error}" * bool(delivery.error))
        return delivery


def _reason(exc: BaseException) -> str:
    """The server's answer ("550 5.1.1 no such user") or the network's ("Connection refused")."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(_reason_of(code, text) for code, text in exc.recipients.values()) or "no recipient accepted"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reason_of(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, ssl.SSLError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _reason_of(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"
