"""The ONNX Runtime embedding backend: a sentence-transformers model's transformer exported to ONNX on first use,
from the weights already on disk, fused by ONNX Runtime's transformer optimizer and cached; pooling and
normalization stay the model's own sentence-transformers modules, so the vectors are the torch backend's.

Nothing is downloaded: the export reads the loaded model, and the cache is keyed by the weights' SHA-256.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError
from .onnx_session import EXPORT_VERSION, export_folder, model_files

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def physical_cores() -> int:
    """Cores, not hardware threads: matrix kernels gain nothing from a core's second thread."""
    try:
        pairs = set()
        physical = core = ""
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "physical id":
                physical = value
            elif key == "core id":
                core = value
                pairs.add((physical, core))
        if pairs:
            return min(len(pairs), len(os.sched_getaffinity(0)))
    except (OSError, AttributeError):
        pass
    return os.cpu_count() or 1


class OnnxEncoder:
    """Runs `model`'s first module (a Hugging Face transformer) in ONNX Runtime and the rest in torch."""

    def __init__(self, model: Any, location: str, cache_dir: Path, threads: int, *, int8: bool = False) -> None:
        try:
            import onnxruntime
        except ImportError as exc:
            raise ModelError(
                "The onnx embedding backend needs onnxruntime: `pip install -c constraints.txt onnxruntime`, "
                "or set DOCQA_EMBEDDING_BACKEND=torch."
            ) from exc
        self._model = model
        path = exported_model(model, location, cache_dir)
        if int8:
            path = quantized_model(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts`, one row each, computed as `SentenceTransformer.encode` would."""
        import torch

        features = self._model.preprocess(texts)
        feeds = {name: features[name].numpy() for name in self._inputs}
        (token_embeddings,) = self._session.run(["token_embeddings"], feeds)
        features["token_embeddings"] = torch.from_numpy(token_embeddings)
        with torch.inference_mode():
            for module in list(self._model)[1:]:  # pooling, dense, normalize: the model's own
                features = module(features)
        vectors = features["sentence_embedding"].numpy().astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


def exported_model(model: Any, location: str, cache_dir: Path) -> Path:
    """The cached ONNX graph of `model`'s transformer, exported (a few seconds) when missing."""
    transformer = model[0]
    if not hasattr(transformer, "model") or not hasattr(transformer.model, "config"):
        raise ModelError(
            f"The onnx backend needs a transformer as the model's first module, not {type(transformer).__name__}; "
            "set DOCQA_EMBEDDING_BACKEND=torch."
        )
    files = model_files(location)  # a model folder: keyed by its files, so `onnx_session` finds it without torch
    if files is not None:
        folder = export_folder(files, cache_dir)
    else:
        folder = cache_dir / "onnx" / f"{Path(location).name or 'model'}-{_weights_key(transformer.model)[:16]}"
    path = folder / "model.onnx"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    log.info("Exporting %s to ONNX in %s (once)", location, folder)
    scratch = folder / f"export-{os.getpid()}.onnx"
    try:
        _export(transformer, scratch)
        _optimize(scratch, transformer.model.config)
        os.replace(scratch, path)  # another process exporting at once writes the same graph
    finally:
        scratch.unlink(missing_ok=True)
    return path


def quantized_model(path: Path) -> Path:
    """The graph with its matrix multiplications' weights in int8 (per channel), cached beside it. Faster, but
    the vectors move (cosine about 0.99 to the float ones): an index must be built with one or the other."""
    target = path.with_name("model.int8.onnx")
    if target.exists():
        return target
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    scratch = path.with_name(f"int8-{os.getpid()}.onnx")
    try:
        quantize_dynamic(
            path,
            scratch,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": TensorProto.FLOAT},  # the fused kernels' outputs carry no type
        )
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return target


def _weights_key(auto_model: Any) -> str:
    """SHA-256 over the recipe version, the config and every parameter, so other weights get another file."""
    import torch

    digest = hashlib.sha256(f"{EXPORT_VERSION}\n{auto_model.config.to_json_string()}".encode())
    with torch.inference_mode():
        for name, tensor in auto_model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _export(transformer: Any, target: Path) -> None:
    import torch

    auto_model = transformer.model
    features = transformer.preprocess(["an example sentence", "and a second, longer example sentence"])
    names = [n for n in _INPUTS if n in features]
    previous = getattr(auto_model.config, "_attn_implementation", None)

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args, strict=True)), return_dict=True).last_hidden_state

    try:
        # Plain attention exports as the pattern ONNX Runtime fuses into its own Attention kernel.
        auto_model.config._attn_implementation = "eager"
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Hidden().eval(),
                tuple(features[n] for n in names),
                str(target),
                dynamo=False,
                input_names=names,
                output_names=["token_embeddings"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "token_embeddings"]},
                opset_version=17,
            )
    except Exception as exc:  # the exporter raises many types; all mean the same thing to the user
        raise ModelError(f"Cannot export the embedder to ONNX ({exc}); set DOCQA_EMBEDDING_BACKEND=torch.") from exc
    finally:
        if previous is not None:
            auto_model.config._attn_implementation = previous


def _optimize(path: Path, config: Any) -> None:
    """Fuse attention, layer norms and GELU for BERT-like models; other architectures run as exported."""
    if getattr(config, "model_type", "") not in ("bert", "roberta", "xlm-roberta"):
        return
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(path),
        model_type="bert",
        num_heads=getattr(config, "num_attention_heads", 0),
        hidden_size=getattr(config, "hidden_size", 0),
    )
    optimized.save_model_to_file(str(path))
