// Aftercare: the service worker's part of reminders (Web Push). Loaded by /sw.js with
// importScripts("/static/js/push-sw.js"). Messages carry only a title, a body and a
// same-site URL; nothing about the patient's health.
(function () {
  "use strict";

  function sameSitePath(url) {
    try {
      var target = new URL(url || "/", self.location.origin);
      return target.origin === self.location.origin ? target.pathname + target.search : "/";
    } catch (error) {
      return "/";
    }
  }

  self.addEventListener("push", function (event) {
    var data = {};
    try {
      data = event.data ? event.data.json() : {};
    } catch (error) {
      data = {};
    }
    var title = data.title || "Aftercare";
    event.waitUntil(
      self.registration.showNotification(title, {
        body: data.body || "Time for today's check-in",
        tag: "aftercare-reminder",
        renotify: true,
        data: { url: sameSitePath(data.url || "/check-in/") },
      })
    );
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var path = (event.notification.data && event.notification.data.url) || "/check-in/";
    event.waitUntil(
      self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
        for (var i = 0; i < windows.length; i++) {
          if ("focus" in windows[i] && "navigate" in windows[i]) {
            return windows[i].navigate(path).then(function (client) {
              return client ? client.focus() : self.clients.openWindow(path);
            });
          }
        }
        return self.clients.openWindow(path);
      })
    );
  });

  self.addEventListener("pushsubscriptionchange", function () {
    // The browser replaced the subscription; the reminders page re-subscribes on the next
    // visit. Until then, reminders go by email.
  });
})();
