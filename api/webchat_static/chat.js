// The web chat page. Everything the worker or the hotline wrote is put on
// the page with textContent, never as HTML.
//
// The worker is known by a cookie the hotline sets on their first message
// (HttpOnly: this script never sees it); the page only sends and asks, and
// nothing about the worker goes into a URL.
(function () {
  "use strict";
  var chat = document.querySelector(".chat");
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("text");
  var labels = JSON.parse(chat.dataset.labels);
  var isNew = chat.dataset.returning !== "1";
  // Pages before the cookie kept a worker id here; it is no longer anything.
  try { localStorage.removeItem("hotline.sender_id"); } catch (error) { /* storage off */ }

  function bubble(text, who) {
    var item = document.createElement("li");
    item.className = "bubble bubble--" + who;
    item.textContent = text;
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function buttons(list) {
    var item = document.createElement("li");
    item.className = "buttons";
    list.forEach(function (button) {
      var element = document.createElement("button");
      element.type = "button";
      element.textContent = button.title;
      element.addEventListener("click", function () {
        Array.prototype.forEach.call(item.querySelectorAll("button"), function (b) { b.disabled = true; });
        send(button.payload, button.title);
      });
      item.appendChild(element);
    });
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  function show(replies) {
    (replies || []).forEach(function (reply) {
      if (reply.text) { bubble(reply.text, "bot"); }
      if (reply.buttons && reply.buttons.length) { buttons(reply.buttons); }
    });
  }

  function send(text, shown) {
    if (shown) { bubble(shown, "worker"); }
    return fetch("/webchat/messages", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: text })
    }).then(function (response) {
      if (response.status === 429) {
        // Too many messages reach the hotline right now: this one was not
        // kept. The worker can send it again; danger still brings the
        // emergency numbers in the answer.
        return response.json().then(function (body) {
          show(body.replies);
          if (shown && !input.value) { input.value = shown; }
          throw new Error("429");
        });
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      show(body.replies);
    }).catch(function () {
      bubble(labels["webchat.offline"], "notice");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    input.value = "";
    send(text, text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Staff reply whenever they can; the page asks for what they wrote.
  var polling = false;
  function poll() {
    if (polling || document.hidden) { return; }
    polling = true;
    fetch("/webchat/messages", {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (body) {
      show(body.replies);
    }).catch(function () { /* asked again shortly */ }).then(function () {
      polling = false;
    });
  }
  window.setInterval(poll, 4000);

  if (isNew) { send("/start", null); }
})();
