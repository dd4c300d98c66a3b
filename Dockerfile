# trialsite web, worker and beat image (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_ENV=production

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# collectstatic needs settings only, not a database; a throwaway key satisfies production checks.
RUN SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    AUDIT_ANCHOR_KEY=build-only-build-only-build-only \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 trialsite \
    && mkdir -p /app/var && chown -R trialsite /app/var

USER trialsite
EXPOSE 8000
CMD ["gunicorn", "trialsite.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
