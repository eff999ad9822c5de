"""Typed read models: what the CLI, the web page, the digest and the scheduler read.

This layer sits above ``store`` and ``track`` (it reads with both) and below the service, the
CLI and the web. Every read returns frozen dataclasses with aware datetimes (already in the
team's timezone) and enums; ``.to_json()`` gives the contract's JSON shape (docs/cli.md) and is
called only at the edges that print or serve JSON.

- ``views.context``: ``View``, the settings a read needs (calendar, SLA, languages).
- ``views.threads``: ``ThreadView``, ``list_threads``, ``overdue_summary``, ``waiting_page``.
- ``views.promises``: ``PromiseView``, ``list_promises``.
"""
