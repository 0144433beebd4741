#!/usr/bin/env python3
"""Byte-level helpers for preflight's test fixtures (python3 stdlib only).

Subcommands (run with -h for details):

  pad FILE BYTES [-o OUT]        make a JPEG/PNG/MP4/MOV exactly BYTES long, still valid
                                 (JPEG: COM segments after SOI; PNG: private 'prVt'
                                 chunks before IEND; MP4/MOV: top-level 'free' atom at end)
  exif-orient IN OUT N [--be]    insert an APP1 Exif segment (IFD0 Orientation=N) after SOI
  set-dims IN OUT W H            patch JPEG SOFn or PNG IHDR (CRC recomputed) dimensions
  truncate IN OUT FRACTION       keep the first floor(len*FRACTION) bytes
  cut IN OUT WHERE               truncate at a structural point, e.g. IDAT:0.5, IHDR:0.5,
                                 SOS:0.5, moov, mdat:0.6, or a plain byte offset
  mp4-rotate IN OUT DEG          write a tkhd display matrix for a clockwise display
                                 rotation of DEG (0/90/180/270) into the first video track
  jpeg-progressive IN OUT        losslessly re-encode a baseline JPEG as progressive (SOF2)
  jpeg-gray IN OUT               losslessly keep only the luma of a baseline JPEG, written
                                 as a 1-component (grayscale) baseline JPEG
  png-adam7 OUT W H              write an Adam7-interlaced RGB PNG with zlib (fallback)
  garbage OUT N [--magic png]    deterministic pseudo-random bytes, optionally after a magic
  info FILE...                   print the parsed structure/properties of files
  report FILE...                 print a markdown truth table (uses ffprobe for A/V files)
"""

import argparse
import json
import os
import random
import re
import struct
import subprocess
import sys
import zlib

PNG_SIG = b"\x89PNG\r\n\x1a\n"
MP4_TOP_TYPES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid", b"styp"}
PAD_TEXT = b"preflight fixture padding. "


class FixtureError(Exception):
    pass


