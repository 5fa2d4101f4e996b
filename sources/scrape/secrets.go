package scrape

import (
	"net/http"
	"net/url"

	"github.com/perch-dev/perch/sources/secret"
)

// newRedactor knows every credential a scrape sends: the token file's
// token (re-read: it rotates), the targets' user:password, and headers
// whose names say they hold a secret. Error pages that echo the request
// reach the round's error only through it.
func newRedactor(c Config) *secret.Redactor {
	r := secret.New().AddTokenFile("Bearer", c.BearerTokenFile)
	for _, t := range c.Targets {
		if u, err := url.Parse(t); err == nil && u.User != nil {
			pass, _ := u.User.Password()
			r.AddBasic(u.User.Username(), pass)
		}
	}
	for k, v := range c.Headers {
		if secret.LooksSensitive(k) {
			r.Add(v)
		}
	}
	return r
}

// newClient follows redirects with the credentials and configured headers
// kept on each target's own origin (the HTTP client would copy the
// headers to any host, and Authorization to any port of the same one).
func newClient(c Config) *http.Client {
	headers := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		headers = append(headers, k)
	}
	return &http.Client{Timeout: c.Timeout, CheckRedirect: secret.KeepOnOrigin(headers...)}
}
