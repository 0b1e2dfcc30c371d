"""The file store in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO, Ceph...), through boto3.

Objects are `PREFIX/<key>` in the bucket. Files go up as multipart uploads streamed from their
local temporary file, a part at a time (never the whole file in memory), and come down as
streamed GETs (ranges when asked) or, for readers that need a path, as a download to a local
temporary file that is removed afterwards. Credentials and region come from boto3's usual
sources: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION (or ~/.aws, an instance
role).
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator

from kb.ingest.storage import BlobMissing, BlobStream, Store, StoreUnavailable

# Parts of 8 MB, at most 4 in flight: an upload holds at most ~32 MB of a file in memory,
# whatever the file's size. A file below the threshold goes up in one PUT, read from disk.
MULTIPART_THRESHOLD = 8 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
MAX_CONCURRENCY = 4
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3Store(Store):
    def __init__(self, bucket: str, prefix: str = "", *, scratch: str | Path,
                 endpoint_url: str | None = None, multipart_chunk: int = MULTIPART_CHUNK,
                 client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.scratch = Path(scratch)
        self.endpoint_url = endpoint_url
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.multipart_chunk = multipart_chunk
        self._client = client
        self._lock = threading.Lock()

    # --- the client ------------------------------------------------------------------------

    @property
    def client(self):
        """One boto3 client per store, made on first use (clients are thread-safe; sessions,
        which make them, are not)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    # Path-style addresses (http://host/bucket/key) for a configured endpoint:
                    # what S3-compatible servers all understand; AWS itself chooses.
                    style = "path" if self.endpoint_url else "auto"
                    config = Config(s3={"addressing_style": style}, connect_timeout=5,
                                    read_timeout=60, retries={"max_attempts": 4,
                                                              "mode": "standard"},
                                    max_pool_connections=32)
                    self._client = boto3.session.Session().client(
                        "s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _transfer_config(self):
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=max(self.multipart_chunk, 5 * 1024 * 1024),
                              multipart_chunksize=self.multipart_chunk,
                              max_concurrency=MAX_CONCURRENCY, io_chunksize=256 * 1024,
                              preferred_transfer_client="classic")

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a store key: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    # --- the interface -----------------------------------------------------------------------

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        try:
            if not self.exists(key):
                extra = {"ContentType": content_type} if content_type else None
                with _errors(key):
                    self.client.upload_file(str(path), self.bucket, self._key(key),
                                            ExtraArgs=extra, Config=self._transfer_config())
        finally:
            Path(path).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            with _errors(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except BlobMissing:
            return False
        return True

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobStream:
        arguments = {"Bucket": self.bucket, "Key": self._key(key)}
        if length is not None and length <= 0:
            return BlobStream(_Empty(), 0)
        if start > 0 or length is not None:
            end = "" if length is None else str(start + length - 1)
            arguments["Range"] = f"bytes={start}-{end}"
        with _errors(key):
            answer = self.client.get_object(**arguments)
        return BlobStream(answer["Body"], int(answer["ContentLength"]))

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        fd, path = self.temporary("download-")
        try:
            with os.fdopen(fd, "wb") as out, _errors(key):
                self.client.download_fileobj(self.bucket, self._key(key), out,
                                             Config=self._transfer_config())
            yield path
        finally:
            path.unlink(missing_ok=True)

    def listing(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        full = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        strip = len(f"{self.prefix}/") if self.prefix else 0
        with _errors(prefix or "(listing)"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=full, PaginationConfig={"PageSize": 1000}):
                for entry in page.get("Contents", ()):
                    yield entry["Key"][strip:], int(entry["Size"])

    def delete(self, key: str) -> None:
        with _errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def check(self) -> None:
        """The bucket answers a listing of our prefix (what reading needs; a failed write
        shows on the upload that tried it)."""
        with _errors("(check)"):
            self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1,
                                        Prefix=f"{self.prefix}/" if self.prefix else "")

    def __repr__(self) -> str:
        return f"S3Store({self.url!r}, endpoint_url={self.endpoint_url!r})"


class _Empty:
    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _errors(key: str):
    """boto3's exceptions as the store's: a missing object is BlobMissing, anything else that
    went wrong talking to the store is StoreUnavailable with a short reason."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in MISSING_CODES:
            raise BlobMissing(key) from None
        if code == "NoSuchBucket":
            raise StoreUnavailable("the bucket does not exist") from None
        raise StoreUnavailable(f"the object store refused the request ({code or 'error'})") \
            from None
    except BotoCoreError as error:  # no connection, a timeout...
        raise StoreUnavailable(
            f"the object store cannot be reached ({type(error).__name__})") from None
    except Boto3Error as error:  # a transfer that failed after its retries
        raise StoreUnavailable(f"the transfer failed ({type(error).__name__})") from None
