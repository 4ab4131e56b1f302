"""Custom Rasa NLU components (Python 3.10, inside the Rasa server and `rasa train`).

Nothing here imports `bot/`, with one exception: date_values.py reads date entities with the
leave forms' own reader, bot/records/dates.py (pure: dateutil only, no other module of bot/; the
Rasa image copies that module alone, checked by tests/nlu_components/test_entity_patterns.py). Each module is one component or the
model code behind it; config.yml's `pipeline:` names them by import path.
"""
