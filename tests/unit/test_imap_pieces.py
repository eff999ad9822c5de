"""UID sets, folder roles and BODYSTRUCTURE: the pure parts of the IMAP sync."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailwatch.core.backoff import Backoff
from mailwatch.core.bodystructure import choose_text_part
from mailwatch.core.folders import FolderInfo, map_folder_roles
from mailwatch.core.uidset import batches, compact


def expand(uidset: str) -> list[int]:
    out: list[int] = []
    for part in uidset.split(","):
        low, _, high = part.partition(":")
        out.extend(range(int(low), int(high or low) + 1))
    return out


def test_compact():
    assert compact([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert compact([5]) == "5" and compact([]) == ""


@given(
    st.lists(st.integers(1, 2**32 - 1), max_size=3000), st.integers(1, 600), st.integers(40, 4000)
)
def test_batches_cover_everything_in_order_within_limits(uids, max_count, max_chars):
    seen: list[int] = []
    for batch in batches(uids, max_count, max_chars):
        assert 1 <= len(batch) <= max_count
        assert len(compact(batch)) <= max(max_chars, 22)
        assert expand(compact(batch)) == batch
        seen.extend(batch)
    assert seen == sorted(set(uids))


def test_special_use_wins_then_names():
    folders = [
        FolderInfo("INBOX", ("\\HasNoChildren",), "/"),
        FolderInfo("Sent", (), "/"),
        FolderInfo("Gesendet", ("\\Sent",), "/"),
        FolderInfo("Drafts", (), "/"),
    ]
    assert map_folder_roles(folders) == {"inbox": "INBOX", "sent": "Gesendet", "drafts": "Drafts"}


def test_office365_and_localized_names():
    o365 = [
        FolderInfo(n, (), "/")
        for n in ("INBOX", "Sent Items", "Drafts", "Deleted Items", "Junk Email")
    ]
    assert map_folder_roles(o365) == {
        "inbox": "INBOX",
        "sent": "Sent Items",
        "drafts": "Drafts",
        "trash": "Deleted Items",
        "junk": "Junk Email",
    }
    ru = [FolderInfo(n, (), "/") for n in ("INBOX", "Отправленные", "Черновики")]
    assert map_folder_roles(ru)["sent"] == "Отправленные"
    dotted = [FolderInfo(n, (), ".") for n in ("INBOX", "INBOX.Sent", "INBOX.Drafts")]
    assert map_folder_roles(dotted) == {
        "inbox": "INBOX",
        "sent": "INBOX.Sent",
        "drafts": "INBOX.Drafts",
    }


def test_bodystructure_picks_first_plain_text():
    plain = (b"text", b"plain", (b"charset", b"koi8-r"), None, None, b"base64", 120, 3)
    html = (b"text", b"html", (b"charset", b"utf-8"), None, None, b"7bit", 300, 9)
    attachment = (
        b"text",
        b"plain",
        (b"name", b"a.txt"),
        None,
        None,
        b"7bit",
        10,
        1,
        None,
        (b"attachment", (b"filename", b"a.txt")),
    )
    structure = ([[html, plain], attachment], b"mixed")
    part = choose_text_part(structure)
    assert part is not None and (part.section, part.subtype, part.charset, part.encoding) == (
        "1.2",
        "plain",
        "koi8-r",
        "base64",
    )
    assert choose_text_part(html).section == "1"  # single-part message
    only_attachment = (
        [attachment, (b"application", b"pdf", None, None, None, b"base64", 10)],
        b"mixed",
    )
    assert choose_text_part(only_attachment) is None
    assert choose_text_part(None) is None and choose_text_part(()) is None


def test_backoff_grows_with_jitter_and_caps():
    backoff = Backoff(initial=1, maximum=60)
    delays = [backoff.next_delay() for _ in range(12)]
    assert 0.5 <= delays[0] <= 1 and all(d <= 60 for d in delays) and delays[-1] >= 30
    backoff.reset()
    assert backoff.next_delay() <= 1
