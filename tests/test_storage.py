"""The storage interface on both backends: a folder and a real S3 server (SeaweedFS).

Every test here runs twice, on a LocalStore and on an S3Store, with the same assertions: the
two must behave alike for everything the application does with them.
"""
from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import uuid
from pathlib import Path

import pytest

from kb.ingest import storage
from kb.ingest.s3store import S3Store
from kb.ingest.storage import (BlobMissing, LocalStore, StoreUnavailable, blob_key, open_store,
                               thumbnail_key)
from tests import seaweedfs


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "files")
    settings = request.getfixturevalue("s3_settings")
    return open_store(settings["FILE_STORE_URL"], scratch=tmp_path / "scratch",
                      endpoint_url=settings["S3_ENDPOINT_URL"])


def received(store, data: bytes, max_bytes=None):
    return storage.receive(store, io.BytesIO(data), max_bytes)


def keys(store, prefix=""):
    return dict(store.listing(prefix))


def test_the_url_chooses_the_backend(tmp_path):
    local = open_store(f"file://{tmp_path}/files", scratch=tmp_path / "tmp")
    assert isinstance(local, LocalStore) and local.root == tmp_path / "files"
    s3 = open_store("s3://bucket/some/prefix/", scratch=tmp_path / "tmp",
                    endpoint_url="http://127.0.0.1:1")
    assert isinstance(s3, S3Store) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    assert s3.url == "s3://bucket/some/prefix"
    for wrong in ("files", "file://relative/path", "ftp://host/x", "s3:///prefix", ""):
        with pytest.raises(ValueError):
            open_store(wrong, scratch=tmp_path)


def test_keys_keep_the_folder_layout_the_store_always_had():
    digest = hashlib.sha256(b"x").hexdigest()
    assert blob_key(digest) == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert storage.sha256_of_blob_key(blob_key(digest)) == digest
    assert storage.sha256_of_blob_key(thumbnail_key(digest)) is None
    for wrong in ("", "../etc/passwd", digest.upper(), digest[:-1]):
        with pytest.raises(ValueError):
            blob_key(wrong)


def test_a_received_file_is_put_once_under_its_sha256(store):
    data = "សេចក្ដីណែនាំ commune budget".encode() * 1000
    first = received(store, data)
    assert (first.sha256, first.size) == (hashlib.sha256(data).hexdigest(), len(data))
    key = storage.keep(store, first)
    assert key == blob_key(first.sha256) and not first.path.exists()
    assert store.exists(key) and keys(store) == {key: len(data)}
    again = received(store, data)  # the same bytes again: nothing new is stored
    storage.keep(store, again)
    assert not again.path.exists() and keys(store) == {key: len(data)}
    with store.open(key) as stream:
        assert stream.length == len(data) and stream.read() == data
    assert not list(store.scratch.iterdir())  # no temporary is left behind


def test_too_large_keeps_nothing(store):
    with pytest.raises(storage.TooLarge):
        received(store, b"x" * (3 * storage.CHUNK), max_bytes=2 * storage.CHUNK)
    assert not store.scratch.exists() or not list(store.scratch.iterdir())
    assert keys(store) == {}


def test_ranges_and_missing_objects(store):
    data = bytes(range(256)) * 64
    key = storage.keep(store, received(store, data))
    with store.open(key, 100, 50) as part:
        assert part.length == 50 and part.read() == data[100:150]
    with store.open(key, len(data) - 10) as tail:
        assert tail.length == 10 and tail.read() == data[-10:]
    absent = blob_key(hashlib.sha256(b"never stored").hexdigest())
    assert not store.exists(absent)
    with pytest.raises(BlobMissing):
        store.open(absent)
    with pytest.raises(BlobMissing):
        with store.local_copy(absent):
            pass


def test_a_local_copy_is_there_while_it_is_read_and_gone_after(store):
    data = b"%PDF-1.4 pretend" * 500
    key = storage.keep(store, received(store, data))
    with store.local_copy(key) as path:
        assert Path(path).read_bytes() == data
    if isinstance(store, LocalStore):
        assert path == store.path(key) and path.exists()  # the folder gives its own file
    else:
        assert not Path(path).exists()  # the download is removed
    assert not [p for p in store.scratch.glob("*") if p.is_file()]


