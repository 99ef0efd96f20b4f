// Aftercare: turn this phone's reminder notifications on or off (Web Push).
// Vendored, no dependencies. Reads the VAPID public key from data-vapid-public-key and
// sends the subscription to data-subscriptions-url with the page's CSRF token.
(function () {
  "use strict";

  function urlBase64ToUint8Array(value) {
    var padding = "=".repeat((4 - (value.length % 4)) % 4);
    var base64 = (value + padding).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function send(url, method, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) throw new Error("The server answered " + response.status);
      return response;
    });
  }

  function registration() {
    // The site's service worker (/sw.js) is registered by the app shell; wait for it.
    return navigator.serviceWorker.getRegistration("/").then(function (existing) {
      return existing || navigator.serviceWorker.register("/sw.js", { scope: "/" });
    }).then(function () {
      return navigator.serviceWorker.ready;
    });
  }

  function setUp(root) {
    if (root.dataset.pushReady) return;
    root.dataset.pushReady = "1";
    var on = root.querySelector("[data-push-subscribe]");
    var off = root.querySelector("[data-push-unsubscribe]");
    var status = root.querySelector("[data-push-status]");
    var url = root.dataset.subscriptionsUrl;
    var key = root.dataset.vapidPublicKey;

    function show(subscribed, message) {
      on.hidden = subscribed;
      off.hidden = !subscribed;
      status.textContent = message;
    }

    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !key) {
      on.hidden = true;
      off.hidden = true;
      status.textContent = "This browser can't show notifications. We'll send your reminder by email.";
      return;
    }

    registration().then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (subscription) {
      if (subscription) show(true, "Notifications are on for this phone.");
    }).catch(function () { /* leave the button as it is */ });

    on.addEventListener("click", function () {
      on.disabled = true;
      status.textContent = "Turning on notifications…";
      registration().then(function (reg) {
        return reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: urlBase64ToUint8Array(key),
        });
      }).then(function (subscription) {
        return send(url, "POST", subscription.toJSON());
      }).then(function () {
        show(true, "Notifications are on for this phone.");
      }).catch(function () {
        status.textContent = Notification.permission === "denied"
          ? "Notifications are blocked for this site in your browser's settings. We'll send your reminder by email."
          : "Notifications could not be turned on. Please try again later.";
      }).finally(function () {
        on.disabled = false;
      });
    });

    off.addEventListener("click", function () {
      off.disabled = true;
      registration().then(function (reg) {
        return reg.pushManager.getSubscription();
      }).then(function (subscription) {
        if (!subscription) return null;
        var endpoint = subscription.endpoint;
        return subscription.unsubscribe().then(function () {
          return send(url, "DELETE", { endpoint: endpoint });
        });
      }).then(function () {
        show(false, "Notifications are off for this phone.");
      }).catch(function () {
        status.textContent = "Notifications could not be turned off. Please try again later.";
      }).finally(function () {
        off.disabled = false;
      });
    });
  }

  function init() {
    var roots = document.querySelectorAll("[data-push]");
    for (var i = 0; i < roots.length; i++) setUp(roots[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  // Pages swapped in by htmx (hx-boost) don't fire DOMContentLoaded again.
  document.addEventListener("htmx:load", init);
})();
