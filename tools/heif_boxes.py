#!/usr/bin/env python3
"""HEIF/AVIF box tools for preflight's fixtures (heif-enc cannot write them).

  heif_boxes.py transform IN OUT [--irot N] [--imir AXIS]
      Adds an irot (N anticlockwise quarter turns) and/or imir (0: top and
      bottom exchanged, 1: left and right, as the 2021 amendment's "mode" and
      libheif read it) property to the primary item, after its
      other properties (MIAF's order: clap, irot, imir), and moves every
      file-offset iloc extent by the bytes the meta box grew.
  heif_boxes.py cut IN OUT BYTES
      The first BYTES bytes (a truncated upload).
  heif_boxes.py dump FILE
      The box tree, for debugging.
"""
import argparse
import struct
import sys

CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"iinf": None, b"dinf": 0}


def boxes(data, off=0, end=None):
    """Yields (offset, header size, size, type) of the boxes in data[off:end]."""
    end = len(data) if end is None else end
    while off + 8 <= end:
        size, typ = struct.unpack(">I4s", data[off:off + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - off
        if size < hdr or off + size > end:
            raise ValueError("bad box at %d" % off)
        yield off, hdr, size, typ
        off += size


def find(data, typ, off=0, end=None):
    for o, h, s, t in boxes(data, off, end):
        if t == typ:
            return o, h, s
    raise ValueError("no %s box" % typ.decode())


def box(typ, payload):
    return struct.pack(">I4s", 8 + len(payload), typ) + payload


def transform(data, irot, imir):
    meta_o, meta_h, meta_s = find(data, b"meta")
    body = meta_o + meta_h + 4              # after the FullBox header
    meta_end = meta_o + meta_s
    pitm_o, pitm_h, _ = find(data, b"pitm", body, meta_end)
    v = data[pitm_o + pitm_h]
    p = pitm_o + pitm_h + 4
    primary = struct.unpack(">H" if v == 0 else ">I", data[p:p + (2 if v == 0 else 4)])[0]
    iprp_o, iprp_h, iprp_s = find(data, b"iprp", body, meta_end)
    ipco_o, ipco_h, ipco_s = find(data, b"ipco", iprp_o + iprp_h, iprp_o + iprp_s)
    ipma_o, ipma_h, ipma_s = find(data, b"ipma", iprp_o + iprp_h, iprp_o + iprp_s)
    nprops = sum(1 for _ in boxes(data, ipco_o + ipco_h, ipco_o + ipco_s))

    new_props = b""
    indexes = []
    if irot is not None:
        new_props += box(b"irot", bytes([irot & 3]))
        nprops += 1
        indexes.append(nprops)
    if imir is not None:
        new_props += box(b"imir", bytes([imir & 1]))
        nprops += 1
        indexes.append(nprops)

    # Rebuild ipma with the new associations on the primary item.
    q = ipma_o + ipma_h
    version, flags = data[q], int.from_bytes(data[q + 1:q + 4], "big")
    wide = flags & 1
    if not wide and nprops > 127:
        raise ValueError("too many properties for an 8-bit ipma")
    count = struct.unpack(">I", data[q + 4:q + 8])[0]
    q += 8
    out = bytearray(data[ipma_o + ipma_h:ipma_o + ipma_h + 8])
    for _ in range(count):
        idsz = 2 if version < 1 else 4
        item = int.from_bytes(data[q:q + idsz], "big")
        n = data[q + idsz]
        asz = 2 if wide else 1
        assoc = data[q + idsz + 1:q + idsz + 1 + n * asz]
        q += idsz + 1 + n * asz
        if item == primary:
            for i in indexes:
                assoc += (0x8000 | i).to_bytes(2, "big") if wide else bytes([0x80 | i])
            n += len(indexes)
        out += item.to_bytes(idsz, "big") + bytes([n]) + assoc
    new_ipma = box(b"ipma", bytes(out))
    grow = len(new_props) + len(new_ipma) - ipma_s

    if ipma_o < ipco_o + ipco_s:
        raise ValueError("ipma before ipco is not supported")
    res = bytearray(data)
    # Back to front so earlier offsets stay valid.
    res[ipma_o:ipma_o + ipma_s] = new_ipma
    res[ipco_o + ipco_s:ipco_o + ipco_s] = new_props
    for o, n in ((ipco_o, len(new_props)), (iprp_o, grow), (meta_o, grow)):
        if struct.unpack(">I", res[o:o + 4])[0] == 1:
            raise ValueError("64-bit box sizes are not supported")
        struct.pack_into(">I", res, o, struct.unpack(">I", res[o:o + 4])[0] + n)
    shift_iloc(res, meta_o, grow)
    return bytes(res)


def shift_iloc(res, meta_o, grow):
    meta_h = 8
    meta_s = struct.unpack(">I", res[meta_o:meta_o + 4])[0]
    o, h, s = find(res, b"iloc", meta_o + meta_h + 4, meta_o + meta_s)
    p = o + h
    version = res[p]
    offset_size, length_size = res[p + 4] >> 4, res[p + 4] & 15
    base_size = res[p + 5] >> 4
    index_size = res[p + 5] & 15 if version >= 1 else 0
    p += 6
    if version < 2:
        count = struct.unpack(">H", res[p:p + 2])[0]
        p += 2
    else:
        count = struct.unpack(">I", res[p:p + 4])[0]
        p += 4
    for _ in range(count):
        p += 2 if version < 2 else 4
        method = 0
        if version >= 1:
            method = struct.unpack(">H", res[p:p + 2])[0] & 15
            p += 2
        p += 2                                  # data_reference_index
        base_at = p
        base = int.from_bytes(res[p:p + base_size], "big") if base_size else 0
        p += base_size
        extents = struct.unpack(">H", res[p:p + 2])[0]
        p += 2
        if method == 0 and base_size:
            res[base_at:base_at + base_size] = (base + grow).to_bytes(base_size, "big")
        for _ in range(extents):
            p += index_size
            if method == 0 and not base_size:
                off = int.from_bytes(res[p:p + offset_size], "big")
                res[p:p + offset_size] = (off + grow).to_bytes(offset_size, "big")
            p += offset_size + length_size


def dump(data, off=0, end=None, depth=0):
    for o, h, s, t in boxes(data, off, end):
        print("%s%s @%d size %d" % ("  " * depth, t.decode("latin-1"), o, s))
        if t in (b"meta",):
            dump(data, o + h + 4, o + s, depth + 1)
        elif t in (b"iprp", b"ipco", b"dinf"):
            dump(data, o + h, o + s, depth + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("transform")
    t.add_argument("src")
    t.add_argument("dst")
    t.add_argument("--irot", type=int)
    t.add_argument("--imir", type=int)
    c = sub.add_parser("cut")
    c.add_argument("src")
    c.add_argument("dst")
    c.add_argument("bytes", type=int)
    d = sub.add_parser("dump")
    d.add_argument("src")
    a = ap.parse_args()
    data = open(a.src, "rb").read()
    if a.cmd == "transform":
        open(a.dst, "wb").write(transform(data, a.irot, a.imir))
    elif a.cmd == "cut":
        open(a.dst, "wb").write(data[:a.bytes])
    else:
        dump(data)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, struct.error) as e:
        print("heif_boxes: %s" % e, file=sys.stderr)
        sys.exit(1)
