"""pytest fixtures for the fakes. Import the fixture into a test module (or a conftest) to use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.llm_server import API_KEY, FakeLLMServer
from tests.fakes.mail import SMTPServer
from tests.fakes.webhook import WebhookReceiver


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """A running fake provider with both SDKs' env vars pointing at it."""
    with FakeLLMServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.anthropic_base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.delenv("GATEHOUSE_LLM_TIMEOUT", raising=False)
        # A proxy set in the developer's shell must not swallow loopback traffic.
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield server


@pytest.fixture
def webhook_server() -> Iterator[WebhookReceiver]:
    """A running webhook receiver (tests.fakes.webhook): answers 204 unless told otherwise."""
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_server(settings) -> Iterator[SMTPServer]:
    """A running SMTP server (tests.fakes.mail) that this process's mail goes to, over Django's SMTP backend."""
    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
        yield server
