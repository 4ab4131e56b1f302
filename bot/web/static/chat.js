/* Chat page behaviour: send messages to /api/messages, show the conversation.
 * No framework, no build step, no inline script (the Content-Security-Policy forbids it).
 * Every piece of text from the user or the assistant goes into the page through textContent. */
(function () {
  "use strict";

  var MAX_LENGTH = 2000;
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var log = document.getElementById("log");
  var statusLine = document.getElementById("chat-status");
  var errorLine = document.getElementById("chat-error");
  if (!form || !input || !log || !statusLine || !errorLine) {
    return;
  }
  var busy = false;

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

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(author, modifier) {
    var item = element("div", "message " + modifier);
    item.appendChild(element("p", "message-author", author));
    log.appendChild(item);
    return item;
  }

  function appendUserMessage(text) {
    var item = bubble("You", "message--user");
    item.appendChild(element("p", "message-text", text));
    scrollToEnd();
  }

  function isWebAddress(value) {
    try {
      var url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:";
    } catch (ignored) {
      return false;
    }
  }

  // Links to knowledge-base articles on this site (the assistant's policy answers end with
  // one) and to the employee's own queries (ticket notices end with one, absolute when the
  // helpdesk's public address is set): made into links; every other piece stays text.
  var ARTICLE_LINK = /((?:https?:\/\/[A-Za-z0-9.:-]+)?\/(?:knowledge\/articles\/\d+(?:\?version=\d+)?|queries\/[A-Z]{2,5}-\d{6}))/;

  function sameSite(address) {
    try {
      return new URL(address, window.location.href).origin === window.location.origin;
    } catch (ignored) {
      return false;
    }
  }

  function textWithArticleLinks(text) {
    var paragraph = element("p", "message-text");
    text.split(ARTICLE_LINK).forEach(function (part, index) {
      if (index % 2 === 1 && sameSite(part)) {
        var link = element("a", "message-link", part);
        link.href = part;
        link.target = "_blank";
        link.rel = "noopener";
        paragraph.appendChild(link);
      } else if (part !== "") {
        paragraph.appendChild(document.createTextNode(part));
      }
    });
    return paragraph;
  }

  function appendButtons(item, buttons) {
    var group = element("div", "quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    buttons.forEach(function (choice) {
      if (!choice || typeof choice.title !== "string" || typeof choice.payload !== "string") {
        return;
      }
      var button = element("button", "button secondary quick-reply", choice.title);
      button.type = "button";
      button.addEventListener("click", function () {
        if (busy) {
          return;
        }
        // Move focus before the buttons are disabled, so it is never lost.
        input.focus();
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
        send(choice.payload, choice.title);
      });
      group.appendChild(button);
    });
    if (group.childNodes.length > 0) {
      item.appendChild(group);
    }
  }

  function appendBotMessage(message, options) {
    if (!message || typeof message !== "object") {
      return;
    }
    options = options || {};
    var hasText = typeof message.text === "string" && message.text !== "";
    var hasImage = typeof message.image === "string" && isWebAddress(message.image);
    var hasButtons = Array.isArray(message.buttons) && message.buttons.length > 0;
    if (!hasText && !hasImage && !hasButtons) {
      return; // e.g. a custom payload this page does not show
    }
    // Messages an agent wrote (pushed during a handoff) name the agent.
    var fromAgent = typeof message.author === "string" && message.author !== "";
    var item = bubble(fromAgent ? message.author + " (helpdesk)" : "Assistant",
                      (fromAgent ? "message--bot message--agent" : "message--bot") +
                      (options.isNew ? " message--new" : ""));
    if (hasText) {
      item.appendChild(textWithArticleLinks(message.text));
    }
    if (hasImage) {
      var link = element("a", "message-link", "Open the image the assistant sent (new tab)");
      link.href = message.image;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      var paragraph = element("p", "message-text");
      paragraph.appendChild(link);
      item.appendChild(paragraph);
    }
    if (hasButtons && !options.withoutButtons) {
      appendButtons(item, message.buttons);
    }
    scrollToEnd();
  }

  // Continuity: the recent conversation, from Rasa's own record of it (GET /api/history).
  // What the helpdesk said after this browser last showed the chat is marked as new. Times are
  // the server's (the history says its "now"; the page adds the time elapsed since), so the
  // browser's own clock does not matter.
  var SEEN_KEY = "helpdesk.seen-at";
  var serverBase = 0;
  var clientBase = 0;

  function serverNow() {
    return serverBase ? serverBase + (Date.now() - clientBase) / 1000 : 0;
  }

  function lastSeen() {
    try {
      return parseFloat(window.localStorage.getItem(SEEN_KEY) || "0") || 0;
    } catch (ignored) {
      return 0;
    }
  }

  function chatShown() {
    return !document.hidden && document.documentElement.getAttribute("data-panel") !== "hidden";
  }

  function rememberSeen() {
    var now = serverNow();
    if (!now || !chatShown()) {
      return;
    }
    try {
      if (now > lastSeen()) {
        window.localStorage.setItem(SEEN_KEY, String(now));
      }
    } catch (ignored) {
      // storage may be off: nothing is marked then
    }
    // The helpdesk e-mails what the chat did not show within a while: tell it what it showed.
    fetch("/api/seen", { method: "POST", credentials: "same-origin",
                         headers: { "Accept": "application/json" } }).catch(function () {});
  }

  function showHistory(messages) {
    var seen = lastSeen();
    var fresh = 0;
    messages.forEach(function (message, index) {
      if (!message || typeof message !== "object" || typeof message.at !== "number") {
        return;
      }
      if (message.from === "you") {
        if (typeof message.text === "string") {
          appendUserMessage(message.text);
        }
        return;
      }
      var isNew = seen > 0 && message.at > seen;
      fresh += isNew ? 1 : 0;
      appendBotMessage(message, { isNew: isNew, withoutButtons: index !== messages.length - 1 });
    });
    if (fresh > 0) {
      statusLine.textContent = fresh === 1 ? "1 new message since you were last here."
        : fresh + " new messages since you were last here.";
    }
  }

  function loadHistory() {
    return fetch("/api/history", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && typeof body.now === "number") {
          serverBase = body.now;
          clientBase = Date.now();
        }
        if (body && Array.isArray(body.messages)) {
          showHistory(body.messages);
        }
        rememberSeen();
      })
      .catch(function () {
        // The chat works without its history.
      });
  }

  function showError(text, withSignInLink) {
    errorLine.textContent = text;
    if (withSignInLink) {
      errorLine.appendChild(document.createTextNode(" "));
      var link = element("a", "", "Sign in again");
      link.href = "/signin";
      errorLine.appendChild(link);
    }
    errorLine.hidden = false;
  }

  function clearError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
  }

  function setBusy(value) {
    busy = value;
    log.setAttribute("aria-busy", value ? "true" : "false");
    form.setAttribute("aria-busy", value ? "true" : "false");
    statusLine.textContent = value ? "The assistant is replying…" : "";
  }

  // The last message that got no answer: sending the same text again sends the same message
  // id, marked as a retry, so the assistant answers it once even if it had handled it.
  var unanswered = null;

  function newMessageId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function send(text, shownAs) {
    if (busy) {
      return;
    }
    clearError();
    setBusy(true);
    appendUserMessage(shownAs || text);
    var again = unanswered !== null && unanswered.text === text;
    var body = { text: text, message_id: again ? unanswered.id : newMessageId() };
    if (again) {
      body.retry = true;
    }
    unanswered = { text: text, id: body.message_id };
    fetch("/api/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    })
      .then(function (response) {
        return response.json().then(
          function (body) { return { status: response.status, ok: response.ok, body: body }; },
          function () { return { status: response.status, ok: response.ok, body: null }; }
        );
      })
      .then(function (result) {
        if (!result.ok) {
          var message = result.body && typeof result.body.error === "string"
            ? result.body.error
            : "Something went wrong (error " + result.status + "). Please try again.";
          if (result.status === 401) {
            showError("Your session has expired. Please sign in again.", true);
          } else {
            showError(message, false);
          }
          return;
        }
        unanswered = null;
        var messages = result.body && Array.isArray(result.body.messages) ? result.body.messages : [];
        messages.forEach(function (message) { appendBotMessage(message); });
        rememberSeen();
      })
      .catch(function () {
        showError("The helpdesk could not be reached. Check your connection and try again.", false);
      })
      .then(function () {
        setBusy(false);
        if (document.activeElement === document.body || document.activeElement === null) {
          input.focus();
        }
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (text === "") {
      showError("Type a message before sending.", false);
      input.focus();
      return;
    }
    if (text.length > MAX_LENGTH) {
      showError("Your message is too long: use " + MAX_LENGTH + " characters or fewer.", false);
      input.focus();
      return;
    }
    if (busy) {
      return;
    }
    input.value = "";
    send(text);
    input.focus();
  });

  // What the helpdesk says outside a reply (an agent's words during a handoff, queue news,
  // ticket updates) arrives on a server-sent event stream; the browser reconnects by itself.
  document.addEventListener("helpdesk:shown", rememberSeen);  // the widget's panel opened
  loadHistory().then(function () {
    if (!window.EventSource) {
      return;
    }
    var pushed = new EventSource("/api/events");
    pushed.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (ignored) {
        return;
      }
      appendBotMessage(message);
      rememberSeen();
      document.dispatchEvent(new CustomEvent("helpdesk:pushed"));
    });
  });
}());
