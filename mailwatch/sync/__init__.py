"""IMAP sync: connection, one sync pass, and the IDLE watcher."""
