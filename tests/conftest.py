"""Shared by both runtimes' test runs: keep it free of `rasa` and `bot` imports."""
