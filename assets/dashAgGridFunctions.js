// Formatters the orders grid names in its columnDefs: the same locale-aware output as localize.js.
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
dagfuncs.money = function (value, currency) {
  return value === null || value === undefined ? "" : window.portalFormat.money(value, currency);
};
dagfuncs.day = function (value) {
  return value ? window.portalFormat.day(value) : "";
};
dagfuncs.moment = function (value) {
  return value ? window.portalFormat.moment(value) : "";
};
// Keyboard: Enter on any cell of an order's row opens that order (the grid keeps focus inside cells,
// so the link in the first cell alone would need a mouse).
dagfuncs.openOrderOnEnter = function (params) {
  if (params.event && params.event.key === "Enter" && params.data) {
    window.location.assign("/orders/" + encodeURIComponent(params.data.id));
  }
};
