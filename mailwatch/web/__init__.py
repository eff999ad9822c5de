"""The approval web page: queue, drafts, threads and promises, settings (see docs/web.md).

:func:`mailwatch.web.app.pages_app` builds the pages from :mod:`mailwatch.web.routes` (one
module per page family) and :mod:`mailwatch.web.pages` (what they share); every database read
is a function of :mod:`mailwatch.web.reads`. :func:`mailwatch.service.web.create_app` serves
them next to ``/healthz`` and ``/metrics``.
"""
