"""Rasa SDK actions: thin adapters from conversations to the `bot` services.

rasa-sdk imports every module here and instantiates every concrete Action subclass with no
arguments, so services come from the lazy factory in `actions.services`, never from import time.
"""
