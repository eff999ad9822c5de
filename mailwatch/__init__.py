"""mailwatch: no client waits for an answer, no promised deadline slips silently."""

__version__ = "0.1.0"
