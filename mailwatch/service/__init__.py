"""The long-running service: sync watchers, the scheduler and the web endpoints in one process."""
