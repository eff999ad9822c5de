"""Conversation tracking: feeds stored mail to the pure analysers."""
