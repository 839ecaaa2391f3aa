// Progressive enhancements only: every page works without JavaScript.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copy);
  if (target && navigator.clipboard) {
    navigator.clipboard.writeText(target.value || target.textContent).then(() => {
      button.dataset.originalLabel ??= button.textContent;
      button.textContent = button.dataset.copiedLabel || "✓";
      setTimeout(() => { button.textContent = button.dataset.originalLabel; }, 1500);
    });
  }
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
