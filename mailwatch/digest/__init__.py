"""The daily digest: what is overdue, what waits for approval, promises, warning signs.

- :func:`mailwatch.digest.data.build_digest` builds it as plain data as of an instant;
- :mod:`mailwatch.digest.render` turns it into text and HTML (``templates/*.j2``), a PNG
  chart and an email message;
- :mod:`mailwatch.digest.send` mails it (``send_digest`` for the scheduler);
- :mod:`mailwatch.cli.digest` is ``mailwatch digest`` on the command line.

See docs/digest.md.
"""
