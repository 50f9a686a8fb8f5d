/* Only an improvement: every form and link works without this file (plain post, redirect,
   new page). With it, a tap sends the form in the background and swaps in the new page;
   then the page scrolls to the new turn, the focus moves to what is new (the question, the
   box to type in, or the outcome: the element marked data-focus) and the live region reads
   out the replies before it. Written for old phone browsers: ES5, XMLHttpRequest, no libraries. */
(function () {
  "use strict";
  if (!window.XMLHttpRequest || !window.DOMParser || !document.addEventListener || !document.querySelector) {
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

  function barHeight() {
    var bar = document.querySelector(".top");
    return bar ? bar.offsetHeight : 0;
  }

  /* Keep focused elements and fragment targets clear of the sticky bar, whatever its height. */
  function padForBar() {
    if (document.documentElement.style) {
      document.documentElement.style.scrollPaddingTop = (barHeight() + 8) + "px";
    }
  }

  function textOf(el) {
    return (el.textContent || el.innerText || "").replace(/\s+/g, " ").replace(/^\s+|\s+$/g, "");
  }

  /* The replies of this turn that the focused element does not already describe. */
  function announce(target) {
    var region = document.getElementById("announce");
    if (!region) { return; }
    var described = " " + ((target && target.getAttribute("aria-describedby")) || "") + " ";
    var said = [];
    var replies = document.querySelectorAll("[data-announce]");
    for (var i = 0; i < replies.length; i++) {
      if (described.indexOf(" " + replies[i].id + " ") < 0) { said.push(textOf(replies[i])); }
    }
    region.textContent = "";
    if (said.length) {
      /* a moment later, so the same words said twice are read twice */
      window.setTimeout(function () { region.textContent = said.join(" "); }, 100);
    }
  }

  function land() {
    padForBar();
    var now = document.getElementById("now");
    if (now && window.scrollTo) {
      /* the start of this turn (what was said, then the reply) just under the sticky bar */
      window.scrollTo(0, Math.max(0, now.getBoundingClientRect().top + window.pageYOffset - barHeight() - 8));
    }
    var target = document.querySelector("[data-focus]");
    if (target && target.focus) {
      var box = target.getBoundingClientRect();
      if (box.top >= barHeight() && box.bottom <= (window.innerHeight || 0)) {
        target.focus({ preventScroll: true });  /* on screen: keep the turn's scroll */
      } else {
        target.focus();  /* below the fold: the browser brings it into view, clear of the bar */
      }
    }
    announce(target);
  }

  function show(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var page = document.getElementById("page");
    var next = doc && doc.getElementById("page");
    if (!page || !next || !doc.getElementById("chat")) { return false; }
    document.title = doc.title;
    document.documentElement.setAttribute("lang", doc.documentElement.getAttribute("lang") || "");
    page.innerHTML = next.innerHTML;  /* the live region stays, outside #page, so it can speak */
    land();
    return true;
  }

  function send(method, url, body, fallback) {
    if (busy) { return; }
    busy = true;
    document.body.className = "busy";
    var xhr = new XMLHttpRequest();
    xhr.open(method, url, true);
    if (body !== null) { xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded"); }
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) { return; }
      busy = false;
      document.body.className = "";
      if (!xhr.status || !show(xhr.responseText)) {
        fallback();  /* the network or the page failed: do it the plain way */
      }
    };
    xhr.send(body);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.method.toLowerCase() !== "post") { return; }
    event.preventDefault();
    send("POST", form.getAttribute("action") || "/", encode(form), function () { form.submit(); });
  }, false);

  /* Links within the chat ("Start over", "No"): fetched and swapped in like a tap. */
  document.addEventListener("click", function (event) {
    var link = event.target;
    while (link && link.nodeName !== "A") { link = link.parentNode; }
    if (!link || !link.hasAttribute("data-swap") || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    var href = link.getAttribute("href");
    send("GET", href.split("#")[0], null, function () { window.location.href = href; });
  }, false);

  document.addEventListener("DOMContentLoaded", padForBar, false);
}());
