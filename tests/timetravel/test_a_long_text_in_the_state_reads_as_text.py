"""A document or an LLM's answer in a run's state reads as text on the checkpoint page: its line breaks
are breaks (not JSON's \\n escapes), its quotes plain, in a box that scrolls, cut after 4,000 characters
with the rest counted; short values keep their JSON form, so "" and null stay apart. Still escaped."""

from __future__ import annotations

import json

from django.utils.html import escape

from audit.templatetags.timetravel import state_tree
from orchestrator.history import state_at


def test_the_pipeline_s_document_shows_as_lines_of_text(client_for, engineer_user, pipeline_run):
    text = state_at(pipeline_run.pk, 3)["text"]
    assert "\n" in text and len(text) > 4000

    html = client_for(engineer_user).get(f"/runs/{pipeline_run.thread_id}/checkpoints/3/").content.decode()

    assert (f'<span class="key">text</span> <span class="muted">text · {len(text):,} characters</span>'
            f'<pre class="llm-text">{escape(text[:4000])}… ({len(text) - 4000:,} more characters)</pre>') in html
    assert escape(json.dumps(text[:200])[1:-1]) not in html, "the document is no longer shown as a JSON string"
    assert '<span class="key">model</span> <code>&quot;demo-small&quot;</code>' in html
    assert '<span class="key">language</span> <code>&quot;&quot;</code>' in html


def test_a_multi_line_text_stays_escaped():
    html = state_tree({"answer": "<script>alert(1)</script>\nSecond line", "empty": "", "none": None})

    assert ('<pre class="llm-text">&lt;script&gt;alert(1)&lt;/script&gt;\nSecond line</pre>') in html
    assert "<script>" not in html
    assert '<span class="key">empty</span> <code>&quot;&quot;</code>' in html
    assert '<span class="key">none</span> <code>null</code>' in html
