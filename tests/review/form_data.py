"""What a browser sends for a page's form, read from the page's HTML by the rules browsers follow, so a
test without a browser can submit a form exactly as it was shown: an untouched form must send back
what it showed, and a field's proposal must read back as the value it was."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# HTML's "valid floating-point number" and "valid date string": a number or date box whose value is
# not one shows (and sends) nothing.
_NUMBER = re.compile(r"-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?")
_DATE = re.compile(r"\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")


class _Form(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.data: list[tuple[str, str]] = []
        self.select: dict | None = None
        self.option: dict | None = None
        self.textarea: dict | None = None

    def _ours(self, attrs: dict) -> bool:
        return attrs.get("form") == self.form_id and bool(attrs.get("name"))

    def handle_starttag(self, tag: str, attrs_list: list) -> None:
        attrs = dict(attrs_list)
        if tag == "input" and self._ours(attrs):
            kind, value = attrs.get("type", "text"), attrs.get("value") or ""
            if kind == "checkbox":
                if "checked" in attrs:
                    self.data.append((attrs["name"], attrs.get("value") or "on"))
                return
            if (kind == "number" and not _NUMBER.fullmatch(value)) or (kind == "date" and not _DATE.fullmatch(value)):
                value = ""
            self.data.append((attrs["name"], value))
        elif tag == "select" and self._ours(attrs):
            self.select = {"name": attrs["name"], "options": []}
        elif tag == "option" and self.select is not None:
            self.option = {"value": attrs.get("value"), "selected": "selected" in attrs, "text": ""}
            self.select["options"].append(self.option)
        elif tag == "textarea" and self._ours(attrs):
            self.textarea = {"name": attrs["name"], "text": ""}

    def handle_data(self, data: str) -> None:
        if self.option is not None:
            self.option["text"] += data
        if self.textarea is not None:
            self.textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self.option = None
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            selected = [o for o in options if o["selected"]]
            chosen = selected[-1] if selected else options[0]  # none marked: a browser sends the first
            self.data.append((self.select["name"], chosen["text"] if chosen["value"] is None else chosen["value"]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the line break right after <textarea> and sends line breaks as CRLF.
            text = self.textarea["text"].removeprefix("\n")
            self.data.append((self.textarea["name"], text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self.textarea = None


def form_as_sent(html: str, form_id: str = "decide-form") -> dict[str, list[str]]:
    """{name: [values]} of the fields tied to `form_id` (by their form= attribute), as the browser would
    submit them untouched (a test client's post() takes such lists)."""
    parser = _Form(form_id)
    parser.feed(html)
    sent: dict[str, list[str]] = {}
    for name, value in parser.data:
        sent.setdefault(name, []).append(value)
    return sent
