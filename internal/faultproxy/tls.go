package faultproxy

import (
	"context"
	"crypto/tls"
	"errors"
)

// StartTLS runs an HTTP-aware proxy to target (host:port of an HTTPS
// server) on 127.0.0.1:0 that terminates TLS: clients connect with TLS and
// see the certificate in serve (which they must trust), and the proxy
// connects to the server with TLS verified by upstream (RootCAs, client
// certificates). Every mode works, as with Start, because the proxy sees
// the requests; request headers (credentials included) are forwarded.
// The proxy speaks HTTP/1.1 to clients, so each open stream (a watch) has
// its own connection. URL returns an https:// URL.
func StartTLS(ctx context.Context, target string, serve, upstream *tls.Config) (*Proxy, error) {
	if serve == nil || (len(serve.Certificates) == 0 && serve.GetCertificate == nil) {
		return nil, errors.New("faultproxy: StartTLS needs a serving certificate")
	}
	if upstream == nil {
		upstream = &tls.Config{}
	}
	return startHTTPProxy(ctx, target, serve, upstream)
}
