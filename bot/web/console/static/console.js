/* Agent console behaviour: live queue and transcript over server-sent events, and commands
 * sent with fetch so the page (and what the agent is typing) stays put. Without JavaScript
 * every form still works as a normal POST. No inline script (the CSP forbids it); server
 * fragments arrive already escaped, everything else goes in through textContent. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function byId(id) { return document.getElementById(id); }

  function replaceKeepingFocus(container, html) {
    var active = document.activeElement;
    var activeId = active && container.contains(active) ? active.id : null;
    var activeAction = active && container.contains(active) && active.form
      ? active.form.getAttribute("action") : null;
    container.innerHTML = html;
    var again = activeId ? byId(activeId) : null;
    if (!again && activeAction) {
      var form = container.querySelector('form[action="' + activeAction + '"]');
      again = form ? form.querySelector("button, textarea, select, input:not([type=hidden])") : null;
    }
    if (again) {
      again.focus();
    } else if (activeId || activeAction) {
      container.setAttribute("tabindex", "-1");
      container.focus();
    }
  }

  function stream(url, handlers) {
    if (!window.EventSource) { return null; }
    var source = new EventSource(url);
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (event) {
        var data;
        try { data = JSON.parse(event.data); } catch (ignored) { return; }
        handlers[name](data);
      });
    });
    return source;
  }

  // --- the queue page ---------------------------------------------------------------------
  var queue = byId("queue");
  var liveStatus = byId("live-status");
  if (queue && queue.getAttribute("data-stream")) {
    var lastWaiting = null;
    stream(queue.getAttribute("data-stream"), {
      queue: function (data) {
        if (typeof data.html === "string" && data.html !== queue.innerHTML.trim()) {
          replaceKeepingFocus(queue, data.html);
        }
        if (liveStatus && data.waiting !== lastWaiting) {
          if (lastWaiting !== null) {
            liveStatus.textContent = data.waiting === 1 ? "1 conversation waiting."
              : data.waiting + " conversations waiting.";
          }
          lastWaiting = data.waiting;
        }
      }
    });
  }

  // --- the conversation page --------------------------------------------------------------
  var conversation = document.querySelector(".conversation[data-stream]");
  var transcript = byId("transcript");
  var controls = byId("controls");
  var stateLine = byId("handoff-state");
  var commandStatus = byId("command-status");
  var commandError = byId("command-error");
  var skillCell = byId("handoff-skill");

  function scrollTranscript() {
    if (transcript) { transcript.scrollTop = transcript.scrollHeight; }
  }

  function addEntry(id, html) {
    if (!transcript || transcript.querySelector('[data-id="' + id + '"]')) { return; }
    transcript.insertAdjacentHTML("beforeend", html);
    transcript.setAttribute("data-after", String(id));
    scrollTranscript();
  }

  function showError(text) {
    if (!commandError) { return; }
    commandError.textContent = text;
    commandError.hidden = false;
  }

  function clearMessages() {
    if (commandError) { commandError.hidden = true; commandError.textContent = ""; }
    if (commandStatus) { commandStatus.textContent = ""; }
  }

  if (conversation && transcript) {
    scrollTranscript();
    var url = conversation.getAttribute("data-stream") + "?after=" +
      encodeURIComponent(transcript.getAttribute("data-after") || "0");
    stream(url, {
      entry: function (data) { addEntry(data.id, data.html); },
      state: function (data) {
        if (stateLine && stateLine.textContent !== data.text) { stateLine.textContent = data.text; }
        if (skillCell && typeof data.skill === "string") { skillCell.textContent = data.skill; }
        if (controls && typeof data.controls === "string" &&
            data.controls.trim() !== controls.innerHTML.trim()) {
          replaceKeepingFocus(controls, data.controls);
        }
      }
    });
  }

  function randomKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return String(Date.now()) + String(Math.random()).slice(2);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.getAttribute || !form.getAttribute("data-command") || !window.fetch) {
      return;
    }
    event.preventDefault();
    clearMessages();
    var command = form.getAttribute("data-command");
    var text = form.querySelector("textarea");
    if (text && text.value.trim() === "") {
      showError("Type something before sending.");
      text.focus();
      return;
    }
    var body = new URLSearchParams(new FormData(form));
    if (command === "reply") { body.set("submission", randomKey()); }
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      }, function () { return { ok: response.ok, status: response.status, data: {} }; });
    }).then(function (result) {
      if (result.status === 401) {
        showError("Your session has ended. Reload the page to sign in again.");
        return;
      }
      if (!result.ok) {
        showError(result.data.error || ("Not done (error " + result.status + ")."));
        return;
      }
      if (text) { text.value = ""; }
      if (commandStatus) { commandStatus.textContent = result.data.message || "Done."; }
      if (command === "claim" && !conversation) {
        window.location.assign(form.getAttribute("action").replace(/\/claim$/, ""));
      }
    }).catch(function () {
      showError("The console could not reach the server. Check your connection and try again.");
    }).then(function () {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      form.removeAttribute("aria-busy");
      if (text && document.body.contains(text)) { text.focus(); }
    });
  });
}());
