/* Only an improvement: every form works without this file (plain post, redirect, new page).
   With it, a tap sends the form in the background, swaps in the new page and scrolls to
   the new question. Written for old phone browsers: ES5, XMLHttpRequest, no libraries. */
(function () {
  "use strict";
  if (!window.XMLHttpRequest || !window.DOMParser || !document.addEventListener) {
    return;
  }
  var busy = false;

  function encode(form) {
    var parts = [];
    for (var i = 0; i < form.elements.length; i++) {
      var el = form.elements[i];
      if (!el.name || el.disabled) { continue; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { continue; }
      if (el.type === "submit" || el.type === "button") { continue; }
      parts.push(encodeURIComponent(el.name) + "=" + encodeURIComponent(el.value));
    }
    return parts.join("&").replace(/%20/g, "+");
  }

  function show(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    if (!doc || !doc.body || !doc.getElementById("chat")) { return false; }
    document.title = doc.title;
    document.documentElement.setAttribute("lang", doc.documentElement.getAttribute("lang") || "");
    document.body.innerHTML = doc.body.innerHTML;
    var now = document.getElementById("now");
    var header = document.querySelector ? document.querySelector(".top") : null;
    if (now && window.scrollTo) {
      /* the start of this turn (what was said, then the reply) just under the sticky header */
      var offset = header ? header.offsetHeight + 8 : 0;
      window.scrollTo(0, Math.max(0, now.getBoundingClientRect().top + window.pageYOffset - offset));
    }
    var answer = document.getElementById("answer");
    if (answer && answer.focus) { answer.focus(); }
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.method.toLowerCase() !== "post") { return; }
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    document.body.className = "busy";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action") || "/", true);
    xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      busy = false;
      document.body.className = "";
      if (!xhr.status || !show(xhr.responseText)) {
        form.submit();  /* the network or the page failed: fall back to a plain post */
      }
    };
    xhr.send(encode(form));
  }, false);
}());
