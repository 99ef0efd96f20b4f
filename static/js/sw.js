/* Aftercare's service worker: vendored, no dependencies, no build step.
 *
 * Served by the site at /sw.js (scope "/"), which fills in the three lines
 * below: VERSION (a hash of the static files), SHELL (their URLs) and
 * IMPORTS (offline.js, the check-in outbox shared with the pages, and
 * push-sw.js, the reminders' Web Push handlers).
 *
 * - The app shell is cached on install; static files are served cache-first.
 * - The patient's pages (home, check-in, my recovery, check-in results) are
 *   network-first: each one opened is kept so that it can be read offline.
 * - Never cached: clinic pages, sign-in links, anything but a plain GET.
 * - A new version takes over at once (skipWaiting + clients.claim) and drops
 *   the caches of the old one; the pages reload themselves (offline.js).
 * - Background Sync ("aftercare-outbox") sends check-ins saved offline.
 */
"use strict";

const VERSION = "dev";
const SHELL = [];
const IMPORTS = [];

const SHELL_CACHE = "aftercare-shell-" + VERSION;
const PAGE_CACHE = "aftercare-pages-" + VERSION;
const PATIENT_PAGES = [/^\/$/, /^\/check-in\/$/, /^\/my-recovery\/$/, /^\/check-ins\/[0-9a-f-]{36}\/$/];

// The check-in outbox (offline.js) and the reminders' Web Push handlers (push-sw.js).
if (IMPORTS.length) {
  importScripts(...IMPORTS);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names
          .filter((name) => name.startsWith("aftercare-") && name !== SHELL_CACHE && name !== PAGE_CACHE)
          .map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

function isPatientPage(url) {
  return PATIENT_PAGES.some((pattern) => pattern.test(url.pathname));
}

async function staticFirst(request) {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const cache = await caches.open(SHELL_CACHE);
    await cache.put(request, response.clone());
  }
  return response;
}

async function pageNetworkFirst(request, url) {
  const cache = await caches.open(PAGE_CACHE);
  const options = {ignoreVary: true};
  if (!self.navigator.onLine) {
    // Known to be offline: the page kept from last time, without trying the network.
    const kept = (await cache.match(request, options)) || (await cache.match(url.pathname, options));
    if (kept) return kept;
  }
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = (await cache.match(request, options)) || (await cache.match(url.pathname, options));
    if (cached) return cached;
    throw error;
  }
  const signedOut = response.redirected && !isPatientPage(new URL(response.url));
  if (signedOut) {
    // The session has ended: what was kept of the patient's pages goes too.
    await caches.delete(PAGE_CACHE);
  } else if (response.ok && response.type === "basic" && !response.redirected) {
    const noStore = (response.headers.get("Cache-Control") || "").includes("no-store");
    // A part of a page refreshed by htmx is not kept; a boosted link's whole page is.
    const fragment = request.headers.get("HX-Request") && !request.headers.get("HX-Boosted");
    if (!noStore && !fragment) {
      await cache.put(request, response.clone());
    }
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // POSTs go to the network, never cached.
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname) || url.pathname.startsWith("/static/icons/")) {
    event.respondWith(staticFirst(request));
  } else if (isPatientPage(url)) {
    event.respondWith(pageNetworkFirst(request, url));
  }
  // Anything else (clinic pages, /l/ sign-in links, sign-in, the manifest): network only.
});

self.addEventListener("sync", (event) => {
  if (event.tag === "aftercare-outbox" && self.AftercareOutbox) {
    event.waitUntil(self.AftercareOutbox.sendQueued());
  }
});

self.addEventListener("message", (event) => {
  if (event.data === "send-outbox" && self.AftercareOutbox) {
    event.waitUntil(self.AftercareOutbox.sendQueued());
  }
});
