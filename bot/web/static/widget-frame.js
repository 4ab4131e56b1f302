/* The helpdesk chat inside the embeddable widget's iframe: the frame's half of the postMessage
 * protocol with static/widget.js on the intranet page.
 *
 * The frame accepts a message only from its parent window and only from the origin the server
 * checked against WIDGET_ALLOWED_ORIGINS (data-host-origin), only of these types, and posts
 * only to that origin:
 *   parent -> frame  {type: "helpdesk:open"}     the panel is shown: focus the message box
 *                    {type: "helpdesk:hidden"}   the panel is hidden: count what arrives
 *   frame -> parent  {type: "helpdesk:ready"}    loaded
 *                    {type: "helpdesk:close"}    Escape was pressed in the chat
 *                    {type: "helpdesk:unread", count: n}   messages that arrived while hidden
 * Sign-in opens a pop-up (Entra ID's pages cannot be framed); its last page posts
 * {type: "helpdesk:signed-in"} from this same origin, and the frame reloads. */
(function () {
  "use strict";
  var hostOrigin = document.body.getAttribute("data-host-origin") || "";
  var parentWindow = window.parent;
  if (!hostOrigin || parentWindow === window) {
    return;
  }
  var visible = false;
  var unread = 0;
  document.documentElement.setAttribute("data-panel", "hidden");  // until the host opens it

  function tell(message) {
    parentWindow.postMessage(message, hostOrigin);
  }

  function focusComposer() {
    var input = document.getElementById("message") || document.getElementById("widget-signin");
    if (input) {
      input.focus();
    }
  }

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (data === null || typeof data !== "object" || typeof data.type !== "string") {
      return;
    }
    if (event.source === parentWindow && event.origin === hostOrigin) {
      if (data.type === "helpdesk:open") {
        visible = true;
        document.documentElement.setAttribute("data-panel", "shown");
        document.dispatchEvent(new CustomEvent("helpdesk:shown"));
        unread = 0;
        tell({ type: "helpdesk:unread", count: 0 });
        focusComposer();
      } else if (data.type === "helpdesk:hidden") {
        visible = false;
        document.documentElement.setAttribute("data-panel", "hidden");
      }
      return;
    }
    if (event.origin === window.location.origin && data.type === "helpdesk:signed-in") {
      window.location.reload();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      tell({ type: "helpdesk:close" });
    }
  });

  // chat.js announces each message pushed while the chat is open (agent replies, updates).
  document.addEventListener("helpdesk:pushed", function () {
    if (!visible) {
      unread += 1;
      tell({ type: "helpdesk:unread", count: unread });
    }
  });

  var signIn = document.getElementById("widget-signin");
  if (signIn) {
    signIn.addEventListener("click", function (event) {
      var popup = window.open(signIn.href, "helpdesk-signin", "popup,width=560,height=680");
      if (popup) {
        event.preventDefault();  // otherwise the link opens it in a new tab
      }
    });
  }
  tell({ type: "helpdesk:ready" });
}());
