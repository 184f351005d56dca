// The staff queue and a live conversation. Everything a worker wrote is put
// on the page with textContent, never as HTML.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  // The page's words in the staff member's language, put there by the
  // server as JSON (#console-texts); English when a word has no translation.
  const textsNode = document.getElementById("console-texts");
  const PAGE = textsNode ? JSON.parse(textsNode.textContent) : { words: {}, labels: {} };
  const TEXTS = PAGE.words;
  // Codes (a case's status and kind, who has the worker, a language, ...)
  // by their word, from bot/labels.py.
  function label(kind, code) {
    const words = PAGE.labels[kind] || {};
    return words[code] || String(code || "").replace(/_/g, " ");
  }
  function t(message, values) {
    const text = TEXTS[message] || message;
    if (!values) return text;
    return text.replace(/%\((\w+)\)s/g, function (slot, name) {
      return name in values ? String(values[name]) : slot;
    });
  }
  // Standing in for a name or a reason the server did not give.
  const STAFF = t("staff");
  const REFUSED = t("refused");

  async function call(method, url, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["X-CSRF-Token"] = csrf;
    }
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) {
      window.location.assign("/console/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("signed out");
    }
    if (!response.ok) {
      let detail = t("Something went wrong (%(status)s).", { status: response.status });
      try {
        detail = (await response.json()).detail || detail;
      } catch (ignored) { /* not JSON */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return response.status === 204 ? null : response.json();
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function when(iso) {
    if (!iso) return "";
    // In the console's language, which may differ from the browser's; where
    // the browser has no calendar data for it, day/month/year in English.
    return new Date(iso).toLocaleString([document.documentElement.lang || "en", "en-GB"]);
  }

  // -- sound: browsers only play after the person asked for it -------------
  let audio = null;
  function beep() {
    if (!audio) return;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = 880;
    gain.gain.value = 0.2;
    oscillator.connect(gain);
    gain.connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.6);
  }
  const soundToggle = document.getElementById("sound-toggle");
  if (soundToggle) {
    soundToggle.addEventListener("click", function () {
      if (audio) {
        audio.close();
        audio = null;
        soundToggle.textContent = t("Turn on alert sound");
        soundToggle.setAttribute("aria-pressed", "false");
      } else {
        audio = new (window.AudioContext || window.webkitAudioContext)();
        soundToggle.textContent = t("Turn off alert sound");
        soundToggle.setAttribute("aria-pressed", "true");
        beep();
      }
    });
  }

  // Events missed while disconnected are not replayed: each (re)connection
  // reloads what the page shows.
  function live(onEvent, onOpen) {
    const state = document.getElementById("live-state");
    const source = new EventSource("/api/handoff/events");
    source.onopen = function () {
      if (state) state.textContent = t("Live");
      document.body.dataset.live = "1";
      onOpen();
    };
    source.onerror = function () {
      if (state) state.textContent = t("Reconnecting…");
    };
    const kinds = ["queued", "claimed", "message", "note", "closed", "overdue", "failed", "retried", "burst"];
    kinds.concat(["delivered", "waiting"]).forEach(
      function (kind) {
        source.addEventListener(kind, function (event) {
          onEvent(JSON.parse(event.data));
        });
      }
    );
    return source;
  }

  function attachmentNode(attachment) {
    if (attachment.content_type.startsWith("image/")) {
      const img = element("img");
      img.src = attachment.url;
      img.alt = t("Photo from the worker");
      return img;
    }
    if (attachment.content_type.startsWith("audio/")) {
      const player = element("audio");
      player.controls = true;
      player.src = attachment.url;
      return player;
    }
    if (attachment.content_type.startsWith("video/")) {
      const player = element("video");
      player.controls = true;
      player.src = attachment.url;
      return player;
    }
    const link = element("a", "", t("Download file (%(type)s)", { type: attachment.content_type }));
    link.href = attachment.url;
    return link;
  }

  function locationNode(location) {
    const box = element("div", "location");
    if (!location) {
      box.textContent = t("Location shared (not kept)");
      return box;
    }
    const lat = Number(location.latitude);
    const lon = Number(location.longitude);
    box.appendChild(element("span", "", t("Location: %(latitude)s, %(longitude)s", { latitude: lat.toFixed(5), longitude: lon.toFixed(5) }) + " "));
    const link = element("a", "", "map");
    link.href = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=16/" + lat + "/" + lon;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    box.appendChild(link);
    if (location.address) box.appendChild(element("div", "meta", location.address));
    return box;
  }

  // -- the queue -------------------------------------------------------------
  const queueList = document.getElementById("queue");
  if (queueList) {
    const staffId = Number(queueList.dataset.staffId);
    const alertBox = document.getElementById("alert");
    const empty = document.getElementById("queue-empty");

    function card(item) {
      const li = element("li", "card");
      li.dataset.conversationId = item.conversation_id;
      if (item.emergency && !item.grouped) li.classList.add("emergency");
      if (item.overdue) li.classList.add("overdue");
      const title = element("h2");
      const link = element("a", "", t("Conversation %(number)s", { number: item.conversation_id }));
      link.href = "/console/conversations/" + item.conversation_id;
      title.appendChild(link);
      li.appendChild(title);
      const badges = element("div");
      if (item.emergency) badges.appendChild(element("span", "badge danger", t("EMERGENCY")));
      if (item.grouped) {
        badges.appendChild(document.createTextNode(" "));
        badges.appendChild(element("span", "badge", t("part of a burst on the web chat")));
      }
      badges.appendChild(document.createTextNode(" "));
      badges.appendChild(element("span", "badge", item.reason ? label("reason", item.reason) : ""));
      badges.appendChild(document.createTextNode(" "));
      badges.appendChild(element("span", "badge language", label("language", item.language)));
      badges.appendChild(document.createTextNode(" "));
      badges.appendChild(element("span", "badge", item.channel));
      if (item.overdue) badges.appendChild(element("span", "badge danger", t("waiting too long")));
      if (item.failed_messages) {
        badges.appendChild(element("span", "badge danger", t("%(count)s not delivered", { count: item.failed_messages })));
      }
      li.appendChild(badges);
      const meta = element("p", "meta");
      meta.textContent =
        item.owner === "queued"
          ? t("Waiting since %(time)s", { time: when(item.escalated_at) })
          : t("With %(name)s", { name: item.claimed_by_name || STAFF });
      li.appendChild(meta);
      if (item.intents && item.intents.length) {
        li.appendChild(element("p", "meta", t("Asked about: %(topics)s", { topics: item.intents.map(function (i) { return label("intent", i); }).join(", ") })));
      }
      if (item.case) {
        const c = item.case;
        let text = t("Report %(reference)s: %(kind)s", { reference: c.reference || "", kind: label("kind", c.kind) });
        if (c.indicators.length) text += " · " + t("indicators: %(list)s", { list: c.indicators.map(function (i) { return label("indicator", i); }).join(", ") });
        li.appendChild(element("p", "meta", text));
      }
      const last = element("ul", "last");
      item.last_messages.forEach(function (m) {
        const who = m.direction === "inbound" ? t("Worker") : m.staff_name || t("Hotline");
        last.appendChild(element("li", "", who + ": " + (m.text || "[" + m.kind + "]")));
      });
      li.appendChild(last);
      const row = element("div", "actions-row");
      if (item.owner === "queued") {
        const claim = element("button", "", t("Claim"));
        claim.type = "button";
        claim.addEventListener("click", async function () {
          claim.disabled = true;
          try {
            await call("POST", "/api/handoff/conversations/" + item.conversation_id + "/claim");
            window.location.assign("/console/conversations/" + item.conversation_id);
          } catch (error) {
            row.appendChild(element("span", "error", error.message));
            refresh();
          }
        });
        row.appendChild(claim);
      } else if (item.claimed_by === staffId) {
        const open = element("a", "button", t("Open"));
        open.href = "/console/conversations/" + item.conversation_id;
        row.appendChild(open);
      }
      li.appendChild(row);
      return li;
    }

    let loading = null;
    async function refresh() {
      if (loading) return loading;
      loading = (async function () {
        try {
          const items = await call("GET", "/api/handoff/queue");
          queueList.replaceChildren.apply(queueList, items.map(card));
          empty.hidden = items.length > 0;
          const waiting = items.filter(function (i) { return i.owner === "queued"; });
          const urgent = waiting.filter(function (i) { return !i.grouped && (i.emergency || i.overdue); });
          const grouped = waiting.filter(function (i) { return i.grouped; });
          const lines = [];
          if (urgent.length) {
            lines.push(t("%(count)s urgent: someone in danger or waiting too long.", { count: urgent.length }));
          }
          if (grouped.length) {
            // Anonymous emergencies that came in a burst: each worker had
            // the emergency numbers; they wait together after the others.
            lines.push(t("%(count)s emergencies from a burst on the web chat, listed after the other emergencies.", { count: grouped.length }));
          }
          alertBox.textContent = lines.join(" ");
          alertBox.hidden = lines.length === 0;
        } finally {
          loading = null;
        }
      })();
      return loading;
    }

    live(function (event) {
      // A reply reaching the worker changes nothing in the queue.
      if (event.kind === "delivered") return;
      // A burst is told once (its "burst" event), not with every worker in it.
      if (!event.grouped && (event.emergency || event.kind === "overdue")) {
        beep();
      }
      refresh();
    }, refresh);
  }

  // -- one conversation ------------------------------------------------------
  const root = document.getElementById("conversation");
  if (root) {
    const conversationId = Number(root.dataset.conversationId);
    const staffId = Number(root.dataset.staffId);
    const base = "/api/handoff/conversations/" + conversationId;
    const messages = document.getElementById("messages");
    const notes = document.getElementById("notes");
    const problem = document.getElementById("problem");
    const summary = document.getElementById("summary");
    let current = null;
    let closed = false;

    function showProblem(error) {
      problem.textContent = error.message;
      problem.hidden = false;
    }

    function messageNode(m) {
      const li = element("li", m.direction);
      li.dataset.messageId = m.id;
      if (m.status === "failed") li.classList.add("failed");
      const who = m.direction === "inbound" ? t("Worker") : m.staff_name || t("Hotline");
      li.appendChild(element("div", "meta", who + " · " + when(m.created_at) + " · " + label("message", m.status)));
      if (m.text) li.appendChild(element("div", "text", m.text));
      m.attachments.forEach(function (a) { li.appendChild(attachmentNode(a)); });
      if (m.kind === "location") li.appendChild(locationNode(current && current.location));
      if (m.status === "failed") {
        li.appendChild(element("div", "error", t("Not delivered: %(reason)s", { reason: m.last_error || REFUSED })));
        const retry = element("button", "secondary", t("Send again"));
        retry.type = "button";
        retry.addEventListener("click", async function () {
          retry.disabled = true;
          try {
            await call("POST", base + "/messages/" + m.id + "/retry");
            await load();
          } catch (error) {
            showProblem(error);
          }
        });
        li.appendChild(retry);
      }
      return li;
    }

    function upsertMessage(m) {
      const existing = messages.querySelector('[data-message-id="' + m.id + '"]');
      const node = messageNode(m);
      if (existing) existing.replaceWith(node);
      else messages.appendChild(node);
      node.scrollIntoView({ block: "nearest" });
    }

    function fact(term, value) {
      summary.appendChild(element("dt", "", term));
      summary.appendChild(element("dd", "", value));
    }

    function render(data) {
      current = data;
      const c = data.conversation;
      summary.replaceChildren();
      fact(t("Language"), label("language", c.language));
      fact(t("Channel"), c.channel);
      fact(t("State"), c.owner === "staff" ? t("With %(name)s", { name: c.claimed_by_name || STAFF }) : label("owner", c.owner));
      if (c.reason) fact(t("Why"), (c.emergency ? t("EMERGENCY") + " · " : "") + label("reason", c.reason));
      if (c.intents) fact(t("Asked about"), c.intents.map(function (i) { return label("intent", i); }).join(", ") || "—");
      if (c.case) {
        fact(t("Report"), (c.case.reference || "") + " " + label("kind", c.case.kind) + " (" + label("status", c.case.status) + ")");
        Object.keys(c.case.answers).forEach(function (key) {
          fact(label("answer", key), String(c.case.answers[key]));
        });
        const contact = c.case.contact;
        if (contact) fact(label("answer", "contact"), contact.phone || label("contact", contact.by));
        if (c.case.indicators.length) fact(t("Indicators"), c.case.indicators.map(function (i) { return label("indicator", i); }).join(", "));
      }
      messages.replaceChildren.apply(messages, data.messages.map(messageNode));
      notes.replaceChildren.apply(
        notes,
        data.notes.map(function (n) {
          const li = element("li", "note");
          li.appendChild(element("div", "meta", (n.staff_name || "") + " · " + when(n.created_at)));
          li.appendChild(element("div", "text", n.text));
          return li;
        })
      );
      const mine = c.owner === "staff" && c.claimed_by === staffId;
      document.getElementById("claim-row").hidden = c.owner !== "queued";
      document.getElementById("staff-tools").hidden = !mine;
      document.getElementById("owner-tools").hidden = !mine;
      root.dataset.owner = c.owner;
    }

    // Back with the bot, the conversation is no longer an agent's to see.
    function showClosed() {
      closed = true;
      document.getElementById("claim-row").hidden = true;
      document.getElementById("staff-tools").hidden = true;
      document.getElementById("owner-tools").hidden = true;
      const notice = document.getElementById("notice");
      notice.textContent = t("Closed: the worker was told, and the bot answers them again.");
      notice.hidden = false;
    }

    async function load() {
      if (closed) return;
      try {
        render(await call("GET", base));
        problem.hidden = true;
      } catch (error) {
        showProblem(error);
      }
    }

    async function loadCanned() {
      const language = document.getElementById("canned-language").value;
      const topics = await call("GET", "/api/handoff/canned?language=" + encodeURIComponent(language));
      const box = document.getElementById("canned-topics");
      box.replaceChildren.apply(
        box,
        topics.map(function (topic) {
          const section = element("div", "topic");
          section.appendChild(element("h3", "", label("topic", topic.topic)));
          topic.replies.forEach(function (reply) {
            const button = element("button", "canned-reply", reply.text);
            button.type = "button";
            button.dataset.cannedId = reply.id;
            button.addEventListener("click", async function () {
              button.disabled = true;
              try {
                const sent = await call("POST", base + "/replies", { canned_id: reply.id });
                const message = await call("GET", base + "/messages/" + sent.id);
                upsertMessage(message);
              } catch (error) {
                showProblem(error);
              } finally {
                button.disabled = false;
              }
            });
            section.appendChild(button);
          });
          return section;
        })
      );
    }

    async function loadColleagues() {
      const select = document.getElementById("transfer-to");
      const people = await call("GET", "/api/handoff/staff");
      people.forEach(function (person) {
        if (person.id === staffId) return;
        const option = element("option", "", person.name);
        option.value = String(person.id);
        select.appendChild(option);
      });
    }

    document.getElementById("claim").addEventListener("click", async function () {
      try {
        await call("POST", base + "/claim");
      } catch (error) {
        showProblem(error);
      }
      await load();
    });

    document.getElementById("reply-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = document.getElementById("reply-text");
      try {
        const sent = await call("POST", base + "/replies", { text: box.value });
        box.value = "";
        upsertMessage(await call("GET", base + "/messages/" + sent.id));
      } catch (error) {
        showProblem(error);
      }
    });

    document.getElementById("note-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const box = document.getElementById("note-text");
      try {
        await call("POST", base + "/notes", { text: box.value });
        box.value = "";
        await load();
      } catch (error) {
        showProblem(error);
      }
    });

    document.getElementById("transfer-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const value = document.getElementById("transfer-to").value;
      try {
        await call("POST", base + "/transfer", { to_staff_id: value ? Number(value) : null });
        window.location.assign("/console/queue");
      } catch (error) {
        showProblem(error);
      }
    });

    document.getElementById("close-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      try {
        await call("POST", base + "/close", { outcome: document.getElementById("close-outcome").value });
        showClosed();
      } catch (error) {
        showProblem(error);
      }
    });

    document.getElementById("canned-language").addEventListener("change", loadCanned);

    live(async function (event) {
      if (event.conversation_id !== conversationId) return;
      if (event.kind === "closed") {
        showClosed();
        return;
      }
      const oneMessage =
        (event.kind === "message" && event.message_kind !== "location") || event.kind === "delivered";
      if (oneMessage) {
        try {
          upsertMessage(await call("GET", base + "/messages/" + event.message_id));
        } catch (error) {
          showProblem(error);
        }
      } else {
        await load();
      }
    }, function () {
      if (current) load();
    });
    load().then(loadCanned).then(loadColleagues).catch(showProblem);
  }
})();
