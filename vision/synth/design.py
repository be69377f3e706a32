"""Stamp designs: a country's house styles and the specimens drawn from them.

Border agencies reuse one house style across many BCPs, so a real library is full of
near-twins: the same design with another BCP line, or the entry and exit stamps of one
BCP. The generator reproduces that on purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np

from vision.synth.fonts import available_latin_faces, available_scripts
from vision.synth.names import COUNTRIES, PLACE_SUFFIXES, CountryStyle, place_name

SHAPES = ("rectangle", "rounded_rectangle", "circle", "oval", "triangle", "octagon")
BORDERS = ("single", "double", "dashed", "thick_thin", "beaded")
MODES = ("air", "land", "sea", "rail")
DATE_FORMATS = ("%d %b %Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y", "%d %b %y", "%d-%m-%Y")
COUNTER_FORMATS = ("No. {n:03d}", "{n:02d}", "P{n:04d}", "C-{n:02d}", "({n:03d})", "CTR {n:02d}")
DIRECTION_WORDS = (
    ("ARRIVAL", "DEPARTURE"),
    ("ADMITTED", "DEPARTED"),
    ("ENTRY", "EXIT"),
    ("IN", "OUT"),
    ("ARRIVED", "DEPARTED"),
)
INKS: dict[str, tuple[int, int, int]] = {
    "blue": (38, 64, 160),
    "navy": (30, 40, 100),
    "black": (35, 35, 40),
    "red": (178, 34, 44),
    "purple": (98, 44, 130),
    "violet": (120, 60, 170),
    "green": (24, 110, 62),
    "teal": (20, 100, 110),
    "brown": (110, 60, 30),
}


@dataclass(frozen=True)
class HouseStyle:
    """How one agency's stamps look; shared by many BCPs of a country."""

    shape: str
    size_mm: tuple[float, float]
    border: str
    layout: str  # "arc" (text on the rim) or "stack" (lines one under another)
    title_face: str
    body_face: str
    date_face: str
    date_format: str
    counter_format: str
    direction_words: tuple[str, str]
    direction_by: str  # "word": a text line says it; "shape": exit uses another shape
    pictogram: str  # "top", "left" or "none"
    header: str  # "IMMIGRATION", "IMMIGRATION DEPARTMENT", …, or "" for none
    native_line: bool
    security_box: bool
    date_box: bool
    ink_entry: str
    ink_exit: str


@dataclass(frozen=True)
class Forgery:
    """What a forger changed; all neutral values for a genuine design."""

    face: str | None = None
    spacing: float = 1.0
    scale: float = 1.0
    ink: str | None = None
    date_format: str | None = None


@dataclass(frozen=True)
class StampDesign:
    design_id: str
    country: CountryStyle
    bcp_name: str
    bcp_code: str
    direction: str
    mode: str
    style: HouseStyle
    security_code: str
    valid_from: dt.date
    valid_to: dt.date | None
    forgery: Forgery = field(default_factory=Forgery)

    @property
    def shape(self) -> str:
        if self.style.direction_by == "shape" and self.direction == "exit":
            return {"rectangle": "rounded_rectangle", "circle": "octagon", "oval": "rectangle"}.get(
                self.style.shape, "circle"
            )
        return self.style.shape

    @property
    def size_mm(self) -> tuple[float, float]:
        width, height = self.style.size_mm
        if self.shape in {"circle", "octagon"}:
            width = height = max(width, height)
        return width * self.forgery.scale, height * self.forgery.scale

    @property
    def ink_name(self) -> str:
        return self.forgery.ink or (
            self.style.ink_entry if self.direction == "entry" else self.style.ink_exit
        )

    @property
    def ink_rgb(self) -> tuple[int, int, int]:
        return INKS[self.ink_name]

    @property
    def direction_word(self) -> str:
        words = self.style.direction_words
        return words[0] if self.direction == "entry" else words[1]

    @property
    def date_format(self) -> str:
        return self.forgery.date_format or self.style.date_format

    def caption(self) -> str:
        """A description in words, as a librarian would catalogue it."""
        shape = self.shape.replace("_", " ")
        return (
            f"{shape} {self.ink_name} {self.direction} stamp, {self.country.name.title()}, "
            f"{self.bcp_name.title()}, {self.mode}"
        )

    def fixed_lines(self) -> tuple[str, ...]:
        """Every text line that does not change between impressions (no date, no counter)."""
        lines = [
            self.country.name,
            self.bcp_name,
            self.direction_word if self.style.direction_by == "word" else "",
        ]
        lines += [self.style.header, self.security_code if self.style.security_box else ""]
        lines += [self.country.immigration_native or "" if self.style.native_line else ""]
        return tuple(line for line in lines if line)


