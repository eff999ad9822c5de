"""Sample conversations for `mailwatch demo` (.eml files, read with importlib.resources)."""
