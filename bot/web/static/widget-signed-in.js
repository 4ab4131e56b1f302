/* The sign-in pop-up's last page: tell the helpdesk widget that opened it (same origin only,
 * never another site), then close. Without an opener (a tab of its own) the page just says
 * that sign-in worked. */
(function () {
  "use strict";
  var opener = window.opener;
  if (!opener) {
    return;
  }
  try {
    opener.postMessage({ type: "helpdesk:signed-in" }, window.location.origin);
  } catch (ignored) {
    return;
  }
  window.close();
}());
