"""Sphinx extension: small fixes to the built site (loaded through ``_config.yml``).

1. **Inline scripts written once.** Sphinx 7.4 registers an inline script that an
   extension adds after the builder started (``app.add_js_file(None, body=...)``, as
   sphinx-thebe and sphinx-togglebutton do) under the name ``None`` and again, when
   writing, under ``""``: every page declared ``const THEBE_JS_URL`` twice, and the
   second declaration threw "Identifier 'THEBE_JS_URL' has already been declared". The
   builder's ``add_js_file`` is wrapped to treat ``None`` as ``""`` (the de-duplication
   Sphinx already does then sees the same script).
2. **Proof index with titles.** sphinx-proof's index page (``prf-prf.html``) listed raw
   labels (``def-linear-reward``). It now lists, per kind, "Definition 2.1 Linear reward
   model" with the page it is on.
3. **Search snippets without raw TeX.** Sphinx cuts its result snippets from the text of
   the page's HTML, where math is still TeX (``\\(A^{-1}\\)``). ``_vendor/book/book-search.js``
   (loaded on the search page only) replaces each math element by a plain-text reading
   (``A⁻¹``) before Sphinx takes the text.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder

_original_add_js_file = StandaloneHTMLBuilder.add_js_file


def _add_js_file(self: StandaloneHTMLBuilder, filename: str | None, **kwargs: Any) -> None:
    """``StandaloneHTMLBuilder.add_js_file`` with ``None`` (an inline script) read as ``""``."""
    _original_add_js_file(self, filename or "", **kwargs)


# ------------------------------------------------------------------------ proof index
_KIND_TITLES = {"algorithm": "Algorithms", "definition": "Definitions", "theorem": "Theorems",
                "lemma": "Lemmas", "proposition": "Propositions", "corollary": "Corollaries",
                "assumption": "Assumptions", "axiom": "Axioms", "conjecture": "Conjectures",
                "criterion": "Criteria", "example": "Examples", "exercise": "Exercises",
                "observation": "Observations", "property": "Properties", "remark": "Remarks"}


def _plain_title(app: Sphinx, title: str) -> str:
    """The directive's argument back from the formatted title (``" (%t)"`` by default)."""
    prefix, _, suffix = app.config.proof_title_format.partition("%t")
    title = title.strip()
    if prefix.strip() and title.startswith(prefix.strip()):
        title = title[len(prefix.strip()):]
    if suffix.strip() and title.endswith(suffix.strip()):
        title = title[: -len(suffix.strip())]
    return title.strip()


def record_proof_titles(app: Sphinx, doctree) -> None:
    """Store each labelled proof box's title in ``env.proof_list`` (for the index)."""
    proofs = getattr(app.env, "proof_list", {})
    for node in doctree.findall(lambda n: "realtype" in getattr(n, "attributes", {}) and "label" in n.attributes):
        entry = proofs.get(node["label"])
        if entry is not None and entry.get("docname") == app.env.docname:
            entry["title"] = _plain_title(app, node.get("title", ""))


def _number(env, docname: str, node_id: str) -> str:
    for numbers in env.toc_fignumbers.get(docname, {}).values():
        if node_id in numbers:
            return ".".join(str(n) for n in numbers[node_id])
    return ""


def make_proof_index():
    """A subclass of sphinx-proof's index whose entries carry number, title and page."""
    from sphinx_proof.domain import ProofIndex

    class BookProofIndex(ProofIndex):
        localname = "Definitions, algorithms and theorems"
        shortname = "Definitions"

        def generate(self, docnames=None):
            env = self.domain.env
            groups: dict[str, list] = defaultdict(list)
            for label, values in getattr(env, "proof_list", {}).items():
                if values.get("nonumber") and label.startswith(f"{values['realtype']}-"):
                    continue  # an unlabelled box: nothing to refer to
                docname = values["docname"]
                if docnames and docname not in docnames:
                    continue
                kind = values["realtype"]
                number = _number(env, docname, label)
                name = f"{kind.capitalize()} {number}".strip()
                title = values.get("title") or ""
                page = env.titles[docname].astext() if docname in env.titles else docname
                groups[_KIND_TITLES.get(kind, kind.capitalize() + "s")].append(
                    (f"{name} {title}".strip(), 0, docname, label, page, "", ""))

            def order(entry):
                number = entry[0].split(" ")[1] if " " in entry[0] else ""
                return tuple(int(p) if p.isdigit() else 0 for p in number.split(".")), entry[0]

            content = [(group, sorted(entries, key=order)) for group, entries in sorted(groups.items())]
            return content, True

    return BookProofIndex


def replace_proof_index(app: Sphinx) -> None:
    """Install :class:`BookProofIndex` on sphinx-proof's domain (before the env exists)."""
    try:
        from sphinx_proof.domain import ProofDomain
    except ImportError:  # sphinx-proof not installed: nothing to replace
        return
    ProofDomain.indices = [make_proof_index()]


# ----------------------------------------------------------------------------- search
def add_search_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if pagename == "search":
        app.add_js_file("book/book-search.js", defer="defer")


def setup(app: Sphinx) -> dict[str, Any]:
    StandaloneHTMLBuilder.add_js_file = _add_js_file  # type: ignore[method-assign]
    app.setup_extension("sphinx_proof")
    replace_proof_index(app)
    app.connect("doctree-read", record_proof_titles)
    app.connect("html-page-context", add_search_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
