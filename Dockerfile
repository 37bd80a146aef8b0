FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=backoffice.settings.production

RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 backoffice

WORKDIR /app
COPY pyproject.toml README.md ./
COPY backoffice ./backoffice
COPY accounts ./accounts
COPY offers ./offers
COPY orders ./orders
COPY shipping ./shipping
COPY aftersales ./aftersales
COPY mirror ./mirror
COPY jobs ./jobs
COPY ui ./ui
COPY allegro ./allegro
COPY sandbox ./sandbox
COPY templates ./templates
COPY static ./static
COPY locale ./locale
COPY manage.py ./
RUN pip install .

# Build-time only secrets: collectstatic/compilemessages need settings to load.
RUN SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=build-only \
    python manage.py compilemessages --ignore=.venv \
    && SECRET_KEY=build-only FIELD_ENCRYPTION_KEYS=build-only \
    python manage.py collectstatic --noinput

USER backoffice
EXPOSE 8000
# The access log masks the OAuth callback's code/state (backoffice/gunicorn_logging.py).
CMD ["gunicorn", "backoffice.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "backoffice.gunicorn_logging.RedactingLogger"]
