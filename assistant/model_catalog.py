"""Recommended chat models to download: stronger than the default for a machine with the memory for them.

Each is one GGUF file on the Hugging Face hub, named by repository and file; the file name is checked here (a
plain name ending in .gguf) and is the only name the download ever gets on disk.

Where the SHA-256 values come from (the hub's LFS object ids, the hash of the file's bytes; this machine cannot
reach the hub, so none was computed here):

- Qwen2.5-3B-Instruct: pinned at revision 7dabda4d13d513e3e842b20f0d435c732f172cbe of Qwen/Qwen2.5-3B-Instruct-GGUF
  by several public download manifests on GitHub, all with the same hash and the same size, 2,104,932,768 bytes.
- Phi-3.5-mini-instruct: the LFS oid and size the hub's API reports, as recorded in a-ghorbani/pocketpal-ai
  (src/store/defaultModels.ts, commit 097b08d0); the same hash is in mudler/LocalAI's gallery/index.yaml.
- Llama-3.1-8B-Instruct: mudler/LocalAI's gallery/index.yaml (commit 259de87); no published size was found.
- Qwen2.5-7B-Instruct: no published hash was found, so none is stored. Such a file is downloaded and size-checked
  but never marked verified unless the user gives the hash from the model's page (`expected_sha256`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest import ModelError

HUB = "https://huggingface.co"
_COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")  # an owner or repository name on the hub
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,195}\.gguf")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """One downloadable GGUF: where it is on the hub, what it is, and what its bytes must hash to."""

    name: str
    display_name: str
    repo: str
    """`OWNER/NAME` on the hub."""
    file_name: str
    size: int | None
    """Exact size in bytes, when published; None when unknown (then `about_gb` is only for display)."""
    sha256: str | None
    """The published SHA-256 of the file; None when none is known (such a download is never marked verified)."""
    license: str
    about_gb: float
    note: str = ""
    hub: str = HUB
    """Base address of the hub; tests point it at a server on loopback."""

    @property
    def url(self) -> str:
        return f"{self.hub.rstrip('/')}/{self.repo}/resolve/main/{self.file_name}"

    @property
    def spec(self) -> str:
        """The `DOCQA_CHAT_MODEL` value that uses this model (downloaded on first use)."""
        return f"hf:{self.repo}/{self.file_name}"

    @property
    def description(self) -> str:
        """As `available_models` describes a chat model: name and size, then the rest after a colon."""
        return f"{self.display_name} ({self.about_gb:.1f} GB): {self.note or 'downloaded from ' + self.repo}"


RECOMMENDED_MODELS: dict[str, CatalogModel] = {
    model.name: model
    for model in (
        CatalogModel(
            name="qwen2.5-3b-instruct-q4_k_m",
            display_name="Qwen2.5-3B-Instruct, Q4_K_M",
            repo="Qwen/Qwen2.5-3B-Instruct-GGUF",
            file_name="qwen2.5-3b-instruct-q4_k_m.gguf",
            size=2_104_932_768,
            sha256="626b4a6678b86442240e33df819e00132d3ba7dddfe1cdc4fbb18e0a9615c62d",
            license="Qwen Research License (qwen-research: research and non-commercial use)",
            about_gb=2.1,
            note="twice the default's size, follows the sources more closely; about 4 GB of memory",
        ),
        CatalogModel(
            name="phi-3.5-mini-instruct-q4_k_m",
            display_name="Phi-3.5-mini-instruct, Q4_K_M",
            repo="MaziyarPanahi/Phi-3.5-mini-instruct-GGUF",
            file_name="Phi-3.5-mini-instruct.Q4_K_M.gguf",
            size=2_393_232_608,
            sha256="3f68916e850b107d8641d18bcd5548f0d66beef9e0a9077fe84ef28943eb7e88",
            license="MIT",
            about_gb=2.4,
            note="Microsoft's 3.8B model, strong at English reading; about 4 GB of memory",
        ),
        CatalogModel(
            name="qwen2.5-7b-instruct-q4_k_m",
            display_name="Qwen2.5-7B-Instruct, Q4_K_M",
            # One file; Qwen's own repository splits this quantization in two.
            repo="bartowski/Qwen2.5-7B-Instruct-GGUF",
            file_name="Qwen2.5-7B-Instruct-Q4_K_M.gguf",
            size=None,
            sha256=None,
            license="Apache-2.0",
            about_gb=4.7,
            note="much stronger, multilingual, slower on a laptop CPU; about 8 GB of memory",
        ),
        CatalogModel(
            name="llama-3.1-8b-instruct-q4_k_m",
            display_name="Llama-3.1-8B-Instruct, Q4_K_M",
            repo="MaziyarPanahi/Meta-Llama-3.1-8B-Instruct-GGUF",
            file_name="Meta-Llama-3.1-8B-Instruct.Q4_K_M.gguf",
            size=None,
            sha256="c2f17f44af962660d1ad4cb1af91a731f219f3b326c2b14441f9df1f347f2815",
            license="Llama 3.1 Community License (llama3.1)",
            about_gb=4.9,
            note="Meta's 8B model, strong in English; about 8 GB of memory",
        ),
    )
}


def hub_entry(spec: str) -> CatalogModel:
    """The model an `OWNER/REPO/FILE.gguf` spec names: the catalog's entry, or one with no known hash or size."""
    repo, _, file_name = spec.strip().rpartition("/")
    owner, _, name = repo.partition("/")
    if not (_COMPONENT.fullmatch(owner) and _COMPONENT.fullmatch(name)) or not is_plain_gguf_name(file_name):
        raise ModelError(f"Write hub models as `hf:OWNER/REPO/FILE.gguf`, not `hf:{spec}`.")
    for model in RECOMMENDED_MODELS.values():
        if (model.repo, model.file_name) == (repo, file_name):
            return model
    stem = file_name.removesuffix(".gguf")
    return CatalogModel(stem, stem, repo, file_name, None, None, "see the model's page on the hub", 0.0)


def is_plain_gguf_name(file_name: str) -> bool:
    """A file name that stays in its folder: no separators, no leading dot, nothing invisible, ends in .gguf."""
    return _FILE_NAME.fullmatch(file_name) is not None and ".." not in file_name


def checked_sha256(value: str | None) -> str | None:
    """A SHA-256 as 64 lowercase hex digits, or ModelError saying what is wrong with it."""
    if value is None or not value.strip():
        return None
    digest = value.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise ModelError(f"{value.strip()!r} is not a SHA-256: it has 64 hexadecimal digits (0-9, a-f).")
    return digest


def download_folder(model: CatalogModel, model_dir: Path) -> Path:
    """Where a hub model is kept: `model_dir/downloads/OWNER/REPO/`, so two repositories' same-named files differ."""
    hub_entry(f"{model.repo}/{model.file_name}")  # refuses a repository or file name that could leave the folder
    return model_dir / "downloads" / model.repo
