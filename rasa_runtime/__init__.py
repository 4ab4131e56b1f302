"""Extensions of the Rasa runtime (Python 3.10, rasa==3.6.21): never imports `bot/`.

What Rasa supports, each named in Rasa's own configuration:

- `tracker_store`: the SQL tracker store with an in-process cache of the conversations this
  process is serving (endpoints.yml);
- `lock_store`: Rasa's conversation locks in a SQLite file shared by the Rasa workers of one
  host (endpoints.yml; `host_database` opens that file, also for the channels' claims);
- `event_broker`: Rasa's SQL or pika broker chosen from one URL (endpoints.yml);
- `policies`: Rasa's TED and rule policies remembering what they already worked out
  (config.yml).

What it does not: `patches`, one table of changes to Rasa's internals, each checked against
the source of what it replaces, installed by `scripts/rasa_server.py`. docs/performance.md
gives the measurements.
"""
