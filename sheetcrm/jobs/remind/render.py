"""Turn one owner's :class:`~sheetcrm.jobs.remind.model.Digest` into the mail they read.

Three Jinja2 templates make a mail: ``subject.j2``, ``digest.txt.j2`` and ``digest.html.j2``.
The shipped ones live in ``templates/<language>/``; a team's folder (``[reminders] templates``)
is searched first, so a team can replace one of them and keep the others::

    >>> mail = render_digest(digest, language="zh", workbook="crm.xlsx")
    >>> mail.subject
    'sheetcrm 提醒：2026-11-22 共 5 项'
    >>> message = as_email(mail, sender="CRM <crm@example.com>", recipient=digest.recipient)

Templates see ``digest``, ``groups`` (``digest.by_reason()``: pairs of reason and reminders),
``today``, ``recipient``, ``count``, ``workbook`` (the workbook's file name) and
``reason_title`` (the heading of each reason in the digest's language).
"""

from __future__ import annotations

import email.utils
import functools
import traceback
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import jinja2

from sheetcrm.errors import ConfigError, InputError
from sheetcrm.jobs.remind.model import Digest, ReminderReason

__all__ = ["REASON_TITLES", "TEMPLATE_NAMES", "RenderedMail", "as_email", "render_digest"]

TEMPLATE_NAMES = ("subject.j2", "digest.txt.j2", "digest.html.j2")
"""The templates a mail is made of; a team folder may hold any of them."""

REASON_TITLES: dict[str, dict[ReminderReason, str]] = {
    "en": {
        ReminderReason.STALE_CUSTOMER: "Customers to update",
        ReminderReason.FOLLOW_UP: "Follow-ups due",
        ReminderReason.OVERDUE_ORDER: "Overdue orders",
        ReminderReason.STALE_OPPORTUNITY: "Opportunities to review",
        ReminderReason.BIRTHDAY: "Birthdays",
        ReminderReason.ANNIVERSARY: "Anniversaries",
    },
    "zh": {
        ReminderReason.STALE_CUSTOMER: "需要更新的客户",
        ReminderReason.FOLLOW_UP: "今日待跟进",
        ReminderReason.OVERDUE_ORDER: "逾期订单",
        ReminderReason.STALE_OPPORTUNITY: "需要跟进的商机",
        ReminderReason.BIRTHDAY: "生日",
        ReminderReason.ANNIVERSARY: "纪念日",
    },
}
"""The heading of each reason's group, per shipped language (``reason_title`` in templates)."""

_SHIPPED = Path(__file__).parent / "templates"
_VARIABLES = "digest, groups, today, recipient, count, workbook, reason_title"


@dataclass(frozen=True)
class RenderedMail:
    """A digest as words: the subject line, the plain-text body and the HTML body."""

    subject: str
    text: str
    html: str


def render_digest(
    digest: Digest, *, language: str = "en", templates: Path | None = None, workbook: str = ""
) -> RenderedMail:
    """Render ``digest`` with the team's templates (when given) over the shipped ones of ``language``.

    A template that does not parse or uses an unknown variable is a ConfigError naming the file::

        >>> render_digest(digest, language="en", workbook="crm.xlsx").subject
        'sheetcrm: 5 reminders for 2026-11-22'
    """
    environment = _environment(language, Path(templates) if templates is not None else None)
    context = {
        "digest": digest,
        "groups": digest.by_reason(),
        "today": digest.today,
        "recipient": digest.recipient,
        "count": len(digest),
        "workbook": workbook,
        "reason_title": REASON_TITLES[language],
    }
    subject, text, html = (_render(environment, name, context, templates) for name in TEMPLATE_NAMES)
    # A subject is one header line: a template's line breaks would break the header (or inject one).
    subject = " ".join(subject.split())
    if not subject:
        raise ConfigError(
            "subject.j2 rendered an empty subject", hint="make the template print at least the date or the count"
        )
    return RenderedMail(subject=subject, text=text.strip() + "\n", html=html.strip() + "\n")


def as_email(mail: RenderedMail, *, sender: str, recipient: str, message_id_domain: str | None = None) -> EmailMessage:
    """The mail as a multipart/alternative message (text, then HTML), ready for SMTP or a .eml file.

    ``message_id_domain`` defaults to the sender's domain, so no DNS look-up is needed::

        >>> as_email(mail, sender="CRM <crm@example.com>", recipient="lin@example.com")["Message-ID"]
        '<173...@example.com>'
    """
    message = EmailMessage()  # the default policy encodes non-ASCII headers (RFC 2047) and bodies
    try:
        message["Subject"] = mail.subject
        message["From"] = sender
        message["To"] = recipient
    except (ValueError, IndexError) as exc:  # a line break in an address, or an address that does not parse
        raise InputError(
            f"cannot address the mail from {sender!r} to {recipient!r}: {exc}",
            hint="check the owner's e-mail address in the sheet and [smtp] sender in sheetcrm.toml",
        ) from None
    message["Date"] = email.utils.formatdate(localtime=True)
    domain = message_id_domain or email.utils.parseaddr(sender)[1].rpartition("@")[2] or "sheetcrm.invalid"
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


@functools.lru_cache(maxsize=8)
def _environment(language: str, templates: Path | None) -> jinja2.Environment:
    """One environment per language and team folder, cached so each template is compiled once per run."""
    shipped = sorted(folder.name for folder in _SHIPPED.iterdir() if (folder / "subject.j2").is_file())
    if language not in shipped or language not in REASON_TITLES:
        raise ConfigError(
            f"reminders.language: no templates for language {language!r}",
            hint=f"use one of the shipped languages: {', '.join(shipped)}",
        )
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        if not templates.is_dir():
            raise ConfigError(
                f"reminders.templates: the folder {templates} does not exist",
                hint="create it with any of " + ", ".join(TEMPLATE_NAMES) + ", or remove the setting",
            )
        loaders.append(jinja2.FileSystemLoader(templates))
    loaders.append(jinja2.FileSystemLoader(_SHIPPED / language))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # HTML templates are escaped, so a customer named "<b>Acme & Co</b>" stays text; text ones are not.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a silently empty line
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(environment: jinja2.Environment, name: str, context: dict[str, object], team: Path | None) -> str:
    try:
        return environment.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise ConfigError(
            f"{where}:{exc.lineno}: template syntax error: {exc.message}",
            hint="fix the template (Jinja2 syntax: {{ value }}, {% for ... %}...{% endfor %})",
        ) from None
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(
            f"{name}: template {exc.name!r} not found", hint=f"put {exc.name} in the team's templates folder"
        ) from None
    except Exception as exc:
        filename, line = _template_position(exc)
        in_team = team is not None and filename is not None and Path(filename).is_relative_to(team)
        if not isinstance(exc, jinja2.TemplateError) and not in_team:
            raise  # a bug in sheetcrm's own code or templates, not in the team's
        where = f"{filename}:{line}" if filename is not None else name
        message = exc.message if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
        raise ConfigError(
            f"{where}: template error: {message}", hint=f"the variables a template can use are {_VARIABLES}"
        ) from None


def _template_position(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost template file and line of a rendering error.

    Jinja2 rewrites the traceback of a rendering error so that frames of template code carry
    the template's file name and line (and ``__jinja_exception__`` in their globals); the
    last such frame is where the template went wrong.
    """
    position: tuple[str | None, int | None] = (None, None)
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if "__jinja_exception__" in frame.f_globals:
            position = (frame.f_code.co_filename, line)
    return position
