"""Generate the bundled sample images and the application icon.

Everything is drawn procedurally with numpy + Pillow from fixed seeds, so the
output is deterministic and no third-party image is involved.  Run from any
directory::

    python resources/samples/make_samples.py

It writes:

* ``resources/samples/sample.png``    192x128 RGB low-resolution demo input
* ``resources/samples/sample_hr.png`` 768x512 RGB ground truth of the same scene
* ``resources/icons/nlsn.png``        256x256 RGBA application icon

(``resources/icons/nlsn.svg`` is the hand-written vector twin of the icon.)

The scene is described in "base units" of a 192x128 canvas.  Each output is
rendered at 4x its final size and reduced with Lanczos, so edges are
antialiased like a real downscaled photo rather than aliased vector art.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

BASE_W, BASE_H = 192, 128
SUPERSAMPLE = 4
SEED = 20240611

HERE = Path(__file__).resolve().parent
ICON_DIR = HERE.parent / "icons"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _value_noise(rng: np.random.Generator, w: int, h: int, octaves=((4, 0.5), (16, 0.3), (64, 0.2))) -> np.ndarray:
    """Smooth multi-octave noise in [-1, 1] at a fixed grid size ``w x h``."""
    out = np.zeros((h, w), np.float32)
    for cells, amp in octaves:
        gw = max(2, w // cells) if cells > 8 else cells * 3
        gh = max(2, int(round(gw * h / w)))
        grid = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
        img = Image.fromarray(grid, mode="F").resize((w, h), Image.BICUBIC)
        out += amp * np.asarray(img, np.float32)
    fine = rng.uniform(-1.0, 1.0, (h, w)).astype(np.float32)
    out = 0.8 * out + 0.2 * fine
    return np.clip(out / max(1e-6, np.abs(out).max()), -1.0, 1.0)


def _resize_f(a: np.ndarray, w: int, h: int) -> np.ndarray:
    if a.shape == (h, w):
        return a
    return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BICUBIC), np.float32)


class Scene:
    """A float RGB canvas plus a drawing API working in base units."""

    def __init__(self, k: float, noise: np.ndarray, noise2: np.ndarray):
        self.k = k
        self.w = int(round(BASE_W * k))
        self.h = int(round(BASE_H * k))
        self.rgb = np.zeros((self.h, self.w, 3), np.float32)
        self.noise = _resize_f(noise, self.w, self.h)
        self.noise2 = _resize_f(noise2, self.w, self.h)
        yy, xx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        self.X = (xx + 0.5) / k
        self.Y = (yy + 0.5) / k

    # coordinate helpers --------------------------------------------------
    def p(self, *xy):
        return [v * self.k for v in xy]

    def lw(self, width: float) -> int:
        return max(1, int(round(width * self.k)))

    def mask(self, fn) -> np.ndarray:
        m = Image.new("L", (self.w, self.h), 0)
        fn(ImageDraw.Draw(m), self)
        return np.asarray(m, np.float32) / 255.0

    def blur(self, m: np.ndarray, radius: float) -> np.ndarray:
        img = Image.fromarray((m * 255).astype(np.uint8))
        img = img.filter(ImageFilter.GaussianBlur(radius * self.k))
        return np.asarray(img, np.float32) / 255.0

    # painting -------------------------------------------------------------
    @staticmethod
    def _bbox(m: np.ndarray):
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        if rows.size == 0:
            return None
        return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)

    def paint(self, m: np.ndarray, colour, tex: float = 0.0, alpha: float = 1.0, noise=None) -> None:
        bb = self._bbox(m)
        if bb is None:
            return
        col = np.asarray(colour, np.float32).reshape(1, 1, 3)
        if tex:
            n = self.noise if noise is None else noise
            col = col * (1.0 + tex * n[bb][..., None])
        a = (m[bb] * alpha)[..., None]
        self.rgb[bb] = self.rgb[bb] * (1.0 - a) + col * a

    def paint_field(self, m: np.ndarray, field: np.ndarray, alpha: float = 1.0) -> None:
        bb = self._bbox(m)
        if bb is None:
            return
        a = (m[bb] * alpha)[..., None]
        f = field[bb] if field.ndim == 3 else field
        self.rgb[bb] = self.rgb[bb] * (1.0 - a) + f * a

    def image(self) -> Image.Image:
        return Image.fromarray(np.clip(self.rgb, 0, 255).round().astype(np.uint8), "RGB")


def _lerp(c0, c1, t):
    c0 = np.asarray(c0, np.float32)
    c1 = np.asarray(c1, np.float32)
    t = np.asarray(t, np.float32)[..., None]
    return c0 * (1 - t) + c1 * t


# --------------------------------------------------------------------------
# the scene
# --------------------------------------------------------------------------
def _layout(seed: int) -> dict:
    """All random scene decisions, drawn once in base units."""
    rng = np.random.default_rng(seed)
    lay = {}
    # tree canopies: list of (cx, cy, rx, ry, shade)
    trees = []
    for cx, cy, size in ((24, 62, 15), (132, 66, 11), (176, 74, 7)):
        blobs = []
        for _ in range(int(size * 1.6)):
            ang = rng.uniform(0, 2 * np.pi)
            rad = size * 0.62 * np.sqrt(rng.uniform(0, 1))
            bx = cx + rad * np.cos(ang)
            by = cy + rad * np.sin(ang) * 1.1
            r = size * rng.uniform(0.30, 0.48)
            # lighter on the upper right (sun side), darker lower left
            shade = 0.5 + 0.5 * np.clip(((bx - cx) - (by - cy)) / (size * 1.2), -1, 1)
            blobs.append((bx, by, r, r * rng.uniform(0.8, 1.05), shade))
        blobs.sort(key=lambda b: b[4])
        trees.append(((cx, cy, size), blobs))
    lay["trees"] = trees
    # flowers in the meadow
    fl = []
    palette = [(236, 70, 80), (250, 220, 70), (245, 245, 250), (180, 90, 210), (255, 150, 60)]
    while len(fl) < 70:
        x = rng.uniform(2, 190)
        # two bands: the meadow behind the fence and the strip in front of it
        y = rng.uniform(95.5, 103) if rng.uniform() < 0.5 else rng.uniform(121.5, 127.5)
        if 58 < x < 114:  # house and path
            continue
        fl.append((x, y, rng.uniform(0.5, 0.9), palette[rng.integers(len(palette))]))
    lay["flowers"] = fl
    # grass blades along the lower fence line
    lay["grass"] = [(rng.uniform(0, 192), rng.uniform(112, 128), rng.uniform(2.0, 4.0), rng.uniform(-1.2, 1.2))
                    for _ in range(160)]
    return lay


def render_scene(k: float, noise: np.ndarray, noise2: np.ndarray, lay: dict) -> Image.Image:
    s = Scene(k, noise, noise2)
    X, Y = s.X, s.Y
    horizon = 80.0

    # ---- sky gradient + sun glow ----------------------------------------
    t = np.clip(Y / horizon, 0, 1) ** 0.9
    sky = _lerp((52, 110, 190), (196, 222, 240), t)
    sun_x, sun_y, sun_r = 160.0, 24.0, 9.0
    d = np.sqrt((X - sun_x) ** 2 + (Y - sun_y) ** 2)
    glow = np.exp(-((d / 38.0) ** 2))[..., None]
    sky = sky * (1 - 0.55 * glow) + np.array([255, 240, 200], np.float32) * 0.55 * glow
    s.rgb[:] = sky

    # sun disc with a soft rim
    sun = np.clip((sun_r - d) / 0.6 + 0.5, 0, 1)
    s.paint_field(sun, _lerp((255, 250, 225), (255, 214, 90), np.clip(d / sun_r, 0, 1) ** 2))
    # thin sun rays
    def rays(dr, sc):
        for i in range(12):
            a = i * np.pi / 6 + 0.13
            r0, r1 = sun_r + 2.5, sun_r + (7.5 if i % 2 else 5.0)
            dr.line(sc.p(sun_x + r0 * np.cos(a), sun_y + r0 * np.sin(a),
                         sun_x + r1 * np.cos(a), sun_y + r1 * np.sin(a)), fill=255, width=sc.lw(0.8))
    s.paint(s.mask(rays), (255, 222, 120), alpha=0.9)

    # ---- clouds ------------------------------------------------------------
    def clouds(dr, sc):
        for cx, cy, sz in ((34, 20, 1.0), (92, 12, 0.8), (118, 32, 0.55)):
            for ox, oy, rx, ry in ((-9, 2, 8, 4.5), (-2, -2, 8, 6), (7, 0, 9, 5), (14, 3, 6, 3.5), (0, 4, 14, 3.5)):
                dr.ellipse(sc.p(cx + sz * (ox - rx), cy + sz * (oy - ry), cx + sz * (ox + rx), cy + sz * (oy + ry)), fill=255)
    cm = s.blur(s.mask(clouds), 0.5)
    cloud_shade = _lerp((255, 255, 255), (214, 224, 238), np.clip((Y - 8) / 30, 0, 1))
    s.paint_field(cm, cloud_shade * (1 + 0.04 * s.noise2[..., None]), alpha=0.95)

    # ---- hills ----------------------------------------------------------
    def far_hills(dr, sc):
        for cx, cy, rx, ry in ((-10, 84, 60, 18), (60, 86, 55, 14), (130, 84, 50, 19), (200, 86, 45, 15)):
            dr.ellipse(sc.p(cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    fh = s.mask(far_hills)
    s.paint_field(fh, _lerp((124, 160, 168), (108, 150, 120), np.clip((Y - 66) / 18, 0, 1)) * (1 + 0.05 * s.noise[..., None]))

    def near_hills(dr, sc):
        for cx, cy, rx, ry in ((30, 96, 70, 16), (120, 98, 80, 17), (200, 96, 50, 18)):
            dr.ellipse(sc.p(cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
        dr.rectangle(sc.p(0, 94, BASE_W, BASE_H), fill=255)
    nh = s.mask(near_hills)
    grass = _lerp((132, 182, 80), (70, 128, 44), np.clip((Y - 80) / 48, 0, 1))
    s.paint_field(nh, grass * (1 + 0.10 * s.noise[..., None] + 0.05 * s.noise2[..., None]))

    # ---- trees ------------------------------------------------------------
    def draw_tree(tree):
        (cx, cy, size), blobs = tree
        def trunk(dr, sc):
            tw = size * 0.16
            dr.polygon([tuple(sc.p(cx - tw, cy + size * 1.25)), tuple(sc.p(cx + tw, cy + size * 1.25)),
                        tuple(sc.p(cx + tw * 0.6, cy)), tuple(sc.p(cx - tw * 0.6, cy))], fill=255)
        s.paint(s.mask(trunk), (96, 66, 40), tex=0.15, noise=s.noise2)
        for bx, by, rx, ry, shade in blobs:
            col = _lerp((34, 84, 34), (120, 176, 64), shade)
            def blob(dr, sc, bx=bx, by=by, rx=rx, ry=ry):
                dr.ellipse(sc.p(bx - rx, by - ry, bx + rx, by + ry), fill=255)
            s.paint(s.mask(blob), col, tex=0.22, noise=s.noise2)
    for tree in lay["trees"][1:]:
        draw_tree(tree)

    # ---- power pole and line (thin sagging wires) -----------------------------
    def pole(dr, sc):
        dr.polygon([tuple(sc.p(*q)) for q in ((185.2, 99), (187.4, 99), (186.9, 26), (185.7, 26))], fill=255)
    s.paint(s.mask(pole), (92, 70, 52), tex=0.1, noise=s.noise2)
    def crossbar(dr, sc):
        dr.rectangle(sc.p(181.5, 29.2, 191, 30.4), fill=255)
        dr.rectangle(sc.p(182.5, 33.2, 190, 34.4), fill=255)
    s.paint(s.mask(crossbar), (78, 58, 42))
    def wires(dr, sc):
        for y0, y1, sag in ((29.4, 44.0, 6.0), (33.4, 48.0, 6.5)):
            pts = []
            for i in range(81):
                u = i / 80
                x = 186 - u * 186
                y = y0 + (y1 - y0) * u + 4 * sag * u * (1 - u)
                pts.extend(sc.p(x, y))
            dr.line(pts, fill=255, width=sc.lw(0.35))
    s.paint(s.mask(wires), (40, 40, 48), alpha=0.9)

    # ---- house --------------------------------------------------------------
    wall_x0, wall_x1, wall_y0, wall_y1 = 60.0, 108.0, 62.0, 98.0
    # chimney (behind the roof)
    def chimney(dr, sc):
        dr.rectangle(sc.p(94, 38, 100, 56), fill=255)
    s.paint(s.mask(chimney), (150, 70, 52), tex=0.1)
    def chimney_cap(dr, sc):
        dr.rectangle(sc.p(93, 36.5, 101, 39), fill=255)
    s.paint(s.mask(chimney_cap), (80, 60, 56))

    # brick wall: bricks 5 x 2.5 units, mortar lines 0.45 units
    def wall(dr, sc):
        dr.rectangle(sc.p(wall_x0, wall_y0, wall_x1, wall_y1), fill=255)
    wm = s.mask(wall)
    bh, bw, mortar = 2.5, 5.0, 0.45
    row = np.floor((Y - wall_y0) / bh)
    xo = X - wall_x0 + (row % 2) * bw / 2
    in_mortar = ((Y - wall_y0) % bh < mortar) | (xo % bw < mortar)
    brick_id = row * 37 + np.floor(xo / bw)
    brick_var = (np.sin(brick_id * 12.9898) * 43758.5453) % 1.0  # per-brick tint
    brick = _lerp((170, 74, 50), (204, 112, 72), brick_var) * (1 + 0.08 * s.noise2[..., None])
    field = np.where(in_mortar[..., None], np.array([214, 206, 192], np.float32), brick)
    s.paint_field(wm, field)

    # roof: a gable of dark tiles with staggered joints
    roof_pts = [(54, 63.5), (114, 63.5), (84, 38)]
    def roof(dr, sc):
        dr.polygon([tuple(sc.p(*q)) for q in roof_pts], fill=255)
    rm = s.mask(roof)
    th, tw = 3.2, 4.0
    rrow = np.floor((63.5 - Y) / th)
    rxo = X + (rrow % 2) * tw / 2
    ty = (63.5 - Y) % th
    edge = (ty < 0.55) | (rxo % tw < 0.45)
    tile_var = (np.sin((rrow * 53 + np.floor(rxo / tw)) * 78.233) * 12543.17) % 1.0
    tile = _lerp((58, 72, 96), (86, 102, 130), tile_var)
    tile = tile * (1.0 - 0.25 * (ty / th))[..., None]  # each tile row darker at its lower lip
    s.paint_field(rm, np.where(edge[..., None], np.array([30, 36, 50], np.float32), tile))
    def eaves(dr, sc):
        dr.line(sc.p(53, 64, 84, 37.3, 115, 64), fill=255, width=sc.lw(1.2), joint="curve")
    s.paint(s.mask(eaves), (236, 232, 222))
    # round attic window in the gable
    def attic(dr, sc):
        dr.ellipse(sc.p(80.5, 49, 87.5, 56), fill=255)
    s.paint(s.mask(attic), (240, 236, 226))
    def attic_glass(dr, sc):
        dr.ellipse(sc.p(81.5, 50, 86.5, 55), fill=255)
    s.paint_field(s.mask(attic_glass), _lerp((70, 110, 160), (170, 210, 235), np.clip((X - Y - 26) / 8 + 0.5, 0, 1)))
    def attic_bars(dr, sc):
        dr.line(sc.p(84, 50, 84, 55), fill=255, width=sc.lw(0.5))
        dr.line(sc.p(81.5, 52.5, 86.5, 52.5), fill=255, width=sc.lw(0.5))
    s.paint(s.mask(attic_bars), (240, 236, 226))

    # door
    def door(dr, sc):
        dr.rectangle(sc.p(79, 78, 89, 98), fill=255)
    s.paint(s.mask(door), (236, 232, 222))
    def door_leaf(dr, sc):
        dr.rectangle(sc.p(80, 79, 88, 98), fill=255)
    s.paint(s.mask(door_leaf), (40, 86, 120), tex=0.08)
    def door_panels(dr, sc):
        for y0, y1 in ((80.5, 87.5), (89.5, 96.5)):
            dr.rectangle(sc.p(81.3, y0, 86.7, y1), outline=255, width=sc.lw(0.45))
    s.paint(s.mask(door_panels), (24, 56, 84))
    def knob(dr, sc):
        dr.ellipse(sc.p(86.2, 88.2, 87.4, 89.4), fill=255)
    s.paint(s.mask(knob), (240, 200, 90))

    # windows with cross muntins, sills, and a striped awning
    for wx in (64.0, 94.0):
        def frame(dr, sc, wx=wx):
            dr.rectangle(sc.p(wx, 70, wx + 10, 81), fill=255)
        s.paint(s.mask(frame), (240, 236, 226))
        def glass(dr, sc, wx=wx):
            dr.rectangle(sc.p(wx + 1, 71, wx + 9, 80), fill=255)
        refl = _lerp((52, 86, 130), (176, 214, 238), np.clip(((X - wx) - (Y - 70)) / 9 + 0.1, 0, 1))
        s.paint_field(s.mask(glass), refl)
        def mullion(dr, sc, wx=wx):
            dr.line(sc.p(wx + 5, 71, wx + 5, 80), fill=255, width=sc.lw(0.6))
            dr.line(sc.p(wx + 1, 75.5, wx + 9, 75.5), fill=255, width=sc.lw(0.6))
        s.paint(s.mask(mullion), (240, 236, 226))
        def sill(dr, sc, wx=wx):
            dr.rectangle(sc.p(wx - 1, 81, wx + 11, 82.2), fill=255)
        s.paint(s.mask(sill), (200, 196, 188))
        def box(dr, sc, wx=wx):
            dr.rectangle(sc.p(wx, 82.2, wx + 10, 84.6), fill=255)
        s.paint(s.mask(box), (120, 80, 50))
        def blooms(dr, sc, wx=wx):
            for i in range(6):
                fx = wx + 1 + i * 1.6
                dr.ellipse(sc.p(fx - 0.8, 80.6 - (i % 2) * 0.6, fx + 0.8, 82.2 - (i % 2) * 0.6), fill=255)
        s.paint(s.mask(blooms), (232, 64, 90) if wx < 80 else (250, 210, 60))
    # awning: alternating stripes over the left window
    def awning(dr, sc):
        dr.polygon([tuple(sc.p(*q)) for q in ((62.5, 66), (75.5, 66), (77, 70.5), (61, 70.5))], fill=255)
    am = s.mask(awning)
    ta = np.clip((Y - 66.0) / 4.5, 0, 1)  # stripes fan out towards the lower edge
    left_edge, right_edge = 62.5 - 1.5 * ta, 75.5 + 1.5 * ta
    stripes = np.floor(10 * (X - left_edge) / (right_edge - left_edge)) % 2 == 0
    s.paint_field(am, np.where(stripes[..., None], np.array([232, 60, 60], np.float32), np.array([250, 246, 238], np.float32)))
    def awning_edge(dr, sc):
        for i in range(10):
            x0 = 61 + i * 1.6
            dr.pieslice(sc.p(x0, 69.6, x0 + 1.6, 71.6), 0, 180, fill=255)
    scallop = s.mask(awning_edge)
    s.paint_field(scallop, np.where(stripes[..., None], np.array([232, 60, 60], np.float32), np.array([250, 246, 238], np.float32)))

    # ---- gravel path (oblique edges) ----------------------------------------
    def path(dr, sc):
        dr.polygon([tuple(sc.p(*q)) for q in ((79, 98), (89, 98), (112, 128), (60, 128))], fill=255)
    pm = s.mask(path)
    s.paint_field(pm, _lerp((214, 196, 160), (190, 168, 130), np.clip((Y - 98) / 30, 0, 1))
                  * (1 + 0.12 * s.noise2[..., None]))
    def stones(dr, sc):
        for i in range(5):
            y = 101 + i * 5.4
            half = 5 + (y - 98) * 0.86 * 0.5
            cx = 84 + (y - 98) * (-1 / 30)
            dr.line(sc.p(cx - half + 1.5, y, cx + half - 1.5, y), fill=255, width=sc.lw(0.4))
    s.paint(s.mask(stones), (160, 138, 104), alpha=0.8)

    # big tree in front, left
    draw_tree(lay["trees"][0])

    # meadow flowers behind the fence (the front band is drawn last)
    def draw_flowers(front: bool):
        for fx, fy, fr, col in lay["flowers"]:
            if (fy > 110) != front:
                continue
            def fl(dr, sc, fx=fx, fy=fy, fr=fr):
                dr.ellipse(sc.p(fx - fr, fy - fr, fx + fr, fy + fr), fill=255)
            s.paint(s.mask(fl), col)
    draw_flowers(front=False)

    # ---- signpost with text --------------------------------------------------
    sx0, sy0, sx1, sy1 = 134.0, 84.0, 180.0, 103.0
    def posts(dr, sc):
        for px in (140.0, 173.0):
            dr.rectangle(sc.p(px, sy1 - 1, px + 2.4, 118), fill=255)
    s.paint(s.mask(posts), (110, 76, 48), tex=0.12, noise=s.noise2)
    def board(dr, sc):
        dr.rounded_rectangle(sc.p(sx0, sy0, sx1, sy1), radius=1.5 * sc.k, fill=255)
    s.paint(s.mask(board), (30, 52, 92))
    def board_in(dr, sc):
        dr.rounded_rectangle(sc.p(sx0 + 1.2, sy0 + 1.2, sx1 - 1.2, sy1 - 1.2), radius=1.0 * sc.k, fill=255)
    s.paint(s.mask(board_in), (250, 246, 230), tex=0.03, noise=s.noise2)
    def text(dr, sc):
        font = _font(8.6 * sc.k)
        dr.text(tuple(sc.p((sx0 + sx1) / 2, (sy0 + sy1) / 2 - 0.2)), "NLSN", font=font, fill=255, anchor="mm",
                stroke_width=max(0, int(round(0.25 * sc.k))), stroke_fill=255)
    s.paint(s.mask(text), (22, 34, 64))
    def small_text(dr, sc):
        font = _font(2.4 * sc.k)
        dr.text(tuple(sc.p((sx0 + sx1) / 2, sy1 - 3.2)), "SUPER-RESOLUTION", font=font, fill=255, anchor="mm")
    s.paint(s.mask(small_text), (180, 40, 40))

    # ---- picket fence -----------------------------------------------------------
    def fence(dr, sc):
        top, bot = 104.0, 121.0
        x = 1.0
        while x < 192:
            if not (70.0 < x + 1.2 < 98.0):  # gap for the path
                dr.polygon([tuple(sc.p(*q)) for q in ((x, bot), (x, top + 1.4), (x + 1.2, top), (x + 2.4, top + 1.4), (x + 2.4, bot))],
                           fill=255)
            x += 4.0
        for ry in (108.0, 116.0):
            dr.rectangle(sc.p(0, ry, 67.4, ry + 1.2), fill=255)
            dr.rectangle(sc.p(97.0, ry, 192, ry + 1.2), fill=255)
    fm = s.mask(fence)
    s.paint(fm, (244, 242, 236), tex=0.03, noise=s.noise2)
    def fence_shadow(dr, sc):
        x = 1.0
        while x < 192:
            if not (70.0 < x + 1.2 < 98.0):
                dr.line(sc.p(x + 2.1, 105.5, x + 2.1, 121), fill=255, width=sc.lw(0.5))
            x += 4.0
    s.paint(s.mask(fence_shadow) * fm, (176, 176, 176), alpha=0.7)

    # ---- meadow details -----------------------------------------------------------
    def blades(dr, sc):
        for gx, gy, gh, lean in lay["grass"]:
            if 58 < gx < 114:  # keep the path clean
                continue
            dr.line(sc.p(gx, gy, gx + lean, gy - gh), fill=255, width=sc.lw(0.35))
    s.paint(s.mask(blades), (58, 112, 36), alpha=0.85)
    draw_flowers(front=True)

    return s.image()


_FONT_CACHE: dict = {}


def _font(px: float):
    size = max(6, int(round(px)))
    if size not in _FONT_CACHE:
        try:
            _FONT_CACHE[size] = ImageFont.load_default(size=size)
        except TypeError:  # very old Pillow: only the tiny bitmap font
            _FONT_CACHE[size] = ImageFont.load_default()
    return _FONT_CACHE[size]


def make_scene(scale: int) -> Image.Image:
    """Scene at ``scale`` x the base size, rendered 4x larger then Lanczos-reduced."""
    rng = np.random.default_rng(SEED)
    noise = _value_noise(rng, BASE_W * 4, BASE_H * 4)
    noise2 = _value_noise(rng, BASE_W * 4, BASE_H * 4, octaves=((8, 0.3), (32, 0.4), (96, 0.3)))
    lay = _layout(SEED + 1)
    big = render_scene(scale * SUPERSAMPLE, noise, noise2, lay)
    return big.resize((BASE_W * scale, BASE_H * scale), Image.LANCZOS, reducing_gap=None)


# --------------------------------------------------------------------------
# icon
# --------------------------------------------------------------------------
def make_icon(size: int = 256) -> Image.Image:
    ss = SUPERSAMPLE
    S = size * ss
    u = S / 256.0  # icon is designed on a 256 grid
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    t = np.clip((xx + yy) / (2 * S), 0, 1)
    bg = _lerp((14, 34, 86), (18, 160, 160), t)
    rgba = np.zeros((S, S, 4), np.float32)
    rgba[..., :3] = bg

    def mask(fn):
        m = Image.new("L", (S, S), 0)
        fn(ImageDraw.Draw(m))
        return np.asarray(m, np.float32) / 255.0

    def paint(m, col, a=1.0):
        a = (m * a)[..., None]
        rgba[..., :3] = rgba[..., :3] * (1 - a) + np.asarray(col, np.float32) * a

    # the motif: a circle; left half drawn as 16-unit blocks, right half smooth
    cx, cy, r = 128.0, 128.0, 74.0
    block = 16.0

    def smooth_half(d):
        d.pieslice([(cx - r) * u, (cy - r) * u, (cx + r) * u, (cy + r) * u], -90, 90, fill=255)
    right = mask(smooth_half)

    def blocky_half(d):
        y = 48.0
        while y < 208.0:
            x = 48.0
            while x < 128.0:
                mx, my = x + block / 2, y + block / 2
                if (mx - cx) ** 2 + (my - cy) ** 2 <= r * r:
                    d.rectangle([x * u, y * u, (x + block) * u - 1, (y + block) * u - 1], fill=255)
                x += block
            y += block
    left = mask(blocky_half)
    fill = _lerp((255, 206, 84), (255, 244, 214), np.clip((yy / S - 0.25) * 1.6, 0, 1))
    a = np.clip(left + right, 0, 1)[..., None]
    rgba[..., :3] = rgba[..., :3] * (1 - a) + fill * a

    # faint pixel grid lines on the blocky half
    def grid(d):
        for g in range(48, 129, 16):
            d.line([g * u, 40 * u, g * u, 216 * u], fill=255, width=max(1, int(2 * u)))
        for g in range(48, 209, 16):
            d.line([40 * u, g * u, 128 * u, g * u], fill=255, width=max(1, int(2 * u)))
    paint(mask(grid) * np.clip(left, 0, 1), (14, 34, 86), 0.35)

    # vertical divider between the two halves
    def divider(d):
        d.line([128 * u, 36 * u, 128 * u, 220 * u], fill=255, width=int(5 * u))
    paint(mask(divider), (255, 255, 255), 0.9)

    # highlight on the smooth half
    def sheen(d):
        d.arc([(cx - r + 14) * u, (cy - r + 14) * u, (cx + r - 14) * u, (cy + r - 14) * u], -70, -15,
              fill=255, width=int(7 * u))
    paint(mask(sheen), (255, 255, 255), 0.75)

    # rounded-square alpha
    def rounded(d):
        d.rounded_rectangle([8 * u, 8 * u, 248 * u, 248 * u], radius=52 * u, fill=255)
    rgba[..., 3] = mask(rounded) * 255
    # subtle inner border
    def border(d):
        d.rounded_rectangle([10 * u, 10 * u, 246 * u, 246 * u], radius=50 * u, outline=255, width=int(3 * u))
    paint(mask(border), (255, 255, 255), 0.18)

    # premultiply before resampling so the transparent colour does not bleed in
    a = rgba[..., 3:4] / 255.0
    pm = np.concatenate([rgba[..., :3] * a, rgba[..., 3:4]], axis=-1)
    img = Image.fromarray(np.clip(pm, 0, 255).round().astype(np.uint8), "RGBa")
    img = img.resize((size, size), Image.LANCZOS).convert("RGBA")
    return img


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    make_scene(1).save(HERE / "sample.png", optimize=True)
    make_scene(4).save(HERE / "sample_hr.png", optimize=True)
    make_icon(256).save(ICON_DIR / "nlsn.png", optimize=True)
    for p in (HERE / "sample.png", HERE / "sample_hr.png", ICON_DIR / "nlsn.png"):
        print(f"wrote {p} ({p.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
