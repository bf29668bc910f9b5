// Small progressive enhancements shared by every page; each page works without this file.
(function () {
  "use strict";
  // htmx swaps: move focus to the first heading of swapped-in content marked data-focus, for screen readers.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    var focus = target && target.querySelector && target.querySelector("[data-focus]");
    if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
  });
  // Error answers from the API carry {detail, errors:[{field,message}]}: show them instead of swapping nothing.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr, box = document.getElementById("page-error");
    if (!box) return;
    var text = xhr.statusText;
    try { text = JSON.parse(xhr.responseText).detail || text; } catch (e) { if (xhr.responseText) text = xhr.responseText; }
    box.textContent = text; box.hidden = false;
  });
})();
