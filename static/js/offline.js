/* Aftercare offline: a check-in made without a connection is kept on the phone
 * (IndexedDB) and sent as soon as the connection returns; never lost, never doubled.
 *
 * Loaded (defer) by the patient's pages, and by the service worker (importScripts),
 * which shares the outbox below to send it on a Background Sync event.
 *
 * - Every submission carries an idempotency key made on the phone; the server
 *   stores each key once, so sending a queued item twice gives one check-in.
 * - Today's check-in kept on the phone is for the day the patient answered it, by
 *   the phone's clock in the patient's time zone (#clinic-contact's time_zone), not
 *   the day a page kept for offline use was made for; `answered_at` says when. The
 *   server checks that the day may still be filled in.
 * - A redirect to a check-in's result is success: the item is removed. A 400
 *   (e.g. too old), 409 (its key was sent before with other answers) or 422 is
 *   final: the item is removed and the patient is told why, on every page until
 *   they say they have read it ("refused" notices stay in IndexedDB until then).
 *   A network error or a server error: kept for a retry.
 * - A phone may be shared: each item, and each notice about it, is its patient's
 *   (`owner`: the `for_patient` of the form it came from). A page sends, and shows the
 *   notices of, its own patient's only, and those without an owner (queued before items
 *   had one); the others are kept for when their patient signs in again. A page knows
 *   its patient from its check-in form, or from the last check-in page seen since
 *   someone signed in. The service worker (and a page that does not know) sends them
 *   all: the server refuses someone else's with a 403, and the item is kept without
 *   holding up the ones after it.
 * - Red-flag answers given offline show the urgent guidance at once, with the
 *   clinic's numbers, from the JSON the check-in page carries (#clinic-contact)
 *   or the copy of it kept in IndexedDB.
 * - Once signed in, the page asks the service worker to keep what "Something feels
 *   wrong" needs offline (sw.js, keepOfflinePages); offline, links are real navigations
 *   (the patient's pages have no htmx), which the service worker answers.
 * - The check-in form is sent from here (fetch), so that a send that fails is kept too;
 *   it works without JavaScript as a plain form.
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
  // The patient this phone's pages were last seen signed in as (a check-in page says whose it
  // is), forgotten when someone signs out or in: whose the pages that do not say are.
  const signedInStore = {
    put: (patient) => withStore("contact", "readwrite", (store) => store.put(patient, "patient")),
    get: () => withStore("contact", "readonly", (store) => store.get("patient")),
    forget: () => withStore("contact", "readwrite", (store) => store.delete("patient")),
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

  // "done" (sent, or refused for good: remove it), "kept" (someone else's: keep it, and go
  // on with the next) or "retry" (keep it, and the ones after it, for later).
  async function sendOne(item) {
    let response;
    let html;  // every answer is read to its end, not left loading
    try {
      response = await post(item, item.fields);
      if (response.status === 403) {
        // A stale CSRF token (signed in again since): take a fresh one and try once more.
        await response.text();
        const home = await fetch("/", {credentials: "same-origin"});
        const token = csrfToken(await home.text());
        if (!token) return "retry";
        const fields = item.fields.map(([name, value]) =>
          [name, name === "csrfmiddlewaretoken" ? token : value]);
        response = await post(item, fields);
      }
      html = await response.text();
    } catch (error) {
      return "retry";
    }
    // Refused with a fresh token too: made by someone else who was signed in on this phone.
    if (response.status === 403) return "kept";
    const path = new URL(response.url).pathname;
    // `key`: which check-in the notice is about, so that the page that kept it can put
    // the notice in place of its "Saved on this phone".
    if (response.ok && RESULT_PATH.test(path)) {
      await notices.add({
        kind: "sent",
        text: "Your check-in saved on this phone has been sent.",
        link: path,
        key: item.key || "",
        owner: item.owner || "",
      });
      return "done";
    }
    if (response.status === 400 || response.status === 409 || response.status === 422) {
      const reason = response.status === 422
        ? "Some answers were missing. Please check in again."
        : refusalMessage(html);
      await notices.add({
        kind: "refused",
        text: "Your check-in saved on this phone could not be sent. " + reason,
        link: "",
        key: item.key || "",
        owner: item.owner || "",
      });
      return "done";
    }
    return "retry";  // signed out, or the server had a problem: keep it for later
  }

  // Whether an item or a notice is for `patient` ("": not known, as in the worker). Those
  // without an owner were queued before items had one: anyone's.
  function isFor(patient, entry) {
    return !patient || !entry.owner || entry.owner === patient;
  }

  let sending = null;

  async function sendAll(patient) {
    let sent = 0;
    const tried = new Set();
    for (;;) {
      const items = (await outbox.all()).filter((item) => !tried.has(item.id));
      if (!items.length) return sent;
      for (const item of items) {
        tried.add(item.id);
        if (!isFor(patient, item)) continue;  // someone else's: kept for them
        const outcome = await sendOne(item);
        if (outcome === "retry") return sent;
        if (outcome === "done") {
          await outbox.remove(item.id);
          sent += 1;
        }
      }
    }
  }

  // Send every queued check-in of `patient` (of anyone, without one), oldest first, and
  // those queued meanwhile; stops at the first that must wait. One sender at a time across
  // the pages and the worker (Web Locks, where there are).
  function sendQueued(patient) {
    if (sending) return sending;
    const locks = scope.navigator && scope.navigator.locks;
    const send = () => sendAll(patient || "");
    sending = (locks ? locks.request("aftercare-outbox", send) : send()).finally(() => {
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

  // A signed-in patient's page (it has the "Sign out" button).
  function signedIn() {
    return Boolean(document.querySelector("form.sign-out"));
  }

  // Whose page this is, as it says itself: its check-in form's patient, or the signed-in
  // patient its sign-out button names; "" if it does not say.
  function ownPatient() {
    const field = document.querySelector("form.check-in-form input[name=for_patient]");
    if (field && field.value) return field.value;
    const signOut = document.querySelector("form.sign-out[data-patient]");
    return signOut ? signOut.dataset.patient : "";
  }

  // The patient this page is for (above), else the one the phone's pages were last seen
  // signed in as; "" if not known.
  async function pagePatient() {
    const own = ownPatient();
    if (own) return own;
    try {
      return (await signedInStore.get()) || "";
    } catch (error) {
      return "";
    }
  }

  // The patient's pages kept for offline use (sw.js) go.
  function dropKeptPages() {
    if (!("caches" in window)) return Promise.resolve();
    return caches.keys().then((names) => Promise.all(
      names.filter((name) => name.startsWith("aftercare-pages-")).map((name) => caches.delete(name))
    ));
  }

  // Remember whose pages these are, from a page that says so. On a page where no one is
  // signed in, or someone is signing in (a sign-in link's pages, /l/ and /sign-in/), what the
  // phone kept of the last patient goes: whose the pages were, and their pages kept for
  // offline use (home and the warning signs, their form for them), so that the next
  // patient's are never taken for theirs.
  function noteWhoIsSignedIn() {
    const own = ownPatient();
    const signingIn = /^\/(l|sign-in)\//.test(location.pathname);
    let done;
    if (!signedIn() || signingIn) {
      done = Promise.all([signedInStore.forget(), dropKeptPages()]);
    } else if (own) {
      done = signedInStore.put(own);
    }
    return Promise.resolve(done).catch(() => {});
  }

  // Dates -------------------------------------------------------------------------

  // The phone's calendar date in `timeZone` (an IANA name), as YYYY-MM-DD (en-CA writes
  // dates so); "" for a zone this browser does not know.
  function localDate(timeZone) {
    try {
      return new Intl.DateTimeFormat("en-CA", {
        timeZone: timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      }).format(new Date());
    } catch (error) {
      return "";
    }
  }

  function daysBetween(from, to) {
    return Math.round((Date.parse(to + "T00:00:00Z") - Date.parse(from + "T00:00:00Z")) / 86400000);
  }

  // "Thursday 26 November", as the server writes a day ("l j F").
  function dayName(isoDate) {
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: "UTC", weekday: "long", day: "numeric", month: "long",
    }).format(new Date(isoDate + "T12:00:00Z"));
  }

  // The day a check-in made on this form now is for: for today's check-in (data-for-today),
  // the phone's date in the patient's time zone; "" to keep the form's own date (yesterday's
  // check-in is for yesterday, and a page without the zone predates it).
  function phoneToday(form, contact) {
    if (!form.hasAttribute("data-for-today") || !contact || !contact.time_zone) return "";
    return localDate(contact.time_zone);
  }

  // Offline, today's check-in page may be a copy kept from an earlier day: say which day it
  // is now, and clear the answers the copy carried from that day (they are not today's).
  function redateKeptPage(form, contact) {
    const field = form.querySelector("input[name=date]");
    const today = phoneToday(form, contact);
    if (!field || !today || !field.value || today === field.value) return;
    const day = Number(form.dataset.day) + daysBetween(field.value, today);
    const heading = document.getElementById("check-in-heading");
    if (heading && Number.isFinite(day)) heading.textContent = "Today, day " + day;
    const date = document.getElementById("check-in-date");  // "<day>, after your treatment on …"
    if (date) date.textContent = dayName(today) + date.textContent.slice(date.textContent.indexOf(","));
    field.value = today;
    form.dataset.day = String(day);
    for (const input of form.querySelectorAll("input[type=radio]:checked")) input.checked = false;
    for (const note of form.querySelectorAll("textarea")) note.value = "";
  }

  // Notices -------------------------------------------------------------------------

  function noticeNode(notice) {
    if (notice.kind !== "refused") {
      const node = element("div", {class: "notice outbox-sent", role: "status", "data-notice": notice.id});
      const line = element("p", {}, notice.text);
      if (notice.link) {
        line.append(" ");
        line.append(element("a", {href: notice.link}, "See what to do"));
      }
      node.append(line);
      return node;
    }
    // Refused: an alert, kept until the patient says they have read it.
    const node = element("div", {
      class: "notice outbox-refused", role: "alert", tabindex: "-1", "data-notice": notice.id,
    });
    node.append(element("p", {}, notice.text));
    const read = element("button", {type: "button", class: "button secondary"}, "I've read this");
    read.addEventListener("click", async () => {
      try {
        await notices.remove(notice.id);
      } catch (error) {
        return;  // still kept: it will show again, as it should
      }
      const next = node.parentNode.querySelector(".outbox-refused:not([data-notice=\"" + notice.id + "\"]) button")
        || document.getElementById("main");
      node.remove();
      next.focus({preventScroll: true});
    });
    node.append(read);
    return node;
  }

  // Show what became of the check-ins kept on this phone, to their patient only (a page whose
  // patient is not known shows those without one). "Sent" notices show once; "refused"
  // ones on every page until dismissed. A notice about the check-in this page kept takes
  // the place of its "Saved on this phone — it will be sent" message.
  async function showNotices() {
    const main = document.getElementById("main");
    if (!main || !signedIn()) return;
    let list;
    let patient;
    try {
      [list, patient] = await Promise.all([notices.all(), pagePatient()]);
    } catch (error) {
      return;
    }
    for (const notice of list) {
      if (notice.owner && notice.owner !== patient) continue;  // someone else's: kept for them
      if (main.querySelector("[data-notice=\"" + notice.id + "\"]")) continue;  // shown already
      const node = noticeNode(notice);
      const saved = notice.key && Array.from(main.querySelectorAll(".offline-saved"))
        .find((section) => section.dataset.key === notice.key);
      if (saved) {
        const hadFocus = saved.contains(document.activeElement);
        const back = saved.querySelector("a");
        saved.replaceWith(node);
        if (back) node.after(back);
        if (hadFocus) node.focus();
      } else {
        let region = document.getElementById("outbox-notices");
        if (!region) {
          region = element("div", {id: "outbox-notices", class: "outbox-notices"});
          main.prepend(region);
        }
        region.append(node);
      }
      if (notice.kind !== "refused") await notices.remove(notice.id).catch(() => {});
    }
  }

  // Send this page's patient's check-ins (not knowing whose the page is, all of them: the
  // server refuses someone else's). Signed out, there is no one to send them as.
  function requestSend() {
    if (!navigator.onLine || !signedIn()) return;
    pagePatient().then(sendQueued).then((sent) => {
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

  // What to do now, for the warning signs in `yes`: the headline and the numbers to call,
  // added to `section` (headed by `headingId`).
  function appendCallNumbers(section, contact, yes, headingId) {
    if (yes.some((code) => contact.emergency_flags.includes(code))) {
      // Eyesight, stroke, allergy: the emergency number's words first and largest.
      const headline = element("h2", {id: headingId, class: "emergency-headline"});
      headline.append(element("a", {class: "button call emergency", href: contact.emergency_uri},
        contact.call_emergency));
      section.append(headline);
      section.append(element("p", {class: "then"}, "Then: " + contact.urgent_headline + "."));
    } else {
      section.append(element("h2", {id: headingId}, contact.urgent_headline));
    }
    section.append(element("a", {class: "button call", href: contact.phone_uri}, contact.call_clinic));
    if (contact.hours_line) section.append(element("p", {class: "hours"}, contact.hours_line));
    if (contact.call_after_hours) {
      section.append(element("a", {class: "button call secondary", href: contact.after_hours_uri},
        contact.call_after_hours));
    }
  }

  function urgentSection(kind, headingId) {
    return element("section", {
      class: "guidance status-urgent " + kind,
      "aria-labelledby": headingId,
    });
  }

  // A check-in kept on the phone with warning signs: the result page's urgent words, the
  // status, the numbers to call and what "you told us".
  function keptUrgentSection(contact, yes) {
    const section = urgentSection("offline-urgent", "offline-urgent-heading");
    const tag = element("p", {class: "status-tag"});
    tag.append(element("span", {class: "status-icon", "aria-hidden": "true"}));
    tag.append(contact.status_label);
    section.append(tag);
    appendCallNumbers(section, contact, yes, "offline-urgent-heading");
    const lines = element("ul", {class: "guidance-lines"});
    for (const code of yes) lines.append(element("li", {}, contact.flag_lines[code]));
    section.append(lines);
    return section;
  }

  // On the check-in form, as soon as a sign is ticked and before it is sent: the numbers to
  // call, without the status and what "you told us" (nothing is told yet), so that all of
  // it fits the screen.
  function tickedUrgentSection(contact, yes) {
    const section = urgentSection("sign-urgent", "sign-guidance-heading");
    appendCallNumbers(section, contact, yes, "sign-guidance-heading");
    return section;
  }

  async function saveOffline(form) {
    if (form.dataset.offlineSaving) return;
    const contact = (await clinicContact()) || {};
    const data = new FormData(form);
    const yes = (contact.red_flags || []).filter((code) => data.get(code) === "yes");
    const flagsAnswered = data.get("no_warning_signs") ||
      (contact.red_flags || []).every((code) => data.get(code));
    const missing = (contact.questions || []).filter((name) => !data.get(name));
    if (!flagsAnswered) missing.push("no_warning_signs");
    if (!yes.length && missing.length) {
      // As the server would: every question needs an answer unless a warning sign is a yes.
      const first = form.querySelector("input[name=\"" + missing[0] + "\"]");
      if (first) first.focus();
      return;
    }
    form.dataset.offlineSaving = "true";
    // For the day the patient answers it (today's check-in, by the phone's clock), and when.
    const date = phoneToday(form, contact) || data.get("date");
    const fields = Array.from(data.entries())
      .filter(([name, value]) => typeof value === "string" && name !== "answered_at")
      .map(([name, value]) => [name, name === "date" ? date : value]);
    fields.push(["answered_at", new Date().toISOString()]);
    const action = new URL(form.action, location.href);
    const key = data.get("idempotency_key");
    await outbox.add({
      fields: fields,
      action: action.origin === location.origin ? action.pathname : "/check-in/",
      key: key,
      owner: data.get("for_patient") || "",
      date: date,
      savedAt: new Date().toISOString(),
    });

    const state = document.getElementById("offline-state") || element("div", {id: "offline-state"});
    state.replaceChildren();
    if (yes.length && contact.urgent_headline) {
      state.append(keptUrgentSection(contact, yes));
    }
    const saved = element("section", {
      class: "notice offline-saved",
      "aria-labelledby": "offline-saved-heading",
      tabindex: "-1",
      "data-key": key || "",
    });
    saved.append(element("h2", {id: "offline-saved-heading"}, "Saved on this phone"));
    saved.append(element("p", {role: "status"}, contact.saved ||
      "Saved on this phone — it will be sent when you are back online"));
    saved.append(element("a", {class: "button secondary", href: "/"}, "Back to home"));
    state.append(saved);
    // At the top of the page, above its heading: what to do comes first, on the first
    // screen of a small phone (the after-hours number included).
    const main = document.getElementById("main");
    if (!state.parentNode || state.parentNode !== main) (main || form.parentNode).prepend(state);
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

  // The patient's check-in form, quicker to answer: "all six None" in one tap, "None of
  // these" exclusive of the warning signs, and what to do shown at once (with "Send now")
  // as soon as a sign is ticked. Without JavaScript the form works the same, in more taps.
  function enhanceCheckInForm(form) {
    const allNone = form.querySelector("[data-all-none]");
    if (allNone) {
      allNone.hidden = false;
      allNone.addEventListener("click", () => {
        for (const none of form.querySelectorAll(".rating input[type=radio][value=\"0\"]")) {
          none.checked = true;
        }
        form.dataset.dirty = "true";
      });
    }
    const noneOfThese = form.querySelector("[data-none-of-these]");
    const signs = Array.from(form.querySelectorAll(".sign input[type=checkbox]"))
      .filter((box) => box !== noneOfThese);
    const guidance = form.querySelector("#sign-guidance");
    if (!noneOfThese || !guidance) return;
    const showGuidance = async (scroll) => {
      const yes = signs.filter((box) => box.checked).map((box) => box.name);
      const contact = yes.length ? await clinicContact() : null;
      guidance.replaceChildren();
      if (!contact || !contact.urgent_headline) return;
      const section = tickedUrgentSection(contact, yes);
      section.append(element("p", {class: "then"}, contact.send_now_line));
      // "Something feels wrong" has its "Send now" on screen already, under the signs.
      if (!form.querySelector(".send-now-bar")) {
        section.append(element("button", {type: "submit", class: "button primary"}, "Send now"));
      }
      guidance.append(section);
      if (scroll) guidance.scrollIntoView({block: "nearest"});
    };
    noneOfThese.addEventListener("change", () => {
      if (!noneOfThese.checked) return;
      for (const box of signs) box.checked = false;
      showGuidance(false);
    });
    for (const box of signs) {
      box.addEventListener("change", () => {
        if (box.checked) noneOfThese.checked = false;
        showGuidance(box.checked);
      });
    }
    if (signs.some((box) => box.checked)) showGuidance(false);
  }

  function setUpCheckInForm() {
    const form = document.querySelector("form.check-in-form");
    if (!form || form.dataset.offlineReady) return;
    form.dataset.offlineReady = "true";
    enhanceCheckInForm(form);
    // A key made on this phone for this page's submission (a page kept for offline
    // use carries the key of its last download, which may have been used).
    const key = form.querySelector("input[name=idempotency_key]");
    if (key) key.value = newKey();
    clinicContact().then((contact) => {
      if (!contact) return undefined;
      if (!navigator.onLine) redateKeptPage(form, contact);
      return contactStore.put(contact);
    }).catch(() => {});
    form.addEventListener("input", () => {
      form.dataset.dirty = "true";
    });
  }

  // Once signed in, ask the service worker (once a page) to keep what the warning-sign
  // path needs offline: home, "Something feels wrong" and the clinic's numbers.
  let keepAsked = false;
  function askToKeepOfflinePages() {
    if (keepAsked || !signedIn() || !navigator.onLine || !("serviceWorker" in navigator)) return;
    keepAsked = true;
    navigator.serviceWorker.ready.then((registration) => {
      if (registration.active) registration.active.postMessage("keep-offline-pages");
    }).catch(() => {});
  }

  function offlineMessage() {
    const main = document.getElementById("main");
    if (!main || document.getElementById("offline-message")) return;
    main.prepend(element("p", {id: "offline-message", class: "notice", role: "alert"},
      "You are offline. This needs a connection: please try again when you are back online."));
  }

  // The patient's check-in is sent from here, not by the browser's own form submission,
  // so that nothing is lost when the connection fails: offline, or when the request gets
  // no answer, or a server error, it is kept on the phone (its key makes a resend safe).
  // A check-in saved goes to its result; any other answer (the form with its errors, a
  // refusal) takes the place of the page, as the browser would show it.
  async function sendCheckIn(form) {
    if (form.dataset.sending) return;
    form.dataset.sending = "true";
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
      });
    } catch (error) {
      delete form.dataset.sending;
      saveOffline(form);
      return;
    }
    delete form.dataset.sending;
    if (response.status >= 500) {
      saveOffline(form);
      return;
    }
    // Redirected (saved: its result): shown under its own address, as a new page.
    showAnswer(await response.text(), response.redirected ? response.url : null);
  }

  function showAnswer(html, newUrl) {
    const answer = new DOMParser().parseFromString(html, "text/html");
    document.title = answer.title;
    document.body.replaceWith(document.adoptNode(answer.body));
    if (newUrl) {
      history.pushState({aftercare: true}, "", newUrl);
      shownInPlace = true;
    }
    window.scrollTo(0, 0);
    const summary = document.querySelector(".error-summary, [role=alert]");
    if (summary) {
      summary.setAttribute("tabindex", "-1");
      summary.focus({preventScroll: true});
    }
    start();
  }

  // The check-in: sent from here (above), or kept on the phone when offline. Any other form
  // offline (reminders, a new link) needs the connection: the page says so.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.classList.contains("check-in-form")) {
      event.preventDefault();
      if (navigator.onLine) {
        sendCheckIn(form);
      } else {
        saveOffline(form);
      }
    } else if (!navigator.onLine && !form.classList.contains("sign-out")) {
      event.preventDefault();
      offlineMessage();
    }
  }, true);

  // Signing out: the patient's pages kept for offline use go, and whose they were (offline,
  // the sign-out cannot reach the server, and the patient is still signed in: they stay).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("sign-out") && navigator.onLine) {
      Promise.all([signedInStore.forget(), dropKeptPages()]).catch(() => {});
    }
  }, true);

  window.addEventListener("online", requestSend);
  // Back from a result shown in place (above): the page of that address, loaded afresh.
  let shownInPlace = false;
  window.addEventListener("popstate", () => {
    if (shownInPlace) location.reload();
  });

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
    // A page whose navigation began before the worker was active (the first page after
    // signing in, often) is not controlled by it: ask it to take this page too.
    navigator.serviceWorker.ready.then((registration) => {
      if (!navigator.serviceWorker.controller && registration.active) {
        registration.active.postMessage("claim");
      }
    }).catch(() => {});
  }

  function start() {
    setUpCheckInForm();
    noteWhoIsSignedIn().then(() => {
      showNotices();
      requestSend();
    });
    askToKeepOfflinePages();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})(self);