def test_thumbnails_live_under_their_own_keys(store, tmp_path):
    digest = hashlib.sha256(b"doc").hexdigest()
    png = tmp_path / "thumb.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n fake!")
    store.put_file(thumbnail_key(digest), png, "image/png")
    assert not png.exists()
    assert keys(store, storage.THUMBNAIL_PREFIX) == {thumbnail_key(digest): 14}
    store.delete(thumbnail_key(digest))
    assert not store.exists(thumbnail_key(digest))


def test_listing_pages_through_more_than_one_page(store):
    """S3 lists 1000 keys a page; the listing must follow every page."""
    if isinstance(store, S3Store):
        store.client  # noqa: B018 - made now, so the page size can be shrunk below
        original = store.client.get_paginator

        def small_pages(name):
            paginator = original(name)
            paginate = paginator.paginate
            paginator.paginate = lambda **kw: paginate(**{**kw, "PaginationConfig": {
                "PageSize": 3}})
            return paginator

        store.client.get_paginator = small_pages
    stored = {storage.keep(store, received(store, f"file {n}".encode())) for n in range(8)}
    assert set(keys(store)) == stored


def test_check_says_what_is_wrong(store, tmp_path, s3_server):
    store.prepare()
    store.check()
    if isinstance(store, LocalStore):
        broken = LocalStore(tmp_path / "gone")
    else:
        broken = S3Store(f"no-such-bucket-{uuid.uuid4().hex[:8]}", scratch=tmp_path,
                         endpoint_url=s3_server.endpoint)
    with pytest.raises(StoreUnavailable) as failure:
        broken.check()
    assert "missing" in failure.value.message or "does not exist" in failure.value.message


def test_wrong_credentials_and_no_server_are_unavailable_not_missing(s3_server, tmp_path,
                                                                      monkeypatch):
    for name, value in s3_server.environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not the secret")
    refused = S3Store(s3_server.bucket, "x", scratch=tmp_path, endpoint_url=s3_server.endpoint)
    with pytest.raises(StoreUnavailable) as failure:
        refused.exists(blob_key(hashlib.sha256(b"a").hexdigest()))
    assert "refused" in failure.value.message
    (port,) = seaweedfs.free_ports(1)  # nothing listens there
    nobody = S3Store(s3_server.bucket, "x", scratch=tmp_path,
                     endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StoreUnavailable) as failure:
        nobody.check()
    assert "cannot be reached" in failure.value.message


def test_a_large_file_goes_up_and_down_in_parts_never_whole_in_memory(s3_server, s3_settings,
                                                                       tmp_path):
    """64 MB through S3 (multipart, 5 MB parts, 4 at a time): the peak of Python memory grows
    by what the parts in flight hold, far below the file's size, both ways."""
    store = S3Store(s3_server.bucket, s3_settings["FILE_STORE_URL"].rsplit("/", 1)[1],
                    scratch=tmp_path / "scratch", endpoint_url=s3_server.endpoint,
                    multipart_chunk=5 * 1024 * 1024)
    size = 64 * 1024 * 1024
    source = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as out:
        for n in range(size // storage.CHUNK):
            chunk = hashlib.sha256(str(n).encode()).digest() * (storage.CHUNK // 32)
            digest.update(chunk)
            out.write(chunk)
    key = blob_key(digest.hexdigest())
    assert not store.exists(key)  # the client and its service model loaded before measuring
    tracemalloc.start()
    try:
        with open(source, "rb") as handle:
            item = storage.receive(store, handle, None)
        storage.keep(store, item)
        _, peak_up = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        down = hashlib.sha256()
        with store.open(key) as stream:
            while chunk := stream.read(storage.CHUNK):
                down.update(chunk)
        with store.local_copy(key) as copy:
            assert os.path.getsize(copy) == size
        _, peak_down = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert down.hexdigest() == digest.hexdigest()
    head = s3_server.client().head_object(Bucket=s3_server.bucket, Key=f"{store.prefix}/{key}")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-13"), head["ETag"]  # 13 parts of 5 MB
    assert peak_up < size / 2, peak_up
    assert peak_down < size / 2, peak_down
