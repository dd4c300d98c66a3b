# trialsite web, worker and beat image (see docker-compose.yml).
#
# Two stages: `build` compiles psycopg2 against libpq (requirements-prod.txt; the psycopg2-binary
# wheel that `make run` uses is not meant for production, https://www.psycopg.org/docs/install.html)
# into wheels; the runtime stage installs those wheels and only the libpq client library, no
# compiler.
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements-prod.txt constraints.txt ./
RUN pip wheel --no-cache-dir --no-binary psycopg2 --wheel-dir /wheels -r requirements-prod.txt

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements-prod.txt constraints.txt ./
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels -r requirements-prod.txt \
    && rm -rf /wheels

COPY . .
# Production serves static files from the manifest collectstatic writes (whitenoise's
# CompressedManifestStaticFilesStorage): without it every page is a 500 ("Missing staticfiles
# manifest entry"). It needs settings only, not a database; the keys are random and thrown away
# with this layer's environment, so no key is ever written in the repository or the image.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    AUDIT_ANCHOR_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && test -f /app/staticfiles/staticfiles.json \
    && useradd --create-home --uid 10001 trialsite \
    && mkdir -p /app/var && chown -R trialsite /app/var

USER trialsite
EXPOSE 8000
CMD ["gunicorn", "trialsite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
