"""Extensions of the Rasa runtime (Python 3.10, rasa==3.6.21): never imports `bot/`.

- `tracker_store`: the SQL tracker store with an in-process cache of the conversations this
  process is serving (named in endpoints.yml).
- `hot_path`: equivalence-preserving speed-ups of Rasa's message loop, installed by
  `scripts/rasa_server.py` before the model loads. docs/performance.md gives the measurements.
"""
