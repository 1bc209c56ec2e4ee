from __future__ import annotations

from tests.review.fixtures import (  # noqa: F401  (fixtures)
    dispatch_item,
    email_item,
    outreach_item,
    payment_item,
    payment_workflow,
    webhook_receiver,
)
