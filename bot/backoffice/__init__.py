"""The back-office port and its adapters (see docs/backoffice.md)."""
