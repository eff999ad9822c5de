"""The approval site's routes, one module per page family; :mod:`mailwatch.web.app` lists them.

Each route is an ``async`` function of a :class:`~mailwatch.web.pages.Pages`, the request and
(for a form) the checked form. A route raises a :class:`~mailwatch.errors.MailwatchError` when
it cannot do what was asked; the one handler in :mod:`mailwatch.web.app` answers it.
"""