def die(msg):
    print("fixture_tools: error: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    tmp = path + ".tmp-%d" % os.getpid()
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def filler(n):
    """n bytes of ASCII (never 0xFF, so no fake JPEG markers)."""
    reps = n // len(PAD_TEXT) + 1
    return (PAD_TEXT * reps)[:n]


def kind_of(data):
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == PNG_SIG:
        return "png"
    if len(data) >= 8 and data[4:8] in MP4_TOP_TYPES:
        return "mp4"
    return None


# --------------------------------------------------------------------------- JPEG

SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
STANDALONE = {0x01, 0xD8, 0xD9} | set(range(0xD0, 0xD8))


class Seg:
    """A JPEG marker segment. start = offset of 0xFF, end = offset after payload
    (for SOS, after the entropy-coded data that follows)."""

    def __init__(self, marker, start, end, payload, scan_data=None):
        self.marker = marker
        self.start = start
        self.end = end
        self.payload = payload  # bytes after the 2-byte length
        self.scan_data = scan_data  # (start, end) of entropy-coded data for SOS

    def __repr__(self):
        return "Seg(%02X @%d..%d)" % (self.marker, self.start, self.end)


def jpeg_segments(data, strict=False):
    if data[:2] != b"\xff\xd8":
        raise FixtureError("not a JPEG (no SOI)")
    segs = [Seg(0xD8, 0, 2, b"")]
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise FixtureError("expected marker at offset %d" % pos)
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes
            pos += 1
        if pos + 1 >= n:
            break
        m = data[pos + 1]
        if m in STANDALONE:
            segs.append(Seg(m, pos, pos + 2, b""))
            pos += 2
            if m == 0xD9:
                break
            continue
        if pos + 4 > n:
            if strict:
                raise FixtureError("truncated segment header at %d" % pos)
            break
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        end = pos + 2 + length
        payload = data[pos + 4:end]
        if m == 0xDA:
            # entropy-coded data runs until a marker that is not RSTn / stuffed 00
            q = end
            while True:
                q = data.find(b"\xff", q)
                if q < 0 or q + 1 >= n:
                    q = n
                    break
                nb = data[q + 1]
                if nb == 0x00 or 0xD0 <= nb <= 0xD7 or nb == 0xFF:
                    q += 1 if nb == 0xFF else 2
                    continue
                break
            segs.append(Seg(m, pos, q, payload, (end, q)))
            pos = q
        else:
            segs.append(Seg(m, pos, end, payload))
            pos = end
    return segs


def jpeg_sof(segs):
    for s in segs:
        if s.marker in SOF_MARKERS:
            p = s.payload
            prec, h, w, nc = struct.unpack(">BHHB", p[:6])
            comps = []
            for i in range(nc):
                cid, hv, tq = p[6 + 3 * i:9 + 3 * i]
                comps.append({"id": cid, "h": hv >> 4, "v": hv & 15, "tq": tq})
            return {"marker": s.marker, "precision": prec, "width": w, "height": h,
                    "components": comps, "seg": s}
    return None


def exif_orientation(segs):
    """Return (orientation, byteorder) from the first APP1 Exif segment, or (None, None)."""
    for s in segs:
        if s.marker == 0xE1 and s.payload[:6] == b"Exif\x00\x00":
            t = s.payload[6:]
            if t[:2] == b"II":
                e = "<"
            elif t[:2] == b"MM":
                e = ">"
            else:
                return None, None
            try:
                ifd = struct.unpack(e + "I", t[4:8])[0]
                cnt = struct.unpack(e + "H", t[ifd:ifd + 2])[0]
                for i in range(cnt):
                    ent = t[ifd + 2 + 12 * i: ifd + 14 + 12 * i]
                    tag, typ, count = struct.unpack(e + "HHI", ent[:8])
                    if tag == 0x0112:
                        return struct.unpack(e + "H", ent[8:10])[0], t[:2].decode()
            except struct.error:
                return None, None
            return None, t[:2].decode()
    return None, None


def build_exif_app1(orientation, big_endian=False):
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    # IFD0: 1 entry, Orientation SHORT x1, value left-justified in the 4-byte field
    ifd = struct.pack(e + "H", 1)
    ifd += struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
    ifd += struct.pack(e + "I", 0)  # no next IFD
    body = b"Exif\x00\x00" + tiff + ifd
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def jpeg_com_segments(total):
    """COM segments totalling exactly `total` bytes (each 4..65537 bytes)."""
    if total == 0:
        return b""
    if total < 4:
        raise FixtureError("cannot add %d bytes with a COM segment (min 4)" % total)
    sizes = []
    rest = total
    while rest > 0:
        if rest <= 65537:
            sizes.append(rest)
            rest = 0
        elif rest - 65537 < 4:
            sizes.append(rest - 4)
            rest = 4
        else:
            sizes.append(65537)
            rest -= 65537
    out = bytearray()
    for sz in sizes:
        out += b"\xff\xfe" + struct.pack(">H", sz - 2) + filler(sz - 4)
    return bytes(out)


def pad_jpeg(data, need):
    segs = jpeg_segments(data)
    if need < 4:
        # grow an existing COM segment instead
        for s in segs:
            if s.marker == 0xFE and (s.end - s.start - 2) + need <= 65535:
                newlen = s.end - s.start - 2 + need
                return (data[:s.start + 2] + struct.pack(">H", newlen) + s.payload +
                        filler(need) + data[s.end:])
        raise FixtureError("need %d bytes (<4) and no COM segment to grow" % need)
    return data[:2] + jpeg_com_segments(need) + data[2:]


# --- baseline Huffman decoding / re-encoding (for progressive & gray transcodes)

ZIGZAG_LEN = 64

STD_DC_LUM_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
STD_DC_LUM_VALS = list(range(12))
STD_DC_CHR_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
STD_DC_CHR_VALS = list(range(12))
STD_AC_LUM_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d]
STD_AC_LUM_VALS = bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282"
    "090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63"
    "6465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6"
    "a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6"
    "e7e8e9eaf1f2f3f4f5f6f7f8f9fa")
STD_AC_CHR_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77]
STD_AC_CHR_VALS = bytes.fromhex(
    "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a"
    "162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a"
    "636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4"
    "a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5"
    "e6e7e8e9eaf2f3f4f5f6f7f8f9fa")


class HuffDec:
    def __init__(self, bits, vals):
        self.vals = list(vals)
        self.maxcode = [-1] * 18
        self.mincode = [0] * 18
        self.valptr = [0] * 18
        code = 0
        k = 0
        for l in range(1, 17):
            cnt = bits[l - 1]
            if cnt:
                self.valptr[l] = k
                self.mincode[l] = code
                code += cnt
                k += cnt
                self.maxcode[l] = code - 1
            code <<= 1
        self.maxcode[17] = 1 << 30


def huff_enc_table(bits, vals):
    table = {}
    code = 0
    k = 0
    for l in range(1, 17):
        for _ in range(bits[l - 1]):
            table[vals[k]] = (code, l)
            code += 1
            k += 1
        code <<= 1
    return table


def dht_segment(tables):
    """tables: list of (class, id, bits, vals)."""
    body = bytearray()
    for tc, th, bits, vals in tables:
        body.append((tc << 4) | th)
        body += bytes(bits)
        body += bytes(vals)
    return b"\xff\xc4" + struct.pack(">H", len(body) + 2) + bytes(body)


def parse_dht(payload, into):
    p = 0
    while p < len(payload):
        tc_th = payload[p]
        bits = list(payload[p + 1:p + 17])
        nv = sum(bits)
        vals = payload[p + 17:p + 17 + nv]
        into[(tc_th >> 4, tc_th & 15)] = HuffDec(bits, vals)
        p += 17 + nv


def unstuff(data):
    """Split entropy-coded data at RST markers and remove 0xFF00 stuffing."""
    parts = re.split(rb"\xff[\xd0-\xd7]", data)
    return [p.replace(b"\xff\x00", b"\xff") for p in parts]


