"""Which folder is Sent and which is Drafts: SPECIAL-USE first, then well-known names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ROLE_FLAGS: dict[str, str] = {
    "\\sent": "sent",
    "\\drafts": "drafts",
    "\\junk": "junk",
    "\\trash": "trash",
}

# Names used by Outlook / Office 365 (also localized), Gmail, Dovecot and others.
FALLBACK_NAMES: dict[str, tuple[str, ...]] = {
    "sent": (
        "Sent Items",
        "Sent",
        "Sent Mail",
        "Sent Messages",
        "[Gmail]/Sent Mail",
        "Отправленные",
        "Отправленные элементы",
        "Elemente trimise",
        "Trimise",
        "Elementos enviados",
        "Enviados",
        "Gesendete Elemente",
        "Éléments envoyés",
    ),
    "drafts": (
        "Drafts",
        "[Gmail]/Drafts",
        "Черновики",
        "Ciorne",
        "Schițe",
        "Borradores",
        "Entwürfe",
        "Brouillons",
    ),
    "junk": ("Junk Email", "Junk", "Spam", "Нежелательная почта", "Spam-uri", "Correo no deseado"),
    "trash": ("Deleted Items", "Trash", "Удаленные", "Elemente șterse", "Elementos eliminados"),
}


@dataclass(frozen=True, slots=True)
class FolderInfo:
    name: str
    flags: tuple[str, ...]
    delimiter: str | None


def _strip_namespace(name: str, delimiter: str | None) -> str:
    if delimiter and name.upper().startswith("INBOX" + delimiter):
        return name[len("INBOX") + len(delimiter) :]
    return name


def map_folder_roles(folders: Sequence[FolderInfo]) -> dict[str, str]:
    """``{"inbox": name, "sent": name, "drafts": name, ...}`` for the roles that were found."""
    roles: dict[str, str] = {}
    for folder in folders:
        if folder.name.upper() == "INBOX":
            roles["inbox"] = folder.name
        for flag in folder.flags:
            role = ROLE_FLAGS.get(flag.lower())
            if role and role not in roles and "\\noselect" not in _lower(folder.flags):
                roles[role] = folder.name
    for role, names in FALLBACK_NAMES.items():
        if role in roles:
            continue
        by_name = {
            _strip_namespace(f.name, f.delimiter).casefold(): f.name
            for f in folders
            if "\\noselect" not in _lower(f.flags)
        }
        for candidate in names:
            if candidate.casefold() in by_name:
                roles[role] = by_name[candidate.casefold()]
                break
    return roles


def _lower(flags: Iterable[str]) -> set[str]:
    return {flag.lower() for flag in flags}
