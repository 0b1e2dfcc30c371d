// Workshop pages. Without this script everything still works: Move up / Move down are form
// posts. With it, moves happen in place (buttons, Alt+ArrowUp/Down on a focused item, or drag
// and drop) and the whole new order is saved with one POST carrying the CSRF token.
(function () {
  "use strict";

  // The print view's "Print" button (no inline handlers: the page's CSP forbids them).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var list = document.querySelector("[data-agenda-editor]");
  if (!list || !window.fetch) { return; }
  var status = document.querySelector("[data-agenda-status]");
  var saving = Promise.resolve();
  var dragged = null;
  var orderBeforeDrag = "";

  function items() {
    return Array.prototype.slice.call(list.querySelectorAll(":scope > .agenda-item"));
  }

  function order() {
    return items().map(function (item) { return item.dataset.itemId; });
  }

  function announce(text) {
    if (status) { status.textContent = text; }
  }

  function titleOf(item) {  // the item is labelled by its title's link
    var title = document.getElementById(item.getAttribute("aria-labelledby"));
    return title ? title.textContent.trim() : "";
  }

  function announceMove(item) {
    var all = items();
    announce(list.dataset.movedMessage
      .replace("{title}", titleOf(item))
      .replace("{position}", String(all.indexOf(item) + 1))
      .replace("{total}", String(all.length)));
  }

  function failed() {
    status.setAttribute("role", "alert");
    announce(list.dataset.failedMessage);
    status.classList.remove("visually-hidden");
    status.classList.add("form-error");
  }

  // Saves run one after another, so the server always ends with the latest order.
  function save() {
    var body = new URLSearchParams();
    order().forEach(function (id) { body.append("item_ids", id); });
    saving = saving.then(function () {
      return fetch(list.dataset.orderUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": list.dataset.csrf, "Accept": "application/json" },
        body: body
      }).then(function (response) {
        if (!response.ok) { failed(); }
      }, failed);
    });
  }

  // Moves an item one place; `focusTarget` gets the focus back (moving a node drops it).
  function move(item, direction, focusTarget) {
    var all = items();
    var index = all.indexOf(item);
    var target = index + (direction === "up" ? -1 : 1);
    if (target < 0 || target >= all.length) {
      announceMove(item);
      return;
    }
    if (direction === "up") {
      list.insertBefore(item, all[target]);
    } else {
      list.insertBefore(item, all[target].nextSibling);
    }
    (focusTarget || item).focus();
    announceMove(item);
    save();
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-move]");
    if (!button) { return; }
    event.preventDefault();
    move(button.closest(".agenda-item"), button.dataset.move, button);
  });

  list.addEventListener("keydown", function (event) {
    var item = event.target;
    if (!item.classList || !item.classList.contains("agenda-item") || !event.altKey) { return; }
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      move(item, event.key === "ArrowUp" ? "up" : "down");
    }
  });

  // Drag and drop: the handle starts the drag, the item follows the pointer over the list.
  list.addEventListener("dragstart", function (event) {
    if (!event.target.classList || !event.target.classList.contains("drag-handle")) { return; }
    dragged = event.target.closest(".agenda-item");
    orderBeforeDrag = order().join(",");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.itemId);
    event.dataTransfer.setDragImage(dragged, 16, 16);
  });

  list.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var over = event.target.closest && event.target.closest(".agenda-item");
    if (!over || over === dragged) { return; }
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });

  list.addEventListener("drop", function (event) {
    if (dragged) { event.preventDefault(); }
  });

  list.addEventListener("dragend", function () {
    if (!dragged) { return; }
    var item = dragged;
    dragged = null;
    item.classList.remove("dragging");
    if (order().join(",") !== orderBeforeDrag) {
      item.focus();
      announceMove(item);
      save();
    }
  });
})();
