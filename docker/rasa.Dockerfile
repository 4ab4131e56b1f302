# Rasa server: rasa==3.6.21 needs Python < 3.11 (see docs/architecture.md).
# Build from the repository root:  docker build -f docker/rasa.Dockerfile .
# The model is not trained here: run `rasa train` first so that models/ holds a model.
FROM python:3.10.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false \
    HOME=/home/rasa

RUN groupadd --system --gid 10001 rasa \
 && useradd --system --uid 10001 --gid rasa --create-home --home-dir /home/rasa rasa

WORKDIR /app

# Requirements first, so that code changes do not re-run the (long) dependency install.
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/rasa.txt \
 && pip install --no-cache-dir --no-deps --require-hashes -r requirements/rasa-nodeps.txt

COPY config.yml credentials.yml endpoints.yml ./
COPY domain/ domain/
COPY data/ data/
COPY connectors/ connectors/
COPY signing_keys/ signing_keys/
COPY rasa_runtime/ rasa_runtime/
COPY nlu_components/ nlu_components/
# The date entities' days are read by the leave forms' own reader (nlu_components/date_values.py):
# that one module of bot/, which imports only dateutil.
COPY bot/__init__.py bot/
COPY bot/records/__init__.py bot/records/dates.py bot/records/
COPY scripts/rasa_server.py scripts/rasa_server.py
COPY models/ models/

USER rasa
EXPOSE 5005

# The server command (with its authentication flags) is set in docker-compose.yml; no default that
# could start an unauthenticated API.
CMD ["rasa", "--version"]
