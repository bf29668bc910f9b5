// 主播工作台 enhancements. Every form also works without this file (post, then redirect back).
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function post(url, params) {
    return fetch(url, {
      method: "POST",
      body: params,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) {
        return { ok: response.ok, doc: new DOMParser().parseFromString(html, "text/html") };
      });
    });
  }

  function swap(doc, id) {
    var fresh = doc.getElementById(id), old = document.getElementById(id);
    if (fresh && old) old.replaceWith(fresh);
  }

  // Free slots: "选这个时段" fills the start time instead of reloading the page.
  document.querySelectorAll("[data-slot-start]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var start = document.getElementById("start");
      if (!start) return;
      event.preventDefault();
      start.value = button.getAttribute("data-slot-start");
      start.focus();
    });
  });

  // Product picker: search as you type; the ticked products stay ticked (the server lists them first).
  // (getAttribute: the buttons named "action" shadow form.action.)
  var search = document.querySelector("[data-picker-search]");
  if (search) {
    var form = search.form, timer = null, seq = 0;
    var run = function () {
      var params = new URLSearchParams(new FormData(form));
      params.set("action", "search");
      var mine = ++seq;
      post(form.getAttribute("action"), params).then(function (result) {
        if (mine !== seq) return;  // a newer search is on its way
        swap(result.doc, "picker-list");
        swap(result.doc, "picker-count");
      });
    };
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 300); });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); clearTimeout(timer); run(); }
    });
    var button = form.querySelector("[data-picker-button]");
    if (button) button.addEventListener("click", function (event) { event.preventDefault(); run(); });
    form.addEventListener("change", function (event) {
      if (event.target.name !== "product_ids") return;
      var count = document.getElementById("picker-count");
      var n = form.querySelectorAll('input[name="product_ids"]:checked').length;
      if (count) count.textContent = count.textContent.replace(/\d+/, String(n));
    });
  }

  // Copy fields (the calendar address): the button shows only where the browser can copy; without it the field
  // still selects its whole text on focus, ready for a long-press copy on a phone.
  document.querySelectorAll("[data-copy-source]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.parentNode.querySelector(".copy-status");
    if (!field || !navigator.clipboard || !window.isSecureContext) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) status.textContent = button.getAttribute("data-copied");
      }, function () { field.focus(); });
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (event) {
      if (!window.confirm(f.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Pin buttons: pin in the background and redraw the line-up, so the live figures keep running.
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.matches || !f.matches("[data-pin-form]")) return;
    event.preventDefault();
    var buttons = f.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    post(f.getAttribute("action"), new URLSearchParams(new FormData(f))).then(function (result) {
      swap(result.doc, "lineup");
      swap(result.doc, "page-notices");
      var pinned = document.querySelector("#lineup .is-pinned button") || document.querySelector("#lineup button");
      if (pinned) pinned.focus();
    }).catch(function () { f.submit(); });
  });

  // Live figures: the WebSocket pushes; when it is down, reconnect with back-off and poll meanwhile.
  var panel = document.getElementById("live-panel");
  if (!panel) return;
  var status = document.getElementById("connection");
  var wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + panel.getAttribute("data-ws-path");
  var pollUrl = panel.getAttribute("data-poll-url");
  var socket = null, delay = 1000, pollTimer = null, reconnectTimer = null, ended = false;
  var yuan = function (fen) {
    var sign = fen < 0 ? "-" : "", abs = Math.abs(fen);
    var whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + whole + "." + String(abs % 100).padStart(2, "0");
  };
  function show(figures) {
    panel.querySelectorAll("[data-figure]").forEach(function (dd) {
      var value = figures[dd.getAttribute("data-figure")];
      if (typeof value !== "number") return;
      dd.textContent = dd.hasAttribute("data-yuan") ? yuan(value) : String(value);
    });
  }
  function setStatus(text, live) {
    status.textContent = text;
    status.classList.toggle("is-live", !!live);
  }
  function markPinned(productId) {
    var stale = Array.prototype.some.call(document.querySelectorAll("#lineup .lineup-item"), function (li) {
      return li.classList.contains("is-pinned") !== (String(productId) === li.getAttribute("data-product-id"));
    });
    if (!stale) return;
    // Pinned from another device: fetch the page's line-up so buttons and labels match the server.
    fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (html) { swap(new DOMParser().parseFromString(html, "text/html"), "lineup"); })
      .catch(function () {});
  }
  function poll() {
    fetch(pollUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (figures) { if (figures) show(figures); }).catch(function () {});
  }
  function startPolling() {
    if (pollTimer === null) { poll(); pollTimer = setInterval(poll, 5000); }
  }
  function stopPolling() {
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
  }
  function connect() {
    reconnectTimer = null;
    try { socket = new WebSocket(wsUrl); } catch (e) { scheduleReconnect(); return; }
    socket.onopen = function () {
      delay = 1000;
      stopPolling();
      setStatus(panel.getAttribute("data-text-live"), true);
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "figures") show(message);
      else if (message.type === "pinned") markPinned(message.product_id);
      else if (message.type === "status" && message.status !== "live") {
        ended = true;
        setStatus(panel.getAttribute("data-text-ended"), false);
        setTimeout(function () { location.reload(); }, 1000);
      }
    };
    socket.onclose = function () { if (!ended) scheduleReconnect(); };
    socket.onerror = function () { try { socket.close(); } catch (e) { /* already closed */ } };
  }
  function scheduleReconnect() {
    if (reconnectTimer !== null) return;
    setStatus(panel.getAttribute("data-text-retry"), false);
    startPolling();
    reconnectTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  }
  window.addEventListener("beforeunload", function () { ended = true; if (socket) socket.close(); });
  connect();
})();
