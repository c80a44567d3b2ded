"""Issue 22, pure: what the assignments view and its review dialog show — an answer's text
(literally, from a QuestionFormAnswers document), the time to auto-approval, the refusals
judged before anything is sent, and the money words of approvals and bonuses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from turktui.domain import models
from turktui.domain.models import Assignment, BonusPayment, Hit
from turktui.domain.text import answer_text, one_line
from turktui.domain.timefmt import until_label
from turktui.pipeline.operations import APPROVE, BONUS, REJECT
from turktui.pipeline.reviewing import BonusQuote

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def _doc(*answers: str) -> str:
    inner = "".join(
        f"<Answer><QuestionIdentifier>q{i}</QuestionIdentifier>{a}</Answer>"
        for i, a in enumerate(answers)
    )
    return f'<?xml version="1.0"?><QuestionFormAnswers xmlns="x">{inner}</QuestionFormAnswers>'


def test_answer_text_is_the_free_text_literally() -> None:
    doc = _doc(
        "<FreeText>a &amp; b\n   c</FreeText>",
        "<FreeText><![CDATA[<b>[red]x[/red]</b> &amp;]]></FreeText>",
        "<SelectionIdentifier>opt1</SelectionIdentifier>",
        "<FreeText>\x1b[2J</FreeText>",
    )
    text = answer_text(doc)
    assert text.startswith("a & b c \u00b7 <b>[red]x[/red]</b> &amp; \u00b7 opt1")
    assert "\x1b" not in one_line(text) and "\u241b" in one_line(text)  # shown, never acted on
    assert answer_text("") == "" and answer_text("not xml") == ""
    assert len(answer_text(_doc("<FreeText>" + "x" * 10_000 + "</FreeText>"))) == 4_000
    raw = {"AssignmentId": "A1", "AssignmentStatus": "Submitted", "Answer": doc}
    assert Assignment.from_api(raw).answer == text


def test_answer_read_only_when_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing a HIT's work (approving it all reads 2,000 assignments) reads no answer; the
    text is read once, the first time it is shown, and is the same as read at once."""
    calls: list[str] = []

    def counted(document: str) -> str:
        calls.append(document)
        return answer_text(document)

    monkeypatch.setattr(models, "answer_text", counted)
    doc = _doc("<FreeText>yes</FreeText>")
    listed = [Assignment.from_api({"AssignmentId": f"A{i}", "Answer": doc}) for i in range(3)]
    assert calls == []
    assert listed[0].answer == listed[0].answer == "yes" and len(calls) == 1
    assert listed[0] == Assignment.from_api({"AssignmentId": "A0", "Answer": doc})  # read or not


def test_time_to_auto_approval() -> None:
    def at(seconds: float) -> str:
        return until_label(NOW + timedelta(seconds=seconds), NOW)

    assert at(2 * 86400 + 3 * 3600 + 59) == "in 2d 3h"
    assert at(5 * 3600 + 12 * 60) == "in 5h 12m"
    assert at(3600) == "in 1h" and at(40 * 60) == "in 40m" and at(20) == "in 20s"
    assert at(0) == "passed" and at(-5) == "passed"
    assert until_label(None, NOW) == "\u2014"


def test_refusals_judged_before_sending() -> None:
    auto = NOW - timedelta(minutes=1)
    submitted = Assignment("A1", worker_id="W1", status="Submitted", auto_approval_time=auto)
    # reject: past its AutoApprovalTime by MTurk's clock (named); unknown clock: MTurk decides
    refused = REJECT.status_refusal(submitted, {"feedback": "no"}, NOW)
    assert refused is not None and "AutoApprovalTime 2026-06-15 11:59:00 UTC" in refused.message
    assert REJECT.status_refusal(submitted, {}, None) is None
    assert REJECT.feedback_refusal({}) is not None  # required
    assert REJECT.feedback_refusal({"feedback": "x" * 1025}) is not None
    assert REJECT.feedback_refusal({"feedback": "bad\x07"}) is not None
    assert APPROVE.feedback_refusal({}) is None  # optional
    # approve: a rejected one needs the override; an approved one is already done
    rejected = Assignment("A2", worker_id="W2", status="Rejected")
    assert "explicit override" in APPROVE.status_refusal(rejected, {}, NOW).message  # type: ignore[union-attr]
    assert APPROVE.status_refusal(rejected, {"override_rejection": True}, NOW) is None
    done = APPROVE.status_refusal(Assignment("A3", status="Approved"), {}, NOW)
    assert done is not None and done.values["note"].startswith("Already approved")


def test_money_words() -> None:
    hit = Hit(hit_id="H1", title="t", reward=Decimal("1.00"), max_assignments=5)
    pairs = [
        (Assignment("A1", status="Submitted"), hit),
        (Assignment("A2", status="Approved"), hit),
        (Assignment("A3", status="Submitted"), hit),
    ]
    assert APPROVE.charge(pairs) == Decimal("2.40")  # reward + 20% fee, Submitted only
    pairs.append((Assignment("A4", status="Rejected"), hit))
    assert APPROVE.charge(pairs) == Decimal("2.40")
    assert APPROVE.charge(pairs, override_rejection=True) == Decimal("3.60")
    assert APPROVE.ask(2, Decimal("2.40")).startswith("Approve 2 assignments (about $2.40")
    assert REJECT.ask(1, Decimal(0)) == "Reject 1 assignment"
    quote = BonusQuote(Assignment("A1", worker_id="W1"), hit, Decimal(0), Decimal(0), None)
    quote = quote.at(Decimal("0.04"))
    assert (quote.fee, quote.total) == (Decimal("0.01"), Decimal("0.05"))  # the $0.01 minimum
    assert quote.short == "the available balance could not be read"
    rich = BonusQuote(
        quote.assignment,
        hit,
        Decimal(0),
        Decimal(0),
        Decimal("2.00"),
        earlier=(BonusPayment("W1", Decimal("1.00"), "A1", "thanks", NOW),),
    ).at(Decimal("2.00"))
    assert rich.short == "$2.40 (bonus + fee) is more than the available balance $2.00"
    assert rich.second.startswith("worker W1 already has 1 bonus(es) for this assignment")
    assert BONUS.ask([rich, rich]) == "Pay 2 bonuses of $2.00: $4.80 with MTurk's fee"
    assert BONUS.tally(1, 1) == "Paid 1 of 1 bonus." and APPROVE.tally(2, 3).startswith(
        "Approved 2 of 3 assignments"
    )
