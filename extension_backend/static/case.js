// The case page, enhanced: ask before the actions that are hard to undo (close, merge).
// Without JavaScript the forms post as they are; the server checks everything again.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // One press, one change: a second click while the page loads would only earn a 409.
  if (!form.closest(".case-actions")) return;
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
  }
});

// Coming back with the browser's back button restores the page from cache: enable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll(".case-actions button[type=submit]")) {
    button.disabled = false;
  }
});
