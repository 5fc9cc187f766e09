#!/usr/bin/env python3
"""Draws Keyroll's icon (a key on a rounded square) and writes every size the
Tauri bundler wants into icons/. Pure standard library, so it runs anywhere;
the committed icons are its output."""
import math, os, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "icons")

BG = (31, 94, 168)       # school blue
FG = (255, 255, 255)


def inside_round_rect(x, y, s, r):
    cx = min(max(x, r), s - r)
    cy = min(max(y, r), s - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def pixel(x, y, s):
    """RGBA of the icon at (x, y) in an s-by-s image (coordinates in pixels)."""
    u, v = x / s, y / s
    if not inside_round_rect(x, y, s, s * 0.2):
        return (0, 0, 0, 0)
    # key: ring at left, shaft to the right, two teeth
    ring = math.hypot(u - 0.33, v - 0.5)
    on = 0.09 <= ring <= 0.17
    on |= 0.42 <= u <= 0.8 and 0.465 <= v <= 0.535
    on |= 0.66 <= u <= 0.71 and 0.535 <= v <= 0.64
    on |= 0.74 <= u <= 0.8 and 0.535 <= v <= 0.67
    return FG + (255,) if on else BG + (255,)


def png(s):
    ss = 4  # supersampling for smooth edges
    rows = []
    for y in range(s):
        row = bytearray(b"\x00")
        for x in range(s):
            acc = [0, 0, 0, 0]
            for dy in range(ss):
                for dx in range(ss):
                    p = pixel((x + (dx + 0.5) / ss) * 1.0, (y + (dy + 0.5) / ss) * 1.0, s)
                    for i in range(4):
                        acc[i] += p[i] * (p[3] / 255 if i < 3 else 1)
            a = acc[3] / (ss * ss)
            rgb = [int(acc[i] / max(acc[3] / 255, 1e-9)) if acc[3] else 0 for i in range(3)]
            row += bytes(rgb + [int(a)])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", s, s, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(pngs):
    head = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for s, data in pngs:
        entries += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
        blobs += data
    return head + entries + blobs


def icns(pngs):
    types = {32: b"ic05", 64: b"ic06", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(types[s] + struct.pack(">I", len(d) + 8) + d for s, d in pngs if s in types)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main():
    os.makedirs(OUT, exist_ok=True)
    made = {s: png(s) for s in (16, 24, 32, 48, 64, 128, 256, 512)}
    files = {"32x32.png": made[32], "128x128.png": made[128], "128x128@2x.png": made[256],
             "icon.png": made[512], "icon.ico": ico([(s, made[s]) for s in (16, 24, 32, 48, 64, 256)]),
             "icon.icns": icns([(s, made[s]) for s in (32, 64, 128, 256, 512)])}
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
