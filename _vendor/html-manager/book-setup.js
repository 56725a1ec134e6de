// Written for this book (not part of the npm package). Loaded before embed.js on pages
// with widget output (see nb_ipywidgets_js in _config.yml).
(function () {
  "use strict";
  // The embedder typesets widget labels with the MathJax 2 call
  // MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book runs MathJax 3.
  // Translate that one call, once MathJax 3 has replaced its configuration object.
  function bridge() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || !mj.version || String(mj.version).charAt(0) !== "3") {
      return;
    }
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset" && mj.typesetPromise) {
            var element = job[2];
            if (!element) {
              return;
            }
            // Labels carry Jupyter's $...$ delimiters; the book's MathJax reads \(...\)
            // and skips the page body unless an element opts in (myst's configuration).
            if (element.childElementCount === 0 && element.textContent.indexOf("$") >= 0) {
              element.textContent = element.textContent
                .replace(/\$\$([^$]+)\$\$/g, "\\[$1\\]")
                .replace(/\$([^$]+)\$/g, "\\($1\\)");
            }
            element.classList.add("mathjax_process");
            var elements = [element];
            var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
            ready.then(function () { return mj.typesetPromise(elements); });
          }
        });
      },
    };
  }
  // Deferred scripts (MathJax) have run by DOMContentLoaded; the embedder renders later.
  document.addEventListener("DOMContentLoaded", bridge);
})();
