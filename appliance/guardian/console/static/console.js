// Live progress of the running operation, shared by every open tab (it polls the daemon).
(function () {
  var box = document.getElementById("job");
  if (!box) { return; }
  function show(data) {
    var current = data.current, last = data.last;
    if (current) {
      var mb = (current.bytes / 1e6).toFixed(1);
      box.textContent = "En cours : " + current.name + " — " + current.step + (current.bytes ? " — " + mb + " Mo" : "") +
        (current.dossiers ? " — " + current.dossiers + " dossiers" : "");
      box.setAttribute("data-state", "running");
    } else if (last) {
      box.textContent = "Dernière opération : " + last.name + " — " + (last.ok ? "réussie" : "échec") + " : " + last.message;
      box.setAttribute("data-state", last.ok ? "done" : "failed");
    }
  }
  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function () {})
      .finally(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
