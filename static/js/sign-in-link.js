// Aftercare: the page a sign-in link opens (/l/#token). Vendored, no dependencies.
// The token is the link's fragment, which browsers never send to the server nor put in a
// Referer. Take it out of the address bar at once (and so out of the history), put it in
// the form's hidden "token" field, and hide the field for pasting the link: only a phone
// without JavaScript, or a link that lost its fragment, needs that. Pressing "Sign in"
// posts the token; nothing is sent before.
(function () {
  "use strict";
  var token = location.hash.slice(1);
  if (!token) return;
  history.replaceState(history.state, "", location.pathname + location.search);
  var form = document.getElementById("sign-in-link-form");
  if (!form) return;
  form.elements.namedItem("token").value = token;
  var paste = document.getElementById("paste-link");
  if (paste) paste.hidden = true;
})();
