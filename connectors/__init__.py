"""Rasa input/output channels. They verify the caller and never import `bot/`."""
