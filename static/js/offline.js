/* Aftercare offline: a check-in made without a connection is kept on the phone
 * (IndexedDB) and sent as soon as the connection returns; never lost, never doubled.
 *
 * Loaded (defer) by the patient's pages, and by the service worker (importScripts),
 * which shares the outbox below to send it on a Background Sync event.
 *
 * - Every submission carries an idempotency key made on the phone; the server
 *   stores each key once, so sending a queued item twice gives one check-in.
 * - A redirect to a check-in's result is success: the item is removed. A 400
 *   (e.g. too old) or 422 is final: the item is removed and the patient is told
 *   why on the next page. A network error or a server error: kept for a retry.
 * - Red-flag answers given offline show the urgent guidance at once, with the
 *   clinic's numbers, from the JSON the check-in page carries (#clinic-contact)
 *   or the copy of it kept in IndexedDB.
 */
(function (scope) {
  "use strict";

  const DB_NAME = "aftercare";
  const DB_VERSION = 1;
  const SYNC_TAG = "aftercare-outbox";
  const RESULT_PATH = /^\/check-ins\/[0-9a-f-]{36}\/$/;

  // IndexedDB ---------------------------------------------------------------------

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("outbox")) {
          db.createObjectStore("outbox", {keyPath: "id", autoIncrement: true});
        }
        if (!db.objectStoreNames.contains("notices")) {
          db.createObjectStore("notices", {keyPath: "id", autoIncrement: true});
        }
        if (!db.objectStoreNames.contains("contact")) {
          db.createObjectStore("contact");
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  function withStore(name, mode, action) {
    return openDb().then((db) => new Promise((resolve, reject) => {
      const transaction = db.transaction(name, mode);
      const request = action(transaction.objectStore(name));
      transaction.oncomplete = () => {
        db.close();
        resolve(request ? request.result : undefined);
      };
      transaction.onerror = transaction.onabort = () => {
        db.close();
        reject(transaction.error);
      };
    }));
  }

  const outbox = {
    add: (item) => withStore("outbox", "readwrite", (store) => store.add(item)),
    all: () => withStore("outbox", "readonly", (store) => store.getAll()),
    remove: (id) => withStore("outbox", "readwrite", (store) => store.delete(id)),
  };
  const notices = {
    add: (notice) => withStore("notices", "readwrite", (store) => store.add(notice)),
    all: () => withStore("notices", "readonly", (store) => store.getAll()),
    remove: (id) => withStore("notices", "readwrite", (store) => store.delete(id)),
  };
  const contactStore = {
    put: (value) => withStore("contact", "readwrite", (store) => store.put(value, "clinic")),
    get: () => withStore("contact", "readonly", (store) => store.get("clinic")),
  };

  // Sending -----------------------------------------------------------------------

  function decodeEntities(text) {
    return text
      .replace(/<[^>]*>/g, "")
      .replace(/&#x27;|&#39;/g, "'")
      .replace(/&quot;/g, "\"")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&")
      .trim();
  }

  function refusalMessage(html) {
    const match = html.match(/<p class="notice" role="alert">([\s\S]*?)<\/p>/);
    return match ? decodeEntities(match[1]) : "";
  }

  function csrfToken(html) {
    const match = html.match(/name="csrfmiddlewaretoken" value="([^"]+)"/);
    return match ? match[1] : "";
  }

  function post(item, fields) {
    const body = new URLSearchParams();
    for (const [name, value] of fields) body.append(name, value);
    return fetch(item.action || "/check-in/", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      redirect: "follow",
    });
  }

  // "done" (sent, or refused for good: remove it) or "retry" (keep it).
  async function sendOne(item) {
    let response;
    try {
      response = await post(item, item.fields);
      if (response.status === 403) {
        // A stale CSRF token (signed in again since): take a fresh one and try once more.
        const home = await fetch("/", {credentials: "same-origin"});
        const token = csrfToken(await home.text());
        if (!token) return "retry";
        const fields = item.fields.map(([name, value]) =>
          [name, name === "csrfmiddlewaretoken" ? token : value]);
        response = await post(item, fields);
      }
    } catch (error) {
      return "retry";
    }
    const path = new URL(response.url).pathname;
    if (response.ok && RESULT_PATH.test(path)) {
      await notices.add({
        kind: "sent",
        text: "Your check-in saved on this phone has been sent.",
        link: path,
      });
      return "done";
    }
    if (response.status === 400 || response.status === 422) {
      const reason = response.status === 400
        ? refusalMessage(await response.text())
        : "Some answers were missing. Please check in again.";
      await notices.add({
        kind: "refused",
        text: "Your check-in saved on this phone could not be sent. " + reason,
        link: "",
      });
      return "done";
    }
    return "retry";  // signed out, or the server had a problem: keep it for later
  }

  let sending = null;

  async function sendAll() {
    let sent = 0;
    const items = await outbox.all();
    for (const item of items) {
      if (await sendOne(item) !== "done") break;
      await outbox.remove(item.id);
      sent += 1;
    }
    return sent;
  }

  // Send every queued check-in, oldest first; stops at the first that must wait. One
  // sender at a time across the pages and the worker (Web Locks, where there are).
  function sendQueued() {
    if (sending) return sending;
    const locks = scope.navigator && scope.navigator.locks;
    sending = (locks ? locks.request("aftercare-outbox", sendAll) : sendAll()).finally(() => {
      sending = null;
    });
    return sending;
  }

  const api = {outbox: outbox, notices: notices, contact: contactStore, sendQueued: sendQueued};
  scope.AftercareOutbox = api;

  if (typeof document === "undefined") {
    // In the service worker: tell the open pages when something was sent.
    const send = api.sendQueued;
    api.sendQueued = () => send().then(async (sent) => {
      if (sent) {
        for (const client of await scope.clients.matchAll({type: "window"})) {
          client.postMessage("outbox-sent");
        }
      }
      return sent;
    });
    return;
  }

  // In a page ---------------------------------------------------------------------

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      .join("-");
  }

  async function showNotices() {
    const main = document.getElementById("main");
    if (!main) return;
    let list;
    try {
      list = await notices.all();
    } catch (error) {
      return;
    }
    if (!list.length) return;
    let region = document.getElementById("outbox-notices");
    if (!region) {
      region = element("div", {id: "outbox-notices", class: "notice outbox-notices", role: "status"});
      main.prepend(region);
    }
    for (const notice of list) {
      const line = element("p", {class: "outbox-" + notice.kind}, notice.text);
      if (notice.link) {
        line.append(" ");
        line.append(element("a", {href: notice.link}, "See what to do"));
      }
      region.append(line);
      await notices.remove(notice.id);
    }
  }

  function requestSend() {
    if (!navigator.onLine) return;
    sendQueued().then((sent) => {
      if (sent) showNotices();
    }, () => {});
  }

  async function clinicContact() {
    const node = document.getElementById("clinic-contact");
    if (node) {
      try {
        return JSON.parse(node.textContent);
      } catch (error) {
        // fall through to the copy kept on the phone
      }
    }
    try {
      return await contactStore.get();
    } catch (error) {
      return null;
    }
  }

  function urgentSection(contact, yes) {
    const section = element("section", {
      class: "guidance status-urgent offline-urgent",
      "aria-labelledby": "offline-urgent-heading",
    });
    const tag = element("p", {class: "status-tag"});
    tag.append(element("span", {class: "status-icon", "aria-hidden": "true"}));
    tag.append(contact.status_label);
    section.append(tag);
    section.append(element("h2", {id: "offline-urgent-heading"}, contact.urgent_headline));
    if (yes.some((code) => contact.emergency_flags.includes(code))) {
      section.append(element("a", {class: "button call emergency", href: contact.emergency_uri},
        contact.call_emergency));
    }
    section.append(element("a", {class: "button call", href: contact.phone_uri}, contact.call_clinic));
    if (contact.hours_line) section.append(element("p", {class: "hours"}, contact.hours_line));
    if (contact.call_after_hours) {
      section.append(element("a", {class: "button call secondary", href: contact.after_hours_uri},
        contact.call_after_hours));
    }
    const lines = element("ul", {class: "guidance-lines"});
    for (const code of yes) lines.append(element("li", {}, contact.flag_lines[code]));
    section.append(lines);
    return section;
  }

  async function saveOffline(form) {
    if (form.dataset.offlineSaving) return;
    const contact = (await clinicContact()) || {};
    const data = new FormData(form);
    const yes = (contact.red_flags || []).filter((code) => data.get(code) === "yes");
    const missing = (contact.questions || []).filter((name) => !data.get(name));
    if (!yes.length && missing.length) {
      // As the server would: every question needs an answer unless a warning sign is a yes.
      const first = form.querySelector("input[name=\"" + missing[0] + "\"]");
      if (first) first.focus();
      return;
    }
    form.dataset.offlineSaving = "true";
    const fields = Array.from(data.entries()).filter(([, value]) => typeof value === "string");
    const action = new URL(form.action, location.href);
    await outbox.add({
      fields: fields,
      action: action.origin === location.origin ? action.pathname : "/check-in/",
      key: data.get("idempotency_key"),
      date: data.get("date"),
      savedAt: new Date().toISOString(),
    });

    const state = document.getElementById("offline-state") || element("div", {id: "offline-state"});
    state.replaceChildren();
    if (yes.length && contact.urgent_headline) state.append(urgentSection(contact, yes));
    const saved = element("section", {
      class: "notice offline-saved",
      "aria-labelledby": "offline-saved-heading",
      tabindex: "-1",
    });
    saved.append(element("h2", {id: "offline-saved-heading"}, "Saved on this phone"));
    saved.append(element("p", {role: "status"}, contact.saved ||
      "Saved on this phone — it will be sent when you are back online"));
    saved.append(element("a", {class: "button secondary", href: "/"}, "Back to home"));
    state.append(saved);
    if (!state.parentNode) form.before(state);
    state.hidden = false;
    form.hidden = true;
    window.scrollTo(0, 0);
    (state.querySelector(".offline-urgent h2") || saved).setAttribute("tabindex", "-1");
    (state.querySelector(".offline-urgent h2") || saved).focus();

    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready
        .then((registration) => registration.sync && registration.sync.register(SYNC_TAG))
        .catch(() => {});
    }
    // The form was sent but its answer lost: the connection may be back already.
    requestSend();
  }

  function setUpCheckInForm() {
    const form = document.querySelector("form.check-in-form");
    if (!form || form.dataset.offlineReady) return;
    form.dataset.offlineReady = "true";
    // A key made on this phone for this page's submission (a page kept for offline
    // use carries the key of its last download, which may have been used).
    const key = form.querySelector("input[name=idempotency_key]");
    if (key) key.value = newKey();
    clinicContact().then((contact) => contact && contactStore.put(contact)).catch(() => {});
    form.addEventListener("input", () => {
      form.dataset.dirty = "true";
    });
  }

  // Offline: keep the check-in instead of sending it (before htmx sees the submit).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("check-in-form")) return;
    if (navigator.onLine) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    saveOffline(form);
  }, true);

  // Online but the request failed (no answer): keep it too; its key makes a resend safe.
  document.addEventListener("htmx:sendError", (event) => {
    const source = event.detail && event.detail.elt;
    const form = source && source.closest ? source.closest("form.check-in-form") : null;
    if (form) saveOffline(form);
  });

  // Signing out: the patient's pages kept for offline use go.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("sign-out") && "caches" in window) {
      caches.keys().then((names) => Promise.all(
        names.filter((name) => name.startsWith("aftercare-pages-")).map((name) => caches.delete(name))
      )).catch(() => {});
    }
  }, true);

  window.addEventListener("online", requestSend);
  document.addEventListener("htmx:afterSettle", setUpCheckInForm);

  if ("serviceWorker" in navigator) {
    const hadController = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      // A new version took over: reload a page whose form may not match the server any
      // more, unless the patient has started answering it.
      const form = document.querySelector("form.check-in-form");
      if (hadController && !(form && form.dataset.dirty)) location.reload();
    });
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data === "outbox-sent") showNotices();
    });
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(() => {});
  }

  function start() {
    setUpCheckInForm();
    showNotices();
    requestSend();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(self);
