# relay in a container: a slim Python base, a virtualenv in /opt/relay, a non-root user.
# The chains are built at start (deploy/start.sh), so keys come from the container's
# environment into a secrets.json that never enters the image. The usage store (SQLite by
# default) lives in the /var/lib/relay volume. Every RUN step below is
# proved in a clean virtualenv by tests/e2e/test_deploy.py (this machine cannot pull images).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/relay/bin:$PATH \
    XDG_STATE_HOME=/var/lib/relay

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY requirements ./requirements
COPY compiler ./compiler
COPY runtime ./runtime
COPY console ./console
COPY schemas ./schemas
COPY chains ./chains
COPY deploy ./deploy

RUN sh deploy/image.sh /opt/relay /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin relay \
    && install -d -o relay -g relay /var/lib/relay
VOLUME /var/lib/relay

USER relay
EXPOSE 8787
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["sh", "/app/deploy/start.sh"]
