"""Model files: clear errors for bad paths and specs, assembly verified by SHA-256, the catalog of models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant import ModelError, Settings, available_models, resolve_chat_model
from assistant.model_files import PackagedModel, _assemble, packaged_model_path


def settings_for(tmp_path: Path, chat_model: str) -> Settings:
    return Settings(chat_model=chat_model, model_dir=tmp_path / "models", _env_file=None)  # type: ignore[call-arg]


def test_missing_path_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="DOCQA_CHAT_MODEL"):
        resolve_chat_model(settings_for(tmp_path, str(tmp_path / "nope.gguf")))


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_chat_model(settings_for(tmp_path, str(fake)))


def test_a_gguf_path_is_used_as_it_is(tmp_path: Path) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF" + bytes(16))
    assert resolve_chat_model(settings_for(tmp_path, str(model))) == model


@pytest.mark.parametrize(
    ("spec", "message"), [("hf:just-a-name", "hf:OWNER/REPO/FILE.gguf"), ("packaged:gpt-9", "Unknown packaged model")]
)
def test_bad_specs_are_explained(tmp_path: Path, spec: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        resolve_chat_model(settings_for(tmp_path, spec))


def fake_model(parts: list[Path], sha256: str) -> PackagedModel:
    return PackagedModel(
        "fake", "fake", "fake.gguf", sha256, tuple(("fake", str(p)) for p in parts), "pip install fake"
    )


def test_assembly_concatenates_in_order_and_verifies(tmp_path: Path) -> None:
    parts = [tmp_path / f"part{i}.bin" for i in range(3)]
    for i, part in enumerate(parts):
        part.write_bytes(bytes([i]) * 1000)
    whole = b"".join(p.read_bytes() for p in parts)
    target = tmp_path / "models" / "fake.gguf"
    seen: list[tuple[int, int]] = []
    _assemble(fake_model(parts, hashlib.sha256(whole).hexdigest()), parts, target, lambda d, t: seen.append((d, t)))
    assert target.read_bytes() == whole
    assert seen[-1] == (3000, 3000)


def test_assembly_with_a_wrong_part_leaves_nothing_behind(tmp_path: Path) -> None:
    parts = [tmp_path / "part0.bin"]
    parts[0].write_bytes(b"damaged")
    target = tmp_path / "models" / "fake.gguf"
    with pytest.raises(ModelError, match="expected"):
        _assemble(fake_model(parts, "0" * 64), parts, target, None)
    assert list(target.parent.iterdir()) == []


def test_packaged_test_model_is_verified_once(tmp_path: Path) -> None:
    path = packaged_model_path("smollm2-135m-instruct-q4_1", tmp_path)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (tmp_path / f".{path.name}.verified").read_text().startswith("b179c952")


def test_catalog_lists_installed_and_local_models(tmp_path: Path) -> None:
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    found = available_models(tmp_path)
    assert "packaged:smollm2-135m-instruct-q4_1" in found
    assert "packaged:qwen2.5-coder-1.5b-instruct-q4_k_m" in found
    assert str(tmp_path / "mine.gguf") in found
