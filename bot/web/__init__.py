"""The aiohttp web app: development sign-in, the chat page, the message proxy to Rasa, health.

Entry point: `python -m bot.web`; factory: `bot.web.app.create_app`.
"""
