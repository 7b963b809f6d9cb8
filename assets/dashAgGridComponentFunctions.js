// Cell renderers the orders grid names in its columnDefs. React escapes the text: order fields are data.
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});
dagcomponentfuncs.OrderLink = function (props) {
  if (!props.data) return null;
  return React.createElement("a", {href: "/orders/" + encodeURIComponent(props.data.id)}, String(props.value || ""));
};
