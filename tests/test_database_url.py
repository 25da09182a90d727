"""`AIDIAL_DATABASE_URL` and `AIDIAL_DATA_DIR`: where the portal keeps its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from aidial_portal import config
from aidial_portal.database_url import parse_database_url

DEFAULT = Path("/srv/portal/var/portal.sqlite3")
SQLITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20}


def test_no_url_means_sqlite_in_the_data_directory() -> None:
    database = parse_database_url("", default_sqlite=DEFAULT)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(DEFAULT)
    assert database["OPTIONS"] == SQLITE_OPTIONS


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite://:memory:"])
def test_sqlite_url_without_a_path_means_the_default_file(url: str) -> None:
    assert parse_database_url(url, default_sqlite=DEFAULT)["NAME"] == str(DEFAULT)


def test_sqlite_url_with_four_slashes_is_an_absolute_path() -> None:
    database = parse_database_url("sqlite:////srv/some%20dir/portal.db", default_sqlite=DEFAULT)
    assert database["NAME"] == "/srv/some dir/portal.db"
    assert database["OPTIONS"] == SQLITE_OPTIONS


def test_sqlite_url_with_three_slashes_is_relative_to_the_working_directory() -> None:
    database = parse_database_url("sqlite:///data/portal.db", default_sqlite=DEFAULT)
    assert database["NAME"] == "data/portal.db"


def test_sqlite_keeps_immediate_transactions_whatever_the_url_asks() -> None:
    database = parse_database_url(
        "sqlite:////srv/portal.db?transaction_mode=DEFERRED&timeout=1", default_sqlite=DEFAULT
    )
    assert database["OPTIONS"] == SQLITE_OPTIONS


def test_postgresql_url_names_user_password_host_port_and_options() -> None:
    database = parse_database_url(
        "postgresql://portal:p%40ss%2Fword@db.internal:5433/aidial?sslmode=require",
        default_sqlite=DEFAULT,
    )
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["USER"], database["PASSWORD"]) == ("portal", "p@ss/word")
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        "5433",
        "aidial",
    )
    assert database["OPTIONS"]["sslmode"] == "require"
    assert database["CONN_HEALTH_CHECKS"] is True


def test_postgres_scheme_is_postgresql_too() -> None:
    database = parse_database_url("postgres://postgres@127.0.0.1/test", default_sqlite=DEFAULT)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("127.0.0.1", "", "test")


@pytest.mark.parametrize(
    "url",
    ["mysql://root:hunter2secret@db/portal", "hunter2secret", "redis://:hunter2secret@cache/0"],
)
def test_other_databases_are_refused_without_repeating_the_url(url: str) -> None:
    with pytest.raises(ValueError, match="must start with sqlite:// or postgresql://") as error:
        parse_database_url(url, default_sqlite=DEFAULT)
    assert "hunter2secret" not in str(error.value)


def test_malformed_url_is_refused_without_repeating_the_password() -> None:
    with pytest.raises(ValueError, match="not a valid URL") as error:
        parse_database_url(
            "postgresql://portal:hunter2secret@db:port/aidial", default_sqlite=DEFAULT
        )
    assert "hunter2secret" not in str(error.value)


def test_data_directory_defaults_to_var_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert config.from_env({}).data_dir == tmp_path / "var"
    assert config.from_env({"AIDIAL_DATA_DIR": "state"}).data_dir == tmp_path / "state"
    assert config.from_env({"AIDIAL_DATA_DIR": "/srv/portal"}).data_dir == Path("/srv/portal")


def test_data_directory_is_never_inside_the_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    package = Path(config.__file__).resolve().parent
    assert not config.from_env({}).data_dir.is_relative_to(package.parent)


def test_database_url_is_not_shown_in_the_settings_object() -> None:
    settings_object = config.from_env(
        {"AIDIAL_DATABASE_URL": "postgresql://portal:hunter2secret@db/aidial"}
    )
    assert "hunter2secret" in settings_object.database_url  # read, and kept for the database
    assert "hunter2secret" not in repr(settings_object)


def test_postgresql_connections_are_pooled_per_process_when_a_pool_size_is_set() -> None:
    database = parse_database_url(
        "postgresql://portal@db/aidial", default_sqlite=DEFAULT, pool_max_size=6
    )
    pool = database["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"]) == (1, 6)
    assert 0 < pool["timeout"] <= 10  # an outage answers 503 well within a load balancer's wait
    assert database["CONN_MAX_AGE"] == 0  # Django refuses persistent connections with a pool
    assert database["CONN_HEALTH_CHECKS"] is True


def test_without_a_pool_each_thread_keeps_its_postgresql_connection_for_a_minute() -> None:
    database = parse_database_url("postgresql://portal@db/aidial", default_sqlite=DEFAULT)
    assert "pool" not in database["OPTIONS"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_each_thread_keeps_its_sqlite_connection_for_a_minute_instead_of_one_per_request() -> None:
    for url in ("", "sqlite:////srv/portal.db"):
        assert parse_database_url(url, default_sqlite=DEFAULT)["CONN_MAX_AGE"] == 60


def test_sqlite_is_never_pooled() -> None:
    database = parse_database_url("", default_sqlite=DEFAULT, pool_max_size=6)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "pool" not in database["OPTIONS"]


def test_pool_size_comes_from_the_environment() -> None:
    assert config.from_env({}).db_pool_max_size == 10
    assert config.from_env({"AIDIAL_DB_POOL_MAX_SIZE": "0"}).db_pool_max_size == 0
    with pytest.raises(ValueError, match="AIDIAL_DB_POOL_MAX_SIZE"):
        config.from_env({"AIDIAL_DB_POOL_MAX_SIZE": "lots"})


def test_a_pooled_database_is_used_again_at_once_when_it_returns_from_an_outage() -> None:
    """psycopg's pool retries a lost connection with a growing back-off (1, 2, 4 ... s) for
    five minutes by default: the portal went on refusing requests for seconds after the
    database returned. With the portal's options, a request soon after it returns is served."""
    import time

    import psycopg
    from psycopg_pool import ConnectionPool, PoolTimeout

    from tests.support.tcp_proxy import TcpProxy

    try:
        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2
        ).close()
    except psycopg.Error:
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    options = parse_database_url(
        "postgresql://postgres@127.0.0.1/postgres", default_sqlite=DEFAULT, pool_max_size=2
    )["OPTIONS"]["pool"]
    proxy = TcpProxy(("127.0.0.1", 5432))
    port = proxy.port
    pool = ConnectionPool(
        f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=2",
        check=ConnectionPool.check_connection,
        open=True,
        **options,
    )
    try:
        pool.wait(timeout=10)
        proxy.close()  # the outage: open connections cut, new ones refused
        with pytest.raises(PoolTimeout):
            pool.getconn(timeout=0.5)
        deadline = time.monotonic() + 20
        while pool.get_stats().get("connections_errors", 0) < 6:  # the pool has retried a while
            assert time.monotonic() < deadline, "the pool stopped trying to reconnect"
            with pytest.raises(PoolTimeout):
                pool.getconn(timeout=0.5)
        proxy = TcpProxy(("127.0.0.1", 5432), port=port)  # the database is back
        with pool.connection(timeout=2.0) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()
        proxy.close()
