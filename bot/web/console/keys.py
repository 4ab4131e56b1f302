"""Typed keys of what the console keeps on the application."""
from __future__ import annotations

from aiohttp import web

from bot.relay import Relay
from bot.tickets.sla import SlaPolicy

from .hub import Hub

HUB = web.AppKey("handoff_hub", Hub)
RELAY = web.AppKey("relay", Relay)  # the console's; absent when RELAY_CONSOLE_KEY is not set
TICKET_POLICY = web.AppKey("ticket_policy", SlaPolicy)
