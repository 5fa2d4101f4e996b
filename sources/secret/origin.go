package secret

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Origin is where credentials may go: the scheme, host and port of the
// configured URL, and for an http URL its upgrade to https on the same
// host (a server's usual redirect).
type Origin struct {
	scheme, host, port string
}

// OriginOf is the origin of a configured http(s) URL.
func OriginOf(rawURL string) (Origin, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Origin{}, errors.New("not an absolute http:// or https:// URL")
	}
	return originOfURL(u), nil
}

func originOfURL(u *url.URL) Origin {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	return Origin{scheme: scheme, host: strings.ToLower(u.Hostname()), port: port}
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Allows reports whether credentials may go to u.
func (o Origin) Allows(u *url.URL) bool {
	if o.host == "" || u == nil {
		return false
	}
	d := originOfURL(u)
	switch {
	case d.host != o.host:
		return false
	case d.scheme == o.scheme:
		return d.port == o.port
	case o.scheme == "http" && d.scheme == "https":
		// An upgrade keeps the port, or moves from the default to the default.
		return d.port == o.port || o.port == "80" && d.port == "443"
	}
	return false // a downgrade to http would send them in clear text
}

// String is scheme://host:port.
func (o Origin) String() string {
	return o.scheme + "://" + net.JoinHostPort(o.host, o.port)
}

// alwaysStripped are the headers that carry credentials whatever the
// source. Referer goes too: it is the previous URL, whose query a
// redirecting server may have filled with the request's credentials.
var alwaysStripped = []string{"Authorization", "Proxy-Authorization", "Cookie", "Referer"}

// strip removes the credential headers (and extra) from a clone of req,
// or returns req itself when it carries none of them.
func strip(req *http.Request, extra []string) *http.Request {
	var clone *http.Request
	for _, list := range [][]string{alwaysStripped, extra} {
		for _, h := range list {
			if _, ok := req.Header[http.CanonicalHeaderKey(h)]; !ok {
				continue
			}
			if clone == nil {
				clone = req.Clone(req.Context())
			}
			clone.Header.Del(h)
		}
	}
	if clone == nil {
		return req
	}
	return clone
}

// Guard is the last RoundTripper before the network for transports that
// add credentials themselves (perch's own auth transports, client-go's
// bearer, basic and exec wrappers): a request to the origin goes as it
// is; any other (a redirect the HTTP client follows, which calls the
// transport chain again) loses Authorization, Proxy-Authorization,
// Cookie, Referer and Headers.
type Guard struct {
	Base   http.RoundTripper // nil: http.DefaultTransport
	Origin Origin
	// Headers are more headers that carry credentials or identify the
	// caller (configured API keys, tenant headers).
	Headers []string
	// Learn, when set, learns the Authorization header of requests to the
	// origin: a token an outer layer fetched (client-go exec plugins) is
	// redacted too.
	Learn *Redactor
}

// RoundTrip implements http.RoundTripper.
func (g *Guard) RoundTrip(req *http.Request) (*http.Response, error) {
	base := g.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if g.Origin.Allows(req.URL) {
		if g.Learn != nil {
			g.Learn.Learn(req.Header.Get("Authorization"))
		}
		return base.RoundTrip(req)
	}
	return base.RoundTrip(strip(req, g.Headers))
}

// WrappedRoundTripper lets client-go find the transport underneath.
func (g *Guard) WrappedRoundTripper() http.RoundTripper { return g.Base }

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (g *Guard) CloseIdleConnections() {
	if c, ok := g.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// maxRedirects is the HTTP client's default limit, kept by KeepOnOrigin.
const maxRedirects = 10

// KeepOnOrigin is a CheckRedirect policy for clients that set credentials
// on the request (the client copies them to every redirect, other than
// Authorization and Cookie across domains): a redirect away from the
// origin of the first request loses Authorization, Proxy-Authorization,
// Cookie, Referer and headers. It stops after 10 redirects, as the
// default policy does.
func KeepOnOrigin(headers ...string) func(req *http.Request, via []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if len(via) > 0 && !originOfURL(via[0].URL).Allows(req.URL) {
			for _, list := range [][]string{alwaysStripped, headers} {
				for _, h := range list {
					req.Header.Del(h)
				}
			}
		}
		return nil
	}
}

// StripURLQuery drops the query, fragment and user info of the URL in a
// transport error ("Get \"http://…?…\": stopped after 10 redirects"):
// after a redirect the query is the server's, and a hostile or confused
// server may have put the request's credentials in it.
func StripURLQuery(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	if u.RawQuery == "" && u.Fragment == "" && u.User == nil {
		return err
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// LooksSensitive reports whether a header's name says it carries a
// secret (X-Api-Key, X-Auth-Token, Cookie...), so its configured value is
// redacted.
func LooksSensitive(header string) bool {
	k := strings.ToLower(header)
	for _, s := range []string{"auth", "token", "key", "secret", "cookie", "password", "session"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
