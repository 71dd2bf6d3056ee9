#!/usr/bin/env python3
"""Packs rendered pages into one multi-page scan, as a scanner's document
feeder writes them: a PDF (each page an image at its resolution) or a
multi-page TIFF.

    pack_pages.py OUT.pdf|OUT.tif [--blank-after N ...] [--rgb] [--raw] [--dpi 300] PAGE...
    pack_pages.py OUT.pdf --blank-pages 200 [--dpi 30]

--blank-after N puts a blank page after the N-th (the back of a sheet
scanned on both sides); --rgb keeps three channels (a colour scanner);
--raw writes the TIFF uncompressed (a 50 MB TIFF from two A4 pages);
--blank-pages K writes K blank A4 pages only (a long PDF, cheap to make).
Needs python3-pil.
"""
import argparse
import sys

from PIL import Image


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("pages", nargs="*")
    p.add_argument("--blank-after", type=int, action="append", default=[])
    p.add_argument("--blank-pages", type=int, default=0)
    p.add_argument("--rgb", action="store_true")
    p.add_argument("--raw", action="store_true")
    p.add_argument("--dpi", type=int, default=300)
    a = p.parse_args()
    images = []
    if a.blank_pages:
        size = (round(210 / 25.4 * a.dpi), round(297 / 25.4 * a.dpi))
        images = [Image.new("L", size, 255) for _ in range(a.blank_pages)]
    for n, path in enumerate(a.pages, 1):
        im = Image.open(path)
        im = im.convert("RGB" if a.rgb else "L")
        images.append(im)
        if n in a.blank_after:
            images.append(Image.new(im.mode, im.size, (255, 255, 255) if a.rgb else 255))
    if not images:
        sys.exit("no pages")
    first, rest = images[0], images[1:]
    if a.out.lower().endswith(".pdf"):
        first.save(a.out, save_all=True, append_images=rest, resolution=a.dpi, quality=95)
    else:
        first.save(a.out, save_all=True, append_images=rest, dpi=(a.dpi, a.dpi),
                   compression=None if a.raw else "tiff_deflate")


if __name__ == "__main__":
    main()
