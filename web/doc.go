// Package web is the gateway's HTTP face: the Echo application, its routes
// and middleware, the one error handler, and the handlers that join the SAML
// service provider (sso), the directory, SCIM and the session store.
//
// It owns what users see (pages, JSON errors) and what operators see (logs,
// metrics, health). Protocol logic stays in sso and sso/scim, storage in
// sso/directory and session; web decides what to do with their results.
//
// Parts that have grown apart live in packages below it, which web wires
// and which never import it: web/oauthserver (the mobile app's OAuth
// server) and web/console (the setup admin console and its sign-in). web
// keeps the browser session, company resolution, the SAML login and the
// employees' password form, and hands the console what it needs of them.
// What web shares with those packages is in web/internal/httpx.
package web
