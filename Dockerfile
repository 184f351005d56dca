# The app: channels, the engine's NLG and action endpoints, health.
# Mirrors `make run`'s app process; see README ("Containers"): not run here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOTLINE_HOST=0.0.0.0 HOTLINE_PORT=8000
WORKDIR /srv/hotline

# Noto fonts: case exports as PDF print Burmese, Khmer, Lao and Thai.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-core \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md alembic.ini ./
COPY core ./core
COPY api ./api
COPY bot ./bot
COPY flows ./flows
COPY locales ./locales
COPY nlu/data ./nlu/data
# Editable, so that the app finds locales/, flows/ and nlu/data/ beside its code.
RUN pip install --no-cache-dir -e . \
    && useradd --system --uid 1001 hotline \
    && mkdir -p /var/lib/hotline && chown hotline /var/lib/hotline
# The danger model is trained at build time, so that every container starts
# with it instead of training for a minute first.
ENV HOTLINE_DANGER_CACHE_DIR=/srv/hotline/danger-model
RUN hotline danger train
# Workers' files and the inbox (messages acknowledged to LINE and Telegram,
# not yet in the database) live on a volume: a new container must find them.
ENV HOTLINE_ATTACHMENTS_DIR=/var/lib/hotline/attachments \
    HOTLINE_INBOX_DIR=/var/lib/hotline/inbox
USER hotline

EXPOSE 8000
# Migrations run before the app starts; with several replicas, run
# `hotline db upgrade` once as a release step instead.
CMD ["sh", "-c", "hotline db upgrade && hotline serve"]
