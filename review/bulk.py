"""Deciding several items at once: each item goes through review_decide on its own, so every
check (already decided, claims, four-eyes, separation of duties) applies exactly as for one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from review.models import Decision, ReviewItem
from review.permissions import decide_refusal, item_moved_away, may_decide, may_read_item
from review.services import DecisionError, DecisionInput, decision_text_check, review_decide

BULK_CAP = 200


@dataclass
class BulkResult:
    decided: list[ReviewItem] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (item id, why)


def items_decide_bulk(*, item_ids: list[int], actor: Any, decision: str, reason: str = "") -> BulkResult:
    """Approve or reject up to BULK_CAP items; the ones that cannot be decided are skipped, each with why."""
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise DecisionError("bulk decisions are approve or reject; open an item to edit it or respond.",
                            api_fields={"decision": "must be approve or reject in bulk; open an item to edit it or "
                                                    "respond"})
    # The API's `fields` name its body's keys; the inbox's bulk form shows the message.
    ids = list(dict.fromkeys(int(i) for i in item_ids))
    if not ids:
        raise DecisionError("select at least one item.", api_fields={"ids": "must hold at least one item id"})
    if len(ids) > BULK_CAP:
        raise DecisionError(f"{len(ids)} items selected; bulk decisions take at most {BULK_CAP} at once.",
                            api_fields={"ids": f"holds {len(ids)} item ids; send at most {BULK_CAP} at once"})
    if decision == Decision.REJECT and not reason.strip():
        raise DecisionError("a bulk rejection needs a reason: it is recorded on every item.",
                            {"reason": "Say why you reject these."})
    decision_text_check(DecisionInput(decision=decision, reason=reason).used())  # before any item is decided
    result = BulkResult()
    items = {item.pk: item for item in ReviewItem.objects.filter(pk__in=ids)}
    for pk in ids:
        item = items.get(pk)
        # An item the person may not read is skipped as one that is not there: the ids of other groups'
        # items are not to be probed (one escalated away from their group, they had: they are told).
        if item is None or not (may_read_item(actor, item) or item_moved_away(actor, item)):
            result.skipped.append((pk, "no such item"))
            continue
        if not may_decide(actor, item):
            result.skipped.append((pk, decide_refusal(actor, item)))
            continue
        try:
            result.decided.append(review_decide(item=item, actor=actor,
                                                decision=DecisionInput(decision=decision, reason=reason)))
        except DecisionError as exc:
            result.skipped.append((pk, str(exc)))
    return result
