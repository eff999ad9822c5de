"""The approval web page: queue, drafts, threads and promises, settings (see docs/web.md).

:func:`mailwatch.web.app.pages_app` builds the pages; :func:`mailwatch.service.web.create_app`
serves them next to ``/healthz`` and ``/metrics``.
"""
