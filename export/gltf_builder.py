"""A small glTF 2.0 binary (.glb) builder: one buffer, aligned buffer views, typed accessors.

Only what the bundle needs: dense and sparse accessors (float or normalised integers), vertex
attributes padded to 4-byte strides as the spec requires, images embedded in buffer views,
EXT_meshopt_compression of vertex and index buffer views (`GltfBuilder(meshopt=True)`), and the
GLB container. Matrices given to it are row-major numpy (column vectors); glTF stores them
column-major, which `mat4_to_gltf` does once.
"""

from __future__ import annotations

import json
import struct

import numpy as np

ARRAY_BUFFER = 34962
ELEMENT_ARRAY_BUFFER = 34963

COMPONENT = {  # numpy dtype -> glTF componentType
    np.dtype(np.int8): 5120,
    np.dtype(np.uint8): 5121,
    np.dtype(np.int16): 5122,
    np.dtype(np.uint16): 5123,
    np.dtype(np.uint32): 5125,
    np.dtype(np.float32): 5126,
}
DTYPE = {v: k for k, v in COMPONENT.items()}
TYPE_BY_WIDTH = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4", 16: "MAT4"}
WIDTH_BY_TYPE = {v: k for k, v in TYPE_BY_WIDTH.items()}

MESHOPT = "EXT_meshopt_compression"

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942


def mat4_to_gltf(m: np.ndarray) -> list[float]:
    """Row-major 4x4 -> glTF's column-major flat list."""
    return [float(x) for x in np.asarray(m, np.float64).T.reshape(-1)]


def quantize_unorm(x: np.ndarray, dtype) -> np.ndarray:
    """[0,1] floats -> normalised unsigned integers (round to nearest)."""
    top = np.iinfo(dtype).max
    return np.clip(np.rint(np.asarray(x, np.float64) * top), 0, top).astype(dtype)


def quantize_snorm(x: np.ndarray, dtype) -> np.ndarray:
    """[-1,1] floats -> normalised signed integers (round to nearest; glTF decodes max(c/top, -1))."""
    top = np.iinfo(dtype).max
    return np.clip(np.rint(np.asarray(x, np.float64) * top), -top, top).astype(dtype)


def dequantize(raw: np.ndarray, normalized: bool) -> np.ndarray:
    """Stored accessor values -> floats as a glTF viewer decodes them."""
    raw = np.asarray(raw)
    if not normalized or raw.dtype.kind == "f":
        return raw.astype(np.float64)
    top = float(np.iinfo(raw.dtype).max)
    out = raw.astype(np.float64) / top
    return np.maximum(out, -1.0) if raw.dtype.kind == "i" else out


