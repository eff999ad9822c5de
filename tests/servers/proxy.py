"""A TCP proxy that can kill or freeze the link between a client and a server on demand.

Why: mailwatch must survive the network failures real IMAP links have — a connection reset
in the middle of a FETCH, a NAT box that silently drops a long-idle connection (reads just
hang until the socket timeout), a server restart that cuts everyone off. Putting this proxy
between the client under test and Dovecot makes those failures reproducible.

Design: one accept thread plus two pump threads per connection (client->server and
server->client) with plain blocking sockets. Cutting a link is ``shutdown(SHUT_RDWR)`` on
both sockets, which wakes any pump blocked in ``recv``/``sendall``; the last pump to leave
closes the sockets, so no file descriptor is closed under a thread that still uses it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

_CHUNK = 65536
_POLL = 0.05  # seconds; how often paused pumps / the accept loop look at their flags


class _Link:
    """One proxied connection: a client socket, an upstream socket and two pumps."""

    def __init__(
        self,
        client: socket.socket,
        upstream: socket.socket,
        flowing: threading.Event,
        on_done: Callable[[_Link], None],
        server_budget: int | None,
    ) -> None:
        self.client = client
        self.upstream = upstream
        self._flowing = flowing
        self._on_done = on_done
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._pumps_left = 2
        #: bytes the server may still send before the link is cut (None: unlimited)
        self.server_budget = server_budget
        self.server_bytes = 0
        self.client_bytes = 0
        self.threads = [
            threading.Thread(
                target=self._pump, args=(client, upstream, False), daemon=True, name="proxy-c2s"
            ),
            threading.Thread(
                target=self._pump, args=(upstream, client, True), daemon=True, name="proxy-s2c"
            ),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    @property
    def is_cut(self) -> bool:
        return self._cut.is_set()

    def arm(self, server_bytes: int) -> None:
        with self._lock:
            self.server_budget = server_bytes

    def cut(self) -> None:
        """Kill the link now: both peers see the connection close (idempotent)."""
        if self._cut.is_set():
            return
        self._cut.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _take_budget(self, data: bytes) -> tuple[bytes, bool]:
        """Trim ``data`` to the remaining server budget; True if the link must die after."""
        with self._lock:
            if self.server_budget is None:
                return data, False
            if len(data) >= self.server_budget:
                data = data[: self.server_budget]
                self.server_budget = 0
                return data, True
            self.server_budget -= len(data)
            return data, False

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while not self._cut.is_set():
                try:
                    data = src.recv(_CHUNK)
                except OSError:
                    break
                if not data:
                    break
                # Blackholed: hold the data (the link looks dead) until restore() or a cut.
                while not self._flowing.wait(_POLL):
                    if self._cut.is_set():
                        return
                if self._cut.is_set():
                    break
                cut_after = False
                if from_server:
                    data, cut_after = self._take_budget(data)
                try:
                    dst.sendall(data)
                except OSError:
                    break
                with self._lock:
                    if from_server:
                        self.server_bytes += len(data)
                    else:
                        self.client_bytes += len(data)
                if cut_after:
                    break
        finally:
            self.cut()
            with self._lock:
                self._pumps_left -= 1
                last = self._pumps_left == 0
            if last:
                self.client.close()
                self.upstream.close()
                self._on_done(self)


class CuttingProxy:
    """A threaded loopback TCP proxy to ``target_host:target_port`` with failure switches.

    Connect the client under test to ``(proxy.host, proxy.port)``. Then:

    * :meth:`cut_all` closes every open connection right now;
    * :meth:`cut_after_server_bytes` lets the server send ``n`` more bytes on each open
      connection and then cuts it (a link dying mid-FETCH);
    * :meth:`blackhole` keeps connections open but forwards nothing (reads hang until the
      client's socket timeout), :meth:`restore` resumes normal forwarding.

    Always :meth:`close` it (or use it as a context manager): that stops every thread.
    """

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._all_links: list[_Link] = []
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopping = threading.Event()
        self._new_link_budget: int | None = None
        self.accepted = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))  # the kernel picks a free port
        self._listener.listen(64)
        self._listener.settimeout(_POLL)
        self.port: int = int(self._listener.getsockname()[1])
        self._accept_thread = threading.Thread(
            target=self._accept_loop, daemon=True, name=f"proxy-accept-{self.port}"
        )
        self._accept_thread.start()

    # ------------------------------------------------------------------ public API

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def active_connections(self) -> int:
        """Connections currently open (not yet cut or closed by either side)."""
        with self._lock:
            return sum(1 for link in self._links if not link.is_cut)

    def cut_all(self) -> int:
        """Close every open connection abruptly; returns how many were cut.

        New connections are still accepted afterwards (the "server came back" case).
        """
        with self._lock:
            links = list(self._links)
        for link in links:
            link.cut()
        return len(links)

    def cut_after_server_bytes(self, n: int, *, include_new: bool = False) -> None:
        """Cut each open connection once the server has sent ``n`` more bytes on it.

        The client receives exactly those ``n`` bytes, then the connection closes. With
        ``include_new=True`` connections opened later get the same treatment until
        :meth:`restore`.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            links = list(self._links)
            if include_new:
                self._new_link_budget = n
        for link in links:
            link.arm(n)

    def blackhole(self) -> None:
        """Stop forwarding in both directions on all (also new) connections; keep them open."""
        self._flowing.clear()

    def restore(self) -> None:
        """Resume forwarding (held data is delivered) and forget ``include_new`` cuts."""
        with self._lock:
            self._new_link_budget = None
        self._flowing.set()

    def close(self) -> None:
        """Cut everything, stop accepting and join all threads."""
        self._stopping.set()
        self._accept_thread.join(timeout=5)
        self.cut_all()
        self._flowing.set()  # release paused pumps; they see the cut and leave
        with self._lock:
            links = list(self._all_links)
        for link in links:
            for thread in link.threads:
                thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CuttingProxy({self.host}:{self.port} -> {self.target_host}:{self.target_port})"

    # ------------------------------------------------------------------ internals

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            client.settimeout(None)
            try:
                upstream = socket.create_connection((self.target_host, self.target_port), 5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._stopping.is_set():
                    client.close()
                    upstream.close()
                    break
                link = _Link(client, upstream, self._flowing, self._forget, self._new_link_budget)
                self._links.add(link)
                self._all_links.append(link)
                self.accepted += 1
            link.start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)


#: Type of the ``proxy_factory`` fixture: ``make(target_host, target_port) -> CuttingProxy``.
ProxyFactory = Callable[[str, int], CuttingProxy]
