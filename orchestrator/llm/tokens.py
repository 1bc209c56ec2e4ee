"""A small deterministic tokenizer estimate.

Used where no provider count exists: the demo model, budget pre-checks, and billing a stream that
was cut off before its usage chunk. It only has to be stable and roughly right (within ~30% of
BPE tokenizers on English prose), never exact.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestrator.llm.types import LLMRequest

# Words, numbers and single punctuation marks; BPE splits long words, hence the length bonus below.
_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
# Chat formats add a few tokens of framing per message (role markers, separators).
_PER_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    total = 0
    for piece in _PIECE.findall(text or ""):
        # Roughly one token per 4 characters of a long word, at least one per piece.
        total += max(1, (len(piece) + 3) // 4) if len(piece) > 6 else 1
    return total


def estimate_request_tokens(request: LLMRequest) -> int:
    return sum(_PER_MESSAGE_OVERHEAD + estimate_tokens(str(m.get("content", ""))) for m in request.messages)
