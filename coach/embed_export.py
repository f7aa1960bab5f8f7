"""Build an ONNX graph for a BERT sentence encoder (all-MiniLM-L6-v2) from its safetensors weights, so that the
coach runs it on onnxruntime, which it already has, instead of installing PyTorch for one small model.

Run at set-up by the model store, in a child process: `python -m coach.embed_export WEIGHTS CONFIG OUT`.
The graph takes `input_ids` and `attention_mask` (int64, [batch, tokens]) and returns `embedding` ([batch, 384]):
the mean of the token vectors under the mask, L2-normalised, as sentence-transformers' Pooling + Normalize do.
The output is deterministic (same weights, same bytes), so the manifest pins its checksum.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (an 8-byte header length, a JSON header, then raw little-endian data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    base = 8 + n
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        a, b = spec["data_offsets"]
        tensors[name] = np.frombuffer(raw[base + a : base + b], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
    return tensors


def build_model(weights: dict[str, np.ndarray], config: dict):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    nodes, inits = [], []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"

    def const(value, prefix="c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def weight(key: str, transpose: bool = False) -> str:
        w = weights[key].astype(np.float32)
        n = key
        inits.append(numpy_helper.from_array(np.ascontiguousarray(w.T if transpose else w), n))
        return n

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        return op("Add", [op("MatMul", [x, weight(prefix + ".weight", transpose=True)]), weight(prefix + ".bias")])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, weight(prefix + ".weight"), weight(prefix + ".bias")], axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0 (single-sentence input), then LayerNorm.
    ids, mask = "input_ids", "attention_mask"
    seq_len = op("Gather", [op("Shape", [ids]), const(np.int64(1))], axis=0)
    positions = op("Range", [const(np.int64(0)), seq_len, const(np.int64(1))])
    x = op("Add", [op("Gather", [weight("embeddings.word_embeddings.weight"), ids], axis=0),
                   op("Gather", [weight("embeddings.position_embeddings.weight"), positions], axis=0)])
    x = op("Add", [x, const(weights["embeddings.token_type_embeddings.weight"][0].astype(np.float32), "token_type0")])
    x = layer_norm(x, "embeddings.LayerNorm")

    mask_f = op("Cast", [mask], to=TensorProto.FLOAT)
    # Padding gets a large negative score before the softmax: [batch, 1, 1, tokens].
    bias = op("Unsqueeze", [op("Mul", [op("Sub", [const(np.float32(1.0)), mask_f]), const(np.float32(-1e4))]),
                            const(np.array([1, 2], dtype=np.int64))])
    split_heads = const(np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_heads = const(np.array([0, 0, hidden], dtype=np.int64))
    scale = const(np.float32(1.0 / np.sqrt(head_dim)))

    layers = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
    for i in range(layers):
        p = f"encoder.layer.{i}."
        q = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.query"), split_heads])], perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, p + "attention.self.value"), split_heads])], perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), bias])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(op("Add", [linear(context, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        # GELU as BERT defines it (erf form, not the tanh approximation).
        h = op("Mul", [op("Mul", [h, const(np.float32(0.5))]),
                       op("Add", [op("Erf", [op("Mul", [h, const(np.float32(1 / np.sqrt(2)))])]), const(np.float32(1.0))])])
        x = layer_norm(op("Add", [linear(h, p + "output.dense"), x]), p + "output.LayerNorm")

    # Mean pooling under the mask, then L2 normalisation.
    m = op("Unsqueeze", [mask_f, const(np.array([2], dtype=np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, m]), const(np.array([1], dtype=np.int64))], keepdims=0)
    count = op("Max", [op("ReduceSum", [m, const(np.array([1], dtype=np.int64))], keepdims=0), const(np.float32(1e-9))])
    mean = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [mean], axes=[1], keepdims=1), const(np.float32(1e-12))])
    nodes.append(helper.make_node("Div", [mean, norm], ["embedding"]))

    graph = helper.make_graph(
        nodes,
        "sentence_encoder",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nobadparts-coach")
    model.ir_version = 8  # readable by every onnxruntime the project allows
    onnx.checker.check_model(model)
    return model


def export(weights_path: Path, config_path: Path, out: Path) -> None:
    model = build_model(read_safetensors(weights_path), json.loads(config_path.read_text()))
    out.write_bytes(model.SerializeToString(deterministic=True))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m coach.embed_export WEIGHTS.safetensors CONFIG.json OUT.onnx")
    try:
        export(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    except (OSError, ValueError, KeyError, struct.error) as e:  # JSONDecodeError is a ValueError
        sys.exit(f"Error: {sys.argv[1]} is not the expected BERT safetensors file ({type(e).__name__}: {e})")
