#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes tests/data/images/formats/: small images in the formats of issue #15's catalogue
(TIFF, CMYK JPEG, 16-bit PNG, animated GIF, SVG), in every other format a GdkPixbuf loader
reads (PNM, TGA, ICO, ICNS, XBM, XPM, and BMP, WebP and PNG kinds) and, for each one Pillow reads, the reference's
reading of it: transformers' load_image, i.e. ImageOps.exif_transpose(Image.open(p)).convert("RGB"),
as raw RGB bytes (<name>.rgb). formats.json lists them with size, sha256 and Pillow's mode.

Run offline with Debian's python3-pil (apt-get install python3-pil; Debian 12 has Pillow 9.4.0):
    /usr/bin/python3 build-aux/make-format-images.py tests/data/images/formats
The images are deterministic; the goldens depend on Pillow's version (recorded in formats.json).
"""
import gzip
import hashlib
import io
import json
import os
import re
import struct
import sys

import PIL
from PIL import Image, ImageDraw, ImageOps

W, H = 32, 24


def scene(mode="RGB"):
    """A gradient with a few shapes: every pixel differs from its neighbours somewhere."""
    im = Image.new("RGB", (W, H))
    px = im.load()
    for y in range(H):
        for x in range(W):
            px[x, y] = (x * 8, y * 10, (x * y * 3) % 256)
    d = ImageDraw.Draw(im)
    d.rectangle((3, 4, 12, 10), fill=(250, 30, 20))
    d.ellipse((16, 8, 29, 21), fill=(20, 200, 60))
    d.line((0, 23, 31, 0), fill=(255, 255, 255), width=2)
    return im.convert(mode) if mode != "RGB" else im


def cmyk_scene():
    """CMYK with ink in all four plates, so that how K combines with C, M and Y shows."""
    r, g, b = scene().split()
    k = Image.new("L", (W, H))
    k.putdata([(x * 5 + y * 7) % 256 for y in range(H) for x in range(W)])
    return Image.merge("CMYK", (r, g, b, k))


def reference_rgb(data):
    """transformers.image_utils.load_image's reading of the file."""
    im = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(im)
    return im.convert("RGB"), Image.open(io.BytesIO(data)).mode


def strip_app14(jpeg):
    """The same JPEG without its Adobe APP14 segment."""
    out = bytearray(jpeg[:2])
    i = 2
    while i < len(jpeg):
        assert jpeg[i] == 0xFF
        marker = jpeg[i + 1]
        if marker == 0xDA:
            out += jpeg[i:]
            break
        length = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if marker != 0xEE:
            out += jpeg[i:i + 2 + length]
        i += 2 + length
    return bytes(out)


def save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png16(color_type, samples):
    """A 16-bit PNG from rows of big-endian 16-bit samples (Pillow cannot write RGB 16-bit)."""
    import zlib
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    raw = bytearray()
    for y in range(H):
        raw.append(0)
        for x in range(W):
            for c in range(channels):
                raw += struct.pack(">H", samples(x, y, c))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", W, H, 16, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))


def sample16(x, y, c):
    # spans the whole 16-bit range, with low bytes that tell truncation from rounding, and
    # values under 256 (what Pillow's I -> RGB keeps) in the first rows
    if y < 4:
        return (x * 8 + c * 3 + y) & 0xFF
    return ((x * 2039 + y * 977 + c * 12345) * 7) & 0xFFFF


