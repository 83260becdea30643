"""Where the stand-in's storages keep real bytes: "B2" = a bucket on the local S3, "LucidLink" = a local folder."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


class Blobs(Protocol):
    """Byte store behind one iconik storage; keys are relative paths like `<asset>/<format>/<name>`."""

    def write(self, key: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        """Store the bytes; return (size, md5 hex)."""

    def read(self, key: str) -> Iterator[bytes]:
        """Stream the bytes (FileNotFoundError if absent)."""

    def stat(self, key: str) -> int | None:
        """Size in bytes, or None if absent."""

    def delete(self, key: str) -> None:
        """Remove the bytes (absent is fine)."""

    def describe(self) -> dict:
        """Storage settings shown in the iconik storage record."""

    def wipe(self) -> None:
        """Remove everything this storage holds (admin reset)."""


class _Hashing:
    """Counts and hashes the chunks passing through."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it = iter(chunks)
        self.size = 0
        self.md5 = hashlib.md5()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._it:
            self.size += len(chunk)
            self.md5.update(chunk)
            yield chunk


class _IterReader(io.RawIOBase):
    """A file-like object over an iterator of chunks (boto3 upload_fileobj reads from it)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class FolderBlobs:
    """A local folder (the LucidLink filespace as an editor would see it mounted)."""

    def __init__(self, root: str):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:  # keys come from API input (names); never escape the root
            raise ValueError(f"key escapes the storage root: {key!r}")
        return path

    def write(self, key: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        hashing = _Hashing(chunks)
        with open(tmp, "wb") as fh:
            fh.writelines(hashing)
        os.replace(tmp, path)
        return hashing.size, hashing.md5.hexdigest()

    def read(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator; raises FileNotFoundError before the first chunk is asked for

        def gen() -> Iterator[bytes]:
            with fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
        return gen()

    def stat(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        # Tidy empty folders up to the root, as a purge in a real filespace leaves no empty asset folders.
        parent = path.parent
        while parent != self.root and parent.is_dir():
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def describe(self) -> dict:
        return {"path": str(self.root)}

    def wipe(self) -> None:
        if self.root.is_dir():
            for child in self.root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)


class S3Blobs:
    """A prefix of a bucket on an S3 endpoint (the local B2: moto behind the strict B2 layer)."""

    def __init__(self, endpoint: str, region: str, access_key: str, secret_key: str, bucket: str, prefix: str):
        self.endpoint, self.region, self.bucket = endpoint, region, bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._keys = (access_key, secret_key)
        self._client = None
        self._lock = threading.Lock()
        self._bucket_ready = False

    def client(self):
        with self._lock:
            if self._client is None:
                from localdev.b2.client import s3_client

                self._client = s3_client(self.endpoint, key_id=self._keys[0], secret=self._keys[1], region=self.region,
                                         retries={"max_attempts": 3}, max_pool_connections=32)
            return self._client

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        s3 = self.client()
        try:
            s3.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                s3.create_bucket(Bucket=self.bucket,
                                 CreateBucketConfiguration={"LocationConstraint": self.region})
            except ClientError as exc:  # created meanwhile by someone else
                if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        self._bucket_ready = True

    def key(self, key: str) -> str:
        return self.prefix + key

    def write(self, key: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        self._ensure_bucket()
        hashing = _Hashing(chunks)
        self.client().upload_fileobj(_IterReader(hashing), self.bucket, self.key(key))
        return hashing.size, hashing.md5.hexdigest()

    def read(self, key: str) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        self._ensure_bucket()
        try:
            body = self.client().get_object(Bucket=self.bucket, Key=self.key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise

        def gen() -> Iterator[bytes]:
            with body:
                while chunk := body.read(CHUNK):
                    yield chunk
        return gen()

    def stat(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        self._ensure_bucket()
        try:
            return int(self.client().head_object(Bucket=self.bucket, Key=self.key(key))["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def delete(self, key: str) -> None:
        self._ensure_bucket()
        self.client().delete_object(Bucket=self.bucket, Key=self.key(key))

    def describe(self) -> dict:
        return {"bucket": self.bucket, "path": self.prefix, "endpoint": self.endpoint, "region": self.region}

    def wipe(self) -> None:
        if not self.prefix:  # the bucket is shared with the rest of the local stack: never empty all of it
            raise ValueError("refusing to wipe an S3 storage without a prefix")
        self._ensure_bucket()
        s3 = self.client()
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
