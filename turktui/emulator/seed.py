"""Deterministic seeded HIT data sets for the emulator.

:func:`build_hits` returns the same HITs for the same (count, seed, UTC day of
``now``). The first HITs are hand-written special cases (every situation an
operator meets: assignment counts around the 10 boundary, too-old HITs, expired,
Reviewable/Unassignable, hostile titles with markup, terminal escapes, control and
bidi characters, non-Latin text); the rest are realistic generated HITs, some with
work Submitted and awaiting review (``NumberOfAssignmentsSubmitted``, not a wire member:
the emulator keeps it beside the HIT and serves matching assignments).
"""

from __future__ import annotations

import calendar
import random
from typing import Any

from .ids import ALPHABET, hashed_id

DAY = 86400.0
_QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/'
    '2006-07-14/ExternalQuestion.xsd"><ExternalURL>https://tasks.example.com/{n}</ExternalURL>'
    "<FrameHeight>0</FrameHeight></ExternalQuestion>"
)
_QUALS: list[dict[str, Any]] = [
    {
        "QualificationTypeId": "00000000000000000071",
        "Comparator": "In",
        "LocaleValues": [{"Country": "US"}, {"Country": "CA"}, {"Country": "GB"}],
        "RequiredToPreview": False,
        "ActionsGuarded": "Accept",
    },
    {
        "QualificationTypeId": "000000000000000000L0",
        "Comparator": "GreaterThanOrEqualTo",
        "IntegerValues": [95],
        "RequiredToPreview": True,
        "ActionsGuarded": "PreviewAndAccept",
    },
    {
        "QualificationTypeId": "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH",
        "Comparator": "Exists",
        "ActionsGuarded": "DiscoverPreviewAndAccept",
    },
    {
        "QualificationTypeId": "00000000000000000040",
        "Comparator": "GreaterThan",
        "IntegerValues": [1000],
    },
    {
        "QualificationTypeId": "00000000000000000071",
        "Comparator": "EqualTo",
        "LocaleValues": [{"Country": "US", "Subdivision": "CA"}],
    },
]
_TASKS = [
    (
        "Transcribe a short receipt",
        "Type the store name, date and total from a receipt photo.",
        "transcription, receipt, data entry",
    ),
    (
        "Categorize a product image",
        "Choose the best category for the product in the picture.",
        "image, categorization, shopping",
    ),
    (
        "Rate the relevance of search results",
        "Read a query and five results, then rate how relevant each result is.",
        "search, relevance, rating",
    ),
    (
        "Answer a 5-minute survey about streaming habits",
        "A short academic survey. Attention checks included.",
        "survey, research, academic",
    ),
    (
        "Find the company website",
        "Search the web for the official website of a company.",
        "web search, research, url",
    ),
    (
        "Label sentiment of tweets",
        "Read ten short posts and label each positive, negative or neutral.",
        "sentiment, text, labeling",
    ),
    (
        "Draw bounding boxes around cars",
        "Draw a tight box around every car in the image.",
        "bounding box, image, annotation",
    ),
    (
        "Verify a business address",
        "Check whether the address matches the business listing.",
        "verification, address, maps",
    ),
    (
        "Write a one-sentence summary",
        "Summarize a news paragraph in one sentence.",
        "writing, summary, news",
    ),
    (
        "Transcribe a 30-second audio clip",
        "Listen and type exactly what is said.",
        "audio, transcription",
    ),
]
_REWARDS = [
    "0.01",
    "0.02",
    "0.05",
    "0.10",
    "0.12",
    "0.15",
    "0.20",
    "0.25",
    "0.35",
    "0.40",
    "0.50",
    "0.60",
    "0.75",
    "0.80",
    "1.00",
    "1.20",
    "1.50",
    "2.00",
    "2.50",
    "3.00",
    "4.00",
    "5.00",
]
_MAX_CHOICES = [1, 1, 1, 2, 3, 3, 3, 5, 5, 5, 5, 7, 9, 9, 10, 10, 15, 20, 25, 50, 100, 200]


def _utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))


