"""Reminder mails: rendering digests from templates, and sending them to a real local SMTP server.

The server is aiosmtpd's ``Controller`` on 127.0.0.1 (a thread of this process); nothing of
smtplib or of sheetcrm is mocked. TLS tests make a self-signed certificate for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import logging
import ssl
import subprocess
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from conftest import Handler, free_port, smtp_server

from sheetcrm.config import SmtpConfig
from sheetcrm.errors import ConfigError, InputError
from sheetcrm.jobs.remind.model import Digest, Reminder, ReminderReason
from sheetcrm.jobs.remind.render import RenderedMail, as_email, render_digest
from sheetcrm.jobs.remind.smtp import Delivery, SmtpSender

TODAY = dt.date(2026, 11, 22)
OWNER = "lin@example.com"
SENDER = "CRM <crm@example.com>"
PASSWORD_ENV = "SHEETCRM_TEST_SMTP_PASSWORD"


def reminder(reason: ReminderReason, item: str, label: str, **fields: Any) -> Reminder:
    values: dict[str, Any] = {
        "recipient": OWNER,
        "sheet": "Customers",
        "row": 14,
        "due": dt.date(2026, 11, 2),
        "detail": "last touched 2026-09-01, 12 days past its 60-day review",
        "days": 12,
    }
    values.update(fields)
    return Reminder(reason=reason, item=item, label=label, **values)


@pytest.fixture
def digest() -> Digest:
    return Digest.of(
        OWNER,
        TODAY,
        [
            reminder(ReminderReason.BIRTHDAY, "C-000005", "王芳", row=5, due=TODAY, detail="birthday on 2026-11-25"),
            reminder(ReminderReason.STALE_CUSTOMER, "C-000014", "<b>Acme & Co</b>"),
            reminder(
                ReminderReason.OVERDUE_ORDER,
                "O-000007",
                "Order 7",
                sheet="Orders",
                row=8,
                due=dt.date(2026, 11, 20),
                detail="2 days past its due date, unpaid",
                customer="Zhang Wei",
            ),
            reminder(ReminderReason.FOLLOW_UP, "I-000003", "Call back about the quote", sheet="Interactions", row=3),
            reminder(ReminderReason.STALE_OPPORTUNITY, "P-000002", "Fleet renewal", sheet="Opportunities", row=2),
        ],
    )


# --------------------------------------------------------------------------- rendering


def test_render_english(digest: Digest) -> None:
    mail = render_digest(digest, workbook="crm.xlsx")

    assert mail.subject == "sheetcrm: 5 reminders for 2026-11-22"
    assert mail.text.startswith("Hello,\n")
    for r in digest.reminders:
        assert r.item in mail.text and r.item in mail.html
        assert r.label in mail.text
        assert r.cell in mail.text and r.cell in mail.html
    assert "- Order 7 (Zhang Wei), O-000007: due 2026-11-20, 2 days past its due date, unpaid [Orders!A8]" in mail.text
    # groups in the model's order, each under its title
    titles = ["Customers to update", "Follow-ups due", "Overdue orders", "Opportunities to review", "Birthdays"]
    assert [mail.text.index(title) for title in titles] == sorted(mail.text.index(title) for title in titles)
    assert "Anniversaries" not in mail.text  # empty groups are left out
    assert "crm.xlsx" in mail.text and "crm.xlsx" in mail.html


def test_render_escapes_html_but_not_text(digest: Digest) -> None:
    mail = render_digest(digest)

    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in mail.html
    assert "<b>Acme" not in mail.html
    assert "<b>Acme & Co</b>" in mail.text
    assert "http" not in mail.html  # no external resources: images, fonts, style sheets


def test_render_chinese(digest: Digest) -> None:
    mail = render_digest(digest, language="zh", workbook="crm.xlsx")

    assert mail.subject == "sheetcrm 提醒：2026-11-22 共 5 项"
    for title in ["需要更新的客户", "今日待跟进", "逾期订单", "需要跟进的商机", "生日"]:
        assert title in mail.text and title in mail.html
    for r in digest.reminders:
        assert r.item in mail.text and r.item in mail.html
    assert "王芳" in mail.text and "王芳" in mail.html
    assert "此摘要来自 crm.xlsx" in mail.text


def test_render_one_reminder_without_a_due_date() -> None:
    never = reminder(ReminderReason.STALE_CUSTOMER, "C-1", "Bob Lee", due=None, detail="never touched")
    mail = render_digest(Digest.of(OWNER, TODAY, [never]))

    assert mail.subject == "sheetcrm: 1 reminder for 2026-11-22"
    assert "- Bob Lee, C-1: never touched [Customers!A14]" in mail.text
    assert "None" not in mail.text and "None" not in mail.html


def test_team_template_replaces_only_its_own(tmp_path: Path, digest: Digest) -> None:
    (tmp_path / "subject.j2").write_text(
        "[CRM] {{ count }} for {{ recipient }}\n{{ reason_title[groups[0][0]] }}\n", encoding="utf-8"
    )

    mail = render_digest(digest, templates=tmp_path)

    assert mail.subject == "[CRM] 5 for lin@example.com Customers to update"  # one line, titles usable
    assert mail.text.startswith("Hello,\n")  # the shipped body
    assert "Customers to update" in mail.html


def test_team_template_with_a_syntax_error(tmp_path: Path, digest: Digest) -> None:
    (tmp_path / "digest.txt.j2").write_text("Hello\n{% for r in digest.reminders %}\n{{ r.item }}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        render_digest(digest, templates=tmp_path)

    assert str(tmp_path / "digest.txt.j2") + ":" in error.value.message
    assert "syntax" in error.value.message
    assert error.value.hint


@pytest.mark.parametrize(("line", "said"), [("{{ owner_name }}", "owner_name"), ("{{ count / 0 }}", "ZeroDivision")])
def test_team_template_failing_while_rendering(tmp_path: Path, digest: Digest, line: str, said: str) -> None:
    (tmp_path / "digest.html.j2").write_text(f"<p>Hi</p>\n<p>{line}</p>\n", encoding="utf-8")

    with pytest.raises(ConfigError) as error:
        render_digest(digest, templates=tmp_path)

    assert f"{tmp_path / 'digest.html.j2'}:2" in error.value.message
    assert said in error.value.message
    assert error.value.hint is not None and "reason_title" in error.value.hint


def test_unknown_language_and_missing_folder(tmp_path: Path, digest: Digest) -> None:
    with pytest.raises(ConfigError, match="'fr'") as error:
        render_digest(digest, language="fr")
    assert error.value.hint is not None and "en, zh" in error.value.hint

    with pytest.raises(ConfigError, match="does not exist"):
        render_digest(digest, templates=tmp_path / "missing")


def test_as_email_is_multipart_and_encodes_headers(digest: Digest) -> None:
    mail = render_digest(digest, language="zh")

    message = as_email(mail, sender=SENDER, recipient="林 <lin@example.com>")
    raw = message.as_bytes()

    assert raw.isascii()  # the Chinese subject and name are RFC 2047 words, the bodies base64
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Subject"] == mail.subject
    assert parsed["To"].addresses[0].display_name == "林"
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["Date"]
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_as_email_refuses_a_header_injection() -> None:
    mail = RenderedMail("s", "t", "<p>h</p>")
    with pytest.raises(InputError, match="cannot address"):
        as_email(mail, sender=SENDER, recipient="lin@example.com\r\nBcc: all@example.com")


# --------------------------------------------------------------------------- a real SMTP server


def smtp_config(port: int, **settings: Any) -> SmtpConfig:
    # no rate limit unless a test sets one: the default would space these sends 2 s apart in real time
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "sender": SENDER, "starttls": False, "timeout": 5}
    values["max_per_minute"] = 0
    return SmtpConfig(**{**values, **settings})


def message_to(recipient: str, subject: str = "sheetcrm: 1 reminder for 2026-11-22") -> EmailMessage:
    return as_email(RenderedMail(subject, "text\n", "<p>html</p>\n"), sender=SENDER, recipient=recipient)


def test_send_a_digest_over_plain_smtp(digest: Digest) -> None:
    handler = Handler()
    mail = render_digest(digest, language="zh", workbook="crm.xlsx")

    with smtp_server(handler) as port, SmtpSender(smtp_config(port)) as sender:
        delivery = sender.send(as_email(mail, sender=SENDER, recipient=OWNER))

    assert delivery == Delivery(OWNER, "sent")
    [got] = handler.received
    assert got.mail_from == "crm@example.com" and got.rcpt_tos == [OWNER]
    assert got.message["Subject"] == "sheetcrm 提醒：2026-11-22 共 5 项"
    text = got.message.get_body(preferencelist=("plain",))
    html = got.message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "王芳" in text.get_content() and "逾期订单" in text.get_content()
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html.get_content()


def test_a_refused_recipient_fails_and_the_next_is_still_sent() -> None:
    handler = Handler()

    with smtp_server(handler) as port, SmtpSender(smtp_config(port)) as sender:
        refused = sender.send(message_to("nobody@example.com"))
        accepted = sender.send(message_to(OWNER))

    assert refused.status == "failed"
    assert refused.error == "550 5.1.1 no such user here"
    assert accepted == Delivery(OWNER, "sent")
    assert [got.rcpt_tos for got in handler.received] == [[OWNER]]


def test_a_server_that_is_not_listening() -> None:
    with SmtpSender(smtp_config(free_port())) as sender:
        first = sender.send(message_to(OWNER))
        second = sender.send(message_to("other@example.com"))

    assert first.status == "failed" and "Connection refused" in first.error
    assert second.status == "failed" and second.error == first.error  # not tried again, no wait per mail


def test_config_errors_are_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"smtp\.host") as error:
        SmtpSender(SmtpConfig(sender=SENDER))
    assert error.value.hint is not None and "[smtp] host" in error.value.hint

    with pytest.raises(ConfigError, match=r"smtp\.sender"):
        SmtpSender(SmtpConfig(host="127.0.0.1"))

    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        SmtpSender(smtp_config(25, username="crm", password={"env": PASSWORD_ENV}))


def authenticator(
    server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"crm", b"s3cret pass")
    return AuthResult(success=good, handled=False)  # not handled: the server answers 535 itself


@pytest.mark.parametrize("password", ["s3cret pass", "wrong"])
def test_login(password: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    handler = Handler()
    monkeypatch.setenv(PASSWORD_ENV, password)
    caplog.set_level(logging.DEBUG, logger="sheetcrm.remind")

    # auth_require_tls=False: this server logs in over plain text, so the test needs no certificate
    with (
        smtp_server(handler, authenticator=authenticator, auth_require_tls=False) as port,
        SmtpSender(smtp_config(port, username="crm", password={"env": PASSWORD_ENV})) as sender,
    ):
        delivery = sender.send(message_to(OWNER, subject="Private subject"))

    if password == "wrong":
        assert delivery.status == "failed"
        assert "535" in delivery.error and "Authentication credentials invalid" in delivery.error
        assert handler.received == []
    else:
        assert delivery.status == "sent"
        assert [got.authenticated for got in handler.received] == [True]
    assert password not in caplog.text
    assert "Private subject" not in caplog.text


def test_rate_limit_spaces_the_sends() -> None:
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    handler = Handler()
    with smtp_server(handler) as port:
        config = smtp_config(port, max_per_minute=30)  # one every 2 seconds
        with SmtpSender(config, sleep=sleep, clock=lambda: now[0]) as sender:
            sender.send(message_to(OWNER))
            sender.send(message_to(OWNER))
            now[0] += 0.5  # half a second spent elsewhere counts towards the wait
            sender.send(message_to(OWNER))
            now[0] += 5
            sender.send(message_to(OWNER))

        with SmtpSender(smtp_config(port, max_per_minute=0), sleep=sleep, clock=lambda: now[0]) as unlimited:
            unlimited.send(message_to(OWNER))
            unlimited.send(message_to(OWNER))

    assert sleeps == [2.0, 1.5]
    assert len(handler.received) == 6


@dataclass
class DropAfterData(Handler):
    """Takes the message, then drops the connection instead of answering "250"."""

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        await super().handle_DATA(server, session, envelope)
        assert isinstance(server.transport, asyncio.Transport)
        server.transport.abort()
        return "250 OK"


@dataclass
class DropOnMail(Handler):
    """Drops the connection on the MAIL commands numbered in ``drop`` (1 is the first)."""

    drop: tuple[int, ...] = ()
    mails: int = 0

    async def handle_MAIL(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        self.mails += 1
        if self.mails in self.drop:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
        envelope.mail_from = address
        return "250 OK"


@dataclass
class SlowData(Handler):
    """Takes the message but answers long after the client stopped waiting."""

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(10)
        return "250 OK"


def test_a_connection_dropped_after_data_is_unknown() -> None:
    handler = DropAfterData()

    with smtp_server(handler) as port, SmtpSender(smtp_config(port)) as sender:
        dropped = sender.send(message_to(OWNER))
        again = sender.send(message_to(OWNER))  # reconnects

    assert dropped.status == "unknown" and "may have arrived" in dropped.error
    assert again.status == "unknown"
    assert len(handler.received) == 2  # both did arrive: "unknown" must not be taken as "failed"


def test_a_timeout_after_data_is_unknown() -> None:
    handler = SlowData()

    with smtp_server(handler) as port, SmtpSender(smtp_config(port, timeout=0.5)) as sender:
        delivery = sender.send(message_to(OWNER))

    assert delivery.status == "unknown"
    assert len(handler.received) == 1


def test_a_connection_dropped_before_data_is_failed_or_retried() -> None:
    handler = DropOnMail(drop=(1, 3))

    with smtp_server(handler) as port, SmtpSender(smtp_config(port)) as sender:
        fresh = sender.send(message_to("a@example.com"))  # MAIL 1 dropped on a new connection: certainly not sent
        first = sender.send(message_to("b@example.com"))  # MAIL 2, on a new connection
        # MAIL 3 dropped on the kept connection (an idle timeout, say): sent again on a new one
        retried = sender.send(message_to("c@example.com"))

    assert fresh.status == "failed" and "connection broke" in fresh.error
    assert (first.status, retried.status) == ("sent", "sent")
    assert [got.rcpt_tos for got in handler.received] == [["b@example.com"], ["c@example.com"]]


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key: (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _make_certificate_with_cryptography(cert, key)
    except ImportError:
        try:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-keyout", str(key), "-out", str(cert)],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot make a test certificate: no cryptography package and openssl failed ({exc})")
    return cert, key


def _make_certificate_with_cryptography(cert: Path, key: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    public = private.public_key()
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def test_starttls(certificate: tuple[Path, Path]) -> None:
    handler = Handler()
    tls = server_tls(certificate)

    with smtp_server(handler, tls_context=tls, require_starttls=True) as port:
        with SmtpSender(smtp_config(port, starttls=True, ca_file=certificate[0])) as sender:
            trusted = sender.send(message_to(OWNER))
        # without the certificate's authority the server is not trusted, and nothing is sent
        with SmtpSender(smtp_config(port, starttls=True)) as sender:
            untrusted = sender.send(message_to(OWNER))

    assert trusted == Delivery(OWNER, "sent")
    assert untrusted.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in untrusted.error
    assert len(handler.received) == 1


def test_starttls_refused_by_a_server_without_it() -> None:
    with smtp_server(Handler()) as port, SmtpSender(smtp_config(port, starttls=True)) as sender:
        delivery = sender.send(message_to(OWNER))

    assert delivery.status == "failed" and "starting TLS" in delivery.error  # never falls back to plain text


def test_implicit_ssl(certificate: tuple[Path, Path]) -> None:
    handler = Handler()

    with (
        smtp_server(handler, ssl_context=server_tls(certificate)) as port,
        SmtpSender(smtp_config(port, ssl=True, ca_file=certificate[0])) as sender,
    ):
        delivery = sender.send(message_to(OWNER))

    assert delivery == Delivery(OWNER, "sent")
    assert handler.received[0].message["To"] == OWNER