def animated_gif():
    """Two frames: the first covers only part of the screen and has a transparent index."""
    pal_frame = scene().quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    first = pal_frame.copy()
    second = scene().transpose(Image.Transpose.FLIP_LEFT_RIGHT).quantize(
        colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    return save(first, "GIF", save_all=True, append_images=[second], duration=[100, 100],
                loop=0, transparency=3, disposal=2, optimize=False)


def partial_gif():
    """A GIF whose only frame covers the middle of its screen (background index 2)."""
    pal = scene().quantize(colors=8, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = pal.getpalette()[:24]
    frame = pal.crop((8, 6, 24, 18))
    body = io.BytesIO()
    body.write(b"GIF89a" + struct.pack("<HH", W, H) + bytes([0xF2, 2, 0]) + bytes(palette))
    body.write(b"\x2C" + struct.pack("<HHHH", 8, 6, 16, 12) + b"\x00")
    # the frame's pixels with Pillow's own LZW encoder: reuse its output for a lone frame
    lone = save(frame, "GIF", optimize=False)
    i = lone.index(b"\x2C")
    j = i + 10
    if lone[i + 9] & 0x80:
        j += 3 << ((lone[i + 9] & 7) + 1)
    body.write(lone[j:-1])  # LZW code size and sub-blocks, without the trailer
    body.write(b"\x3B")
    return body.getvalue()


def plain_pnm(magic, im, maxval=255):
    """P1-P3: text, with a comment; P1 writes 1 for black."""
    head = f"{magic}\n# made by make-format-images.py\n{im.width} {im.height}\n"
    if magic != "P1":
        head += f"{maxval}\n"
    px = list(im.getdata())
    if magic == "P1":
        body = " ".join("1" if v == 0 else "0" for v in px)
    elif magic == "P2":
        body = " ".join(str(v * maxval // 255) for v in px)
    else:
        body = "\n".join(" ".join(str(c * maxval // 255) for c in v) for v in px)
    return (head + body + "\n").encode()


def raw_pnm(magic, im, maxval):
    """P5/P6 with a largest value other than 255 (Pillow writes only 255)."""
    px = list(im.getdata())
    samples = [c * maxval // 255 for v in px for c in (v if isinstance(v, tuple) else (v,))]
    if maxval < 256:
        body = bytes(samples)
    else:
        body = b"".join(struct.pack(">H", c) for c in samples)
    return f"{magic}\n{im.width} {im.height}\n{maxval}\n".encode() + body


def icns(png):
    """An Apple icon with one 32x32 PNG ("ic11"): Pillow's own writer adds every size up to
    1024x1024, a 3 MB golden."""
    entry = b"ic11" + struct.pack(">I", 8 + len(png)) + png
    return b"icns" + struct.pack(">I", 8 + len(entry)) + entry


XPM = b"""/* XPM */
static char *drawing[] = {
"4 2 2 1",
"a c #FF0000",
"b c blue",
"abab",
"baba"};
"""

SVG = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="32" height="24" viewBox="0 0 32 24">
  <rect width="32" height="24" fill="#3080c0"/>
  <circle cx="16" cy="12" r="8" fill="#f0a020"/>
</svg>
"""


def images():
    rgb = scene()
    yield "tiff-rgb-raw.tif", save(rgb, "TIFF")
    yield "tiff-rgb-lzw.tif", save(rgb, "TIFF", compression="tiff_lzw")
    yield "tiff-rgb-deflate.tif", save(rgb, "TIFF", compression="tiff_adobe_deflate")
    yield "tiff-rgb-packbits.tif", save(rgb, "TIFF", compression="packbits")
    yield "tiff-rgb-jpeg.tif", save(rgb, "TIFF", compression="jpeg")
    yield "tiff-l.tif", save(scene("L"), "TIFF", compression="tiff_lzw")
    yield "tiff-p.tif", save(rgb.quantize(colors=16, dither=Image.Dither.NONE), "TIFF")
    rgba = rgb.copy()
    rgba.putalpha(Image.linear_gradient("L").resize((W, H)))
    yield "tiff-rgba.tif", save(rgba, "TIFF", compression="tiff_lzw")
    yield "tiff-1bit.tif", save(scene("1"), "TIFF")
    yield "tiff-cmyk.tif", save(cmyk_scene(), "TIFF")
    i16 = Image.new("I;16", (W, H))
    i16.frombytes(b"".join(struct.pack("<H", sample16(x, y, 0)) for y in range(H) for x in range(W)))
    yield "tiff-gray16.tif", save(i16, "TIFF")
    pages = save(rgb, "TIFF", save_all=True,
                 append_images=[rgb.transpose(Image.Transpose.ROTATE_180)])
    yield "tiff-two-pages.tif", pages
    cmyk = save(cmyk_scene(), "JPEG", quality=95)
    yield "jpeg-cmyk-adobe.jpg", cmyk
    yield "jpeg-cmyk-no-app14.jpg", strip_app14(cmyk)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to show
    yield "jpeg-cmyk-rot6.jpg", save(cmyk_scene(), "JPEG", quality=90, exif=exif.tobytes())
    yield "png-rgb16.png", png16(2, sample16)
    yield "png-rgba16.png", png16(6, sample16)
    yield "png-la16.png", png16(4, sample16)
    yield "png-gray16.png", png16(0, sample16)
    yield "gif-animated.gif", animated_gif()
    yield "gif-partial-frame.gif", partial_gif()
    yield "drawing.svg", SVG
    # the other GdkPixbuf loaders' formats
    yield "pnm-p6.ppm", save(rgb, "PPM")
    yield "pnm-p5.pgm", save(scene("L"), "PPM")
    yield "pnm-p4.pbm", save(scene("1"), "PPM")
    yield "pnm-p3.ppm", plain_pnm("P3", rgb)
    yield "pnm-p2.pgm", plain_pnm("P2", scene("L"))
    yield "pnm-p1.pbm", plain_pnm("P1", scene("1"))
    yield "pnm-p6-max100.ppm", raw_pnm("P6", rgb, 100)
    yield "pnm-p5-16bit.pgm", raw_pnm("P5", scene("L"), 65535)
    yield "tga-rgb.tga", save(rgb, "TGA")
    yield "tga-rgb-rle.tga", save(rgb, "TGA", compression="tga_rle")
    yield "tga-rgb-top-left.tga", save(rgb, "TGA", orientation=1)
    yield "tga-rgba.tga", save(rgba, "TGA")
    yield "tga-l.tga", save(scene("L"), "TGA")
    yield "tga-p.tga", save(rgb.quantize(colors=16, dither=Image.Dither.NONE), "TGA")
    square = rgb.resize((32, 32))
    yield "ico-bmp.ico", save(square, "ICO", sizes=[(32, 32)], bitmap_format="bmp")
    yield "ico-bmp-rgba.ico", save(rgba.resize((32, 32)), "ICO", sizes=[(32, 32)],
                                   bitmap_format="bmp")
    yield "ico-two-sizes.ico", save(square, "ICO", sizes=[(16, 16), (32, 32)], bitmap_format="bmp")
    yield "ico-png.ico", save(square, "ICO", sizes=[(32, 32)])
    yield "icns.icns", icns(save(square, "PNG"))
    yield "xbm.xbm", save(scene("1"), "XBM")
    yield "xpm.xpm", XPM
    yield "bmp-p.bmp", save(rgb.quantize(colors=16, dither=Image.Dither.NONE), "BMP")
    yield "bmp-1.bmp", save(scene("1"), "BMP")
    yield "webp-lossless.webp", save(rgb, "WEBP", lossless=True)
    yield "webp-rgba.webp", save(rgba, "WEBP", lossless=True)
    yield "png-p.png", save(rgb.quantize(colors=16, dither=Image.Dither.NONE), "PNG")
    yield "png-la.png", save(scene("LA"), "PNG")
    yield "png-rgba.png", save(rgba, "PNG")
    yield "drawing.svgz", gzip.compress(SVG, mtime=0)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {"pillow": PIL.__version__, "images": []}
    for name, data in images():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        entry = {"file": name}
        try:
            im, mode = reference_rgb(data)
        except Exception as e:  # what Pillow says instead of reading it
            # without the "<_io.BytesIO object at 0x...>" that changes at every run
            entry["pillow_error"] = re.sub(r" <[^>]* at 0x[0-9a-f]+>", "", f"{type(e).__name__}: {e}")
        else:
            raw = im.tobytes()
            entry.update(mode=mode, width=im.width, height=im.height,
                         rgb=name.rsplit(".", 1)[0] + ".rgb",
                         sha256=hashlib.sha256(raw).hexdigest())
            with open(os.path.join(out, entry["rgb"]), "wb") as f:
                f.write(raw)
        manifest["images"].append(entry)
        print(entry)
    with open(os.path.join(out, "formats.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
