"""Sources: fetch the raw bytes a value is computed from (files, HTTP JSON, SQL, Prometheus), then parse
them into time-ordered rows. Fetching retries transient failures with backoff, then fails clearly."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from fractions import Fraction
from pathlib import Path

import requests
import sqlalchemy

from oracle.errors import SourceError
from oracle.spec import CsvSource, HttpJsonSource, JsonLinesSource, PrometheusSource, Source, SqlSource

RETRY_DELAYS = (0.2, 0.5, 1.0)  # seconds between attempts; the last failure is reported


def fetch(
    source: Source,
    data_root: Path,
    observed_at: int,
    window_seconds: int | None = None,
    retry_delays: tuple[float, ...] = RETRY_DELAYS,
) -> bytes:
    if isinstance(source, HttpJsonSource):
        return _http_get(source.url, {}, source.token_env, retry_delays)
    if isinstance(source, PrometheusSource):
        if window_seconds:
            params = {
                "query": source.query,
                "start": observed_at - window_seconds,
                "end": observed_at,
                "step": source.step_seconds,
            }
            return _http_get(source.url.rstrip("/") + "/api/v1/query_range", params, source.token_env, retry_delays)
        params = {"query": source.query, "time": observed_at}
        return _http_get(source.url.rstrip("/") + "/api/v1/query", params, source.token_env, retry_delays)
    if isinstance(source, SqlSource):
        return _fetch_sql(source, retry_delays)
    root = data_root.resolve()
    path = (root / source.path).resolve()
    if not path.is_relative_to(root):
        raise SourceError(f"{source.path} is outside the data directory")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from None


def _http_get(url: str, params: dict, token_env: str | None, retry_delays: tuple[float, ...]) -> bytes:
    headers = {}
    if token_env:
        token = os.environ.get(token_env)
        if not token:
            raise SourceError(f"{url} needs a token: set {token_env}")
        headers["Authorization"] = f"Bearer {token}"
    failure = ""
    for attempt, delay in enumerate((0.0, *retry_delays)):  # noqa: B007 (attempt is reported below)
        time.sleep(delay)
        try:
            response = requests.get(url, params=params, headers=headers, timeout=10)
        except requests.RequestException as exc:
            failure = f"{type(exc).__name__}"
            continue
        if response.status_code < 400:
            return response.content
        failure = f"HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break  # a client error does not heal by retrying
    raise SourceError(f"{url} failed after {attempt + 1} attempts: {failure}")


def _fetch_sql(source: SqlSource, retry_delays: tuple[float, ...]) -> bytes:
    """The result rows as canonical JSON lines (sorted keys, values as text): the evidence bytes."""
    url = os.environ.get(source.url_env)
    if not url:
        raise SourceError(f"the SQL source needs a database URL: set {source.url_env}")
    try:
        engine = sqlalchemy.create_engine(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise SourceError(f"{source.url_env} does not hold a valid SQLAlchemy URL") from None  # never echo it
    try:
        with _connect(engine, retry_delays) as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            rows = conn.execute(sqlalchemy.text(source.query)).mappings().all()
            conn.rollback()
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise SourceError(f"the SQL source's query failed: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return "".join(json.dumps({k: str(v) for k, v in row.items()}, sort_keys=True) + "\n" for row in rows).encode()


def _connect(engine: sqlalchemy.Engine, retry_delays: tuple[float, ...]) -> sqlalchemy.Connection:
    """Connecting is what heals by waiting; a query that fails once fails again."""
    failure = ""
    for delay in (0.0, *retry_delays):
        time.sleep(delay)
        try:
            return engine.connect()
        except sqlalchemy.exc.OperationalError as exc:
            failure = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
    raise SourceError(f"the SQL source failed after {len(retry_delays) + 1} attempts: {failure}")


def parse_rows(source: Source, raw: bytes) -> list[tuple]:
    """(time, value) rows, or (time, prediction, label) for model evaluation, in time order."""
    try:
        if isinstance(source, CsvSource):
            reader = csv.DictReader(io.StringIO(raw.decode()))
            rows: list[tuple] = [(int(r[source.time_column]), Fraction(r[source.value_column])) for r in reader]
        elif isinstance(source, PrometheusSource):
            rows = _prometheus_rows(json.loads(raw))
        elif isinstance(source, HttpJsonSource):
            document = _field(json.loads(raw, parse_float=Fraction), source.records_field)
            records = document if isinstance(document, list) else [document]
            rows = [(int(_field(r, source.time_field)), Fraction(_field(r, source.value_field))) for r in records]
        else:
            records = [json.loads(line, parse_float=Fraction) for line in raw.decode().splitlines() if line.strip()]
            if isinstance(source, JsonLinesSource):
                rows = [(int(_field(r, source.time_field)), Fraction(_field(r, source.value_field))) for r in records]
            elif isinstance(source, SqlSource):
                rows = [(int(r[source.time_column]), Fraction(r[source.value_column])) for r in records]
            else:  # ModelEvaluationSource
                rows = [
                    (
                        int(_field(r, source.time_field)),
                        _field(r, source.prediction_field),
                        _field(r, source.label_field),
                    )
                    for r in records
                ]
    except (KeyError, IndexError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot parse {_name(source)} as {source.kind}: {exc!r}") from None
    return sorted(rows, key=lambda r: r[0])


def _prometheus_rows(document: dict) -> list[tuple]:
    if document.get("status") != "success":
        raise SourceError(f"Prometheus answered {document.get('status')}: {document.get('error')}")
    result, kind = document["data"]["result"], document["data"]["resultType"]
    if len(result) != 1:
        raise SourceError(f"the Prometheus query returned {len(result)} series, not 1: aggregate them in PromQL")
    points = result[0]["values"] if kind == "matrix" else [result[0]["value"]]
    return [(int(Fraction(str(t))), Fraction(v)) for t, v in points]


def _name(source: Source) -> str:
    if isinstance(source, (HttpJsonSource, PrometheusSource)):
        return source.url
    return "the SQL query" if isinstance(source, SqlSource) else source.path


def _field(record, dotted: str):
    """A dotted path into nested JSON (`data.series`); the empty path is the record itself."""
    for part in filter(None, dotted.split(".")):
        record = record[part]
    return record
