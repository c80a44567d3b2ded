"""Untrusted text is made visible, never acted on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from turktui.domain.text import one_line, sanitize


def test_escape_sequences_become_visible() -> None:
    shown = one_line("a\x1b[31mred\x1b]52;c;aGk=\x07\x9b2J")
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert shown.startswith("a␛[31mred␛]52;c;aGk=␇")
    assert "⟨U+009B⟩" in shown


def test_bidi_and_zero_width_are_shown_as_code_points() -> None:
    shown = one_line("abc\u202edef\u200bghi\ufeff")
    assert shown == "abc⟨U+202E⟩def⟨U+200B⟩ghi⟨U+FEFF⟩"


def test_markup_and_non_latin_text_pass_through_unchanged() -> None:
    for text in ("[bold]x[/]", "[link=http://x]y", "日本語 العربية 🎉", "plain"):
        assert one_line(text) == text


def test_newlines_kept_only_when_asked() -> None:
    assert one_line("a\nb\tc") == "a␊b␉c"
    assert sanitize("a\nb\tc", keep_newlines=True) == "a\nb    c"


def test_truncation_ends_with_ellipsis() -> None:
    assert one_line("x" * 10_000, max_length=40) == "x" * 39 + "…"
    assert one_line(None) == ""
    assert one_line(42) == "42"


@settings(max_examples=500)
@given(st.text())
def test_nothing_a_terminal_acts_on_survives(text: str) -> None:
    shown = one_line(text)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in shown)
    assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in shown)


def test_redact_hides_database_passwords_in_urls_and_conninfo() -> None:
    from turktui.domain.text import redact

    cases = {
        "postgresql://ops:s3cret@db.example/turk?sslmode=require": (
            "postgresql://db.example/turk?sslmode=require"
        ),
        "postgresql://db/turk?sslmode=require&password=s3cret&x=1": (
            "postgresql://db/turk?sslmode=require&password=***&x=1"
        ),
        "host=db password='s3 cr\\'et' dbname=turk": "host=db password=*** dbname=turk",
        "PASSWORD = s3cret": "PASSWORD = ***",
        "no secret = here": "no secret = here",
    }
    for text, shown in cases.items():
        assert redact(text) == shown
        assert "s3" not in redact(text)


class _Text(str):
    """A str subclass (a StrEnum value, say): redacted like any text."""


_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(["ops@host", "https://u:p@h/x", "password=s3", "a=b", "http://x", "plain", ""]),
    st.text(alphabet="ab:/@=? p", max_size=12),
    st.builds(_Text, st.sampled_from(["https://u:p@h/", "password=x", "ok"])),
)


@settings(max_examples=80, deadline=None)
@given(
    st.recursive(
        _leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.tuples(inner, inner),
            st.dictionaries(st.text(max_size=3), inner, max_size=4),
        ),
        max_leaves=20,
    )
)
def test_redact_obj_redacts_every_text_as_redact_does(value: object) -> None:
    """redact_obj (which takes plain values as they are, without a call each) gives what
    `redact` applied to every text inside gives."""
    from turktui.domain.text import redact, redact_obj

    def each(v: object) -> object:
        if isinstance(v, str):
            return redact(v)
        if isinstance(v, dict):
            return {k: each(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [each(x) for x in v]
        return v

    assert redact_obj(value) == each(value)
    assert "p@" not in str(redact_obj({"k": "https://u:p@h/"}))
