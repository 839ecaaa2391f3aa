// Registration form: show only the fields that apply to the chosen type of organisation.
// Without JavaScript every field stays visible and the server ignores the ones that do not apply.
(function () {
  "use strict";
  var form = document.getElementById("register-form");
  if (!form) { return; }
  function update() {
    var checked = form.querySelector('input[name="org_kind"]:checked');
    var kind = checked ? checked.value : "enterprise";
    form.querySelectorAll("[data-org-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-org-kind") !== kind;
    });
  }
  form.querySelectorAll('input[name="org_kind"]').forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
