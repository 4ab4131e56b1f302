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

  function appendBotMessage(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    var hasText = typeof message.text === "string" && message.text !== "";
    var hasImage = typeof message.image === "string" && isWebAddress(message.image);
    var hasButtons = Array.isArray(message.buttons) && message.buttons.length > 0;
    if (!hasText && !hasImage && !hasButtons) {
      return; // e.g. a custom payload this page does not show
    }
    // Messages an agent wrote (pushed during a handoff) name the agent.
    var fromAgent = typeof message.author === "string" && message.author !== "";
    var item = bubble(fromAgent ? message.author + " (helpdesk)" : "Assistant",
                      fromAgent ? "message--bot message--agent" : "message--bot");
    if (hasText) {
      item.appendChild(element("p", "message-text", message.text));
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
    if (hasButtons) {
      appendButtons(item, message.buttons);
    }
    scrollToEnd();
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

  function send(text, shownAs) {
    if (busy) {
      return;
    }
    clearError();
    setBusy(true);
    appendUserMessage(shownAs || text);
    fetch("/api/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ text: text })
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
        var messages = result.body && Array.isArray(result.body.messages) ? result.body.messages : [];
        messages.forEach(appendBotMessage);
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
  if (window.EventSource) {
    var pushed = new EventSource("/api/events");
    pushed.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (ignored) {
        return;
      }
      appendBotMessage(message);
    });
  }
}());
