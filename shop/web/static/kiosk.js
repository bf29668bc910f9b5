// The showroom kiosk: idle reset (privacy), the on-screen keyboard, and live figures over a WebSocket with
// reconnection (htmx polling of the strip takes over while the socket is down). Every page also works without it.
(function () {
  "use strict";
  var body = document.body;

  // ---- idle: back to the attract screen, forgetting this visitor ------------------------------------------
  function idleSeconds() {
    var fromQuery = parseInt(new URLSearchParams(location.search).get("idle"), 10);
    try {
      if (fromQuery > 0) sessionStorage.setItem("kioskIdle", String(fromQuery));
      var kept = parseInt(sessionStorage.getItem("kioskIdle"), 10);
      if (kept > 0) return kept;
    } catch (e) { /* storage may be disabled; the page's own value still applies */ }
    return parseInt(body.getAttribute("data-idle-seconds"), 10) || 90;
  }
  var idle = idleSeconds();
  var warnAfter = idle - Math.min(10, idle / 3);
  var warning = document.getElementById("idle-warning");
  var warnTimer = null, resetTimer = null;

  function isFresh() {
    // Nothing of a visitor's is on the attract screen with an empty cart in the default language.
    return body.getAttribute("data-attract") === "true" && body.getAttribute("data-cart-count") === "0" &&
      document.documentElement.lang === "zh-CN";
  }
  function resetScreen() {
    if (isFresh()) { window.scrollTo(0, 0); hideWarning(); arm(); return; }
    var form = document.getElementById("kiosk-reset");
    if (form) { form.submit(); } else { location.href = "/kiosk"; }
  }
  function hideWarning() { if (warning) warning.hidden = true; }
  function arm() {
    clearTimeout(warnTimer); clearTimeout(resetTimer);
    if (warning && !isFresh()) warnTimer = setTimeout(function () { warning.hidden = false; }, warnAfter * 1000);
    resetTimer = setTimeout(resetScreen, idle * 1000);
  }
  ["pointerdown", "touchstart", "keydown", "wheel", "input"].forEach(function (name) {
    document.addEventListener(name, function () { hideWarning(); arm(); }, { passive: true, capture: true });
  });
  arm();
  window.kioskIdle = { seconds: idle, reset: resetScreen };

  // ---- the on-screen keyboard (letters for pinyin and initials, backspace, clear) ------------------------------
  document.addEventListener("click", function (event) {
    var key = event.target.closest && event.target.closest("[data-key]");
    if (!key) return;
    var board = key.closest("[data-keyboard-for]");
    var input = board && document.getElementById(board.getAttribute("data-keyboard-for"));
    if (!input) return;
    var name = key.getAttribute("data-key"), value = input.value;
    if (name === "backspace") value = value.slice(0, -1);
    else if (name === "clear") value = "";
    else if (name === "space") value = value + " ";
    else value = (value + name).slice(0, 50);
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));  // htmx fetches the results as you type
  });

  // ---- an expired or revoked device token: show the "not activated" page --------------------------------------
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 401 || status === 403) location.reload();
  });

  // ---- live figures ------------------------------------------------------------------------------------------
  var live = { connected: false, socket: null, retry: 0 };
  window.kioskLive = live;

  function yuan(fen) {
    var sign = fen < 0 ? "-" : "", abs = Math.abs(fen);
    var whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var cents = String(abs % 100); if (cents.length < 2) cents = "0" + cents;
    return sign + "¥" + whole + "." + cents;
  }
  function showMode() {
    document.querySelectorAll("[data-live-mode]").forEach(function (el) {
      var label = el.getAttribute(live.connected ? "data-label-live" : "data-label-polling");
      if (label) el.textContent = label;
      el.setAttribute("data-connected", live.connected ? "true" : "false");
    });
  }
  var refreshTimer = null;
  function refreshStrip() {  // a session started or ended, or we may have missed pushes: reload the strip
    if (!document.getElementById("live-strip")) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (window.htmx) window.htmx.trigger(body, "kiosk:live-changed");
    }, 250);
  }
  var boardTimer = null;
  function refreshBoard() {  // sales moved the leaderboard: refresh it at most every few seconds, not per order
    if (boardTimer || !document.getElementById("live-board")) return;
    boardTimer = setTimeout(function () {
      boardTimer = null;
      if (window.htmx) window.htmx.trigger(body, "kiosk:board-changed");
    }, 3000);
  }
  function setFigure(card, name, value) {
    var el = card.querySelector('[data-figure="' + name + '"]');
    if (!el || value === undefined || String(value) === el.getAttribute("data-value")) return;
    el.setAttribute("data-value", String(value));
    el.textContent = name === "gmv_fen" ? yuan(value) : String(value);
    el.classList.remove("changed"); void el.offsetWidth; el.classList.add("changed");
  }
  function onMessage(event) {
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (!message || !message.session_id) return;
    var card = document.querySelector('[data-live-session="' + message.session_id + '"]');
    if (message.type === "figures") {
      if (!card) { refreshStrip(); return; }
      setFigure(card, "gmv_fen", message.gmv_fen);
      setFigure(card, "orders", message.orders);
      setFigure(card, "viewers", message.viewers);
      refreshBoard();
    } else {
      refreshStrip();  // status (went live, ended) or the pinned product changed
      refreshBoard();
    }
  }
  function connect() {
    var path = body.getAttribute("data-live-socket");
    if (!path || typeof window.WebSocket !== "function") return;  // no sockets here: htmx polling carries on
    var socket;
    try {
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    } catch (e) { return schedule(); }
    live.socket = socket;
    socket.onopen = function () { live.connected = true; live.retry = 0; showMode(); refreshStrip(); };
    socket.onmessage = onMessage;
    socket.onclose = function () {
      var was = live.connected;
      live.connected = false; live.socket = null; showMode();
      if (was) refreshStrip();
      schedule();
    };
  }
  function schedule() {  // reconnect with backoff: 1, 2, 4 … 30 s
    var delay = Math.min(30000, 1000 * Math.pow(2, live.retry++));
    setTimeout(connect, delay);
  }
  document.addEventListener("htmx:afterSwap", showMode);
  if (document.getElementById("live-strip")) connect();
  showMode();
})();
