from __future__ import annotations

from tests.review.fixtures import email_item, payment_item, payment_workflow, webhook_receiver  # noqa: F401  (fixtures)
