"""A moto S3 server that checks credentials, as the console's settings tests see it (the ``s3``
fixture that starts one is in tests/console/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minio import Minio


@dataclass
class S3:
    """A running moto S3 server and the access key it accepts."""

    endpoint: str
    access_key: str
    secret: str

    def client(self) -> Minio:
        """A MinIO client signed with the accepted key."""
        host = self.endpoint.split("://", 1)[1]
        return Minio(host, access_key=self.access_key, secret_key=self.secret, secure=False, region="us-east-1")

    def settings(self, bucket: str, **over: Any) -> dict[str, Any]:
        """PocketBase's ``s3`` settings section for ``bucket`` on this server (``over`` changes fields)."""
        return {
            "enabled": True,
            "bucket": bucket,
            "region": "us-east-1",
            "endpoint": self.endpoint,
            "accessKey": self.access_key,
            "secret": self.secret,
            "forcePathStyle": True,
            **over,
        }
