/* Aftercare's service worker: vendored, no dependencies, no build step.
 *
 * Served by the site at /sw.js (scope "/"), which fills in the three lines
 * below: VERSION (a hash of the static files), SHELL (their URLs) and
 * IMPORTS (offline.js, the check-in outbox shared with the pages, and
 * push-sw.js, the reminders' Web Push handlers).
 *
 * - The app shell is cached on install; static files are served cache-first.
 * - The patient's pages (home, check-in, my recovery, check-in results) are
 *   network-first: each one opened is kept so that it can be read offline, under
 *   its whole URL ("/check-in/?first=red_flags" is not "/check-in/"). Offline, a
 *   page that was not kept opens home instead, which is always kept.
 * - As soon as a signed-in page asks ("keep-offline-pages", offline.js), the worker
 *   keeps what "Something feels wrong" needs without a connection: home (the
 *   manifest's start_url), the warning-sign questions first, and the clinic's
 *   numbers and words (#clinic-contact, also put in IndexedDB).
 * - Never cached: clinic pages, sign-in links, anything but a plain GET.
 * - A new version takes over at once (skipWaiting + clients.claim) and drops
 *   the caches of the old one; the pages reload themselves (offline.js). A page
 *   whose navigation began before the worker was active asks to be taken ("claim").
 * - Background Sync ("aftercare-outbox") sends check-ins saved offline.
 */
"use strict";

const VERSION = "dev";
const SHELL = [];
const IMPORTS = [];

const SHELL_CACHE = "aftercare-shell-" + VERSION;
const PAGE_CACHE = "aftercare-pages-" + VERSION;
const PATIENT_PAGES = [/^\/$/, /^\/check-in\/$/, /^\/my-recovery\/$/, /^\/check-ins\/[0-9a-f-]{36}\/$/];
// Kept as soon as the patient has signed in, without their opening them.
const HOME = "/";
const RED_FLAGS_FIRST = "/check-in/?first=red_flags";
const OFFLINE_PAGES = [HOME, RED_FLAGS_FIRST];
const MATCH = {ignoreVary: true};

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

// Keep a patient page's answer; true if it was kept. A redirect away from the patient's
// pages means the session has ended: what was kept of them goes too.
async function keep(cache, request, response) {
  if (response.redirected && !isPatientPage(new URL(response.url))) {
    await caches.delete(PAGE_CACHE);
    return false;
  }
  // Kept although the site says no-store: that keeps the page out of the browser's and
  // proxies' caches; this cache is the offline path's own, emptied at sign-out.
  if (!response.ok || response.type !== "basic" || response.redirected) return false;
  await cache.put(request, response.clone());
  return true;
}

// The copy kept of this very URL, query string and all. A page the patient opens that was
// not kept: home instead (a redirect, so that the address is home's too).
async function keptPage(cache, request) {
  const kept = await cache.match(request, MATCH);
  if (kept) return kept;
  const home = new URL(HOME, self.location.origin).href;
  if (request.mode === "navigate" && request.url !== home && (await cache.match(HOME, MATCH))) {
    return Response.redirect(home, 303);
  }
  return undefined;
}

async function pageNetworkFirst(request) {
  const cache = await caches.open(PAGE_CACHE);
  if (!self.navigator.onLine) {
    // Known to be offline: the page kept from last time, without trying the network.
    const kept = await keptPage(cache, request);
    if (kept) return kept;
  }
  let response;
  try {
    response = await fetch(request);
  } catch (error) {
    const kept = await keptPage(cache, request);
    if (kept) return kept;
    throw error;
  }
  await keep(cache, request, response);
  return response;
}

// What "Something feels wrong" needs offline, fetched (with the patient's session cookie)
// if it is not kept yet: the pages, and the clinic's numbers and words from the check-in
// page's #clinic-contact into IndexedDB, where offline.js looks when a page lacks them.
async function keepOfflinePages() {
  const cache = await caches.open(PAGE_CACHE);
  for (const path of OFFLINE_PAGES) {
    if (!self.navigator.onLine) return;
    if (await cache.match(path, MATCH)) continue;
    const request = new Request(path, {credentials: "same-origin"});
    let response;
    try {
      response = await fetch(request);
    } catch (error) {
      return;  // no connection after all: asked again on the next page
    }
    if (!(await keep(cache, request, response))) return;  // signed out, or no diary running
    if (path === RED_FLAGS_FIRST && self.AftercareOutbox) {
      const found = (await response.text())
        .match(/<script id="clinic-contact" type="application\/json">([\s\S]*?)<\/script>/);
      if (found) await self.AftercareOutbox.contact.put(JSON.parse(found[1])).catch(() => {});
    }
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;  // POSTs go to the network, never cached.
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname) || url.pathname.startsWith("/static/icons/")) {
    event.respondWith(staticFirst(request));
  } else if (isPatientPage(url)) {
    event.respondWith(pageNetworkFirst(request));
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
  } else if (event.data === "claim") {
    event.waitUntil(self.clients.claim());
  } else if (event.data === "keep-offline-pages") {
    event.waitUntil(keepOfflinePages().catch(() => {}));
  }
});
