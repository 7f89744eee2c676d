// The queue learns of new and updated cases while it is open (Server-Sent Events from
// /app/events). It never reshuffles the rows an officer is reading: it shows a notice
// ("3 new or updated cases — show") and marks rows already on the page that changed.
// Without JavaScript the queue works the same; reloading shows the news.
"use strict";

(function () {
  const section = document.getElementById("queue");
  const news = document.getElementById("queue-news");
  if (!section || !news || !section.dataset.events || !("EventSource" in window)) {
    return;
  }
  const text = news.querySelector(".queue-news-text");
  const title = document.title;
  const changed = new Set(); // case ids: a case updated twice counts once

  const source = new EventSource(section.dataset.events);
  source.addEventListener("case", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!Number.isInteger(data.id)) {
      return;
    }
    changed.add(data.id);
    const n = changed.size;
    text.textContent = `${n} new or updated case${n === 1 ? "" : "s"} —`;
    news.hidden = false;
    document.title = `(${n}) ${title}`;
    const row = section.querySelector(`tr[data-case="${data.id}"]`);
    if (row) {
      row.classList.add("queue-changed");
    }
  });
  // A stream that ended for good (signed out: the server answers with the sign-in page).
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      news.hidden = false;
      text.textContent = "Live updates stopped. Reload to see the latest cases —";
    }
  });
  window.addEventListener("pagehide", () => source.close());
})();
