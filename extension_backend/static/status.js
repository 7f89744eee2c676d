// The status link carries the receipt token after '#', which browsers never send to a
// server. Move it into the form and post it, then drop it from the address bar.
(function () {
  var match = /(?:^#|&)receipt=([^&]+)/.exec(window.location.hash);
  var form = document.getElementById("receipt-form");
  if (!match || !form) return;
  history.replaceState(null, "", window.location.pathname);
  document.getElementById("receipt").value = decodeURIComponent(match[1]);
  form.submit();
})();
