"""A mail server that cannot be reached holds back no webhook: the webhook goes at once, the e-mail
waits, and once the server is back the next pass mails it, once, without posting the webhook again."""

from __future__ import annotations

from review.notifications import items_notify
from tests.deliveries import deliveries_of
from tests.fakes.mail import SMTPServer, free_port


def test_the_webhook_goes_while_mail_is_down_and_the_email_follows_once_it_is_back(
        email_item, reviewer_user, settings, webhook_server):
    settings.GATEHOUSE_REVIEW_WEBHOOK_URL = webhook_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5

    item = email_item()  # the worker tells people at once; nothing listens for mail

    assert [body["item"] for body in webhook_server.bodies] == [item.pk]
    assert deliveries_of("review", item.pk)["email"].note.startswith("E-mail waiting: not sent: the mail server")
    assert items_notify() == 0, "still down: still waiting, the webhook is not posted again"

    with SMTPServer() as server:
        settings.EMAIL_PORT = server.port
        assert items_notify() == 1
        assert items_notify() == 0

    [message] = server.accepted
    assert message["X-Gatehouse-Item"] == str(item.pk) and "send_email" in message["Subject"]
    assert len(webhook_server.requests) == 1
