"""A real S3-compatible server on loopback (moto's server mode) and the Airflow connection that reaches it."""

from __future__ import annotations

import json
from types import TracebackType

import boto3
from moto.server import ThreadedMotoServer

CONN_ID = "s3_export"
BUCKET = "instagram-export"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing-secret", "region_name": "us-east-1"}


class S3Server:
    """moto's S3 over HTTP on a free loopback port, with one bucket (:data:`BUCKET`)."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def __enter__(self) -> S3Server:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.client().create_bucket(Bucket=BUCKET)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.stop()

    def client(self) -> object:
        return boto3.client("s3", endpoint_url=self.url, **CREDENTIALS)

    def connection_json(self) -> str:
        """The ``aws`` connection (as ``AIRFLOW_CONN_S3_EXPORT``) pointing the amazon provider at this server."""
        return json.dumps({
            "conn_type": "aws", "login": CREDENTIALS["aws_access_key_id"],
            "password": CREDENTIALS["aws_secret_access_key"],
            "extra": {"endpoint_url": self.url, "region_name": CREDENTIALS["region_name"]},
        })  # fmt: skip

    def keys(self, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix`` with its bytes."""
        client = boto3.client("s3", endpoint_url=self.url, **CREDENTIALS)
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        return found
