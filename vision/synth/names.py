"""Countries of the region, their scripts and plausible border crossing point names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CountryStyle:
    code: str
    name: str
    script: str | None = None
    immigration_native: str | None = None
    syllables: tuple[str, ...] = ()


_MALAY = (
    "ba",
    "tu",
    "ka",
    "ng",
    "kua",
    "la",
    "pe",
    "nang",
    "ke",
    "dah",
    "jo",
    "hor",
    "sung",
    "ai",
    "ko",
    "ta",
    "bu",
    "kit",
    "ra",
    "wang",
    "si",
    "bu",
    "ti",
    "pa",
    "dang",
    "me",
    "lak",
    "ka",
)
_THAI = (
    "sa",
    "dao",
    "nong",
    "khai",
    "chiang",
    "rai",
    "mae",
    "sot",
    "a",
    "ran",
    "yap",
    "ra",
    "that",
    "phanom",
    "mu",
    "kda",
    "han",
    "hat",
    "yai",
    "u",
    "don",
    "bu",
    "ri",
)
_KHMER = (
    "poi",
    "pet",
    "ba",
    "vet",
    "kam",
    "pong",
    "cham",
    "siem",
    "reap",
    "koh",
    "kong",
    "stung",
    "treng",
    "ta",
    "keo",
    "pre",
    "ah",
    "sva",
    "rieng",
)
_LAO = (
    "vang",
    "tao",
    "dan",
    "sa",
    "van",
    "na",
    "kha",
    "boten",
    "huay",
    "xai",
    "thakhek",
    "pak",
    "se",
    "luang",
    "pra",
    "bang",
    "savan",
)
_MYANMAR = (
    "myaw",
    "wad",
    "dy",
    "ta",
    "chi",
    "leik",
    "kaw",
    "thaung",
    "mu",
    "se",
    "tamu",
    "yan",
    "gon",
    "man",
    "da",
    "lay",
    "naypyi",
    "taw",
)
_BENGALI = (
    "be",
    "na",
    "pole",
    "ta",
    "ma",
    "bil",
    "ak",
    "hau",
    "ra",
    "shah",
    "jalal",
    "chit",
    "ta",
    "gong",
    "sy",
    "let",
    "bu",
    "ri",
    "mari",
)
_SINHALA = (
    "ban",
    "da",
    "ra",
    "nai",
    "ke",
    "ma",
    "ttala",
    "col",
    "om",
    "bo",
    "gal",
    "le",
    "trin",
    "co",
    "ma",
    "lee",
    "jaf",
    "na",
)
_GENERIC = (
    "an",
    "ber",
    "cor",
    "dal",
    "en",
    "far",
    "gan",
    "hal",
    "is",
    "jor",
    "kel",
    "lor",
    "mar",
    "nor",
    "ol",
    "par",
    "quin",
    "ros",
    "sal",
    "tor",
    "ul",
    "ven",
    "wel",
    "yar",
)

COUNTRIES: tuple[CountryStyle, ...] = (
    CountryStyle("MYS", "MALAYSIA", None, None, _MALAY),
    CountryStyle("THA", "THAILAND", "thai", "ตรวจคนเข้าเมือง", _THAI),
    CountryStyle("KHM", "CAMBODIA", "khmer", "អន្តោប្រវេសន៍", _KHMER),
    CountryStyle("LAO", "LAO P.D.R.", "lao", "ກວດຄົນເຂົ້າເມືອງ", _LAO),
    CountryStyle("MMR", "MYANMAR", "myanmar", "လူဝင်မှုကြီးကြပ်ရေး", _MYANMAR),
    CountryStyle("BGD", "BANGLADESH", "bengali", "ইমিগ্রেশন", _BENGALI),
    CountryStyle("LKA", "SRI LANKA", "sinhala", "ආගමන විගමන", _SINHALA),
    CountryStyle("NPL", "NEPAL", "devanagari", "अध्यागमन", _GENERIC),
    CountryStyle("IND", "INDIA", "devanagari", "आप्रवासन", _GENERIC),
    CountryStyle("IDN", "INDONESIA", None, None, _MALAY),
    CountryStyle("SGP", "SINGAPORE", None, None, _MALAY),
    CountryStyle("PHL", "PHILIPPINES", None, None, _GENERIC),
    CountryStyle("VNM", "VIET NAM", None, None, _GENERIC),
    CountryStyle("BRN", "BRUNEI DARUSSALAM", None, None, _MALAY),
    CountryStyle("TLS", "TIMOR-LESTE", None, None, _GENERIC),
    CountryStyle("AUS", "AUSTRALIA", None, None, _GENERIC),
    CountryStyle("NZL", "NEW ZEALAND", None, None, _GENERIC),
    CountryStyle("FJI", "FIJI", None, None, _GENERIC),
    CountryStyle("PNG", "PAPUA NEW GUINEA", None, None, _GENERIC),
    CountryStyle("MNG", "MONGOLIA", None, None, _GENERIC),
    CountryStyle("PAK", "PAKISTAN", None, None, _GENERIC),
    CountryStyle("MDV", "MALDIVES", None, None, _GENERIC),
    CountryStyle("BTN", "BHUTAN", None, None, _GENERIC),
    CountryStyle("WSM", "SAMOA", None, None, _GENERIC),
)

PLACE_SUFFIXES = {
    "air": ("INTL AIRPORT", "AIRPORT", "AIR TERMINAL"),
    "land": ("CHECKPOINT", "BORDER POST", "ICQS", "LAND PORT"),
    "sea": ("SEAPORT", "PORT", "FERRY TERMINAL", "HARBOUR"),
    "rail": ("RAILWAY STATION", "RAIL CHECKPOINT"),
}


def place_name(rng: np.random.Generator, country: CountryStyle, taken: set[str]) -> str:
    """A pronounceable, unique place name in the country's syllable style (e.g. 'KUALA TIRAN')."""
    syllables = country.syllables or _GENERIC
    for _ in range(200):
        words = []
        for _ in range(int(rng.choice([1, 2, 2, 3], p=[0.35, 0.35, 0.2, 0.1]))):
            count = int(rng.integers(2, 4))
            words.append("".join(str(rng.choice(syllables)) for _ in range(count)).upper())
        name = " ".join(words)
        if 4 <= len(name) <= 22 and name not in taken:
            taken.add(name)
            return name
    raise RuntimeError("could not find a new place name")
