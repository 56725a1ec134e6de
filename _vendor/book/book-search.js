// Written for this book (not vendored). Loaded on the search page only, after Sphinx's
// searchtools.js (see _ext/book_site.py). Sphinx cuts each result's snippet from the
// text of the page's HTML, where math is still TeX ("\(A^{-1}\)"): before it takes the
// text, replace every math element by a plain-text reading of its TeX ("A⁻¹").
(function () {
  "use strict";
  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", zeta: "ζ",
    eta: "η", theta: "θ", vartheta: "ϑ", iota: "ι", kappa: "κ", lambda: "λ", mu: "μ", nu: "ν",
    xi: "ξ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ", phi: "φ", varphi: "φ", chi: "χ", psi: "ψ",
    omega: "ω", Gamma: "Γ", Delta: "Δ", Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π", Sigma: "Σ",
    Phi: "Φ", Psi: "Ψ", Omega: "Ω", sum: "Σ", prod: "∏", int: "∫", infty: "∞", nabla: "∇",
    partial: "∂", le: "≤", leq: "≤", ge: "≥", geq: "≥", neq: "≠", ne: "≠", approx: "≈",
    sim: "∼", propto: "∝", cdot: "·", cdots: "⋯", ldots: "…", dots: "…", times: "×", pm: "±",
    in: "∈", notin: "∉", subset: "⊂", subseteq: "⊆", cup: "∪", cap: "∩", to: "→",
    rightarrow: "→", leftarrow: "←", Rightarrow: "⇒", mapsto: "↦", gets: "←", mid: "|",
    top: "ᵀ", intercal: "ᵀ", circ: "∘", otimes: "⊗", odot: "⊙", ell: "ℓ",
    forall: "∀", exists: "∃", lVert: "‖", rVert: "‖", Vert: "‖", lvert: "|", rvert: "|",
    langle: "⟨", rangle: "⟩", R: "ℝ", E: "𝔼", quad: " ", qquad: " ", ",": " ", ";": " ",
    ":": " ", "!": "", "{": "{", "}": "}", "|": "‖", "\\": " ",
  };
  var BLACKBOARD = { R: "ℝ", N: "ℕ", Z: "ℤ", Q: "ℚ", C: "ℂ", E: "𝔼", P: "ℙ" };
  var SUPER = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷",
    "8": "⁸", "9": "⁹", "+": "⁺", "-": "⁻", "=": "⁼", "(": "⁽", ")": "⁾", n: "ⁿ", i: "ⁱ",
    T: "ᵀ", t: "ᵗ", k: "ᵏ", "ᵀ": "ᵀ", "⊤": "ᵀ", "*": "*", "′": "′", "'": "′", a: "ᵃ",
    b: "ᵇ", c: "ᶜ", d: "ᵈ", e: "ᵉ", f: "ᶠ", g: "ᵍ", h: "ʰ", j: "ʲ", l: "ˡ", m: "ᵐ", o: "ᵒ",
    p: "ᵖ", r: "ʳ", s: "ˢ", u: "ᵘ", v: "ᵛ", w: "ʷ", x: "ˣ", y: "ʸ", z: "ᶻ" };
  var SUB = { "0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇",
    "8": "₈", "9": "₉", "+": "₊", "-": "₋", "=": "₌", "(": "₍", ")": "₎", a: "ₐ", e: "ₑ",
    o: "ₒ", x: "ₓ", h: "ₕ", k: "ₖ", l: "ₗ", m: "ₘ", n: "ₙ", p: "ₚ", s: "ₛ", t: "ₜ", i: "ᵢ",
    j: "ⱼ", r: "ᵣ", u: "ᵤ", v: "ᵥ" };

  function script(text, table, marker) {
    var chars = Array.from(text);
    if (chars.every(function (c) { return c in table; })) {
      return chars.map(function (c) { return table[c]; }).join("");
    }
    return marker + (chars.length > 1 ? "(" + text + ")" : text);
  }

  var MARK_SUP = "\u0001", MARK_SUB = "\u0002";  // a literal ^ or _ in the output

  function symbols(s) {
    return s.replace(/\\([A-Za-z]+|[,;:!{}|\\])/g, function (whole, name) {
      return name in SYMBOLS ? SYMBOLS[name] : whole;
    });
  }

  // Innermost {...} groups first, so that nested arguments are read before their command.
  function texToText(tex) {
    var s = tex.trim()
      .replace(/\\[()[\]]/g, " ").replace(/^\$\$?|\$\$?$/g, "")
      .replace(/\\(?:begin|end)\{[^}]*\}(\{[^}]*\})?/g, " ")
      .replace(/\\(?:left|right|big|Big|bigg|Bigg)\b\\?/g, "")
      .replace(/\\label\{[^}]*\}/g, "")
      .replace(/&/g, " ");
    s = symbols(s);
    for (var pass = 0; pass < 30; pass++) {
      var before = s;
      s = s
        .replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, function (_, a, b) {
          return (a.length > 1 ? "(" + a + ")" : a) + "/" + (b.length > 1 ? "(" + b + ")" : b);
        })
        .replace(/\\mathbb\s*\{([^{}]*)\}/g, function (_, a) { return BLACKBOARD[a] || a; })
        .replace(/\\(?:mathbf|mathrm|mathit|mathcal|boldsymbol|bm|text|textrm|textbf|operatorname\*?|mbox|mathsf)\s*\{([^{}]*)\}/g, "$1")
        .replace(/\\hat\s*\{([^{}]*)\}/g, "$1\u0302").replace(/\\tilde\s*\{([^{}]*)\}/g, "$1\u0303")
        .replace(/\\bar\s*\{([^{}]*)\}/g, "$1\u0304").replace(/\\overline\s*\{([^{}]*)\}/g, "$1\u0305")
        .replace(/\\sqrt\s*\{([^{}]*)\}/g, "√($1)")
        .replace(/\^\s*\{([^{}]*)\}/g, function (_, a) { return script(a, SUPER, MARK_SUP); })
        .replace(/_\s*\{([^{}]*)\}/g, function (_, a) { return script(a, SUB, MARK_SUB); });
      if (s === before) {
        s = s.replace(/\{([^{}]*)\}/g, "$1");  // a plain group: its content
      }
      if (s === before) break;
    }
    s = s
      .replace(/\\hat\s*([A-Za-z])/g, "$1\u0302").replace(/\\tilde\s*([A-Za-z])/g, "$1\u0303")
      .replace(/\\([A-Za-z]+)/g, "$1")  // an unknown command: its name
      .replace(/\^\s*(\S)/g, function (_, a) { return script(a, SUPER, MARK_SUP); })
      .replace(/_\s*(\S)/g, function (_, a) { return script(a, SUB, MARK_SUB); });
    return s.split(MARK_SUP).join("^").split(MARK_SUB).join("_").replace(/\s+/g, " ").trim();
  }

  function plainMath(doc) {
    doc.querySelectorAll(".math, mjx-container").forEach(function (el) {
      el.querySelectorAll(".headerlink").forEach(function (link) { link.remove(); });
      var number = "";
      el.querySelectorAll(".eqno").forEach(function (eqno) { number += " " + eqno.textContent; eqno.remove(); });
      el.replaceWith(doc.createTextNode(" " + texToText(el.textContent) + number + " "));
    });
  }

  window.bookTexToText = texToText;  // for tests and the curious
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  var original = Search.htmlToText;
  Search.htmlToText = function (htmlString, anchor) {
    var doc = new DOMParser().parseFromString(htmlString, "text/html");
    plainMath(doc);
    return original.call(Search, "<!DOCTYPE html>" + doc.documentElement.outerHTML, anchor);
  };
})();
