"""Mail sent by a pass over many items (new-item notifications, cost alerts): one connection for the
pass, and no second wait in that pass for a mail server that could not be reached.

Django's backends open a connection per message unless given one, and each attempt to reach a
server that does not answer waits EMAIL_TIMEOUT (config/settings.py): a pass of fifty notifications
would wait fifty times, in a worker job or in the reconciler. `MailPass` opens the connection at the
first message and, once the server could not be reached, refuses the rest of the pass at once with
`MailServerUnreachable`, which means "certainly not sent", so the caller may leave those for its next
pass. Any other error is the backend's: `server_refused` (the server answered no: certainly not sent;
`refused_for_now` if only for now) or not (lost mid-message: it may have arrived).
"""

from __future__ import annotations

import contextlib
import smtplib

from django.core.mail import EmailMessage, get_connection


class MailServerUnreachable(Exception):
    """The message was not sent: the mail server could not be reached in this pass."""


_ANSWERED = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)


def connection_lost(exc: BaseException) -> bool:
    """Whether a backend's error says the connection failed (refused, timed out, dropped) rather than
    that the server answered with a refusal of this message (a bad recipient, a rejected body)."""
    return isinstance(exc, OSError) and not server_refused(exc)


def server_refused(exc: BaseException) -> bool:
    """Whether the server answered that it does not take this message: certainly not sent."""
    return isinstance(exc, _ANSWERED)


def refused_for_now(exc: BaseException) -> bool:
    """Whether the server's refusal is a temporary one (4xx: "try again later"), worth another try."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and 400 <= exc.smtp_code < 500


class MailPass:
    """`with MailPass() as mail: mail.send(message)` for each message of one pass."""

    def __init__(self) -> None:
        self._connection = None
        self.unreachable: BaseException | None = None  # why the server could not be reached, if so

    def send(self, message: EmailMessage) -> None:
        """Send one message. MailServerUnreachable: it was not sent (the server could not be reached,
        now or earlier in this pass). Any other error is the backend's, for a message that may or may
        not have reached the server."""
        if self.unreachable is not None:
            raise MailServerUnreachable(f"not sent: the mail server could not be reached ({self.unreachable})")
        if self._connection is None:
            connection = get_connection()
            try:
                connection.open()  # SMTP: connect, greeting, EHLO, TLS, login; nothing is sent yet
            except Exception as exc:
                self.unreachable = exc
                raise MailServerUnreachable(f"not sent: the mail server could not be reached ({exc})") from exc
            self._connection = connection
        message.connection = self._connection
        try:
            message.send()
        except Exception as exc:
            # Lost mid-message (whether this one arrived is unknown, and the next one would wait on the
            # same server), or 421 "closing the channel" (smtplib has closed it, so the next message
            # would fail as if lost mid-message, though it was never sent): the pass's mail ends here.
            if connection_lost(exc) or getattr(exc, "smtp_code", None) == 421:
                self.unreachable = exc
            raise

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # QUIT to a server that went away
                self._connection.close()
            self._connection = None

    def __enter__(self) -> MailPass:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
