// Shows each password rule as met or not while the person types. The
// server checks them all again (and the list of common passwords, which
// is not sent to the browser); the form works without this script.
(function () {
  var input = document.getElementById("password");
  if (!input) return;
  var min = parseInt(input.dataset.min, 10) || 0;
  var classes = input.dataset.classes === "true";
  var user = (input.dataset.user || "").toLowerCase().split("@")[0];
  function mark(id, met) {
    var li = document.querySelector('#rules [data-rule="' + id + '"]');
    if (li) li.className = met ? "met" : "unmet";
  }
  input.addEventListener("input", function () {
    var p = input.value;
    mark("length", Array.from(p).length >= min);
    if (classes) {
      mark("classes", /\p{Lu}/u.test(p) && /\p{Ll}/u.test(p) && /[0-9]/.test(p) && /[^\p{L}\p{N}]/u.test(p));
    }
    mark("not-username", user.length < 3 || p.toLowerCase().indexOf(user) < 0);
  });
})();
