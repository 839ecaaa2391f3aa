// Catalogue enhancement: on a phone, fold the filters away unless some are in use.
// Without JavaScript they simply stay open; "Apply" submits them either way.
(() => {
  const filters = document.getElementById("filters");
  if (!filters || !window.matchMedia("(max-width: 991.98px)").matches) return;
  const inUse = filters.querySelector("select option[selected]:not([value='']):not([value='name'])")
    || filters.querySelector("input[type=radio][checked]:not([value=''])");
  if (!inUse) filters.removeAttribute("open");
})();
