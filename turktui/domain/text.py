"""Make untrusted text (HIT titles, descriptions, service messages) safe to show literally.

Nothing here knows about Rich or Textual: the UI must still build `rich.text.Text` objects
instead of markup strings. This module only removes what a terminal would *act on*:
C0/C1 controls (ESC starts CSI/OSC sequences), bidi overrides and invisible format characters.
"""

from __future__ import annotations

import html
import re

# C0 controls become their visible "control picture" (U+2400 block): ESC shows as ␛.
_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)}
_C0_PICTURES[0x7F] = "\u2421"  # ␡

# Everything a terminal acts on or that reorders/hides text: C0/C1 controls (ESC starts
# CSI/OSC sequences), soft hyphen, Arabic letter mark, zero-width and bidi controls,
# line/paragraph separators, BOM, interlinear annotations, private-use and surrogates.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ue000-\uf8ff\ud800-\udfff\U000f0000-\U0010ffff]"
)


def _replace(match: re.Match[str], keep_newlines: bool) -> str:
    ch = match.group()
    code = ord(ch)
    if keep_newlines and code == 0x0A:
        return "\n"
    if keep_newlines and code == 0x09:
        return "    "
    if code < 0x20 or code == 0x7F:
        return _C0_PICTURES[code]
    return f"\u27e8U+{code:04X}\u27e9"  # ⟨U+202E⟩


def sanitize(text: object, *, keep_newlines: bool = False, max_length: int | None = None) -> str:
    """Return `text` with every control, escape and invisible character made visible.

    `keep_newlines` keeps LF (for wrapped detail views); tabs become spaces there.
    `max_length` truncates (counting characters) and ends with an ellipsis.
    Non-string input (a number where a string was expected) is converted with str().
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: _replace(m, keep_newlines), text)
    if max_length is not None and len(text) > max_length:
        text = text[: max(0, max_length - 1)] + "\u2026"
    return text


_UNSAFE_IN_DATA = re.compile(r"(?![\t\n\r])" + _UNSAFE.pattern)


def sanitize_data(text: str) -> str:
    """For a data file (CSV): every control made visible like `sanitize`, except TAB, LF
    and CR, which are data there (a CSV writer quotes them)."""
    return _UNSAFE_IN_DATA.sub(lambda m: _replace(m, False), text)


def one_line(text: object, max_length: int | None = None) -> str:
    """Sanitize for a single table cell: newlines and tabs become visible too."""
    return sanitize(text, keep_newlines=False, max_length=max_length)


# `scheme://` followed by userinfo (`user`, `user:password`) up to the last `@` before the
# host: dropped entirely. Keys and URL passwords never reach a file or the screen.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s?#]*@")
# A password given as a parameter: a URL's `?password=…`/`&password=…` or a libpq conninfo's
# `password=…` (quoted or not): its value is replaced.
_PASSWORD = re.compile(r"(?i)\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s#;]*)")


def redact(text: object) -> str:
    """`text` with the userinfo (`user:password@`) of every URL in it removed, and the value
    of every `password=` parameter (a database URL's or conninfo's) hidden. Pure."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if "@" in text and "://" in text:  # userinfo is only ever a URL's
        text = _USERINFO.sub(r"\1", text)
    if "=" in text:
        text = _PASSWORD.sub(r"\1***", text)
    return text


#: values `redact_obj` passes as they are (nothing in them to redact)
_PLAIN = frozenset({int, float, bool, type(None)})


def redact_obj(value: object) -> object:
    """`redact` applied to every string inside dicts/lists/tuples (for JSON output). A
    command's output is thousands of small values: the plain ones (numbers, None, text
    with neither "@" nor "=") are taken as they are, without a call each."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kind = type(v)
            if kind in _PLAIN or (kind is str and "@" not in v and "=" not in v):
                out[k] = v
            else:
                out[k] = redact_obj(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value


# The values of a QuestionFormAnswers document, in order: free text and selections.
_ANSWER_VALUE = re.compile(
    r"<(FreeText|SelectionIdentifier|OtherSelectionText)\b[^>]*>(.*?)</\1\s*>", re.S
)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
#: How much of an Answer document is read (MTurk's answers are small; a hostile one is not)
ANSWER_READ = 200_000
#: How much of the answers' text is kept
ANSWER_KEEP = 4_000


def answer_text(document: str) -> str:
    """The text of an assignment's Answer (a QuestionFormAnswers XML document) for showing:
    every FreeText and selection in order, joined with " \u00b7 ", entities decoded, each run
    of whitespace one space. Read with patterns, not an XML parser (nothing is expanded but
    character references); still untrusted text: show it with `one_line`, never as markup."""
    values = []
    for match in _ANSWER_VALUE.finditer(document[:ANSWER_READ]):
        raw = match.group(2)
        parts = _CDATA.split(raw)  # odd items: CDATA contents, taken literally
        text = "".join(
            part if i % 2 else html.unescape(_TAG.sub("", part)) for i, part in enumerate(parts)
        )
        text = _SPACE.sub(" ", text).strip()
        if text:
            values.append(text)
    return " \u00b7 ".join(values)[:ANSWER_KEEP]
