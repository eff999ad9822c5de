"""A throw-away Dovecot IMAP server for integration tests.

Why Dovecot: it is a real, strict IMAP server, and by overriding ``imap_capability`` it can
pretend to be Exchange Online (no CONDSTORE/QRESYNC, no SPECIAL-USE), the server mailwatch
must cope with in production. Each :class:`DovecotServer` lives in its own temp dir with its
own ``base_dir``/``state_dir``/log and listens on a free loopback port, so several can run
side by side and nothing touches the system's Dovecot.

Must run as root: Dovecot refuses uid 0 for mail access, so mail is stored as the ``mail``
user (``mail_uid = mail``, ``first_valid_uid = 8``).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import psutil
from imapclient import IMAPClient

from tests.servers.common import (
    free_port,
    kill_leftovers,
    run_checked,
    scratch_dir,
    wait_for_port,
    wait_gone,
)

Profile = Literal["full", "o365"]

#: What Exchange Online advertises after login. Dovecot adds ``AUTH=PLAIN`` itself before
#: login (auth_mechanisms), so clients can still log in.
O365_CAPABILITY = "IMAP4rev1 IDLE UIDPLUS LITERAL+ SASL-IR ID UNSELECT CHILDREN NAMESPACE MOVE"

#: Folders every user gets, auto-created and subscribed, with their RFC 6154 attribute.
#: "Sent Items" (not "Sent") because that is Exchange's name, the hard case for clients.
SPECIAL_FOLDERS: dict[str, str] = {
    "Sent Items": "\\Sent",
    "Drafts": "\\Drafts",
    "Junk": "\\Junk",
    "Trash": "\\Trash",
}

DEFAULT_PASSWORD = "secret"
DEFAULT_USERS: dict[str, str] = {
    "sales@example.com": DEFAULT_PASSWORD,
    "support@example.com": DEFAULT_PASSWORD,
}

#: Hierarchy separator of the inbox namespace; "/" like Exchange Online.
SEPARATOR = "/"

_MAILDIR_FLAG_LETTERS = {
    "\\draft": "D",
    "\\flagged": "F",
    "\\answered": "R",
    "\\seen": "S",
    "\\deleted": "T",
}
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_+=-][A-Za-z0-9._+=@-]{0,200}$")
_APPENDUID_RE = re.compile(rb"APPENDUID\s+(\d+)\s+(\d+)", re.IGNORECASE)
_bulk_counter = itertools.count(1)

Flag = bytes | str


def _flag_str(flag: Flag) -> str:
    return flag.decode("ascii") if isinstance(flag, bytes) else flag


@dataclass(frozen=True)
class RecreatedFolder:
    """Result of :meth:`DovecotServer.recreate_folder_with_new_uidvalidity`."""

    old_uidvalidity: int
    new_uidvalidity: int
    #: old UID -> new UID of every message that was in the folder
    uid_map: dict[int, int]


@dataclass(frozen=True)
class ImapAccount:
    """One mailbox on a running :class:`DovecotServer`: everything a test needs to log in."""

    host: str
    port: int
    username: str
    password: str
    server: DovecotServer

    def client(self, timeout: float = 10.0) -> IMAPClient:
        """A logged-in IMAPClient talking to the server directly."""
        return self.server.client(self.username, timeout=timeout)

    def connect_via(self, host: str, port: int, timeout: float = 10.0) -> IMAPClient:
        """A logged-in IMAPClient that connects to ``host:port`` (e.g. a CuttingProxy)."""
        client = IMAPClient(host, port=port, ssl=False, timeout=timeout)
        client.login(self.username, self.password)
        return client


class DovecotServer:
    """A private Dovecot instance in a temp dir.

    Use as a context manager or call :meth:`start`/:meth:`stop`. ``profile="full"`` keeps
    Dovecot's normal capabilities (CONDSTORE, QRESYNC, SPECIAL-USE, IDLE, ...);
    ``profile="o365"`` advertises exactly Exchange Online's capability list and does not
    put special-use attributes into LIST, so clients must find "Sent Items" by name.

    ``oauth2_introspection="http://127.0.0.1:PORT/introspect"`` adds real XOAUTH2 and
    OAUTHBEARER logins: an ``oauth2`` passdb asks that URL whether a bearer token is good
    (form ``token=...``; answer ``{"active": true, "username": ...}``), see
    tests/servers/oauth.py. Password logins keep working beside it.
    """

    def __init__(
        self,
        profile: Profile = "full",
        users: Mapping[str, str] | Iterable[str] | None = None,
        host: str = "127.0.0.1",
        oauth2_introspection: str | None = None,
    ) -> None:
        if profile not in ("full", "o365"):
            raise ValueError(f"unknown profile {profile!r}")
        self.profile: Profile = profile
        self.oauth2_introspection = oauth2_introspection
        self.host = host
        self.port = 0
        if users is None:
            users = DEFAULT_USERS
        self._users: dict[str, str] = (
            dict(users) if isinstance(users, Mapping) else dict.fromkeys(users, DEFAULT_PASSWORD)
        )
        for user, password in self._users.items():
            _check_credentials(user, password)
        self._lock = threading.Lock()
        self._root: Path | None = None
        self._master: subprocess.Popen[bytes] | None = None
        mail = pwd.getpwnam("mail")
        self._mail_uid, self._mail_gid = mail.pw_uid, mail.pw_gid

    # ------------------------------------------------------------------ paths & info

    @property
    def root(self) -> Path:
        if self._root is None:
            raise RuntimeError("DovecotServer is not started")
        return self._root

    @property
    def conf_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def oauth2_conf_path(self) -> Path:
        return self.root / "dovecot-oauth2.conf.ext"

    def _write_oauth2_conf(self) -> None:
        """The oauth2 passdb's settings (Dovecot's oauth2 passdb with a local introspection URL)."""
        self.oauth2_conf_path.write_text(
            f"introspection_url = {self.oauth2_introspection}\n"
            "introspection_mode = post\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
            "tokeninfo_url =\n"
        )

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def passwd_dir(self) -> Path:
        """One passwd-file per user (``passwd.d/<user>``), see :meth:`add_user` for why."""
        return self.root / "passwd.d"

    @property
    def users(self) -> dict[str, str]:
        """username -> password of every user (a copy)."""
        with self._lock:
            return dict(self._users)

    @property
    def capabilities_expected(self) -> str | None:
        """The post-login capability override of this profile (None: Dovecot's own)."""
        return O365_CAPABILITY if self.profile == "o365" else None

    def home(self, user: str) -> Path:
        return self.root / "mail" / user

    def maildir(self, user: str) -> Path:
        """The user's Maildir++ root (which is also INBOX)."""
        return self.home(user) / "Maildir"

    def folder_dir(self, user: str, folder: str) -> Path:
        """The on-disk Maildir of an IMAP folder (Maildir++ layout: ``.Sent Items``)."""
        if folder.upper() == "INBOX":
            return self.maildir(user)
        return self.maildir(user) / ("." + folder.replace(SEPARATOR, "."))

    def log(self) -> str:
        """The server's log so far (useful in assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ------------------------------------------------------------------ lifecycle

    def _render_conf(self) -> str:
        root = self.root
        mailboxes = []
        for name, attr in SPECIAL_FOLDERS.items():
            special = f"    special_use = {attr}\n" if self.profile == "full" else ""
            mailboxes.append(f'  mailbox "{name}" {{\n{special}    auto = subscribe\n  }}\n')
        oauth_mechs = " xoauth2 oauthbearer" if self.oauth2_introspection else ""
        if self.profile == "o365":
            # imap_capability is used both before login (imap-login appends AUTH=PLAIN by
            # itself) and after login. Exchange offers AUTH=PLAIN (+XOAUTH2), not LOGIN.
            profile_settings = (
                f"imap_capability = {O365_CAPABILITY}\nauth_mechanisms = plain{oauth_mechs}\n"
            )
        else:
            profile_settings = f"auth_mechanisms = plain login{oauth_mechs}\n"
        if self.oauth2_introspection:
            # The password passdb must not see bearer tokens, and the oauth2 one only them.
            passwd_mechs = "  mechanisms = plain login\n"
            oauth_passdb = (
                "passdb {\n"
                "  driver = oauth2\n"
                "  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {self.oauth2_conf_path}\n"
                "}\n"
            )
        else:
            passwd_mechs = oauth_passdb = ""
        return f"""# Generated by tests/servers/dovecot.py -- profile {self.profile}
protocols = imap
listen = {self.host}
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_path}
ssl = no
disable_plaintext_auth = no
{profile_settings}auth_verbose = yes
auth_failure_delay = 0
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 500
passdb {{
  driver = passwd-file
{passwd_mechs}  args = scheme=PLAIN username_format=%u {self.passwd_dir}/%u
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/mail/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = {SEPARATOR}
{"".join(mailboxes)}}}
"""

    def _write_passwd_file(self, user: str, password: str) -> None:
        path = self.passwd_dir / user
        tmp = path.with_name(f".{user}.tmp")
        tmp.write_text(f"{user}:{{PLAIN}}{password}\n")
        tmp.chmod(0o644)
        os.replace(tmp, path)

    def start(self, timeout: float = 5.0) -> DovecotServer:
        """Create the temp dir, write the config and start Dovecot; returns self."""
        if self._root is not None:
            raise RuntimeError("already started")
        self._root = scratch_dir(f"mailwatch-dovecot-{self.profile}-")
        try:
            # The mail user must be able to traverse down to its maildirs.
            self._root.chmod(0o755)
            for sub in ("run", "state", "passwd.d"):
                (self._root / sub).mkdir()
            (self._root / "mail").mkdir()
            os.chown(self._root / "mail", self._mail_uid, self._mail_gid)
            with self._lock:
                for user, password in self._users.items():
                    self._write_passwd_file(user, password)
            if self.oauth2_introspection:
                self._write_oauth2_conf()
            self._start_master(timeout)
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def _start_master(self, timeout: float) -> None:
        """Start ``dovecot -F -c CONF`` as our child and wait until IMAP is reachable.

        ``-F`` (foreground) instead of letting Dovecot daemonize: as its parent we reap the
        master ourselves. On this machine PID 1 is a minimal init that reaps orphans
        slowly, so a daemonized master lingers as a zombie and ``doveadm stop`` (which
        polls the PID) takes seconds longer.
        """
        dovecot = _binary("dovecot")
        last_error: Exception | None = None
        for _attempt in range(3):  # free_port() is racy: retry with a new port
            self.port = free_port(self.host)
            self.conf_path.write_text(self._render_conf())
            with self._out_path.open("ab") as out:
                self._master = subprocess.Popen(
                    [dovecot, "-F", "-c", str(self.conf_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C goes to pytest, which then stops us
                )
            try:
                self._wait_until_listening(timeout)
            except RuntimeError as exc:
                last_error = exc
                self._stop_master()
                continue
            return
        raise RuntimeError(f"Dovecot did not start: {last_error}")

    @property
    def _out_path(self) -> Path:
        return self.root / "dovecot.out"

    def _wait_until_listening(self, timeout: float) -> None:
        assert self._master is not None
        deadline = time.monotonic() + timeout
        while True:
            code = self._master.poll()
            if code is not None:
                out = self._out_path.read_text(errors="replace")
                raise RuntimeError(f"dovecot exited with {code}:\n{out}\n--- log ---\n{self.log()}")
            try:
                wait_for_port(self.host, self.port, timeout=0.1)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"dovecot not listening on {self.host}:{self.port} after {timeout}s\n"
                        f"--- log ---\n{self.log()}"
                    ) from None

    def stop(self) -> None:
        """Stop Dovecot (``doveadm stop``), kill any leftover process, delete the temp dir."""
        if self._root is None:
            return
        try:
            self._stop_master()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
            atexit.unregister(self.stop)

    def _wait_for_shutdown_start(
        self, master: subprocess.Popen[bytes], log_offset: int, timeout: float
    ) -> None:
        """Wait until the master has logged that it got SIGTERM (it is shutting down).

        (Not the port: imap-login processes keep the listening socket open.)
        """
        deadline = time.monotonic() + timeout
        while master.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError), self.log_path.open("rb") as log:
                log.seek(log_offset)
                if b"Killed with signal" in log.read():
                    return
            time.sleep(0.01)

    def _stop_master(self) -> None:
        master, self._master = self._master, None
        if master is None:
            return
        try:
            children = psutil.Process(master.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if master.poll() is None:
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            # doveadm stop = SIGTERM to the master + wait until it is gone; we reap it.
            doveadm = subprocess.Popen(
                [_binary("doveadm"), "-c", str(self.conf_path), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Once the master is shutting down it waits ~1 s for its children; hurry them
            # along with the signal it sends them anyway (earlier, it would respawn them).
            self._wait_for_shutdown_start(master, log_offset, timeout=3)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.send_signal(signal.SIGTERM)
            # If any child is left at its final check, the master SIGQUITs it and then
            # sleeps a fixed second (services_monitor_wait_and_kill). Once all children
            # are gone it has nothing left to do, so do not sit that second out.
            wait_gone(children, timeout=5)
            try:
                master.wait(timeout=0.3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(psutil.NoSuchProcess):
                    children += psutil.Process(master.pid).children(recursive=True)
                master.kill()
                master.wait()
            # doveadm only polls for the master PID, which is gone now.
            doveadm.terminate()
            doveadm.wait()
        kill_leftovers(children)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        oauth = ", oauth2" if self.oauth2_introspection else ""
        return f"DovecotServer(profile={self.profile!r}{oauth}, {self.host}:{self.port})"

    # ------------------------------------------------------------------ users

    def add_user(self, username: str, password: str = DEFAULT_PASSWORD) -> None:
        """Add a user (or change a password); works while the server runs.

        Why one passwd-file per user (``args = ... passwd.d/%u``): Dovecot checks a
        passwd-file for changes at most once per second, so a user appended to a shared
        file is "unknown" for up to a second. A file that was never opened is always read
        fresh, so a new user can log in at once. (A changed password for an existing user
        may still take up to a second to be seen.)
        """
        _check_credentials(username, password)
        with self._lock:
            self._users[username] = password
            if self._root is not None:
                self._write_passwd_file(username, password)

    def new_account(self, prefix: str = "user", password: str = DEFAULT_PASSWORD) -> ImapAccount:
        """Create a brand-new user with an empty mailbox and return its login data.

        Why: tests get a fresh mailbox each without paying for a new server.
        """
        safe = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-")[:40] or "user"
        username = f"{safe}-{uuid.uuid4().hex[:10]}@example.com"
        self.add_user(username, password)
        return ImapAccount(self.host, self.port, username, password, self)

    def password(self, user: str) -> str:
        with self._lock:
            return self._users[user]

    # ------------------------------------------------------------------ IMAP helpers

    def client(self, user: str, timeout: float = 10.0) -> IMAPClient:
        """A logged-in IMAPClient (plain TCP, socket timeout ``timeout`` seconds)."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            client.login(user, self.password(user))
        except BaseException:
            client.shutdown()
            raise
        return client

    def doveadm(self, *args: str, timeout: float = 30.0) -> str:
        """Run ``doveadm -c CONF ARGS...`` and return its stdout."""
        proc = run_checked(
            [_binary("doveadm"), "-c", str(self.conf_path), *args], "doveadm", timeout=timeout
        )
        return proc.stdout

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes,
        flags: Sequence[Flag] = (),
        internal_date: datetime | None = None,
    ) -> int:
        """APPEND one message over IMAP and return its UID (from the APPENDUID response)."""
        with self.client(user) as client:
            return _append(client, folder, raw, flags, internal_date)

    def set_flags(
        self, user: str, folder: str, uid: int, flags: Sequence[Flag]
    ) -> tuple[bytes, ...]:
        """Replace a message's flags from a separate IMAP session ("another client").

        Returns the flags the server reports afterwards.
        """
        with self.client(user) as client:
            client.select_folder(folder)
            result = client.set_flags([uid], [_flag_str(f) for f in flags])
            if uid not in result:
                # Silent STORE result for an unchanged message: ask explicitly.
                fetched = client.fetch([uid], ["FLAGS"])
                if uid not in fetched:
                    raise KeyError(f"UID {uid} not found in {folder!r} of {user}")
                return tuple(fetched[uid][b"FLAGS"])
            return tuple(result[uid])

    def folder_status(self, user: str, folder: str) -> dict[bytes, int]:
        """SELECT ``folder`` and return the SELECT response (EXISTS, UIDVALIDITY, ...)."""
        with self.client(user) as client:
            return dict(client.select_folder(folder, readonly=True))

    def recreate_folder_with_new_uidvalidity(self, user: str, folder: str) -> RecreatedFolder:
        """Give ``folder`` a new UIDVALIDITY, keeping the same messages (with new UIDs).

        Simulates a server-side mailbox rebuild (Exchange does this after migrations): a
        client that trusts its cached UIDs would now see duplicates or miss messages.
        How: fetch every message, expunge them, set a new UIDVALIDITY with
        ``doveadm mailbox update --uid-validity`` (works for INBOX too, which cannot be
        DELETEd), then APPEND the messages back with their flags and internal dates.
        The new UIDs continue after the old UIDNEXT, so they never equal the old ones.
        """
        with self.client(user) as client:
            info = client.select_folder(folder)
            old_validity = int(info[b"UIDVALIDITY"])
            uids = sorted(client.search("ALL"))
            messages = client.fetch(uids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"]) if uids else {}
            if uids:
                client.add_flags(uids, [b"\\Deleted"], silent=True)
                client.expunge()
            client.close_folder()

        new_validity = old_validity + 1 if old_validity < 0xFFFFFFFF else 1
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(new_validity), folder)

        uid_map: dict[int, int] = {}
        with self.client(user) as client:
            for uid in uids:
                data = messages[uid]
                flags = [f for f in data[b"FLAGS"] if f.lower() != b"\\recent"]
                uid_map[uid] = _append(
                    client, folder, data[b"BODY[]"], flags, data[b"INTERNALDATE"]
                )
            info = client.select_folder(folder, readonly=True)
        got_validity = int(info[b"UIDVALIDITY"])
        if got_validity == old_validity or int(info[b"EXISTS"]) != len(uids):
            raise RuntimeError(
                f"recreating {folder!r} failed: UIDVALIDITY {old_validity} -> {got_validity}, "
                f"EXISTS {info[b'EXISTS']} (expected {len(uids)})"
            )
        return RecreatedFolder(old_validity, got_validity, uid_map)

    def bulk_load_maildir(
        self,
        user: str,
        folder: str,
        messages: Iterable[bytes | str | os.PathLike[str]],
        flags: Sequence[Flag] = (),
        internal_date: datetime | None = None,
        internal_dates: Iterable[datetime] | None = None,
    ) -> int:
        """Write messages straight into the folder's Maildir ``cur/`` and let Dovecot index them.

        Why: APPENDing thousands of messages over IMAP is slow; this loads 3,000 in well
        under a second. ``messages`` are raw bytes or paths of .eml files (str/PathLike).
        UIDs are assigned in the given order. ``flags`` (IMAP system flags such as
        ``\\Seen``) and ``internal_date`` (file mtime) apply to all of them; ``internal_dates``
        gives one per message instead (as APPEND with a date would). Returns the
        number of messages written; raises if SELECT does not show them all afterwards.
        """
        letters = "".join(sorted({_MAILDIR_FLAG_LETTERS[_flag_str(f).lower()] for f in flags}))
        mtime = internal_date.timestamp() if internal_date is not None else None
        dates = iter(internal_dates) if internal_dates is not None else None
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            before = int(client.select_folder(folder)[b"EXISTS"])  # creates it on disk
            cur = self.folder_dir(user, folder) / "cur"
            if not cur.is_dir():
                raise RuntimeError(f"maildir {cur} of folder {folder!r} does not exist")
            stamp = int(time.time())
            count = 0
            for item in messages:
                data = item if isinstance(item, bytes) else Path(item).read_bytes()
                n = next(_bulk_counter)
                name = f"{stamp}.M{n:09d}P{os.getpid()}.mailwatch-test,S={len(data)}:2,{letters}"
                path = cur / name
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(fd, data)
                    os.fchown(fd, self._mail_uid, self._mail_gid)
                finally:
                    os.close(fd)
                when = next(dates).timestamp() if dates is not None else mtime
                if when is not None:
                    os.utime(path, (when, when))
                count += 1
            client.close_folder()
            # Dovecot would notice the new files on the next SELECT anyway (cur/ mtime
            # changed); force-resync makes that independent of timestamp granularity.
            self.doveadm("force-resync", "-u", user, folder)
            after = int(client.select_folder(folder, readonly=True)[b"EXISTS"])
        if after != before + count:
            raise RuntimeError(
                f"bulk load into {folder!r}: EXISTS is {after}, expected {before + count}"
            )
        return count


def _check_credentials(username: str, password: str) -> None:
    if not _USERNAME_RE.match(username):
        raise ValueError(f"unsupported username {username!r} (it becomes a file name)")
    if ":" in password or "\n" in password:
        raise ValueError("passwords must not contain ':' or newlines")


def _binary(name: str) -> str:
    """Absolute path of a Dovecot binary (they live in /usr/sbin, not on every PATH)."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which(name, path=search) or name


def _append(
    client: IMAPClient,
    folder: str,
    raw: bytes,
    flags: Sequence[Flag],
    internal_date: datetime | None,
) -> int:
    response = client.append(
        folder, raw, flags=[_flag_str(f) for f in flags], msg_time=internal_date
    )
    match = _APPENDUID_RE.search(response)
    if match is None:
        raise RuntimeError(f"APPEND to {folder!r} gave no APPENDUID: {response!r}")
    return int(match.group(2))
