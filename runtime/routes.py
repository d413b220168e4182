"""Model name → chain, evaluated on precompiled routes (config-format.md, "How a requested
`model` resolves"): exact name (a chain, a literal `match` pattern, or a logical model of
`models:`, served by the chain built for it), then `match` globs by literal prefix, then
`provider/model` when direct access is allowed, then the default chain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from runtime.artifact import Artifact, Chain, GlobRule, Step
from runtime.errors import ModelNotFound
from runtime.rules import RuleTable

RouteKind = Literal["chain", "literal", "model", "glob", "direct", "default"]


@dataclass(frozen=True, slots=True)
class _Glob:
    regex: re.Pattern[str]
    rule: GlobRule


@dataclass(frozen=True, slots=True)
class Match:
    """How a name resolved: `relay explain` shows it, the request path uses `chain`."""

    chain: Chain
    kind: RouteKind
    glob: GlobRule | None = None


class Router:
    """Built once per loaded artifact; `resolve` does dict lookups and at most a few regexes."""

    def __init__(self, artifact: Artifact) -> None:
        self._artifact = artifact
        self._exact = artifact.routes.exact
        self._globs = tuple(_Glob(re.compile(g.regex), g) for g in artifact.routes.globs)
        self.rules = RuleTable(artifact.routes.rules)
        """Tried before the model name (`runtime.rules`)."""

    def match(self, model: str) -> Match | None:
        chains = self._artifact.chains
        name = self._exact.get(model)
        if name is not None:
            chain = chains[name]
            kind: RouteKind = "literal" if model not in chains else "model" if chain.model else "chain"
            return Match(chain, kind)
        for glob in self._globs:
            if model.startswith(glob.rule.prefix) and glob.regex.match(model):
                return Match(chains[glob.rule.chain], "glob", glob.rule)
        direct = self._direct(model)
        if direct is not None:
            return Match(direct, "direct")
        default = self._artifact.routes.default_chain
        if default is not None:
            return Match(chains[default], "default")
        return None

    def resolve(self, model: str) -> Chain:
        name = self._exact.get(model)  # most requests name a chain: no Match to describe it
        if name is not None:
            return self._artifact.chains[name]
        found = self.match(model)
        if found is None:
            names = ", ".join(sorted(self._artifact.chains))
            raise ModelNotFound(f"model {model!r} matches no chain; available chains: {names}", param="model")
        return found.chain

    def _direct(self, model: str) -> Chain | None:
        if not self._artifact.routes.allow_direct or "/" not in model:
            return None
        provider, _, upstream_model = model.partition("/")
        if provider not in self._artifact.providers or not upstream_model:
            return None
        return Chain(name=model, steps=(Step(provider=provider, model=upstream_model),))

    def listing(self) -> list[str]:
        """Names a client may ask for, each served by what it names: chains, and logical
        models (through the chain built for them or a chain that claims the name)."""
        art = self._artifact
        return sorted(set(art.chains) | (set(art.models) & set(self._exact)))
