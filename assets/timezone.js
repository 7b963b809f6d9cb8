// The reader's time zone, so the server can show times in it (read by pages/_shell.py: user_zone).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Lax";
  } catch (e) {
    /* older browsers: times stay in UTC */
  }
})();
