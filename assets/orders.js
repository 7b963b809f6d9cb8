// The orders grid reads its filters on the server; when they change, drop the grid's cached blocks so
// it asks again from the first row. Nothing is reloaded when the filters did not actually change.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  orders: {
    refresh: function (query, gridId) {
      var key = JSON.stringify(query || {});
      var last = window.__ordersQuery || "{}";
      window.__ordersQuery = key;
      if (key === last) return window.dash_clientside.no_update;
      try {
        var api = window.dash_ag_grid && window.dash_ag_grid.getApi(gridId);
        if (api) api.purgeInfiniteCache();
      } catch (e) {
        /* the grid is not mounted yet: it will ask for its first rows itself */
      }
      return {};
    },
  },
});