def _special_cases(day0: float) -> list[dict[str, Any]]:
    """The hand-written cases; times relative to the start of the UTC day ``day0``."""
    live = day0 + 3 * DAY
    gone = day0 - 2 * DAY
    made = day0 - 5 * DAY
    out: list[dict[str, Any]] = []

    def add(
        title: str,
        max_a: int = 3,
        pending: int = 0,
        completed: int = 0,
        status: str = "Assignable",
        expiration: float = live,
        created: float = made,
        **extra: Any,
    ) -> None:
        out.append(
            {
                "Title": title,
                "MaxAssignments": max_a,
                "NumberOfAssignmentsPending": pending,
                "NumberOfAssignmentsCompleted": completed,
                "NumberOfAssignmentsAvailable": max(0, max_a - pending - completed),
                "HITStatus": status,
                "Expiration": expiration,
                "CreationTime": created,
                **extra,
            }
        )

    counts = {
        1: (0, 0),
        2: (1, 0),
        3: (0, 1),
        4: (1, 2),
        5: (0, 0),
        6: (2, 1),
        7: (0, 3),
        8: (3, 3),
        9: (1, 4),
    }
    for k, (pend, comp) in counts.items():
        noun = "assignment" if k == 1 else "assignments"
        add(
            f"Tag photos of street signs ({k} {noun})",
            k,
            pend,
            comp,
            Reward=["0.05", "0.10", "0.25", "0.50"][k % 4],
        )
    add(
        "Exactly 9 assignments, all done — no headroom below 10",
        9,
        0,
        9,
        "Reviewable",
        Reward="0.30",
    )
    add("Exactly 9 assignments, fresh — no headroom below 10", 9, 0, 0, Reward="0.40")
    add("Ten assignments (already at the 10 boundary)", 10, 2, 3, Reward="0.20")
    add("Twenty-five assignments", 25, 5, 10, Reward="0.15")
    add("One hundred assignments", 100, 10, 60, Reward="0.08")
    add("Large batch: 1000 assignments", 1000, 20, 400, Reward="0.05")
    add("Huge batch: 5000 assignments", 5000, 50, 1200, Reward="0.02")
    add("Near the ceiling: 999,990 assignments", 999_990, 0, 0, Reward="0.01")
    add(
        "Too old to extend (2014)",
        3,
        0,
        3,
        "Reviewable",
        expiration=_utc(2014, 3, 8),
        created=_utc(2014, 3, 1),
    )
    add(
        "Too old to extend (created 2015-07-21 23:59:59Z)",
        12,
        0,
        12,
        "Reviewable",
        expiration=_utc(2015, 7, 28),
        created=_utc(2015, 7, 21, 23, 59, 59),
    )
    add(
        "Created exactly 2015-07-22 00:00:00Z (extensible)",
        4,
        0,
        4,
        "Reviewable",
        expiration=_utc(2015, 7, 29),
        created=_utc(2015, 7, 22),
    )
    add("Expired, work left over", 5, 0, 2, "Reviewable", expiration=gone)
    add("Expired with pending work", 6, 2, 3, "Unassignable", expiration=gone)
    add("Expired, large", 40, 0, 31, "Reviewable", expiration=gone)
    add("Reviewable: all work submitted", 4, 0, 4, "Reviewable")
    add("Unassignable: every assignment taken", 3, 3, 0, "Unassignable")
    add("Assignable with pending and completed work", 8, 2, 3)
    add(
        "Long title: " + "Please read the following instructions very carefully before "
        "starting, as the task has several steps that must be completed in order, including "
        "opening the external survey, answering all questions honestly, and pasting the "
        "completion code back here when you are finished with everything",
        5,
        1,
        1,
    )
    add("[bold red]URGENT[/] Rich markup in a title [/bold] [dim]x[/dim]", 2, Reward="0.75")
    add("Click [link=http://x]here[/link] for [b]bonus[/b] \\[escaped]", 3)
    add("\x1b[31mRED ANSI title\x1b[0m and \x1b[2J clear screen", 2)
    add("OSC 52 clipboard \x1b]52;c;ZWNobyBwd25lZA==\x07 and title \x1b]0;pwned\x07", 2)
    add("C0/C1 controls: NUL\x00 BEL\x07 BS\x08 CR\r LF\n TAB\t DEL\x7f NEL\x85 CSI\x9b", 2)
    add("Bidi: \u202eevil.exe\u202c \u2066isolate\u2069 zero\u200bwidth \ufeffBOM", 2)
    add(
        "画像の分類タスク（日本語のタイトル）",
        5,
        1,
        1,
        Reward="0.30",
        Description="写真を見て、最も適切なカテゴリーを選んでください。",
        Keywords="画像, 分類",
    )
    add(
        "تصنيف الصور حسب المحتوى",
        4,
        0,
        1,
        Reward="0.20",
        Description="اختر الفئة المناسبة لكل صورة.",
        Keywords="صور, تصنيف",
    )
    add("Emoji 🎉👩‍💻🇯🇵 rate memes 😂", 6, 1, 2, Reward="0.10")
    add("Cheapest reward", 5, 0, 1, Reward="0.01")
    add("Most expensive reward", 9, 1, 1, Reward="5.00")
    add(
        "Requester annotation with markup",
        3,
        RequesterAnnotation="batch=[red]7[/red] \x1b[1mbold\x1b[0m",
    )
    add(
        "Qualification requirements (locale, approval rate, masters)",
        5,
        0,
        2,
        QualificationRequirements=_QUALS,
    )
    add("", 1, Description="", Keywords="")
    add(
        "Multi-line description",
        3,
        Description="Line one\nLine two with [bold]markup[/bold]\n\tand a tab\x1b[0m",
        Keywords="a,b,[c],\x1b[31md",
    )
    add("Very long description", 2, Description="Lorem ipsum dolor sit amet. " * 60)
    return out


def _ids(rng: random.Random) -> str:
    return "".join(rng.choices(ALPHABET, k=30))


