// Show money and dates in the reader's own locale and time zone. The server renders
// <data class="js-money" value data-currency>, <time class="js-date|js-datetime" datetime> with a
// readable fallback; this replaces the text once, whenever such elements appear.
(function () {
  "use strict";
  var locale = navigator.languages && navigator.languages.length ? navigator.languages[0] : undefined;
  var fmt = {};
  function money(value, currency) {
    if (value === null || value === undefined || value === "") return "";
    var n = Number(value);
    if (!isFinite(n)) return String(value);
    try {
      var key = "m" + currency;
      fmt[key] = fmt[key] || new Intl.NumberFormat(locale, currency ? {style: "currency", currency: currency} : {minimumFractionDigits: 2});
      return fmt[key].format(n);
    } catch (e) {
      return n.toFixed(2) + " " + (currency || "");
    }
  }
  function day(iso) {
    if (!iso) return "";
    var p = String(iso).slice(0, 10).split("-");
    if (p.length !== 3) return String(iso);
    fmt.d = fmt.d || new Intl.DateTimeFormat(locale, {year: "numeric", month: "short", day: "numeric"});
    return fmt.d.format(new Date(Number(p[0]), Number(p[1]) - 1, Number(p[2])));
  }
  function moment(iso) {
    if (!iso) return "";
    // ISO 8601 as Date() reads it everywhere: "T" before the time (SQLite's text has a space), at most
    // milliseconds, and UTC when no zone is given (times are stored as UTC).
    var s = String(iso).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
    if (!/[zZ]|[+-]\d\d:\d\d$/.test(s)) s += "Z";
    var d = new Date(s);
    if (isNaN(d.getTime())) return String(iso);
    fmt.t = fmt.t || new Intl.DateTimeFormat(locale, {dateStyle: "medium", timeStyle: "short"});
    return fmt.t.format(d);
  }
  window.portalFormat = {money: money, day: day, moment: moment};

  var SELECTOR = ".js-money, .js-date, .js-datetime";
  function format(el) {
    var text;
    if (el.classList.contains("js-money")) text = money(el.getAttribute("value"), el.getAttribute("data-currency"));
    else if (el.classList.contains("js-date")) text = day(el.getAttribute("datetime"));
    else text = moment(el.getAttribute("datetime"));
    if (text && el.textContent !== text) el.textContent = text;  // equal text: no new mutation, no loop
  }
  function localize(node) {
    var el = node && node.nodeType === 3 ? node.parentNode : node;
    if (!el || !el.querySelectorAll) return;
    if (el.matches && el.matches(SELECTOR)) format(el);
    var nodes = el.querySelectorAll(SELECTOR);
    for (var i = 0; i < nodes.length; i++) format(nodes[i]);
  }
  function start() {
    localize(document.body);
    new MutationObserver(function (records) {
      for (var i = 0; i < records.length; i++) localize(records[i].target);
    }).observe(document.body, {childList: true, characterData: true, subtree: true, attributes: true, attributeFilter: ["value", "datetime"]});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
