// Pages inside Genesys Cloud: popup sign-in and the Client App SDK's openWindow (spec §B3, §D6).
// Loaded as a file because the Content-Security-Policy forbids inline scripts.
(() => {
  "use strict";
  const TICKET_MESSAGE = "punctual-genesys-ticket";

  // In the iframe: sign in through a popup, then trade its one-time ticket for our own session.
  for (const link of document.querySelectorAll("[data-genesys-popup]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const popup = window.open(link.href, "punctual-genesys-sign-in", "popup=true,width=800,height=700");
      const status = document.getElementById("sign-in-status");
      if (!popup && status) status.textContent = "Your browser blocked the sign-in window; allow popups and try again.";
    });
  }
  if (document.querySelector("[data-genesys-popup]")) {
    window.addEventListener("message", (event) => {
      const data = event.data;
      if (event.origin !== window.location.origin || !data || data.type !== TICKET_MESSAGE) return;
      window.location.assign("/genesys/auth/redeem?ticket=" + encodeURIComponent(String(data.ticket)));
    });
  }

  // In the popup, after Genesys signed the agent in: hand the ticket to the iframe and close.
  const done = document.querySelector("[data-genesys-ticket]");
  if (done && window.opener) {
    window.opener.postMessage({ type: TICKET_MESSAGE, ticket: done.dataset.genesysTicket }, window.location.origin);
    window.close();
  }

  // Join meeting: inside Genesys the host opens the room (sandboxed frames cannot always do it).
  for (const link of document.querySelectorAll("[data-open-window]")) {
    link.addEventListener("click", (event) => {
      const hostOrigin = link.dataset.hostOrigin;
      if (window.parent === window || !hostOrigin) return; // not framed: the plain link works
      event.preventDefault();
      window.parent.postMessage(
        {
          protocol: "purecloud-client-apps",
          action: "openWindow",
          url: link.href,
          windowName: "_blank",
          protocolAgentName: "punctual",
          protocolAgentVersion: "1",
        },
        hostOrigin,
      );
    });
  }
})();
