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
