"""Filter profiles: YAML files that name every rule with its threshold, and build the steps.

A profile has up to ten sections, applied in this order; a section that is absent, ``null`` or
``false`` is skipped::

    langid:        LanguageID       languages, min_score, script_min_han, script_max_kana, model
    urls:          URLSignals       rules (max_*), ut1 (datatrove's URLFilter, offline)
    blocklists:    Blocklist        max_blocklist_score/density, lists, first_lines, ... (raw page)
    page_types:    PageTypes        rules (max_*): catalogues, stuffing, error pages, hospital ads (raw)
    lines:         LineCleaner      rules, short_boilerplate_chars, min_prose_chars, ... (rewrites text)
    heuristics:    ChineseHeuristics   rules (min_*/max_*), line_rules_min_lines, stopwords
    spam:          WebSpam          rules (max_*), min_lines, short_line_chars
    quality:       QualityStep      model, min_score, buckets, document_mode (learned 0-5 score)
    quality_model: QualityScorer    path, min_score, segmentation (a fastText good/bad model)
    pii:           PIIRedactor      kinds (or true for all kinds)

``extends: zh-web`` (or a path) starts from another profile and overrides what this one sets.
Relative paths inside a profile (lists, models, stopwords) are resolved from the profile's folder.
Unknown sections, options or rule names raise :class:`ProfileError` naming the key.
Term lists and page types run on the page as it came (injected brands, hotlines and shop buttons
sit in menus and footers); every rule after ``lines`` judges the cleaned text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from datatrove.pipeline.base import PipelineStep

from jinglian.corpus.filters.blocklists import BUNDLED_LISTS, DEFAULT_LIST, Blocklist
from jinglian.corpus.filters.heuristics import ChineseHeuristics
from jinglian.corpus.filters.lines import LineCleaner
from jinglian.corpus.filters.pagetypes import PageTypes
from jinglian.corpus.filters.pii import PII_KINDS, PIIRedactor
from jinglian.corpus.filters.rules import ProfileError
from jinglian.corpus.filters.spam import WebSpam
from jinglian.corpus.filters.urls import URLSignals
from jinglian.corpus.langid import LanguageID
from jinglian.corpus.quality.classifier import QualityScorer
from jinglian.corpus.quality.model import QualityStep

BUILTIN_PROFILES = ("zh-web",)
SECTIONS = (
    "langid", "urls", "blocklists", "page_types", "lines", "heuristics", "spam", "quality", "quality_model",
    "pii",
)
# Options of each section that are not rules (everything else must be a rule name).
OPTIONS = {
    "langid": {"languages", "min_score", "script_min_han", "script_max_kana", "model"},
    "heuristics": {"line_rules_min_lines", "stopwords"},
    "urls": {"ut1"},
    "lines": {
        "short_boilerplate_chars", "min_prose_chars", "long_line_chars", "menu_min_items",
        "menu_max_item_chars", "teaser_min_lines", "max_short_run", "clipped_min_chars",
        "clipped_min_lines",
    },
    "spam": {"min_lines", "short_line_chars"},
    "page_types": {"min_lines"},
    "blocklists": {"lists", "default_weight", "max_count_per_term", "first_lines", "first_lines_weight",
                   "min_density_han_chars"},
    "quality": {"model", "min_score", "buckets", "document_mode"},
    "quality_model": {"path", "min_score", "segmentation"},
    "pii": {"kinds"},
}
# Options that must be numbers (rules are checked by their filters).
NUMERIC_OPTIONS = {
    "langid": {"min_score", "script_min_han", "script_max_kana"},
    "heuristics": {"line_rules_min_lines"},
    "lines": {
        "short_boilerplate_chars", "min_prose_chars", "long_line_chars", "menu_min_items",
        "menu_max_item_chars", "teaser_min_lines", "max_short_run", "clipped_min_chars",
        "clipped_min_lines",
    },
    "spam": {"min_lines", "short_line_chars"},
    "page_types": {"min_lines"},
    "blocklists": {"default_weight", "max_count_per_term", "first_lines", "first_lines_weight",
                   "min_density_han_chars"},
    "quality": {"min_score"},
    "quality_model": {"min_score"},
}
RULE_SECTIONS = {
    "heuristics": ChineseHeuristics, "spam": WebSpam, "blocklists": Blocklist, "lines": LineCleaner,
    "page_types": PageTypes, "urls": URLSignals,
}


@dataclass
class Profile:
    name: str
    sections: dict[str, Any] = field(default_factory=dict)
    base_dir: Path = field(default_factory=Path.cwd)

    def resolve(self, path: str) -> str:
        p = Path(path).expanduser()
        return str(p if p.is_absolute() else self.base_dir / p)


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(source: str) -> tuple[dict, Path, str]:
    if source in BUILTIN_PROFILES:
        text = (
            resources.files("jinglian.corpus.filters")
            .joinpath("profiles", f"{source}.yaml")
            .read_text("utf-8")
        )
        return _parse(text, source), Path.cwd(), source
    path = Path(source)
    if not path.is_file():
        raise ProfileError(
            f"profile {source!r}: no such file (built-in profiles: {', '.join(BUILTIN_PROFILES)})"
        )
    return _parse(path.read_text(encoding="utf-8"), source), path.resolve().parent, path.stem


def _parse(text: str, source: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProfileError(
            f"profile {source}: invalid YAML{where} ({getattr(err, 'problem', err)})"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProfileError(f"profile {source}: expected a mapping of sections, got {type(data).__name__}")
    return data


def load_profile(source: str | Path, _seen: tuple = ()) -> Profile:
    """Read a built-in profile by name or a YAML file, following ``extends``, and validate it."""
    source = str(source)
    if source in _seen:
        raise ProfileError(f"profile {source}: 'extends' loops back to itself")
    data, base_dir, name = _read_yaml(source)
    parent = data.pop("extends", None)
    data.pop("name", None)
    data.pop("description", None)
    if parent:
        base = load_profile(parent, _seen + (source,))
        data = _merge(base.sections, data)
    profile = Profile(name, data, base_dir)
    validate(profile)
    return profile


def validate(profile: Profile) -> None:
    for section, body in profile.sections.items():
        if section not in SECTIONS:
            raise ProfileError(
                f"profile {profile.name}: unknown section {section!r} (known: {', '.join(SECTIONS)})"
            )
        if body in (None, False) or (section == "pii" and body is True):
            continue
        if not isinstance(body, dict):
            raise ProfileError(
                f"profile {profile.name}: section {section!r} must be a mapping, null or false"
            )
        for key, value in body.items():
            if key in NUMERIC_OPTIONS.get(section, ()) and value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ProfileError(
                        f"profile {profile.name}: '{section}.{key}' must be a number, not {value!r}"
                    )
            if section == "langid" and key == "languages":
                if isinstance(value, str):
                    body[key] = [value]
                elif not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                    raise ProfileError(
                        f"profile {profile.name}: 'langid.languages' must be a list of codes like [zh]"
                    )
            if section == "quality" and key == "buckets" and not (
                isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            ):
                raise ProfileError(f"profile {profile.name}: 'quality.buckets' must be a list of scores like [2.5, 3.0]")
            if key in OPTIONS[section]:
                continue
            if section in RULE_SECTIONS:
                try:
                    RULE_SECTIONS[section].spec(key)
                except ProfileError:
                    known = (
                        sorted(OPTIONS[section])
                        + sorted(RULE_SECTIONS[section].RULES)
                        + sorted(RULE_SECTIONS[section].RULE_PATTERNS)
                    )
                    raise ProfileError(
                        f"profile {profile.name}: unknown key '{section}.{key}' (known: {', '.join(known)})"
                    ) from None
            else:
                raise ProfileError(
                    f"profile {profile.name}: unknown key '{section}.{key}' (known: {', '.join(sorted(OPTIONS[section]))})"
                )


def _split_rules(section: str, body: dict) -> tuple[dict, dict]:
    options = {k: v for k, v in body.items() if k in OPTIONS[section]}
    rules = {k: v for k, v in body.items() if k not in OPTIONS[section]}
    return options, rules


def filter_steps(
    profile: Profile | str | Path = "zh-web", rejects_dir: str | None = None
) -> list[PipelineStep]:
    """The profile's datatrove steps, in the order of ``SECTIONS``.

    ``rejects_dir`` is where each step writes what it drops (``<rejects_dir>/<step>/``); None
    keeps no rejects. This is the function ``curate`` uses to put filtering into its pipeline.
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    s = profile.sections
    steps: list[PipelineStep] = []
    try:
        if s.get("langid"):
            opts = dict(s["langid"])
            model = opts.pop("model", None)
            steps.append(
                LanguageID(
                    model_path=profile.resolve(model) if model else None, rejects_dir=rejects_dir, **opts
                )
            )
        if s.get("urls"):
            opts, rules = _split_rules("urls", s["urls"])
            steps.append(URLSignals(rules, rejects_dir=rejects_dir, **opts))
        if s.get("blocklists"):
            opts, rules = _split_rules("blocklists", s["blocklists"])
            lists = opts.pop("lists", [DEFAULT_LIST])
            lists = [_resolve_list(profile, entry) for entry in (lists or [])]
            steps.append(Blocklist(rules, lists=lists, rejects_dir=rejects_dir, **opts))
        if s.get("page_types"):
            opts, rules = _split_rules("page_types", s["page_types"])
            steps.append(PageTypes(rules, rejects_dir=rejects_dir, **opts))
        if s.get("lines"):
            opts, rules = _split_rules("lines", s["lines"])
            steps.append(LineCleaner(rules, rejects_dir=rejects_dir, **opts))
        if s.get("heuristics"):
            opts, rules = _split_rules("heuristics", s["heuristics"])
            if opts.get("stopwords"):
                opts["stopwords"] = profile.resolve(opts["stopwords"])
            steps.append(ChineseHeuristics(rules, rejects_dir=rejects_dir, **opts))
        if s.get("spam"):
            opts, rules = _split_rules("spam", s["spam"])
            steps.append(WebSpam(rules, rejects_dir=rejects_dir, **opts))
        if s.get("quality"):
            opts = dict(s["quality"])
            model = opts.pop("model", None)  # null: the shipped default model
            steps.append(QualityStep(profile.resolve(model) if model else None, rejects_dir=rejects_dir, **opts))
        if s.get("quality_model"):
            opts = dict(s["quality_model"])
            if not opts.get("path"):
                raise ProfileError(
                    f"profile {profile.name}: quality_model.path is required (or set quality_model: null)"
                )
            steps.append(QualityScorer(profile.resolve(opts.pop("path")), rejects_dir=rejects_dir, **opts))
        if s.get("pii"):
            kinds = list(PII_KINDS) if s["pii"] is True else s["pii"].get("kinds", list(PII_KINDS))
            steps.append(PIIRedactor(kinds, rejects_dir=rejects_dir))
    except TypeError as err:  # a wrongly typed option value
        raise ProfileError(f"profile {profile.name}: {err}") from None
    return steps


def _resolve_list(profile: Profile, entry):
    if isinstance(entry, dict):
        return {**entry, "path": _resolve_list(profile, entry.get("path", ""))}
    return entry if entry in BUNDLED_LISTS else profile.resolve(str(entry))
