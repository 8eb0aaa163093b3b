"""Downloading a hub model from a real HTTP server on loopback: whole, resumed, restarted, refused, damaged; and
from the app's sidebar, with the catalog entry pointed at that server."""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant import AssistantError, ModelError, Settings, available_models, resolve_chat_model
from assistant import eval as evaluation
from assistant.model_catalog import RECOMMENDED_MODELS, CatalogModel, download_folder, hub_entry
from assistant.model_download import DownloadState, download_model, download_state, fetch_model
from tests.test_app import app_env, run_app  # noqa: F401  (app_env is a fixture)

MODEL_BYTES = b"GGUF" + random.Random(15).randbytes(3 * 1024 * 1024)
REPO, FILE = "someone/Fake-Model-GGUF", "fake-model.Q4_K_M.gguf"


@dataclass
class Served:
    range: str | None
    status: int
    bytes: int


class FakeHub(ThreadingHTTPServer):
    """Serves files at `/REPO/resolve/main/FILE` like the hub, with Range, and can misbehave on request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HubHandler)
        self.files = {f"/{REPO}/resolve/main/{FILE}": MODEL_BYTES}
        self.honour_range = True
        self.drop_after: int | None = None  # the next response stops after this many bytes of its body
        self.served: list[Served] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HubHandler(BaseHTTPRequestHandler):
    server: FakeHub

    def do_GET(self) -> None:
        hub, asked = self.server, self.headers.get("Range")
        body = hub.files.get(self.path)
        if body is None:
            hub.served.append(Served(asked, 404, 0))
            self.send_error(404)
            return
        start = int(re.fullmatch(r"bytes=(\d+)-", asked)[1]) if asked and hub.honour_range else 0  # type: ignore[index]
        status = 206 if asked and hub.honour_range else 200
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        piece = body[start:]
        self.send_header("Content-Length", str(len(piece)))
        self.end_headers()
        if hub.drop_after is not None:  # promise the whole piece, send part of it, hang up
            piece, hub.drop_after = piece[: hub.drop_after], None
        try:
            self.wfile.write(piece)
        except (BrokenPipeError, ConnectionResetError):  # the client hung up, as it does on a size it refuses
            piece = b""
        hub.served.append(Served(asked, status, len(piece)))

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def fake_model(hub: FakeHub, **changes: object) -> CatalogModel:
    model = CatalogModel(
        "fake-model", "Fake Model, Q4_K_M", REPO, FILE, len(MODEL_BYTES), hashlib.sha256(MODEL_BYTES).hexdigest(),
        "MIT", 0.003, hub=hub.url,
    )  # fmt: skip
    return replace(model, **changes)  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_a_whole_download_is_verified_marked_and_not_fetched_again(hub: FakeHub, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    path = download_model(fake_model(hub), tmp_path, on_progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / FILE and path.read_bytes() == MODEL_BYTES
    assert seen[-1] == (len(MODEL_BYTES), len(MODEL_BYTES)) and len(seen) > 2
    assert leftovers(tmp_path) == [f".{FILE}.verified", FILE], "no .part is left"
    assert download_model(fake_model(hub), tmp_path) == path
    assert len(hub.served) == 1, "a verified file is not downloaded again"


def test_an_interrupted_download_resumes_with_only_the_rest(hub: FakeHub, tmp_path: Path) -> None:
    hub.drop_after = 1_000_000
    with pytest.raises(ModelError, match=r"Fake Model.*stopped after 1 of 3 MB.*continue from there"):
        download_model(fake_model(hub), tmp_path)
    assert leftovers(tmp_path) == [f"{FILE}.part"], "the part is kept, and nothing looks complete"
    assert (tmp_path / f"{FILE}.part").stat().st_size == 1_000_000

    seen: list[tuple[int, int]] = []
    path = download_model(fake_model(hub), tmp_path, on_progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == MODEL_BYTES
    assert hub.served[-1] == Served("bytes=1000000-", 206, len(MODEL_BYTES) - 1_000_000), "only the rest was sent"
    assert seen[0][0] > 1_000_000 and seen[-1] == (len(MODEL_BYTES), len(MODEL_BYTES))


def test_a_server_that_ignores_range_makes_the_part_start_again(hub: FakeHub, tmp_path: Path) -> None:
    (tmp_path / f"{FILE}.part").write_bytes(b"GGUF" + b"\0" * 500_000)  # wrong bytes: they must not survive
    hub.honour_range = False
    path = download_model(fake_model(hub), tmp_path)
    assert hub.served == [Served("bytes=500004-", 200, len(MODEL_BYTES))]
    assert path.read_bytes() == MODEL_BYTES


def test_a_hash_mismatch_is_an_error_and_leaves_no_file(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"Fake Model.*SHA-256.*expected 0{64}.*deleted"):
        download_model(fake_model(hub, sha256="0" * 64), tmp_path)
    assert leftovers(tmp_path) == []


def test_a_size_the_catalog_does_not_expect_is_refused_before_downloading(hub: FakeHub, tmp_path: Path) -> None:
    (tmp_path / f"{FILE}.part").write_bytes(MODEL_BYTES[:1000])  # a part of the file as it was: no use now
    with pytest.raises(ModelError, match="offers 3,145,732 bytes for Fake Model"):
        download_model(fake_model(hub, size=len(MODEL_BYTES) + 1), tmp_path)
    assert leftovers(tmp_path) == []


def test_not_found_and_no_network_are_clear_errors_naming_the_model(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"Fake Model, Q4_K_M is not at http://127.*\(HTTP 404\)"):
        download_model(fake_model(hub, file_name="gone.gguf"), tmp_path)
    hub.shutdown()
    hub.server_close()  # nothing listens at its address now
    with pytest.raises(ModelError, match=r"Cannot reach 127.0.0.1:\d+ to download Fake Model.*network"):
        download_model(fake_model(hub), tmp_path)
    assert leftovers(tmp_path) == []


def test_without_a_known_hash_nothing_is_marked_verified_unless_the_user_gives_one(
    hub: FakeHub, tmp_path: Path
) -> None:
    model = fake_model(hub, sha256=None)
    path = fetch_model(model, tmp_path)
    assert path == download_folder(model, tmp_path) / FILE and path.read_bytes() == MODEL_BYTES
    assert download_state(model, tmp_path).kind == "unverified"
    with pytest.raises(ModelError, match="is not a SHA-256"):
        fetch_model(model, tmp_path, "not-a-hash")
    with pytest.raises(ModelError, match="damaged or another file"):
        fetch_model(model, tmp_path, "1" * 64)
    fetch_model(model, tmp_path, hashlib.sha256(MODEL_BYTES).hexdigest().upper())
    assert download_state(model, tmp_path).kind == "verified"
    assert len(hub.served) == 1


def test_download_states(hub: FakeHub, tmp_path: Path) -> None:
    model = fake_model(hub)
    assert download_state(model, tmp_path).kind == "absent"
    hub.drop_after = 1000
    with pytest.raises(ModelError):
        fetch_model(model, tmp_path)
    assert download_state(model, tmp_path) == DownloadState("partial", 1000)
    fetch_model(model, tmp_path)
    assert download_state(model, tmp_path).kind == "verified"


def test_file_and_repository_names_cannot_leave_the_folder(hub: FakeHub, tmp_path: Path) -> None:
    for bad in ("../escape.gguf", ".hidden.gguf", "model.bin", "a/b.gguf", "model\n.gguf"):
        with pytest.raises(ModelError, match=r"plain \.gguf file name"):
            download_model(fake_model(hub, file_name=bad), tmp_path / "models")
    for spec in ("owner/../x.gguf", "../repo/x.gguf", "owner/repo/..gguf", "owner/repo/x.txt", "just-a-name"):
        with pytest.raises(ModelError, match=r"hf:OWNER/REPO/FILE\.gguf"):
            hub_entry(spec)
    with pytest.raises(ModelError, match=r"hf:OWNER/REPO/FILE\.gguf"):
        download_folder(fake_model(hub, repo="owner/.."), tmp_path)
    assert not (tmp_path / "models").exists() and not hub.served


def test_hf_specs_resolve_to_the_downloaded_file_and_are_listed(tmp_path: Path) -> None:
    model = hub_entry(f"{REPO}/{FILE}")
    assert model.sha256 is None and model.url == f"https://huggingface.co/{REPO}/resolve/main/{FILE}"
    folder = download_folder(model, tmp_path)
    folder.mkdir(parents=True)
    (folder / FILE).write_bytes(MODEL_BYTES)  # as an earlier download left it: no network is needed now
    settings = Settings(chat_model=f"hf:{REPO}/{FILE}", model_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    assert resolve_chat_model(settings) == folder / FILE
    found = available_models(tmp_path)
    assert found[f"hf:{REPO}/{FILE}"] == f"{FILE} (0.0 GB): from {REPO}"
    assert str(folder / FILE) not in found, "listed once, by its hub name"


def test_the_catalog_is_well_formed() -> None:
    assert {"qwen2.5-3b-instruct-q4_k_m", "qwen2.5-7b-instruct-q4_k_m", "llama-3.1-8b-instruct-q4_k_m"} <= set(
        RECOMMENDED_MODELS
    )
    for name, model in RECOMMENDED_MODELS.items():
        assert model.name == name and model.license and model.about_gb > 1
        assert model.url == f"https://huggingface.co/{model.repo}/resolve/main/{model.file_name}"
        assert hub_entry(f"{model.repo}/{model.file_name}") is model, "an hf: spec finds its catalog entry"
        assert model.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", model.sha256)
        assert model.size is None or abs(model.size / 1e9 - model.about_gb) < 0.05


@pytest.mark.usefixtures("app_env")
def test_the_sidebar_downloads_a_recommended_model_and_picks_it(
    hub: FakeHub, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "phi-3.5-mini-instruct-q4_k_m"
    model = replace(
        RECOMMENDED_MODELS[name], hub=hub.url, size=len(MODEL_BYTES), sha256=hashlib.sha256(MODEL_BYTES).hexdigest()
    )
    monkeypatch.setitem(RECOMMENDED_MODELS, name, model)
    hub.files[f"/{model.repo}/resolve/main/{model.file_name}"] = MODEL_BYTES
    app = run_app()
    captions = " ".join(c.value for c in app.sidebar.caption).replace("\\", "")
    assert "Phi-3.5-mini-instruct, Q4_K_M" in captions and "MIT · SHA-256 " in captions
    app.sidebar.button(key=f"download-{name}").click().run()
    assert not app.exception and not app.error, app.error
    assert app.sidebar.selectbox(key="model_choice").value == model.spec, "the downloaded model is picked"
    assert (download_folder(model, settings.model_dir) / model.file_name).read_bytes() == MODEL_BYTES
    assert not any(b.key == f"download-{name}" for b in app.sidebar.button), "nothing left to download"


def test_the_evaluation_compares_the_chat_model_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "questions.jsonl").write_text("")
    used: list[Settings] = []

    def evaluate(_dataset: Path, _specs: object, settings: Settings, **_options: object) -> None:
        used.append(settings)
        raise AssistantError("stop here")

    monkeypatch.setattr(evaluation, "evaluate", evaluate)
    spec = RECOMMENDED_MODELS["qwen2.5-3b-instruct-q4_k_m"].spec
    assert evaluation.main([str(tmp_path), "--chat-model", spec, "--out", str(tmp_path / "out")]) == 1
    assert used[0].chat_model == spec