def build_hits(count: int, seed: int, now: float) -> list[dict[str, Any]]:
    """``count`` HITs (wire dicts), identical for the same (count, seed, UTC day of now)."""
    if count <= 0:
        return []
    day0 = (now // DAY) * DAY
    rng = random.Random(seed)
    hits: list[dict[str, Any]] = []
    for i, case in enumerate(_special_cases(day0)[:count]):
        case.setdefault("Reward", "0.25")
        case.setdefault("Description", f"Special case #{i + 1}: {case['Title'][:60]}")
        case.setdefault("Keywords", "special, test")
        hits.append(case)
    types = [hashed_id(f"type|{seed}|{t[0]}") for t in _TASKS]
    groups = [hashed_id(f"group|{seed}|{t[0]}") for t in _TASKS]
    rand = rng.random
    choice = rng.choice
    for n in range(len(hits), count):
        t = int(rand() * len(_TASKS))
        title, desc, keywords = _TASKS[t]
        max_a = choice(_MAX_CHOICES)
        if rand() < 0.01:
            max_a = choice([500, 1000, 2500, 4000])
        created = day0 - rand() * 30 * DAY
        roll = rand()
        if roll < 0.70:  # Assignable
            pending = int(rand() * (max_a // 3 + 1))
            completed = int(rand() * (max_a - pending))
            if pending + completed >= max_a:
                completed = max(0, max_a - pending - 1)
            status, expiration = "Assignable", day0 + (2 + rand() * 12) * DAY
        elif roll < 0.80:  # Unassignable: all taken
            pending = max(1, int(rand() * max_a))
            completed = max_a - pending
            status, expiration = "Unassignable", day0 + (2 + rand() * 12) * DAY
        elif roll < 0.92:  # Reviewable: done or expired
            completed = int(rand() * (max_a + 1))
            pending = 0
            status = "Reviewable"
            expiration = (
                day0 + (2 + rand() * 5) * DAY
                if completed == max_a
                else created + rand() * (day0 - created) * 0.9 + 60
            )
        else:  # expired with work in flight
            pending = max(1, int(rand() * max_a))
            completed = int(rand() * (max_a - pending + 1))
            status = "Unassignable"
            expiration = created + rand() * (day0 - created) * 0.9 + 60
        hit: dict[str, Any] = {
            "HITId": _ids(rng),
            "HITTypeId": types[t],
            "HITGroupId": groups[t],
            "CreationTime": round(created, 3),
            "Title": f"{title} #{n + 1}",
            "Description": desc,
            "Question": _QUESTION.format(n=n + 1),
            "Keywords": keywords,
            "HITStatus": status,
            "MaxAssignments": max_a,
            "Reward": choice(_REWARDS),
            "AutoApprovalDelayInSeconds": 259200,
            "Expiration": round(expiration, 3),
            "AssignmentDurationInSeconds": choice([600, 1800, 3600, 7200]),
            "HITReviewStatus": "NotReviewed",
            "NumberOfAssignmentsPending": pending,
            "NumberOfAssignmentsAvailable": max(0, max_a - pending - completed),
            "NumberOfAssignmentsCompleted": completed,
        }
        if rand() < 0.3:
            hit["RequesterAnnotation"] = f"batch-{int(rand() * 50)}"
        if rand() < 0.25:
            hit["QualificationRequirements"] = [_QUALS[int(rand() * len(_QUALS))]]
        hits.append(hit)
    # give the special cases deterministic ids too (drawn after, so they do not
    # shift the generated ones when count changes)
    special_rng = random.Random(f"special|{seed}")
    for hit in hits:
        if "HITId" not in hit:
            hit["HITId"] = _ids(special_rng)
    n_special = min(count, len(_special_cases(day0)))
    for hit in hits[n_special:]:
        _split_submitted(hit, day0)
    return hits


def _split_submitted(hit: dict[str, Any], day0: float) -> None:
    """Turn part of a generated HIT's finished work into Submitted work awaiting review.

    Only where MTurk could show it all day long: the work must fit in the auto-approval
    window (submitted after ``day0 + 1 day − delay``, at the latest by ``day0``). Drawn from
    the HIT's own id, so the main sequence (and every other HIT) is unchanged.
    """
    done = hit["NumberOfAssignmentsCompleted"]
    if done <= 0:
        return
    latest = min(
        day0, max(hit["CreationTime"], hit["Expiration"]) + hit["AssignmentDurationInSeconds"]
    )
    earliest = max(hit["CreationTime"], day0 + DAY - hit["AutoApprovalDelayInSeconds"])
    if latest <= earliest:
        return
    rng = random.Random(f"submitted|{hit['HITId']}")
    if rng.random() < 0.4:
        return
    n = 1 + int(rng.random() * max(1, done // 3))
    hit["NumberOfAssignmentsCompleted"] = done - n
    hit["NumberOfAssignmentsSubmitted"] = n


def special_case_count() -> int:
    """How many hand-written special cases lead every data set."""
    return len(_special_cases(0.0))
