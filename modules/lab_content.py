"""Upload the lab (notebook, its package, requirements) and optionally the data set to S3."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cdktf import AssetType, ITerraformDependable, TerraformAsset
from cdktf_cdktf_provider_aws.s3_object import S3Object
from constructs import Construct

from modules.props import raise_for

# Editor and interpreter litter that must never reach the bucket (or churn the plan).
EXCLUDED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}


def lab_files(directory: Path) -> list[Path]:
    """The files to upload, relative to ``directory``, in a stable order."""
    files = []
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if not path.is_file() or any(part in EXCLUDED_PARTS or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix in EXCLUDED_SUFFIXES:
            continue
        files.append(rel)
    return files


def _construct_id(prefix: str, rel: Path) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_.-]", "-", rel.as_posix().replace("/", "--"))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class LabContentProps:
    """Inputs of :class:`LabContent`.

    directory: local folder whose files (minus caches and hidden files) go to ``prefix/``.
    data_file: optional local copy of the AI4I 2020 CSV, uploaded to ``data_prefix/<name>``.
    bucket_settings: what every object waits for: the bucket's encryption, public access block
        and ownership (``SecureBucket.object_settings``), so that none is written before the
        bucket's SSE-KMS default exists.
    generated: objects whose text the stack writes (S3 key -> text, which may hold Terraform
        references), e.g. the JupyterLab start script; a changed text updates the object in place.
    """

    bucket: str
    directory: Path
    prefix: str
    data_file: Path | None = None
    data_prefix: str = "data"
    bucket_settings: Sequence[ITerraformDependable] = ()
    generated: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        if not self.directory.is_dir():
            found.append(f"directory: {self.directory} does not exist")
        elif not lab_files(self.directory):
            found.append(f"directory: {self.directory} has no files to upload")
        if self.data_file is not None and not self.data_file.is_file():
            found.append(f"data_file: {self.data_file} does not exist")
        for key in ("prefix", "data_prefix"):
            value = getattr(self, key)
            if not value or value.startswith("/") or value.endswith("/"):
                found.append(f"{key}: {value!r} must be a key prefix without leading or trailing '/'")
        found += [
            f"generated: {key!r} is also a lab file's key"
            for key in self.generated
            if self.directory.is_dir()
            and key.startswith(self.prefix + "/")
            and Path(key[len(self.prefix) + 1 :]) in lab_files(self.directory)
        ]
        return found


class LabContent(Construct):
    """Attributes: ``objects`` (S3 key -> S3Object) and ``data_object`` (or None).

    Each file is its own asset, so a changed file changes only its own object; the
    ``source_hash`` (MD5 of the content at synth time) is what makes Terraform re-upload an
    edited notebook, since ETags of SSE-KMS objects are not content hashes.
    """

    def __init__(self, scope: Construct, id: str, *, props: LabContentProps) -> None:
        raise_for("LabContent", props.problems())
        super().__init__(scope, id)
        self.objects: dict[str, S3Object] = {}
        for rel in lab_files(props.directory):
            key = f"{props.prefix}/{rel.as_posix()}"
            self.objects[key] = self._upload(props, props.directory / rel, key, _construct_id("file-", rel))
        self.generated: dict[str, S3Object] = {
            key: S3Object(
                self,
                _construct_id("generated-", Path(key)),
                bucket=props.bucket,
                key=key,
                content=text,
                content_type="text/x-shellscript" if key.endswith(".sh") else "text/plain",
                depends_on=list(props.bucket_settings) or None,
            )
            for key, text in props.generated.items()
        }
        self.data_object = None
        if props.data_file is not None:
            key = f"{props.data_prefix}/{props.data_file.name}"
            self.data_object = self._upload(props, props.data_file, key, "data-file")

    def _upload(self, props: LabContentProps, path: Path, key: str, construct_id: str) -> S3Object:
        asset = TerraformAsset(self, f"{construct_id}-asset", path=str(path), type=AssetType.FILE)
        content_type = mimetypes.guess_type(path.name)[0] or (
            "application/x-ipynb+json" if path.suffix == ".ipynb" else "application/octet-stream"
        )
        return S3Object(
            self,
            construct_id,
            bucket=props.bucket,
            key=key,
            source=asset.path,
            source_hash=_md5(path),
            content_type=content_type,
            depends_on=list(props.bucket_settings) or None,
        )
