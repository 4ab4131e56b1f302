"""Rasa SDK actions: thin adapters from conversations to the `bot` services.

rasa-sdk imports every module here and instantiates every concrete Action subclass with no
arguments, so services come from the lazy factory in `actions.services`, never from import time.
Importing the package installs the log redaction of the services runtime for the action server
(`bot.redaction.logs`: a record factory, no connection), and starts loading the
redaction's spaCy pipeline on a background thread, so that the first handoff summary or ticket
does not wait for it.
"""
from bot.redaction import logs as log_redaction, names

log_redaction.install()
names.warm_up_in_background()