class GltfBuilder:
    """Accumulates the JSON document and the binary chunk of one .glb.

    With `meshopt`, vertex-attribute and index buffer views are stored compressed
    (EXT_meshopt_compression, required): the view itself points into an uncompressed-size
    fallback buffer (buffer 1, no data) and its extension object into the BIN chunk."""

    def __init__(self, generator: str = "headbake export", meshopt: bool = False):
        self.doc: dict = {"asset": {"version": "2.0", "generator": generator}}
        self.blob = bytearray()
        self.part_bytes: dict[str, int] = {}
        self.meshopt = meshopt
        self.fallback_bytes = 0
        if meshopt:
            self.use_extension(MESHOPT, required=True)

    # -- low level -------------------------------------------------------------------------
    def _list(self, key: str) -> list:
        return self.doc.setdefault(key, [])

    def add(self, key: str, item: dict) -> int:
        """Append `item` to the top-level array `key`; returns its index."""
        lst = self._list(key)
        lst.append(item)
        return len(lst) - 1

    def use_extension(self, name: str, required: bool = False) -> None:
        used = self._list("extensionsUsed")
        if name not in used:
            used.append(name)
        if required:
            req = self._list("extensionsRequired")
            if name not in req:
                req.append(name)

    def add_view(self, data: bytes, part: str, target: int | None = None, stride: int | None = None) -> int:
        """Append bytes (4-byte aligned) as a buffer view; `part` names it in the size report."""
        pad = -len(self.blob) % 4
        self.blob.extend(b"\0" * pad)
        self.part_bytes["padding"] = self.part_bytes.get("padding", 0) + pad
        view = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        if stride is not None:
            view["byteStride"] = stride
        self.blob.extend(data)
        self.part_bytes[part] = self.part_bytes.get(part, 0) + len(data)
        return self.add("bufferViews", view)

    def add_meshopt_view(self, rows: np.ndarray, part: str, mode: str, target: int | None = None) -> int:
        """Buffer view of `rows` (count, stride bytes) compressed with EXT_meshopt_compression:
        mode ATTRIBUTES (stride a multiple of 4) or TRIANGLES (a triangle list of u16/u32 indices)."""
        import meshopt

        rows = np.ascontiguousarray(rows)
        if mode == "TRIANGLES":
            count, stride = rows.size, rows.dtype.itemsize
            enc = meshopt.encode_gltf_buffer(rows.reshape(-1), "TRIANGLES")
        else:
            rows = rows.reshape(rows.shape[0], -1).view(np.uint8).reshape(rows.shape[0], -1)
            count, stride = rows.shape
            enc = meshopt.encode_vertex_buffer_level(rows, 3)  # level 3: smallest, decodes like any other
        pad = -len(self.blob) % 4
        self.blob.extend(b"\0" * pad)
        self.part_bytes["padding"] = self.part_bytes.get("padding", 0) + pad
        ext = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(enc), "byteStride": stride,
               "count": count, "mode": mode}
        self.blob.extend(enc)
        self.part_bytes[part] = self.part_bytes.get(part, 0) + len(enc)
        self.fallback_bytes += -self.fallback_bytes % 4
        view = {"buffer": 1, "byteOffset": self.fallback_bytes, "byteLength": count * stride, "extensions": {MESHOPT: ext}}
        self.fallback_bytes += count * stride
        if target is not None:
            view["target"] = target
        if mode == "ATTRIBUTES" and target == ARRAY_BUFFER:
            view["byteStride"] = stride
        return self.add("bufferViews", view)

    # -- accessors -------------------------------------------------------------------------
    def add_accessor(self, array: np.ndarray, part: str, normalized: bool = False, target: int | None = None,
                     minmax: bool = False, type_: str | None = None) -> int:
        """Dense accessor over `array` (count, width) or (count,); vertex attributes get strides
        padded to a multiple of 4 bytes (e.g. SHORT VEC3 -> 8 bytes)."""
        a = np.ascontiguousarray(array)
        if a.dtype not in COMPONENT:
            raise TypeError(f"array dtype must be one of {sorted(str(d) for d in COMPONENT)}; got {a.dtype}")
        a2 = a.reshape(a.shape[0], -1)
        width = a2.shape[1]
        type_ = type_ or TYPE_BY_WIDTH[width]
        elem = width * a.dtype.itemsize
        stride = None
        data = a2.tobytes()
        if target == ARRAY_BUFFER and elem % 4:
            stride = elem + (4 - elem % 4)
            padded = np.zeros((a2.shape[0], stride), np.uint8)
            padded[:, :elem] = a2.view(np.uint8).reshape(a2.shape[0], elem)
            data = padded.tobytes()
        if self.meshopt and target == ARRAY_BUFFER and a2.shape[0]:
            rows = np.frombuffer(data, np.uint8).reshape(a2.shape[0], -1)
            view = self.add_meshopt_view(rows, part, "ATTRIBUTES", target)
        elif self.meshopt and target == ELEMENT_ARRAY_BUFFER and a2.size and a2.size % 3 == 0 and a.dtype.itemsize in (2, 4):
            view = self.add_meshopt_view(a2.reshape(-1), part, "TRIANGLES", target)
        else:
            view = self.add_view(data, part, target=target, stride=stride)
        acc = {"bufferView": view, "componentType": COMPONENT[a.dtype], "count": int(a2.shape[0]), "type": type_}
        if normalized:
            acc["normalized"] = True
        if minmax and a2.shape[0]:
            acc["min"] = _json_numbers(a2.min(axis=0), a.dtype)
            acc["max"] = _json_numbers(a2.max(axis=0), a.dtype)
        return self.add("accessors", acc)

    def add_sparse_accessor(self, dense: np.ndarray, part: str, normalized: bool = False, minmax: bool = True) -> int:
        """Accessor of zeros with only the non-zero rows of `dense` (count, width) stored."""
        a = np.ascontiguousarray(dense)
        a2 = a.reshape(a.shape[0], -1)
        rows = np.flatnonzero(np.any(a2 != 0, axis=1))
        idx_dtype = np.uint16 if a2.shape[0] <= 65535 else np.uint32
        acc = {"componentType": COMPONENT[a.dtype], "count": int(a2.shape[0]), "type": TYPE_BY_WIDTH[a2.shape[1]]}
        if normalized:
            acc["normalized"] = True
        if minmax:
            acc["min"] = _json_numbers(a2.min(axis=0), a.dtype)
            acc["max"] = _json_numbers(a2.max(axis=0), a.dtype)
        if rows.size:
            iv = self.add_view(rows.astype(idx_dtype).tobytes(), part)
            vv = self.add_view(a2[rows].tobytes(), part)
            acc["sparse"] = {
                "count": int(rows.size),
                "indices": {"bufferView": iv, "componentType": COMPONENT[np.dtype(idx_dtype)]},
                "values": {"bufferView": vv},
            }
        return self.add("accessors", acc)

    def add_target_accessor(self, dense: np.ndarray, part: str, normalized: bool = False) -> int:
        """Morph-target accessor stored dense or sparse, whichever takes fewer bytes (sparse pays
        an index per non-zero row; dense rows are padded to 4 bytes, or meshopt-compressed)."""
        a = np.ascontiguousarray(dense)
        a2 = a.reshape(a.shape[0], -1)
        nz = int(np.count_nonzero(np.any(a2 != 0, axis=1)))
        idx_size = 2 if a2.shape[0] <= 65535 else 4
        sparse_bytes = nz * (idx_size + a2.shape[1] * a.dtype.itemsize)
        elem = a2.shape[1] * a.dtype.itemsize
        dense_bytes = a2.shape[0] * (elem + (-elem % 4))
        if self.meshopt and nz:
            import meshopt

            rows = np.zeros((a2.shape[0], elem + (-elem % 4)), np.uint8)
            rows[:, :elem] = a2.view(np.uint8).reshape(a2.shape[0], elem)
            dense_bytes = len(meshopt.encode_vertex_buffer_level(rows, 3))
        if sparse_bytes < dense_bytes:
            return self.add_sparse_accessor(a, part, normalized=normalized)
        return self.add_accessor(a, part, normalized=normalized, target=ARRAY_BUFFER, minmax=True)

    def add_image(self, data: bytes, mime: str, part: str, name: str | None = None) -> int:
        view = self.add_view(data, part)
        img = {"bufferView": view, "mimeType": mime}
        if name:
            img["name"] = name
        return self.add("images", img)

    # -- container -------------------------------------------------------------------------
    def to_glb(self) -> bytes:
        """The finished GLB: header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
        pad = -len(self.blob) % 4
        self.blob.extend(b"\0" * pad)
        self.part_bytes["padding"] = self.part_bytes.get("padding", 0) + pad
        doc = dict(self.doc)
        doc["buffers"] = [{"byteLength": len(self.blob)}]
        if self.fallback_bytes:
            doc["buffers"].append({"byteLength": self.fallback_bytes + (-self.fallback_bytes % 4),
                                   "extensions": {MESHOPT: {"fallback": True}}})
        js = json.dumps(doc, separators=(",", ":")).encode("utf-8")
        js += b" " * (-len(js) % 4)
        total = 12 + 8 + len(js) + 8 + len(self.blob)
        out = bytearray(struct.pack("<III", GLB_MAGIC, 2, total))
        out += struct.pack("<II", len(js), CHUNK_JSON) + js
        out += struct.pack("<II", len(self.blob), CHUNK_BIN) + bytes(self.blob)
        self.part_bytes["json"] = len(js) + 28  # with the GLB header and chunk headers
        return bytes(out)


def _json_numbers(v: np.ndarray, dtype) -> list:
    if np.dtype(dtype).kind == "f":
        # round-trip through float32 so the JSON bound equals the stored value exactly
        return [float(np.float32(x)) for x in v]
    return [int(x) for x in v]


def parse_glb(data: bytes, where: str = "glb") -> tuple[dict, bytes]:
    """GLB bytes -> (JSON document, BIN chunk). Raises ValueError naming `where` on damage."""
    if len(data) < 20:
        raise ValueError(f"{where}: too short for a GLB file ({len(data)} bytes)")
    magic, version, total = struct.unpack_from("<III", data, 0)
    if magic != GLB_MAGIC or version != 2:
        raise ValueError(f"{where}: not a glTF 2.0 binary (magic/version)")
    if total != len(data):
        raise ValueError(f"{where}: header length {total} != file size {len(data)} (truncated?)")
    jlen, jtype = struct.unpack_from("<II", data, 12)
    if jtype != CHUNK_JSON or 20 + jlen > len(data):
        raise ValueError(f"{where}: first chunk must be JSON and fit the file")
    doc = json.loads(data[20 : 20 + jlen].decode("utf-8"))
    at = 20 + jlen
    bin_chunk = b""
    if at + 8 <= len(data):
        blen, btype = struct.unpack_from("<II", data, at)
        if btype != CHUNK_BIN or at + 8 + blen > len(data):
            raise ValueError(f"{where}: second chunk must be BIN and fit the file")
        bin_chunk = data[at + 8 : at + 8 + blen]
    return doc, bin_chunk
