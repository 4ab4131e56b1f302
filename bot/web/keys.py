"""Typed keys of the values the application keeps for its handlers."""
from __future__ import annotations

from aiohttp import web

from ..config import Settings
from ..signin.entra import EntraSignIn
from ..storage.database import Database
from .rasa_client import RasaClient

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
RASA_CLIENT = web.AppKey("rasa_client", RasaClient)
COOKIE_SECURE = web.AppKey("cookie_secure", bool)
ENTRA = web.AppKey("entra", EntraSignIn)
# Set by the widget's frame page: the origins that may frame this answer (CSP frame-ancestors).
FRAME_ANCESTORS = web.RequestKey("frame_ancestors", frozenset)
