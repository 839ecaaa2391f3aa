// Availability grid enhancement: drag with a mouse over free cells of one day to choose a start
// and an end, then open the request form prefilled. Without JavaScript (or on touch screens)
// every free cell is a plain link to the request form, so nothing depends on this file.
(() => {
  const grid = document.querySelector(".availability-grid[data-request-url]");
  if (!grid) return;

  let anchor = null; // the cell where the drag began
  let selection = [];
  let dragged = false;

  const freeCell = (element) => element && element.closest && element.closest("td.slot-free[data-start]");

  const clear = () => {
    selection.forEach((cell) => cell.classList.remove("slot-selected"));
    selection = [];
  };

  // Cells of one day between two rows, only if every one of them is free and bookable.
  const between = (a, b) => {
    if (a.dataset.day !== b.dataset.day) return null;
    const low = Math.min(Number(a.dataset.row), Number(b.dataset.row));
    const high = Math.max(Number(a.dataset.row), Number(b.dataset.row));
    const cells = [];
    for (let row = low; row <= high; row += 1) {
      const cell = grid.querySelector(`td.slot-free[data-day="${a.dataset.day}"][data-row="${row}"]`);
      if (!cell) return null;
      cells.push(cell);
    }
    return cells;
  };

  const select = (target) => {
    const cells = between(anchor, target);
    if (!cells) return;
    clear();
    selection = cells;
    selection.forEach((cell) => cell.classList.add("slot-selected"));
  };

  grid.addEventListener("pointerdown", (event) => {
    if (event.pointerType !== "mouse" || event.button !== 0) return;
    const cell = freeCell(event.target);
    if (!cell) return;
    anchor = cell;
    dragged = false;
    select(cell);
    event.preventDefault(); // no text selection or link drag while choosing
  });

  grid.addEventListener("pointermove", (event) => {
    if (!anchor) return;
    const cell = freeCell(document.elementFromPoint(event.clientX, event.clientY));
    if (cell && cell !== anchor) dragged = true;
    if (cell) select(cell);
  });

  const finish = () => {
    if (!anchor) return;
    const cells = selection.slice();
    anchor = null;
    if (!dragged || cells.length < 2) {
      clear();
      return; // a plain click: the cell's own link does the job
    }
    const first = cells[0];
    const last = cells[cells.length - 1];
    const url = new URL(grid.dataset.requestUrl, window.location.href);
    url.searchParams.set("start", first.dataset.start);
    url.searchParams.set("end", last.dataset.end);
    window.location.assign(url.toString());
  };

  document.addEventListener("pointerup", finish);
  document.addEventListener("pointercancel", () => { anchor = null; clear(); });

  // After a drag the browser may still fire a click on the link under the pointer: ignore it.
  grid.addEventListener("click", (event) => {
    if (dragged && freeCell(event.target)) {
      event.preventDefault();
      dragged = false;
    }
  });
})();
