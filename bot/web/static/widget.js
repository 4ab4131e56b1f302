/* The helpdesk widget for intranet pages: one script tag puts a launcher button and a chat
 * panel on the page.
 *
 *   <script src="https://helpdesk.example.gov.uk/static/widget.js" async
 *           data-label="Ask the helpdesk" data-position="right"></script>
 *
 * Options (data- attributes of the script tag, all optional):
 *   data-label     the launcher's text (default "Ask the helpdesk")
 *   data-position  "right" (default) or "left": the corner it sits in
 *   data-open      "true": open the panel when the page loads
 *
 * The panel is the helpdesk's /widget page in an iframe; the helpdesk lets only the origins in
 * its WIDGET_ALLOWED_ORIGINS frame it. This script accepts messages only from that iframe's
 * window and the helpdesk's origin, only of the known types, and posts only to that origin
 * (the protocol is described in widget-frame.js). Everything is built with DOM calls inside a
 * shadow root (no inline HTML or style attributes the page's CSP might forbid; styles are a
 * constructed stylesheet), so the page's styles and the widget's do not mix.
 *
 * Keyboard and screen readers: the launcher is a button with aria-expanded; opening moves focus
 * into the chat's message box, Escape (in the chat or on the panel) closes it and focus returns
 * to the launcher; unread messages are in the launcher's name and announced politely. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || window.__helpdeskWidget) {
    return;
  }
  window.__helpdeskWidget = true;
  var helpdeskOrigin = new URL(script.src, window.location.href).origin;
  var label = script.getAttribute("data-label") || "Ask the helpdesk";
  var onLeft = script.getAttribute("data-position") === "left";
  var startOpen = script.getAttribute("data-open") === "true";
  var TYPES = { "helpdesk:ready": true, "helpdesk:close": true, "helpdesk:unread": true };

  var CSS = [
    ":host { all: initial; }",
    ".hd { position: fixed; bottom: 1rem; z-index: 2147483000; font-family: Arial, Helvetica, sans-serif; font-size: 1rem; line-height: 1.5; color: #0b0c0c; }",
    ".hd.right { right: 1rem; } .hd.left { left: 1rem; }",
    ".launcher { display: inline-flex; align-items: center; gap: 0.5rem; min-height: 2.75rem; padding: 0.5rem 1rem; border: 2px solid transparent; border-radius: 0; background: #00703c; color: #ffffff; font: inherit; font-size: 1.1875rem; box-shadow: 0 2px 0 #002d18; cursor: pointer; }",
    ".launcher:hover { background: #005a30; }",
    ".launcher:focus-visible, .close:focus-visible { outline: 3px solid transparent; background: #ffdd00; color: #0b0c0c; box-shadow: 0 -2px #ffdd00, 0 4px #0b0c0c; }",
    ".badge { display: inline-block; min-width: 1.5rem; padding: 0 0.4rem; border-radius: 0.75rem; background: #ffffff; color: #0b0c0c; font-weight: 700; text-align: center; }",
    ".badge[hidden], .panel[hidden] { display: none; }",
    ".panel { display: flex; flex-direction: column; position: absolute; bottom: 3.75rem; width: min(26rem, calc(100vw - 2rem)); height: min(38rem, calc(100vh - 6rem)); background: #ffffff; border: 2px solid #0b0c0c; box-shadow: 0 4px 12px rgba(11, 12, 12, 0.3); }",
    ".right .panel { right: 0; } .left .panel { left: 0; }",
    ".bar { display: flex; align-items: center; justify-content: space-between; padding: 0.25rem 0.25rem 0.25rem 0.75rem; background: #1d70b8; color: #ffffff; }",
    ".title { margin: 0; font-weight: 700; font-size: 1.1875rem; }",
    ".close { min-height: 2.75rem; padding: 0.25rem 0.75rem; border: 2px solid #ffffff; background: #1d70b8; color: #ffffff; font: inherit; cursor: pointer; }",
    ".close:hover { background: #003078; }",
    "iframe { flex: 1 1 auto; width: 100%; border: 0; }",
    ".live { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }"
  ].join("\n");

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  var holder = element("div");
  holder.setAttribute("data-helpdesk-widget", "");
  var root = holder.attachShadow ? holder.attachShadow({ mode: "open" }) : holder;
  if (root !== holder && "adoptedStyleSheets" in root && window.CSSStyleSheet) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  }

  var box = element("div", "hd " + (onLeft ? "left" : "right"));
  var panel = element("div", "panel");
  panel.id = "helpdesk-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Helpdesk chat");
  var bar = element("div", "bar");
  var title = element("p", "title", "Helpdesk");
  var close = element("button", "close", "Close");
  close.type = "button";
  close.setAttribute("aria-label", "Close the helpdesk chat");
  bar.appendChild(title);
  bar.appendChild(close);
  var frame = element("iframe");
  frame.title = "Helpdesk chat";
  frame.src = helpdeskOrigin + "/widget?host=" + encodeURIComponent(window.location.origin);
  panel.appendChild(bar);
  panel.appendChild(frame);

  var launcher = element("button", "launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", panel.id);
  var launcherText = element("span", "", label);
  var badge = element("span", "badge");
  badge.hidden = true;
  badge.setAttribute("aria-hidden", "true");
  var unreadText = element("span", "live");
  launcher.appendChild(launcherText);
  launcher.appendChild(badge);
  launcher.appendChild(unreadText);
  var live = element("p", "live");
  live.setAttribute("role", "status");
  live.setAttribute("aria-live", "polite");

  box.appendChild(panel);
  box.appendChild(launcher);
  box.appendChild(live);
  root.appendChild(box);

  function tellFrame(message) {
    if (frame.contentWindow) {
      frame.contentWindow.postMessage(message, helpdeskOrigin);
    }
  }

  function showUnread(count) {
    if (count > 0) {
      badge.textContent = String(count);
      badge.hidden = false;
      unreadText.textContent = count === 1 ? " (1 unread message)" : " (" + count + " unread messages)";
      live.textContent = count === 1 ? "1 new message from the helpdesk"
        : count + " new messages from the helpdesk";
    } else {
      badge.hidden = true;
      badge.textContent = "";
      unreadText.textContent = "";
    }
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    showUnread(0);
    frame.focus();
    tellFrame({ type: "helpdesk:open" });
  }

  function shut() {
    if (panel.hidden) {
      return;
    }
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    tellFrame({ type: "helpdesk:hidden" });
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) {
      open();
    } else {
      shut();
    }
  });
  close.addEventListener("click", shut);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      shut();
    }
  });

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== helpdeskOrigin) {
      return;
    }
    var data = event.data;
    if (data === null || typeof data !== "object" || !TYPES[data.type]) {
      return;
    }
    if (data.type === "helpdesk:close") {
      shut();
    } else if (data.type === "helpdesk:unread") {
      var count = typeof data.count === "number" && isFinite(data.count) ? Math.max(0, Math.min(999, Math.floor(data.count))) : 0;
      if (panel.hidden) {
        showUnread(count);
      }
    } else if (data.type === "helpdesk:ready" && !panel.hidden) {
      tellFrame({ type: "helpdesk:open" });  // the frame (re)loaded while the panel is open
    }
  });

  function attach() {
    document.body.appendChild(holder);
    if (startOpen) {
      open();
    }
  }

  if (document.body) {
    attach();
  } else {
    document.addEventListener("DOMContentLoaded", attach);
  }
}());
