"""The Celery deployment of the distributed tests (tests/support/celery_cluster.py), one for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_instagram.emulator import InstagramEmulator
from airflow_provider_instagram.local_airflow import PostgresServer
from tests.support.celery_cluster import Cluster, celery_cluster
from tests.support.s3_server import S3Server


@pytest.fixture(scope="module")
def cluster(
    instagram_emulator_server: InstagramEmulator, s3_server: S3Server, postgres_server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:  # fmt: skip
    with celery_cluster(instagram_emulator_server.url, s3_server, postgres_server,
                        tmp_path_factory.mktemp("celery")) as cluster:  # fmt: skip
        yield cluster