def comp_blocks(sof, ci):
    """(blocks_w, blocks_h) of a component in a non-interleaved scan."""
    hmax = max(c["h"] for c in sof["components"])
    vmax = max(c["v"] for c in sof["components"])
    c = sof["components"][ci]
    cw = -(-sof["width"] * c["h"] // hmax)
    ch = -(-sof["height"] * c["v"] // vmax)
    return -(-cw // 8), -(-ch // 8)


def mcu_dims(sof):
    hmax = max(c["h"] for c in sof["components"])
    vmax = max(c["v"] for c in sof["components"])
    return -(-sof["width"] // (8 * hmax)), -(-sof["height"] // (8 * vmax))


def decode_baseline(data):
    """Decode a baseline (SOF0/SOF1, Huffman) JPEG into zigzag-ordered coefficients.
    Returns (segs, sof, coefs) with coefs[ci][by][bx] = list of 64 ints."""
    segs = jpeg_segments(data, strict=True)
    sof = jpeg_sof(segs)
    if sof is None or sof["marker"] not in (0xC0, 0xC1):
        raise FixtureError("only baseline/extended Huffman JPEGs can be transcoded")
    comps = sof["components"]
    mx, my = mcu_dims(sof)
    coefs = [[[None] * (mx * c["h"]) for _ in range(my * c["v"])] for c in comps]
    tables = {}
    restart = 0
    nscans = 0
    for s in segs:
        if s.marker == 0xC4:
            parse_dht(s.payload, tables)
        elif s.marker == 0xDD:
            restart = struct.unpack(">H", s.payload[:2])[0]
        elif s.marker == 0xDA:
            nscans += 1
            if nscans > 1:
                raise FixtureError("multi-scan baseline JPEG not supported")
            p = s.payload
            ns = p[0]
            scomps = []
            for i in range(ns):
                cid, t = p[1 + 2 * i:3 + 2 * i]
                ci = [c["id"] for c in comps].index(cid)
                scomps.append((ci, tables[(0, t >> 4)], tables[(1, t & 15)]))
            _decode_scan(data[s.scan_data[0]:s.scan_data[1]], sof, scomps, coefs, restart)
    return segs, sof, coefs


def _decode_scan(entropy, sof, scomps, coefs, restart):
    comps = sof["components"]
    if len(scomps) == 1:
        ci = scomps[0][0]
        bw, bh = comp_blocks(sof, ci)
        units = [[(ci, by, bx)] for by in range(bh) for bx in range(bw)]
    else:
        mx, my = mcu_dims(sof)
        units = []
        for my_ in range(my):
            for mx_ in range(mx):
                u = []
                for ci, _, _ in scomps:
                    c = comps[ci]
                    for v in range(c["v"]):
                        for h in range(c["h"]):
                            u.append((ci, my_ * c["v"] + v, mx_ * c["h"] + h))
                units.append(u)
    tabs = {ci: (dc, ac) for ci, dc, ac in scomps}
    parts = unstuff(entropy)
    interval = restart if restart else len(units)
    ui = 0
    for part in parts:
        if ui >= len(units):
            break
        bits = bin(int.from_bytes(b"\x01" + part, "big"))[3:]
        pos = 0
        pred = {ci: 0 for ci in tabs}
        for _ in range(interval):
            if ui >= len(units):
                break
            for ci, by, bx in units[ui]:
                dc, ac = tabs[ci]
                blk = [0] * 64
                # DC
                t, pos = _huff_decode(bits, pos, dc)
                diff, pos = _receive(bits, pos, t)
                pred[ci] += diff
                blk[0] = pred[ci]
                k = 1
                while k < 64:
                    rs, pos = _huff_decode(bits, pos, ac)
                    r, s_ = rs >> 4, rs & 15
                    if s_ == 0:
                        if r == 15:
                            k += 16
                            continue
                        break
                    k += r
                    val, pos = _receive(bits, pos, s_)
                    blk[k] = val
                    k += 1
                coefs[ci][by][bx] = blk
            ui += 1
    if ui < len(units):
        raise FixtureError("entropy data ended after %d of %d MCUs" % (ui, len(units)))


def _huff_decode(bits, pos, h):
    code = 1 if bits[pos] == "1" else 0
    pos += 1
    l = 1
    while code > h.maxcode[l]:
        code = (code << 1) | (1 if bits[pos] == "1" else 0)
        pos += 1
        l += 1
        if l > 16:
            raise FixtureError("bad Huffman code")
    return h.vals[h.valptr[l] + code - h.mincode[l]], pos


def _receive(bits, pos, s):
    if s == 0:
        return 0, pos
    v = int(bits[pos:pos + s], 2)
    if v < (1 << (s - 1)):
        v -= (1 << s) - 1
    return v, pos + s


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, code, length):
        self.acc = (self.acc << length) | code
        self.n += length
        while self.n >= 8:
            self.n -= 8
            b = (self.acc >> self.n) & 0xFF
            self.out.append(b)
            if b == 0xFF:
                self.out.append(0)
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.put((1 << (8 - self.n)) - 1, 8 - self.n)
        return bytes(self.out)


def _mag(v):
    a = -v if v < 0 else v
    s = a.bit_length()
    return s, (v if v >= 0 else v + (1 << s) - 1)


def _encode_units(units, coefs, tabs, ss, se):
    """Encode a scan (no restart intervals). units: list of lists of (ci,by,bx).
    tabs[ci] = (dc_table, ac_table). ss/se: spectral band (0..63)."""
    w = BitWriter()
    pred = {ci: 0 for ci in tabs}
    for u in units:
        for ci, by, bx in u:
            blk = coefs[ci][by][bx]
            dct, act = tabs[ci]
            if ss == 0:
                diff = blk[0] - pred[ci]
                pred[ci] = blk[0]
                s, b = _mag(diff)
                code, ln = dct[s]
                w.put(code, ln)
                if s:
                    w.put(b, s)
            if se > 0:
                run = 0
                for k in range(max(ss, 1), se + 1):
                    v = blk[k]
                    if v == 0:
                        run += 1
                        continue
                    while run > 15:
                        code, ln = act[0xF0]
                        w.put(code, ln)
                        run -= 16
                    s, b = _mag(v)
                    code, ln = act[(run << 4) | s]
                    w.put(code, ln)
                    w.put(b, s)
                    run = 0
                if run:
                    code, ln = act[0x00]  # EOB (EOB0 / EOBRUN=1 in progressive)
                    w.put(code, ln)
    return w.flush()


def _sos(comp_specs, ss, se):
    body = bytes([len(comp_specs)])
    for cid, td, ta in comp_specs:
        body += bytes([cid, (td << 4) | ta])
    body += bytes([ss, se, 0])
    return b"\xff\xda" + struct.pack(">H", len(body) + 2) + body


def _sof(marker, sof, comps):
    body = struct.pack(">BHHB", sof["precision"], sof["height"], sof["width"], len(comps))
    for c in comps:
        body += bytes([c["id"], (c["h"] << 4) | c["v"], c["tq"]])
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _std_tables():
    return [
        (0, 0, STD_DC_LUM_BITS, STD_DC_LUM_VALS),
        (1, 0, STD_AC_LUM_BITS, STD_AC_LUM_VALS),
        (0, 1, STD_DC_CHR_BITS, STD_DC_CHR_VALS),
        (1, 1, STD_AC_CHR_BITS, STD_AC_CHR_VALS),
    ]


def _enc_tabs():
    return (huff_enc_table(STD_DC_LUM_BITS, STD_DC_LUM_VALS),
            huff_enc_table(STD_AC_LUM_BITS, STD_AC_LUM_VALS),
            huff_enc_table(STD_DC_CHR_BITS, STD_DC_CHR_VALS),
            huff_enc_table(STD_AC_CHR_BITS, STD_AC_CHR_VALS))


def _header_segments(data, segs):
    """APPn, COM and DQT segments of the source, in order (copied verbatim)."""
    out = b""
    for s in segs:
        if s.marker in SOF_MARKERS or s.marker == 0xDA:
            break
        if (0xE0 <= s.marker <= 0xEF) or s.marker in (0xFE, 0xDB):
            out += data[s.start:s.end]
    return out


def jpeg_progressive(data):
    segs, sof, coefs = decode_baseline(data)
    comps = sof["components"]
    dcl, acl, dcc, acc = _enc_tabs()
    tabs = {ci: ((dcl, acl) if ci == 0 else (dcc, acc)) for ci in range(len(comps))}
    tsel = [(0, 0) if ci == 0 else (1, 1) for ci in range(len(comps))]
    out = bytearray(b"\xff\xd8")
    out += _header_segments(data, segs)
    out += _sof(0xC2, sof, comps)
    out += dht_segment(_std_tables())
    # scan 1: all DC coefficients, interleaved
    mx, my = mcu_dims(sof)
    units = []
    for y in range(my):
        for x in range(mx):
            u = []
            for ci, c in enumerate(comps):
                for v in range(c["v"]):
                    for h in range(c["h"]):
                        u.append((ci, y * c["v"] + v, x * c["h"] + h))
            units.append(u)
    if len(comps) > 4:
        raise FixtureError("too many components")
    out += _sos([(c["id"], tsel[ci][0], 0) for ci, c in enumerate(comps)], 0, 0)
    out += _encode_units(units, coefs, tabs, 0, 0)
    # AC scans (non-interleaved): luma in two bands, chroma in one
    bands = []
    for ci in range(len(comps)):
        bands += [(ci, 1, 5), (ci, 6, 63)] if ci == 0 else [(ci, 1, 63)]
    for ci, ss, se in bands:
        bw, bh = comp_blocks(sof, ci)
        units = [[(ci, by, bx)] for by in range(bh) for bx in range(bw)]
        out += _sos([(comps[ci]["id"], 0, tsel[ci][1])], ss, se)
        out += _encode_units(units, coefs, tabs, ss, se)
    out += b"\xff\xd9"
    return bytes(out)


def jpeg_gray(data):
    segs, sof, coefs = decode_baseline(data)
    c0 = dict(sof["components"][0])
    c0.update(h=1, v=1)
    # the luma block grid of the source (any sampling) covers ceil(W/8) x ceil(H/8)
    bw, bh = -(-sof["width"] // 8), -(-sof["height"] // 8)
    dcl, acl, _, _ = _enc_tabs()
    out = bytearray(b"\xff\xd8")
    out += _header_segments(data, segs)
    out += _sof(0xC0, sof, [c0])
    out += dht_segment(_std_tables()[:2])
    out += _sos([(c0["id"], 0, 0)], 0, 63)
    units = [[(0, by, bx)] for by in range(bh) for bx in range(bw)]
    out += _encode_units(units, coefs, {0: (dcl, acl)}, 0, 63)
    out += b"\xff\xd9"
    return bytes(out)


# --------------------------------------------------------------------------- PNG

def png_chunks(data):
    if data[:8] != PNG_SIG:
        raise FixtureError("not a PNG")
    pos = 8
    out = []
    while pos + 8 <= len(data):
        length, typ = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        out.append((typ, pos, end, length))
        pos = end
        if typ == b"IEND":
            break
    return out


def png_chunk(typ, body):
    return struct.pack(">I", len(body)) + typ + body + struct.pack(">I", zlib.crc32(typ + body))


PNG_PAD_CHUNK_MAX = 1 << 20  # stay far below libpng's 8 MB user chunk limit


def pad_png(data, need):
    chunks = png_chunks(data)
    iend = [c for c in chunks if c[0] == b"IEND"]
    if not iend:
        raise FixtureError("PNG has no IEND")
    at = iend[-1][1]
    if 0 < need < 12:
        # grow an existing prVt chunk
        for typ, start, end, length in chunks:
            if typ == b"prVt":
                body = data[start + 8:start + 8 + length] + filler(need)
                return data[:start] + png_chunk(b"prVt", body) + data[end:]
        raise FixtureError("need %d bytes (<12) and no prVt chunk to grow" % need)
    sizes = []
    rest = need
    while rest > 0:
        full = PNG_PAD_CHUNK_MAX + 12
        if rest <= full:
            sizes.append(rest)
            rest = 0
        elif rest - full < 12:
            sizes.append(rest - 12)
            rest = 12
        else:
            sizes.append(full)
            rest -= full
    ins = b"".join(png_chunk(b"prVt", filler(sz - 12)) for sz in sizes)
    return data[:at] + ins + data[at:]


def png_ihdr(data):
    chunks = png_chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        raise FixtureError("PNG does not start with IHDR")
    w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", data[16:29])
    return {"width": w, "height": h, "bit_depth": depth, "color_type": ctype,
            "interlace": inter, "chunks": [c[0].decode("latin1") for c in chunks]}


def png_adam7(w, h):
    """An RGB 8-bit Adam7-interlaced PNG with a simple gradient pattern."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        xs = list(range(x0, w, dx))
        ys = list(range(y0, h, dy))
        if not xs or not ys:
            continue
        for y in ys:
            raw.append(0)  # filter type None
            for x in xs:
                raw += bytes(((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1),
                              ((x // 8 + y // 8) % 2) * 255))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    return PNG_SIG + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + \
        png_chunk(b"IEND", b"")


# --------------------------------------------------------------------------- MP4

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta", b"dinf"}


def mp4_atoms(data, start=0, end=None):
    end = len(data) if end is None else end
    pos = start
    out = []
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr:
            break
        out.append((typ, pos, pos + size, hdr))
        pos += size
    return out


def pad_mp4(data, need):
    if 0 < need < 8:
        atoms = mp4_atoms(data)
        if atoms and atoms[-1][0] == b"free" and atoms[-1][2] == len(data) and atoms[-1][3] == 8:
            typ, start, end, hdr = atoms[-1]
            return data[:start] + struct.pack(">I", end - start + need) + b"free" + \
                data[start + 8:] + bytes(need)
        raise FixtureError("need %d bytes (<8) and no trailing free atom to grow" % need)
    if need == 0:
        return data
    if need <= 0xFFFFFFFF:
        return data + struct.pack(">I", need) + b"free" + bytes(need - 8)
    return data + struct.pack(">I", 1) + b"free" + struct.pack(">Q", need) + bytes(need - 16)


def mp4_tracks(data):
    """List of dicts per trak: handler, tkhd offset/version, matrix, width, height."""
    tracks = []
    for typ, s, e, h in mp4_atoms(data):
        if typ != b"moov":
            continue
        for t2, s2, e2, h2 in mp4_atoms(data, s + h, e):
            if t2 != b"trak":
                continue
            tr = {}
            stack = [(s2 + h2, e2, b"trak")]
            while stack:
                a, b, parent = stack.pop()
                for t3, s3, e3, h3 in mp4_atoms(data, a, b):
                    if t3 == b"tkhd":
                        ver = data[s3 + h3]
                        moff = s3 + h3 + (4 + 32 + 16 if ver == 1 else 4 + 20 + 16)
                        m = struct.unpack(">9i", data[moff:moff + 36])
                        wh = struct.unpack(">II", data[moff + 36:moff + 44])
                        tr.update(tkhd_matrix_offset=moff, matrix=m,
                                  width=wh[0] / 65536.0, height=wh[1] / 65536.0)
                    elif t3 == b"hdlr" and parent == b"mdia":  # not minf's data handler
                        tr["handler"] = data[s3 + h3 + 8:s3 + h3 + 12].decode("latin1")
                    elif t3 in CONTAINERS:
                        stack.append((s3 + h3, e3, t3))
            tracks.append(tr)
    return tracks


def rotation_matrix(deg, w, h):
    one = 0x10000
    w16, h16 = int(w * one), int(h * one)
    deg %= 360
    if deg == 0:
        return (one, 0, 0, 0, one, 0, 0, 0, 0x40000000)
    if deg == 90:   # display = stored rotated 90 deg clockwise (phone portrait)
        return (0, one, 0, -one, 0, 0, h16, 0, 0x40000000)
    if deg == 180:
        return (-one, 0, 0, 0, -one, 0, w16, h16, 0x40000000)
    if deg == 270:
        return (0, -one, 0, one, 0, 0, 0, w16, 0x40000000)
    raise FixtureError("rotation must be a multiple of 90")


def mp4_rotate(data, deg):
    for tr in mp4_tracks(data):
        if tr.get("handler") == "vide" and "tkhd_matrix_offset" in tr:
            off = tr["tkhd_matrix_offset"]
            m = rotation_matrix(deg, tr["width"], tr["height"])
            return data[:off] + struct.pack(">9i", *m) + data[off + 36:]
    raise FixtureError("no video track found")


def matrix_rotation_cw(m):
    """Clockwise display rotation in degrees for a tkhd matrix (None if not a rotation)."""
    a, b, c, d = m[0], m[1], m[3], m[4]
    table = {(1, 0, 0, 1): 0, (0, 1, -1, 0): 90, (-1, 0, 0, -1): 180, (0, -1, 1, 0): 270}
    sgn = lambda x: (x > 0) - (x < 0)
    return table.get((sgn(a), sgn(b), sgn(c), sgn(d)))


# --------------------------------------------------------------------------- commands

def cmd_pad(a):
    data = read(a.file)
    target = a.bytes
    if len(data) > target:
        die("%s is already %d bytes, larger than %d" % (a.file, len(data), target))
    need = target - len(data)
    k = kind_of(data)
    try:
        if need == 0:
            out = data
        elif k == "jpeg":
            out = pad_jpeg(data, need)
        elif k == "png":
            out = pad_png(data, need)
        elif k == "mp4":
            out = pad_mp4(data, need)
        else:
            die("%s: unknown file type (want JPEG, PNG or MP4/MOV)" % a.file)
    except FixtureError as e:
        die("%s: %s" % (a.file, e))
    assert len(out) == target, (len(out), target)
    write(a.output or a.file, out)


def cmd_exif(a):
    data = read(a.input)
    if data[:2] != b"\xff\xd8":
        die("%s is not a JPEG" % a.input)
    if not 1 <= a.orientation <= 8:
        die("orientation must be 1..8")
    segs = jpeg_segments(data)
    # drop existing Exif APP1 segments, then insert ours right after SOI
    body = bytearray()
    for s in segs[1:]:
        if s.marker == 0xE1 and s.payload[:6] == b"Exif\x00\x00":
            continue
        body += data[s.start:s.end]
    tail = data[segs[-1].end:] if segs else b""
    write(a.output, b"\xff\xd8" + build_exif_app1(a.orientation, a.be) + bytes(body) + tail)


def cmd_set_dims(a):
    data = read(a.input)
    k = kind_of(data)
    if k == "jpeg":
        if not (0 < a.width <= 65535 and 0 < a.height <= 65535):
            die("JPEG dimensions are limited to 1..65535")
        sof = jpeg_sof(jpeg_segments(data))
        if sof is None:
            die("no SOF marker")
        off = sof["seg"].start + 5  # FF Cx len(2) precision(1) -> height, width
        data = data[:off] + struct.pack(">HH", a.height, a.width) + data[off + 4:]
    elif k == "png":
        if not (0 < a.width < 2 ** 31 and 0 < a.height < 2 ** 31):
            die("PNG dimensions are limited to 1..2^31-1")
        if data[12:16] != b"IHDR":
            die("PNG does not start with IHDR")
        ihdr = bytearray(data[16:29])
        ihdr[0:8] = struct.pack(">II", a.width, a.height)
        data = data[:8] + png_chunk(b"IHDR", bytes(ihdr)) + data[33:]
    else:
        die("set-dims supports JPEG and PNG only")
    write(a.output, data)


def cmd_truncate(a):
    data = read(a.input)
    if not 0 <= a.fraction <= 1:
        die("fraction must be within 0..1")
    write(a.output, data[:int(len(data) * a.fraction)])


def cut_offset(data, where):
    if re.fullmatch(r"\d+", where):
        return int(where)
    name, _, frac = where.partition(":")
    frac = float(frac) if frac else 0.0
    k = kind_of(data)
    if k == "png":
        for typ, start, end, length in png_chunks(data):
            if typ.decode("latin1") == name:
                return start + 8 + int(length * frac)
    elif k == "jpeg":
        for s in jpeg_segments(data):
            if name == "SOS" and s.marker == 0xDA:
                a, b = s.scan_data
                return a + int((b - a) * frac)
            if name == "SOF" and s.marker in SOF_MARKERS:
                return s.start + int((s.end - s.start) * frac)
    elif k == "mp4":
        for typ, start, end, hdr in mp4_atoms(data):
            if typ.decode("latin1") == name:
                return start + int((end - start) * frac)
    raise FixtureError("cannot find %r in file" % where)


def cmd_cut(a):
    data = read(a.input)
    try:
        off = cut_offset(data, a.where)
    except FixtureError as e:
        die(str(e))
    write(a.output, data[:off])


def cmd_rotate(a):
    try:
        write(a.output, mp4_rotate(read(a.input), a.degrees))
    except FixtureError as e:
        die(str(e))


def cmd_progressive(a):
    try:
        write(a.output, jpeg_progressive(read(a.input)))
    except FixtureError as e:
        die(str(e))


def cmd_gray(a):
    try:
        write(a.output, jpeg_gray(read(a.input)))
    except FixtureError as e:
        die(str(e))


def cmd_adam7(a):
    write(a.output, png_adam7(a.width, a.height))


def cmd_garbage(a):
    rnd = random.Random(a.seed)
    magic = {"": b"", "png": PNG_SIG, "jpeg": b"\xff\xd8\xff", "mp4": b"\x00\x00\x00\x18ftypisom"}[a.magic]
    write(a.output, magic + bytes(rnd.getrandbits(8) for _ in range(a.n)))


def file_info(path):
    data = read(path)
    info = {"file": os.path.basename(path), "bytes": len(data)}
    k = kind_of(data)
    info["kind"] = k
    try:
        if k == "jpeg":
            segs = jpeg_segments(data)
            sof = jpeg_sof(segs)
            if sof:
                info.update(width=sof["width"], height=sof["height"],
                            sof="SOF%d" % (sof["marker"] - 0xC0),
                            progressive=sof["marker"] in (0xC2, 0xC6, 0xCA, 0xCE),
                            components=len(sof["components"]),
                            sampling="/".join("%dx%d" % (c["h"], c["v"]) for c in sof["components"]))
            o, bo = exif_orientation(segs)
            if o is not None:
                info.update(exif_orientation=o, exif_byte_order=bo)
            info["eoi"] = any(s.marker == 0xD9 for s in segs)
            info["com_segments"] = sum(1 for s in segs if s.marker == 0xFE)
        elif k == "png":
            info.update(png_ihdr(data))
            ch = info.pop("chunks")
            info["chunks"] = ",".join(sorted(set(ch), key=ch.index))
            info["iend"] = "IEND" in ch
        elif k == "mp4":
            info["atoms"] = ",".join(t.decode("latin1") for t, *_ in mp4_atoms(data))
            for tr in mp4_tracks(data):
                if tr.get("handler") == "vide":
                    info["tkhd_rotation_cw"] = matrix_rotation_cw(tr["matrix"])
    except (FixtureError, struct.error, IndexError) as e:
        info["parse_error"] = str(e)
    return info


def cmd_info(a):
    for p in a.files:
        print(json.dumps(file_info(p)))


def ffprobe(path):
    try:
        r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_format",
                            "-show_streams", "-of", "json", path],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["ffprobe failed"])[-1]}
    return json.loads(r.stdout)


def _rot_of(stream):
    for sd in stream.get("side_data_list", []):
        if "rotation" in sd:
            return int(sd["rotation"])
    tag = stream.get("tags", {}).get("rotate")
    return -int(tag) if tag else 0


def report_row(path):
    info = file_info(path)
    size = info["bytes"]
    fmt, stored, display, notes = "", "", "", []
    k = info.get("kind")
    if k == "jpeg" and "width" in info:
        fmt = "JPEG %s" % info["sof"]
        stored = "%dx%d" % (info["width"], info["height"])
        w, h = info["width"], info["height"]
        o = info.get("exif_orientation")
        if o in (5, 6, 7, 8):
            w, h = h, w
        display = "%dx%d" % (w, h)
        notes.append("%d comp (%s)" % (info["components"], info["sampling"]))
        if info["progressive"]:
            notes.append("progressive")
        if o is not None:
            notes.append("EXIF orientation %d (%s)" % (o, info["exif_byte_order"]))
        if info["com_segments"]:
            notes.append("%d COM" % info["com_segments"])
        if not info["eoi"]:
            notes.append("no EOI")
        notes.append("ratio %.6g" % (info["width"] / info["height"]))
    elif k == "png" and "width" in info:
        ct = {0: "gray", 2: "rgb", 3: "palette", 4: "gray+alpha", 6: "rgba"}.get(info["color_type"], "?")
        fmt = "PNG %s/%d" % (ct, info["bit_depth"])
        stored = display = "%dx%d" % (info["width"], info["height"])
        notes.append("interlace=%s" % ("Adam7" if info["interlace"] == 1 else "none"))
        notes.append("ratio %.6g" % (info["width"] / info["height"]))
        if "prVt" in info["chunks"]:
            notes.append("prVt padding")
        if not info["iend"]:
            notes.append("no IEND")
    pr = None
    if k not in ("jpeg", "png") or not stored:
        pr = ffprobe(path)
    if pr is not None:
        if "error" in pr:
            fmt = fmt or "ffprobe error"
            notes.append("ffprobe: %s" % pr["error"])
        else:
            f = pr.get("format", {})
            fmt = f.get("format_name", "?")
            for st in pr.get("streams", []):
                if st.get("codec_type") == "video":
                    w, h = st.get("width"), st.get("height")
                    stored = "%sx%s" % (w, h)
                    rot = _rot_of(st)
                    sar = st.get("sample_aspect_ratio", "1:1")
                    dw, dh = w, h
                    if sar not in ("1:1", "0:1", None):
                        n, d = map(int, sar.split(":"))
                        dw = int(round(w * n / d))
                    if rot % 180:
                        dw, dh = dh, dw
                    display = "%sx%s" % (dw, dh)
                    desc = "%s %s" % (st.get("codec_name"), st.get("pix_fmt"))
                    if st.get("nb_read_frames"):
                        desc += " %s frames" % st["nb_read_frames"]
                    if st.get("avg_frame_rate") not in (None, "0/0"):
                        desc += " @%s" % st["avg_frame_rate"]
                    notes.append(desc)
                    if rot:
                        notes.append("rotation=%d" % rot)
                    if sar not in ("1:1", "0:1", None):
                        notes.append("SAR %s DAR %s" % (sar, st.get("display_aspect_ratio")))
                elif st.get("codec_type") == "audio":
                    notes.append("%s %sHz %sch" % (st.get("codec_name"), st.get("sample_rate"),
                                                  st.get("channels")))
            if f.get("duration"):
                notes.append("dur %.3fs" % float(f["duration"]))
            if info.get("atoms"):
                notes.append("atoms " + info["atoms"])
    return "| %s | %d | %s | %s | %s | %s |" % (
        os.path.basename(path), size, fmt, stored or "-", display or "-", "; ".join(notes))


def cmd_report(a):
    print("| file | bytes | format | stored WxH | display WxH | notes |")
    print("| --- | ---: | --- | --- | --- | --- |")
    for p in a.files:
        print(report_row(p))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("pad", help="pad a JPEG/PNG/MP4 to exactly BYTES bytes")
    p.add_argument("file")
    p.add_argument("bytes", type=int)
    p.add_argument("-o", "--output", help="write here instead of in place")
    p.set_defaults(fn=cmd_pad)

    p = sub.add_parser("exif-orient", help="insert APP1 Exif with Orientation=N")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("orientation", type=int)
    p.add_argument("--be", action="store_true", help="big-endian (MM) TIFF header")
    p.set_defaults(fn=cmd_exif)

    p = sub.add_parser("set-dims", help="patch JPEG SOF / PNG IHDR dimensions")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("width", type=int)
    p.add_argument("height", type=int)
    p.set_defaults(fn=cmd_set_dims)

    p = sub.add_parser("truncate", help="keep the first FRACTION of the bytes")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("fraction", type=float)
    p.set_defaults(fn=cmd_truncate)

    p = sub.add_parser("cut", help="truncate at a structural offset (IDAT:0.5, IHDR:0.5, "
                                   "SOS:0.5, moov, mdat:0.6, or BYTES)")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("where")
    p.set_defaults(fn=cmd_cut)

    p = sub.add_parser("mp4-rotate", help="set the video tkhd matrix to a clockwise rotation")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("degrees", type=int)
    p.set_defaults(fn=cmd_rotate)

    p = sub.add_parser("jpeg-progressive", help="baseline JPEG -> progressive (lossless)")
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(fn=cmd_progressive)

    p = sub.add_parser("jpeg-gray", help="baseline JPEG -> 1-component grayscale JPEG")
    p.add_argument("input")
    p.add_argument("output")
    p.set_defaults(fn=cmd_gray)

    p = sub.add_parser("png-adam7", help="write an Adam7-interlaced RGB PNG")
    p.add_argument("output")
    p.add_argument("width", type=int)
    p.add_argument("height", type=int)
    p.set_defaults(fn=cmd_adam7)

    p = sub.add_parser("garbage", help="deterministic random bytes after an optional magic")
    p.add_argument("output")
    p.add_argument("n", type=int)
    p.add_argument("--magic", choices=["", "png", "jpeg", "mp4"], default="")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(fn=cmd_garbage)

    p = sub.add_parser("info", help="print parsed properties as JSON lines")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_info)

    p = sub.add_parser("report", help="markdown truth table (ffprobe for A/V)")
    p.add_argument("files", nargs="+")
    p.set_defaults(fn=cmd_report)

    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
