// Bootstrap for the self-hosted GraphiQL playground. Kept out of index.html
// (and no inline <style>) so a strict CSP such as
// `default-src 'self'; script-src 'self'` works. Layout styles are set through
// the CSSOM, which CSP does not restrict.
(function () {
  'use strict';
  var html = document.documentElement;
  var body = document.body;
  var container = document.getElementById('graphiql');
  html.style.height = '100%';
  body.style.height = '100%';
  body.style.margin = '0';
  body.style.width = '100%';
  body.style.overflow = 'hidden';
  container.style.height = '100vh';

  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  var root = ReactDOM.createRoot(container);
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: 'headers',
    })
  );
})();
