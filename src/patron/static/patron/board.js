// Drag and drop on the opportunity board. Progressive enhancement only: every card also has
// a stage <select> and a Move button that post a plain form, so the board works without it.
(() => {
  "use strict";
  let dragged = null;

  const boardOf = (el) => el.closest("#board");
  const status = (text) => {
    const box = document.getElementById("board-status");
    if (box) box.textContent = text;
  };

  async function move(card, stageId, lostReason) {
    const board = boardOf(card);
    const body = new FormData();
    body.append("stage", stageId);
    body.append("expected_version", card.dataset.version);
    if (lostReason) body.append("lost_reason", lostReason);
    const token = board.querySelector("input[name=csrfmiddlewaretoken]").value;
    const response = await fetch(card.dataset.moveUrl, {
      method: "POST", body, credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": token },
    });
    const html = await response.text();
    if (!response.ok) {
      // 400: invalid move, 409: someone else changed the deal meanwhile.
      const doc = new DOMParser().parseFromString(html, "text/html");
      const error = doc.querySelector(".errorlist, .alert");
      status(error ? error.textContent.trim() : response.statusText);
      return;
    }
    board.outerHTML = html;
    const fresh = document.getElementById("board");
    if (window.htmx) window.htmx.process(fresh);
    status("");
    const moved = document.getElementById(card.id);
    if (moved) moved.querySelector("a")?.focus();
  }

  function askLostReason() {
    const dialog = document.getElementById("lost-dialog");
    const input = dialog.querySelector("#lost-reason");
    input.value = "";
    dialog.showModal();
    return new Promise((resolve) => {
      dialog.querySelector("[data-close]").onclick = () => dialog.close("");
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "confirm" ? input.value.trim() : null);
      }, { once: true });
    });
  }

  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest?.(".board-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.id);
  });
  document.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach((c) => c.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (event) => {
    const column = event.target.closest?.(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });
  document.addEventListener("dragleave", (event) => {
    const column = event.target.closest?.(".board-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  document.addEventListener("drop", async (event) => {
    const column = event.target.closest?.(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    dragged = null;
    if (card.closest(".board-column") === column) return;
    let reason = "";
    if (column.dataset.outcome === "lost") {
      reason = await askLostReason();
      if (!reason) return;
    }
    await move(card, column.dataset.stage, reason);
  });
})();
