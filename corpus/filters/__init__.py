"""Chinese quality filtering: language ID, heuristics, spam patterns, blocklists, quality model, PII.

``filter_steps(profile, rejects_dir)`` turns a profile (``"zh-web"`` or a YAML path) into the list
of datatrove steps to put between a reader and a writer; every step counts ``in``/``kept``/
``dropped/<rule>`` and writes what it drops to ``<rejects_dir>/<step>/``.
"""

from jinglian.corpus.filters.profile import Profile, ProfileError, filter_steps, load_profile

__all__ = ["Profile", "ProfileError", "filter_steps", "load_profile"]
