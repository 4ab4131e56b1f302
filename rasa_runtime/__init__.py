"""Extensions of the Rasa runtime (Python 3.10, rasa==3.6.21): never imports `bot/`.

- `tracker_store`: the SQL tracker store with an in-process cache of the conversations this
  process is serving (named in endpoints.yml).
- `lock_store`: Rasa's conversation locks in a SQLite file shared by the Rasa workers of one
  host (the embedded default; `host_database` opens that file, also for the channels' claims).
- `hot_path`: equivalence-preserving speed-ups of Rasa's message loop, installed by
  `scripts/rasa_server.py` before the model loads, with `action_client` (action calls on
  kept-alive connections) and `action_validation` (answers checked against the one event schema
  each event names). docs/performance.md gives the measurements.
"""
