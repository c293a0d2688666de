# Cross-check for the Go safetensors package, using only the Python standard library.
# Usage: crosscheck.py read FILE   -> prints JSON {name: {"dtype", "shape", "values"}, "__metadata__": {...}}
#                                     (values as Python repr strings, so inf and nan survive JSON)
#        crosscheck.py write FILE  -> writes a file the way another writer might: unsorted tensors,
#                                     reverse-name data order, minimal header padding.
import json, struct, sys

FMT = {"F32": "f", "F64": "d", "I32": "i", "I64": "q"}
SIZE = {"F32": 4, "F64": 8, "I32": 4, "I64": 8}

def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    assert (8 + n) % 8 == 0, "data section not 8-aligned"
    body = raw[8 + n:]
    out = {}
    end = 0
    for name, e in header.items():
        if name == "__metadata__":
            out[name] = e
            continue
        b, ee = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        assert ee - b == count * SIZE[e["dtype"]], name
        vals = [repr(v) for v in struct.unpack("<%d%s" % (count, FMT[e["dtype"]]), body[b:ee])]
        out[name] = {"dtype": e["dtype"], "shape": e["shape"], "values": vals, "begin": b}
        end = max(end, ee)
    assert end == len(body), "data section not covered"
    # tensors must be laid out in sorted-name order
    names = sorted(k for k in out if k != "__metadata__")
    begins = [out[k]["begin"] for k in names]
    assert begins == sorted(begins), "not in sorted-name order"
    json.dump(out, sys.stdout)

def write(path):
    tensors = [
        ("zeta.weight", "F32", [2, 3], [0.5, -1.25, 3.0e-8, 1.0e30, -0.0, 7.0]),
        ("alpha.bias", "F64", [3], [1.0 / 3.0, -2.5, 1e-300]),
        ("mid.ids", "I64", [2, 2], [-(2 ** 62), 5, 0, 2 ** 40]),
        ("count", "I32", [], [-7]),
        ("empty", "F32", [0, 4], []),
    ]
    header = {"__metadata__": {"format": "pt", "source": "python"}}
    body = b""
    for name, dt, shape, vals in sorted(tensors, key=lambda t: t[0], reverse=True):
        data = struct.pack("<%d%s" % (len(vals), FMT[dt]), *vals)
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + body)

if __name__ == "__main__":
    {"read": read, "write": write}[sys.argv[1]](sys.argv[2])
