"""Typed keys of what the console keeps on the application."""
from __future__ import annotations

from aiohttp import web

from bot.tickets.sla import SlaPolicy

from ..rasa_api import RasaApi
from .hub import Hub

HUB = web.AppKey("handoff_hub", Hub)
RASA_API = web.AppKey("rasa_api", RasaApi)  # absent when RASA_JWT_SECRET is not set
TICKET_POLICY = web.AppKey("ticket_policy", SlaPolicy)
