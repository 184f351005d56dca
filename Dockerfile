# The app: channels, the engine's NLG and action endpoints, the console,
# health. Mirrors `make run`'s app process; docker-compose.yml and
# deploy/kubernetes/ run two of them. Not built on the machines this project
# is built on (no Docker engine there); see README ("Containers").
# Bookworm, like the machines the constraints were last checked on (ICU 72).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOTLINE_HOST=0.0.0.0 HOTLINE_PORT=8000
WORKDIR /srv/hotline

COPY pyproject.toml README.md alembic.ini constraints-app.txt ./
COPY core ./core
COPY api ./api
COPY bot ./bot
COPY flows ./flows
COPY locales ./locales
COPY nlu/data ./nlu/data
# PyICU (the Zawgyi converter) is built from source against ICU: a C++
# compiler, pkg-config and ICU's headers for the build, ICU's library at run
# time; the build tools leave in the same layer. Noto fonts: case exports as
# PDF print Burmese, Khmer, Lao and Thai. The constraints pin every package
# to the versions the tests last passed with. Editable, so that the app finds
# locales/, flows/ and nlu/data/ beside its code.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       g++ pkg-config libicu-dev libicu72 fonts-noto-core \
    && pip install --no-cache-dir -c constraints-app.txt -e . \
    && apt-get purge -y --auto-remove g++ pkg-config libicu-dev \
    && rm -rf /var/lib/apt/lists/* \
    && python -c "import icu, myanmartools" \
    && useradd --system --uid 1001 hotline \
    && mkdir -p /var/lib/hotline/attachments /var/lib/hotline/inbox \
    && chown -R hotline /var/lib/hotline
# The danger model is trained at build time, so that every container starts
# with it instead of training for a minute first.
ENV HOTLINE_DANGER_CACHE_DIR=/srv/hotline/danger-model
RUN hotline danger train
# Workers' files and the inbox (messages acknowledged to LINE and Telegram,
# not yet in the database) live on volumes: a new container must find them.
ENV HOTLINE_ATTACHMENTS_DIR=/var/lib/hotline/attachments \
    HOTLINE_INBOX_DIR=/var/lib/hotline/inbox
# The image serves workers: it refuses to start without its keys and token.
ENV HOTLINE_ENVIRONMENT=production
USER hotline

EXPOSE 8000
# Migrations are their own step, run once before the app processes start:
# `hotline db upgrade` (docker-compose.yml's `migrate`, the Kubernetes Job).
CMD ["hotline", "serve"]