def _pick(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def make_house_style(rng: np.random.Generator, country: CountryStyle) -> HouseStyle:
    shape = _pick(rng, SHAPES)
    if shape in {"circle", "octagon"}:
        side = float(rng.uniform(28, 40))
        size = (side, side)
    elif shape == "oval":
        size = (float(rng.uniform(38, 50)), float(rng.uniform(26, 34)))
    elif shape == "triangle":
        size = (float(rng.uniform(38, 48)), float(rng.uniform(32, 40)))
    else:
        size = (float(rng.uniform(36, 52)), float(rng.uniform(24, 34)))
    latin = available_latin_faces()
    ink_entry = _pick(rng, tuple(INKS))
    ink_exit = ink_entry if rng.random() < 0.5 else _pick(rng, tuple(INKS))
    layout = "arc" if shape in {"circle", "oval"} and rng.random() < 0.8 else "stack"
    return HouseStyle(
        shape=shape,
        size_mm=size,
        border=_pick(rng, BORDERS),
        layout=layout,
        title_face=_pick(rng, latin),
        body_face=_pick(rng, latin),
        date_face=_pick(rng, ("mono", "mono_bold", "sans_bold", "sans")),
        date_format=_pick(rng, DATE_FORMATS),
        counter_format=_pick(rng, COUNTER_FORMATS),
        direction_words=DIRECTION_WORDS[int(rng.integers(len(DIRECTION_WORDS)))],
        direction_by="shape"
        if shape in {"rectangle", "circle", "oval"} and rng.random() < 0.2
        else "word",
        pictogram=_pick(rng, ("top", "left", "none", "top")),
        header=_pick(
            rng, ("IMMIGRATION", "IMMIGRATION", "IMMIGRATION DEPARTMENT", "BORDER CONTROL", "")
        ),
        native_line=bool(country.script in available_scripts() and rng.random() < 0.7),
        security_box=bool(rng.random() < 0.4),
        date_box=bool(rng.random() < 0.6),
        ink_entry=ink_entry,
        ink_exit=ink_exit,
    )


def _security_code(rng: np.random.Generator) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return "".join(_pick(rng, tuple(letters)) for _ in range(2)) + str(int(rng.integers(10, 99)))


def _bcp_code(country: CountryStyle, index: int) -> str:
    return f"{country.code}-{index:03d}"


@dataclass
class _CountryState:
    country: CountryStyle
    styles: list[HouseStyle]
    taken_names: set[str] = field(default_factory=set)
    bcps: int = 0


def generate_designs(seed: int, count: int, *, namespace: str = "lib") -> list[StampDesign]:
    """`count` specimen designs; the first n of a larger world are the same designs."""
    rng = np.random.default_rng([seed, 7001, len(namespace), sum(map(ord, namespace))])
    states = [
        _CountryState(
            country, [make_house_style(rng, country) for _ in range(int(rng.integers(1, 4)))]
        )
        for country in COUNTRIES
    ]
    designs: list[StampDesign] = []
    while len(designs) < count:
        state = states[int(rng.integers(len(states)))]
        designs.extend(_bcp_designs(rng, state, namespace))
    return designs[:count]


def _bcp_designs(
    rng: np.random.Generator, state: _CountryState, namespace: str
) -> list[StampDesign]:
    """The entry and exit stamps of one new BCP, sometimes in two generations."""
    mode = _pick(rng, (*MODES, "air", "land"))
    name = f"{place_name(rng, state.country, state.taken_names)} {_pick(rng, PLACE_SUFFIXES[mode])}"
    if len(name) > 30:
        name = name.split(" ")[0] + " " + _pick(rng, PLACE_SUFFIXES[mode])
    state.bcps += 1
    code = _bcp_code(state.country, state.bcps)
    style = state.styles[int(rng.integers(len(state.styles)))]
    start = dt.date(int(rng.integers(2008, 2020)), int(rng.integers(1, 13)), 1)
    generations: list[tuple[HouseStyle, dt.date, dt.date | None]] = [(style, start, None)]
    if rng.random() < 0.15:
        newer = make_house_style(rng, state.country)
        state.styles.append(newer)
        switch = dt.date(int(rng.integers(2021, 2025)), int(rng.integers(1, 13)), 1)
        generations = [(style, start, switch - dt.timedelta(days=1)), (newer, switch, None)]
    designs = []
    for generation, (gen_style, valid_from, valid_to) in enumerate(generations):
        for direction in ("entry", "exit"):
            designs.append(
                StampDesign(
                    design_id=f"{namespace}-{code}-{direction}-g{generation}",
                    country=state.country,
                    bcp_name=name,
                    bcp_code=code,
                    direction=direction,
                    mode=mode,
                    style=gen_style,
                    security_code=_security_code(rng),
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
            )
    return designs


FORGERY_KINDS = ("font", "spacing", "size", "ink", "date_format")


def forge(design: StampDesign, kind: str, rng: np.random.Generator) -> StampDesign:
    """A forged variant of `design` that differs in one way a forger gets wrong."""
    if kind == "font":
        faces = [
            face
            for face in available_latin_faces()
            if face not in {design.style.body_face, design.style.title_face}
        ]
        forgery = Forgery(face=_pick(rng, faces))
    elif kind == "spacing":
        forgery = Forgery(spacing=float(rng.choice([0.8, 0.85, 1.18, 1.25])))
    elif kind == "size":
        forgery = Forgery(scale=float(rng.choice([0.88, 0.92, 1.08, 1.12])))
    elif kind == "ink":
        forgery = Forgery(
            ink=_pick(
                rng,
                [
                    name
                    for name in INKS
                    if name != design.ink_name and _far_ink(name, design.ink_name)
                ],
            )
        )
    elif kind == "date_format":
        forgery = Forgery(
            date_format=_pick(rng, [f for f in DATE_FORMATS if f != design.style.date_format])
        )
    else:
        raise ValueError(f"unknown forgery kind {kind!r}")
    return replace(design, design_id=f"{design.design_id}-forged-{kind}", forgery=forgery)


def _far_ink(a: str, b: str) -> bool:
    return sum(abs(x - y) for x, y in zip(INKS[a], INKS[b], strict=True)) > 90


def near_twin(a: StampDesign, b: StampDesign) -> bool:
    """One fixed text line apart, or identical text in another shape."""
    lines_a, lines_b = a.fixed_lines(), b.fixed_lines()
    if a.shape != b.shape:
        return lines_a == lines_b
    if len(lines_a) != len(lines_b):
        return False
    return sum(x != y for x, y in zip(lines_a, lines_b, strict=True)) == 1


def twin_fraction(designs: list[StampDesign]) -> float:
    """The share of designs that have a near-twin of the same house style in the list."""
    by_style: dict[HouseStyle, list[StampDesign]] = {}
    for design in designs:
        by_style.setdefault(design.style, []).append(design)
    twins = sum(
        any(other is not design and near_twin(design, other) for other in by_style[design.style])
        for design in designs
    )
    return twins / max(len(designs), 1)
