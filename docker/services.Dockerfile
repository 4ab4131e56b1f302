# Helpdesk services: action server (rasa-sdk), web app (aiohttp) and the migrate one-shot share this
# image; docker-compose.yml picks the command. Python 3.12, current libraries (see docs/architecture.md).
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
RUN pip install --no-cache-dir -r requirements/services.txt

COPY bot/ bot/
COPY actions/ actions/

USER helpdesk
EXPOSE 5055 8080

# The command of each service is set in docker-compose.yml.
CMD ["python", "--version"]
