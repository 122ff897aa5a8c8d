// The console's copy buttons: a progressive enhancement. Each button names
// the element whose text it copies (data-copy); without this script the
// buttons stay hidden and the text is selected by hand.
"use strict";
(function () {
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  function copied(button, words) {
    button.textContent = words;
    button.setAttribute("data-copied", words === "Copied" ? "yes" : "no");
    window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var el = document.getElementById(button.getAttribute("data-copy"));
    if (!el) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = el.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button, "Copied"); },
          function () { select(el); copied(button, "Press Ctrl+C to copy"); }
        );
      } else {
        select(el);
        copied(button, "Press Ctrl+C to copy");
      }
    });
  });
})();
