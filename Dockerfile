# valuenet services image (worker, serve, replay, topic admin) for docker-compose.yml.
# Kafka and ClickHouse run in their own containers: the services get KAFKA_BOOTSTRAP_SERVERS and
# CLICKHOUSE_URL, so this image needs neither Java nor Maven.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VALUENET_HOME=/data

WORKDIR /app
COPY . /app
RUN pip install /app \
 && useradd --system --uid 10001 --home-dir /data valuenet \
 && mkdir -p /data \
 && chown valuenet /data

USER valuenet
VOLUME ["/data"]
EXPOSE 8000 6066
ENTRYPOINT ["valuenet"]
CMD ["--help"]
