// Written for this book (not vendored); every page loads it (html_js_files in _config.yml).
// Marks each box that scrolls sideways (a display equation wider than the column, a wide
// table) with data-scroll="right" | "left" | "both": where more of it is hidden. book.css
// then fades that side out and shows a thin scroll bar, so a reader sees that the box
// scrolls. Boxes that fit carry no mark.
(function () {
  "use strict";
  var SELECTOR = [
    '.bd-article mjx-container[display="true"]',
    ".bd-article .pst-scrollable-table-container",
    ".bd-article .cell_output .output.text_html",
    ".bd-article figure > .output.text_html",
  ].join(", ");

  function mark(box) {
    var hidden = box.scrollWidth - box.clientWidth;
    if (hidden <= 1) {
      box.removeAttribute("data-scroll");
      return;
    }
    var left = box.scrollLeft > 1;
    var right = box.scrollLeft < hidden - 1;
    box.setAttribute("data-scroll", left && right ? "both" : left ? "left" : "right");
    if (!box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0"); // scrollable with the keyboard too
    }
  }

  function markAll() {
    document.querySelectorAll(SELECTOR).forEach(mark);
  }

  var timer = null;
  function later() {
    clearTimeout(timer);
    timer = setTimeout(markAll, 150);
  }

  document.addEventListener(
    "scroll",
    function (event) {
      var box = event.target;
      if (box && box.matches && box.matches(SELECTOR)) {
        mark(box);
      }
    },
    true
  );
  window.addEventListener("resize", later);
  window.addEventListener("load", function () {
    markAll();
    // MathJax typesets after the load event; mark its equations once they exist.
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) {
      mj.startup.promise.then(markAll);
    }
  });
})();
