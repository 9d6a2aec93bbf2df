#!/usr/bin/env python3
"""Writes small `.graph` seeds for graph_fuzzer, cut from real graphs.

usage: make_graph_seeds.py OUT_DIR GRAPH...

A real graph (hundreds of KiB of weights, 170 nodes) is slow to mutate and most mutations of it
break the JSON or a tensor, so the fuzzer spends its time far from the mapping and validation.
From each graph this writes:
  - the first k nodes (k = 1, 2, 4, 8, 16, 32, all) as a graph of their own, whose output is
    the last of them, captured without weights (every "tensor" null, so the data section is
    empty): a few KiB of valid JSON that reaches the mapping of every op those nodes use;
  - the first 8 nodes with the weights they read, to reach the stored-tensor checks.
Only the standard library is used (no torch): this runs wherever the fuzzer builds.
"""
import json
import os
import struct
import sys


def read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return header, raw[8 + n:], json.loads(header["__metadata__"]["graph"])


def refs(value, out):
    if isinstance(value, dict):
        if "ref" in value:
            out.add(value["ref"])
        for v in value.values():
            refs(v, out)
    elif isinstance(value, list):
        for v in value:
            refs(v, out)


def cut(graph, k, with_weights):
    """The first k nodes, the values they read, and the last node as the output."""
    nodes = graph["nodes"][:k]
    read_names = set()
    for node in nodes:
        refs(node.get("args"), read_names)
        refs(node.get("kwargs"), read_names)
    g = dict(graph)
    g["nodes"] = nodes
    for key in ("inputs", "parameters", "buffers", "constants"):
        values = [dict(v) for v in graph.get(key) or [] if key == "inputs" or v["name"] in read_names]
        if not with_weights:
            for v in values:
                v["tensor"] = None
        g[key] = values
    g["outputs"] = [{"ref": nodes[-1]["name"]}]
    g["example_outputs"] = None
    return g


def write(path, header, data, graph):
    """A safetensors file holding only the tensors `graph` names, packed in order."""
    out_header = {"__metadata__": dict(header["__metadata__"])}
    out_header["__metadata__"]["graph"] = json.dumps(graph, separators=(",", ":"))
    chunks, offset = [], 0
    for key in ("inputs", "parameters", "buffers", "constants"):
        for v in graph[key]:
            name = v.get("tensor")
            if not name:
                continue
            entry = header[name]
            begin, end = entry["data_offsets"]
            chunks.append(data[begin:end])
            out_header[name] = {"dtype": entry["dtype"], "shape": entry["shape"],
                                "data_offsets": [offset, offset + end - begin]}
            offset += end - begin
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def main():
    out_dir, graphs = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for path in graphs:
        header, data, graph = read(path)
        stem = os.path.splitext(os.path.basename(path))[0]
        for k in (1, 2, 4, 8, 16, 32, len(graph["nodes"])):
            if 0 < k <= len(graph["nodes"]):
                write(os.path.join(out_dir, f"{stem}.{k}.graph"), header, data, cut(graph, k, False))
                written += 1
        if len(graph["nodes"]) >= 8:
            write(os.path.join(out_dir, f"{stem}.8w.graph"), header, data, cut(graph, 8, True))
            written += 1
    print(f"make_graph_seeds: {written} seeds in {out_dir}")


if __name__ == "__main__":
    main()
