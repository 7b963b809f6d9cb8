// Create-order wizard: move focus to the heading of the step that is shown, for keyboard and
// screen-reader users (the server decides which step that is).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  wizard: {
    focusStep: function (step) {
      var target = step === 4 ? "wizard-confirmation" : "wizard-step-" + step + "-title";
      window.setTimeout(function () {
        var element = document.getElementById(target);
        if (element) {
          if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
          element.focus();
        }
      }, 50);
      return step;
    },
  },
});
