// CloudFront Function (cloudfront-js-2.0), viewer request, default behaviour only.
function handler(event) {
    var request = event.request;
    var uri = request.uri;
    var lastSlash = uri.lastIndexOf('/');
    var isApi = uri.indexOf('/api/') === 0;
    // "/tasks/42" is an app route: the app shell renders it. "/app.js" is a file.
    if (!isApi && uri !== '/' && uri.indexOf('.', lastSlash) === -1) {
        request.uri = '/index.html';
    }
    return request;
}
